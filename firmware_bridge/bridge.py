"""The bridge process: serial frames from counter devices ↔ MQTT topics of the hub (contracts/topics.py).

One :class:`DeviceLink` per configured device: a thread owning its serial port (open, reopen after unplug,
heartbeat watch). All links share the bridge's ONE MQTT connection (runtime.mqtt: TLS, Last Will): the broker
ties each user to one live connection (``use_username_as_clientid``), so a bridge is one user and one connection.
The Will marks the bridge itself offline on ``devices/<bridge id>/availability``; its retained state lists the
devices behind it, and the hub counts those offline with it (contracts/device_state.py). What a device does
with key presses and the hub's messages is its kind's behaviour (firmware_bridge.protocol.behaviours); the
link only moves frames and messages. After HELLO, a frame claiming another device kind is refused.
A HELLO's boot id tells a HELLO repeated within one boot (acknowledged again, nothing reset) from a reboot.
Wire traffic is logged on the DEBUG logger ``motcua.wire`` as ``>>>``/``<<<`` hex, as OctoPrint's serial.log.
Must not import queue_server: the hub is reached only through MQTT.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from contracts import topics
from contracts.device_state import DeviceState
from contracts.messages import (
    VN_TZ,
    Availability,
    CommandReply,
    CommandRequest,
    CounterState,
    Envelope,
    MessageError,
    format_at,
)
from firmware_bridge.config import BridgeSettings, DeviceBinding
from firmware_bridge.protocol.behaviours import DeviceConfig, behaviour_for
from firmware_bridge.protocol.frames import DeviceKind, Frame, FrameDecoder, FrameError, MessageType
from firmware_bridge.protocol.link import Link
from firmware_bridge.protocol.messages import BodyError, ErrorReport, Hello
from firmware_bridge.protocol.profiles import (
    ClearDisplay,
    Command,
    DisableRating,
    EnableRating,
    ShowNumber,
    ShowPause,
    ShowText,
    ThankYou,
    profile_named,
)
from firmware_bridge.transport import PortLost, SerialTransport
from runtime.mqtt import Delivery, Message, MqttClient, Will

log = logging.getLogger(__name__)
wire_log = logging.getLogger("motcua.wire")

BRIDGE_VERSION = "motcua-bridge 0.1.0"
ONLINE, OFFLINE = str(Availability.ONLINE), str(Availability.OFFLINE)
_SET = threading.Event()     # "announced" for a link without a Bridge (nothing to wait for)
_SET.set()


def command_from_json(obj: dict[str, Any]) -> Command:
    """A ``devices/<id>/set`` payload → a device command; ValueError naming the problem."""
    if "show" in obj:
        return ShowNumber(str(obj["show"]), bool(obj.get("blink", False)))
    if "pause" in obj:
        return ShowPause(str(obj["pause"] or "----"))
    if obj.get("clear"):
        return ClearDisplay()
    if "text" in obj:
        return ShowText(str(obj["text"]))
    if "enable" in obj:
        return EnableRating(int(obj["enable"]), int(obj.get("timeout_s", 120)))
    if obj.get("disable"):
        return DisableRating()
    if obj.get("thanks"):
        return ThankYou()
    raise ValueError(f"no known command in {sorted(obj)}")


NO_REPLY_HINT = (" (hub đang dừng, hoặc cũ hơn bridge này? hãy nâng cấp hub cùng lúc với bridge / the hub is down, or "
                 "older than this bridge and deaf to its counter-scoped commands: upgrade the hub and the bridges "
                 "together, docs/operations.md)")


class DeviceLink:
    """One device: its port, its link state, what it should be showing; it speaks MQTT over the bridge's one
    connection (``client``)."""

    def __init__(self, settings: BridgeSettings, binding: DeviceBinding,
                 clock: Callable[[], float] = time.monotonic, client: MqttClient | None = None,
                 announced: threading.Event | None = None) -> None:
        self.settings = settings
        self.binding = binding
        self.profile = profile_named(binding.kind)
        self.clock = clock
        self.transport = SerialTransport(binding.port, settings.baudrate)
        self.link = Link(DeviceKind.BRIDGE, retry_after_s=settings.retry_after_s)
        self.decoder = FrameDecoder()
        self.hello: Hello | None = None
        self.boot_id: int | None = None         # of the device's last accepted HELLO (None: firmware sends none)
        self.reboots = 0                        # HELLOs with a new boot id after one was known
        self.hello_repeats = 0                  # HELLOs of the boot already online: acknowledged, nothing reset
        self.online = False
        self._why = "starting"
        # Set once the bridge's connection has said which devices it carries (Bridge._on_connect); a link made
        # alone has no gateway to wait for. Until then this device's availability and state are held back.
        self._announced = announced if announced is not None else _SET
        self._state_owed = False
        self._mqtt_lock = threading.Lock()      # publish order = order of the changes (serial vs paho thread)
        self.last_rx = 0.0
        self._last_hello_sent = -10.0
        self._lock = threading.RLock()          # link + port writes: paho's thread and ours both write
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._desired: Command | None = None    # replayed after a reboot/replug (the number shown, a text)
        self._pending: dict[str, tuple[str, float]] = {}   # our requests: correlation id -> (command, sent at)
        self._told_no_reply = False
        self.frames_in = 0
        self.frames_out = 0
        self.frames_refused = 0
        center, dev = settings.center, binding.id
        self.behaviour = behaviour_for(self.profile.kind, self, DeviceConfig(
            center=center, device_id=dev, counter=binding.counter, transfer_to=binding.transfer_to,
            rating_levels=settings.rating_levels, rating_timeout_s=settings.rating_timeout_s,
            key_commands=dict(settings.key_commands)))
        self.t_availability = topics.device_availability(center, dev)
        # the Bridge's one connection; a link made alone (a test) gets a client of its own that it never starts
        self.client = client if client is not None else MqttClient(settings.mqtt_settings(), name=f"link-{dev}")

    # --- lifecycle ---------------------------------------------------------------------------------------
    @property
    def showing(self) -> Command | None:
        return self._desired

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"bridge-{self.binding.id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        delivery = self._set_online(False, "bridge stopping")
        # A clean disconnect cancels the Last Will, so the offline state must be on the broker before it.
        delivery.wait(2)
        self.transport.close()

    # --- serial side ----------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception:     # a bug must cost one frame, not the device's link for the rest of the day
                log.exception("%s: unexpected error in the serial loop", self.binding.id)
                self._stop.wait(0.1)

    def _step(self) -> None:
        """One pass: (re)open the port, read what arrived, handle frames, retransmit, watch heartbeats."""
        if not self.transport.is_open:
            with self._lock:
                opened = self.transport.open()
                if opened:
                    self.link.reset()
                    self.decoder.reset()
                    self._write_raw(b"\x00")
                    self._send_hello()
            if not opened:
                self._stop.wait(self.settings.reopen_interval_s)
                return
        try:
            data = self.transport.read(0.02)
        except PortLost as err:
            log.warning("%s: port lost: %s", self.binding.id, err)
            with self._lock:
                self.transport.close()
            self.hello = None
            self._set_online(False, "port lost")
            return
        if data:
            wire_log.debug("<<< %s %s", self.binding.id, data.hex(" "))
            for item in self.decoder.feed(data):
                if isinstance(item, FrameError):
                    log.info("%s: bad frame dropped: %s: %s", self.binding.id, type(item).__name__, item)
                else:
                    self._on_frame(item)
        self._tick()

    def _tick(self) -> None:
        now = self.clock()
        with self._lock:
            for frame in self.link.due(now):
                self._write_raw(frame)
            failed, self.link.failed = self.link.failed, []
        for f in failed:
            log.warning("%s: no ack for %s seq %d after retries", self.binding.id, f.type.name, f.seq)
        for cid, (command, sent_at) in list(self._pending.items()):
            if now - sent_at > self.settings.command_timeout_s:
                # The hub (or the broker) did not answer: say so on the device rather than leave it hanging.
                self._pending.pop(cid, None)
                # said once per device: a hub from before counter-scoped command topics hears none of them
                log.warning("%s: no reply to %s within %.1fs%s", self.binding.id, command,
                            self.settings.command_timeout_s, "" if self._told_no_reply else NO_REPLY_HINT)
                self._told_no_reply = True
                self.behaviour.on_no_reply(command)
        if self.online and self.hello is not None:
            limit = self.settings.missed_heartbeats * max(self.hello.heartbeat_ms, 50) / 1000
            if now - self.last_rx > limit:
                log.warning("%s: silent for %.1fs, marking offline", self.binding.id, now - self.last_rx)
                self.hello = None
                self._set_online(False, "missed heartbeats")

    def _write_raw(self, data: bytes) -> None:
        if not self.transport.is_open:
            return
        wire_log.debug(">>> %s %s", self.binding.id, data.hex(" "))
        try:
            self.transport.write(data)
            self.frames_out += 1
        except PortLost as err:
            # The reader thread notices too and handles the reconnect; here we only must not crash.
            log.warning("%s: write failed: %s", self.binding.id, err)

    def _send_hello(self) -> None:
        self._last_hello_sent = self.clock()
        self._write_raw(self.link.send(MessageType.HELLO, Hello("bridge", BRIDGE_VERSION, 0).encode(), self.clock()))

    def send(self, cmd: Command) -> bool:
        """Write a command to the device now if it is online; remember display state for a replay."""
        if not self.profile.accepts(cmd):
            log.warning("%s: %s does not accept %s", self.binding.id, self.profile.name, cmd)
            return False
        if isinstance(cmd, (ShowNumber, ShowPause, ClearDisplay, ShowText)):
            self._desired = cmd
        with self._lock:
            if not (self.online and self.transport.is_open):
                return False
            self._write_raw(self.link.send(MessageType.COMMAND, self.profile.encode(cmd), self.clock()))
        return True

    def _on_frame(self, frame: Frame) -> None:
        now = self.clock()
        self.frames_in += 1
        self.last_rx = now
        if self.hello is None and frame.type not in (MessageType.HELLO, MessageType.ACK):
            # A device we have not been introduced to (we restarted, or it was silent): ask who it is, and
            # do not ack this frame, so a key press is retransmitted after the hello and not lost.
            if now - self._last_hello_sent > 1.0:
                with self._lock:
                    self._send_hello()
            return
        if self.hello is not None and frame.kind != self.profile.kind and frame.type != MessageType.HELLO:
            # The port said HELLO as one kind; a frame claiming another is noise or an impostor: neither
            # acknowledged nor acted on (a display must never press keys on a keypad's behalf). A new HELLO
            # is judged by _on_hello, which reports a wrong device as a fault.
            self.frames_refused += 1
            log.warning("%s: refused a %s frame claiming to come from a %s (HELLO said %s)", self.binding.id,
                        frame.type.name, frame.kind.name, self.profile.kind.name)
            return
        if frame.type == MessageType.HELLO:
            hello = self._decode_hello(frame)
            repeat = self._same_boot(hello)
            with self._lock:
                # the same boot's seqs did not restart: its dedup window stays (a press is still one press)
                received = self.link.receive(frame, now, restart=not repeat)
            # Acknowledged once acted on (online, display replayed): a device that sees its HELLO acked knows
            # the bridge is done with it, and nothing from the replay can come after that.
            if hello is not None:
                self._on_hello(frame, hello, repeat)
            if received.reply is not None:
                with self._lock:
                    self._write_raw(received.reply)
            return
        with self._lock:
            received = self.link.receive(frame, now)
            if received.reply is not None:
                self._write_raw(received.reply)
        if not received.deliver:
            return
        if frame.type == MessageType.EVENT:
            try:
                press = self.profile.decode_event(frame.body)
            except BodyError as err:
                log.warning("%s: bad event: %s", self.binding.id, err)
                return
            self._on_key(press.key)
        elif frame.type == MessageType.ERROR:
            try:
                report = ErrorReport.decode(frame.body)
            except BodyError as err:
                log.warning("%s: bad error report: %s", self.binding.id, err)
                return
            log.warning("%s reports error %d: %s", self.binding.id, report.code, report.detail)
            self._publish_event({"type": "fault", "fault": DEVICE_FAULTS.get(report.code, "device_fault"),
                                 "code": report.code, "detail": report.detail})

    def _decode_hello(self, frame: Frame) -> Hello | None:
        try:
            return Hello.decode(frame.body)
        except BodyError as err:
            log.warning("%s: bad hello: %s", self.binding.id, err)
            return None

    def _same_boot(self, hello: Hello | None) -> bool:
        """A HELLO from the boot already known (retransmitted because our ack was slow, or said again after lost
        acks): the device did not restart. Firmware without a boot id cannot tell, so every HELLO restarts."""
        return (hello is not None and hello.boot_id is not None and hello.boot_id == self.boot_id
                and hello.device_id == self.binding.id)

    def _on_hello(self, frame: Frame, hello: Hello, repeat: bool) -> None:
        if frame.kind != self.profile.kind or hello.device_id != self.binding.id:
            # Never show numbers for counter 5 on a device that is not the one bound to counter 5.
            log.error("%s: port %s answered as %s (%s), expected %s (%s): not bringing it online",
                      self.binding.id, self.binding.port, hello.device_id, frame.kind.name, self.binding.id,
                      self.profile.kind.name)
            self._publish_event({"type": "fault", "fault": "wrong_device",
                                 "detail": f"{hello.device_id} ({frame.kind.name}) on {self.binding.port}"})
            return
        if repeat and self.hello is not None:
            # online already and the same boot: answer (the ack) and keep everything as it is — no replay, which
            # would blink a called number again in the middle of later commands
            self.hello_repeats += 1
            log.debug("%s: hello repeated (boot %08x), acknowledged again", self.binding.id, hello.boot_id)
            return
        if self.boot_id is not None and hello.boot_id is not None and hello.boot_id != self.boot_id:
            self.reboots += 1
            log.info("%s: rebooted (boot %08x, was %08x), firmware %s: link reset, display written again",
                     self.binding.id, hello.boot_id, self.boot_id, hello.firmware)
        else:
            log.info("%s: hello, firmware %s, heartbeat %d ms", self.binding.id, hello.firmware,
                     hello.heartbeat_ms)
        self.hello = hello
        self.boot_id = hello.boot_id
        self._set_online(True, "hello")
        # A hello means the device (re)booted or we reopened the port: either way it may show nothing now.
        self._replay()

    def _replay(self) -> None:
        desired = self._desired
        if desired is not None:
            self.send(desired)

    # --- MQTT side ------------------------------------------------------------------------------------
    def _set_online(self, online: bool, why: str) -> Delivery:
        with self._mqtt_lock:
            changed = online != self.online
            self.online = online
            self._why = why
            if changed:
                log.info("%s: %s (%s)", self.binding.id, ONLINE if online else OFFLINE, why)
            if not self._announced.is_set():
                # Not before the bridge's state names this device: paho sends a publish made while CONNACK is
                # still on its way, ahead of Bridge._on_connect's; had the bridge died then, the hub would hold
                # this device online for good, never linked to the bridge whose Will says offline.
                self._state_owed = True
                return Delivery(None)
            delivery = self.client.publish(self.t_availability, ONLINE if online else OFFLINE, qos=1, retain=True)
            if changed or online:
                self._publish_state()
            return delivery

    def _publish_state(self) -> None:
        # contracts/device_state.py shape (kind, status, faults, at) plus the bridge's own fields.
        self._state_owed = False
        online = self.online
        state = {"kind": self.binding.kind, "status": "ok" if online else "fault",
                 "faults": [] if online else ["offline"], "at": format_at(datetime.now(VN_TZ)),
                 "id": self.binding.id, "counter": self.binding.counter, "online": online,
                 "firmware": self.hello.firmware if self.hello else None, "port": self.binding.port,
                 "reason": self._why}
        self.client.publish(topics.device_state(self.settings.center, self.binding.id),
                            json.dumps(state, ensure_ascii=False), qos=1, retain=True)

    def _subscriptions(self) -> list[str]:
        return [topics.device_set(self.settings.center, self.binding.id), *self.behaviour.subscriptions()]

    def _on_connect(self) -> None:
        with self._mqtt_lock:
            self.client.publish(self.t_availability, ONLINE if self.online else OFFLINE, qos=1, retain=True)
            if self._state_owed:
                self._publish_state()

    def _on_message(self, msg: Message) -> None:
        payload = msg.payload
        try:
            parsed = topics.parse(msg.topic)
            if parsed.kind == "event":
                env = Envelope.from_json(payload)
                if self._mine(env):
                    self.behaviour.on_hub_event(env)
            elif parsed.kind == "state_counter":
                if payload:
                    self.behaviour.on_counter_state(CounterState.from_json(payload))
            elif parsed.kind == "reply":
                self._on_reply(CommandReply.from_json(payload))
            elif parsed.kind == "device_set":
                obj = json.loads(payload)
                if not isinstance(obj, dict):
                    raise ValueError("expected a JSON object")
                self.send(command_from_json(obj))
        except (topics.TopicError, MessageError, ValueError, TypeError) as err:
            # A bad payload from anyone must never stop the bridge.
            log.warning("%s: ignoring message on %s: %s", self.binding.id, msg.topic, err)

    def _mine(self, env: Envelope) -> bool:
        return str(env.data.get("counter")) == self.binding.counter

    def _on_key(self, key: str) -> None:
        self._publish_event({"type": "key", "key": key})
        self.behaviour.on_key(key)

    def request(self, command: str, args: dict[str, Any]) -> None:
        """Send a hub command for this device; its reply (or its absence) goes back to the behaviour."""
        req = CommandRequest(command, str(uuid.uuid4()), args, source=self.binding.id)
        self._pending[req.correlation_id] = (command, self.clock())
        # counter-scoped: the broker's ACL lets this bridge publish only under the counters bound to it
        self.client.publish(topics.cmd(self.settings.center, command, self.binding.counter), req.to_json(), qos=1)

    def _on_reply(self, reply: CommandReply) -> None:
        pending = self._pending.pop(reply.correlation_id, None)
        if pending is None:
            return      # someone else's request, or one we already gave up on
        if not reply.ok:
            log.info("%s: %s refused: %s", self.binding.id, pending[0], reply.error)
        self.behaviour.on_reply(reply)

    def _publish_event(self, data: dict[str, Any]) -> None:
        payload = {**data, "at": format_at(datetime.now(VN_TZ)), "device": self.binding.id,
                   "kind": self.binding.kind, "counter": self.binding.counter}
        self.client.publish(topics.device_event(self.settings.center, self.binding.id),
                            json.dumps(payload, ensure_ascii=False), qos=1)


# Device error report codes (protocol.messages.ErrorCode) → fault codes on devices/<id>/event.
DEVICE_FAULTS = {1: "read_error", 2: "bad_command", 3: "bad_command", 4: "hardware", 5: "refused"}


def gateway_id(settings: BridgeSettings) -> str:
    """The bridge's own device id (``devices/<id>/availability`` is its Last Will): its broker user, which the
    [broker] inventory keeps apart from device ids; without a user (a lab broker), ``bridge-<first device>``."""
    ids = {d.id for d in settings.devices}
    gw = settings.mqtt_username or f"bridge-{settings.devices[0].id if settings.devices else 'x'}"
    gw = topics.slug(gw, "bridge id")
    return gw if gw not in ids else f"{gw}-bridge"


class Bridge:
    """All configured devices behind ONE MQTT connection. ``start()`` returns at once; the connection and every
    link reconnect by themselves. Each message is handed to the links whose subscriptions it matches."""

    def __init__(self, settings: BridgeSettings) -> None:
        self.settings = settings
        self.id = gateway_id(settings)
        center = settings.center
        self.t_availability = topics.device_availability(center, self.id)
        self.client = MqttClient(settings.mqtt_settings(), name=f"bridge-{center}-{self.id}",
                                 will=Will(self.t_availability, OFFLINE, qos=1, retain=True),
                                 subscriptions=self._subscriptions, on_connect=self._on_connect,
                                 on_message=self._on_message, min_backoff_s=1, max_backoff_s=5)
        self.announced = threading.Event()     # our state (naming the devices) went out on this connection
        self.links = {b.id: DeviceLink(settings, b, client=self.client, announced=self.announced)
                      for b in settings.devices}

    def start(self) -> None:
        log.info("bridge %s starting: %s", self.id, self.settings.redacted())
        self.client.start()
        for link in self.links.values():
            link.start()

    def stop(self) -> None:
        for link in self.links.values():
            link.stop()
        # said by us before the clean disconnect (which cancels the Will)
        self.client.stop(say_will=True)

    def _subscriptions(self) -> list[str]:
        return list(dict.fromkeys(f for link in self.links.values() for f in link._subscriptions()))

    def _on_connect(self) -> None:
        # the gateway first: the hub learns which devices its availability covers before theirs arrive
        state = DeviceState("bridge", "ok", (), format_at(datetime.now(VN_TZ)), {"devices": sorted(self.links)})
        self.client.publish(topics.device_state(self.settings.center, self.id), state.to_json(), qos=1, retain=True)
        self.client.publish(self.t_availability, ONLINE, qos=1, retain=True)
        # once: the retained state stays on the broker across reconnects, so later news needs no new wait
        self.announced.set()
        for link in self.links.values():
            link._on_connect()

    def _on_message(self, msg: Message) -> None:
        for link in self.links.values():
            if any(topics.matches(f, msg.topic) for f in link._subscriptions()):
                link._on_message(msg)
