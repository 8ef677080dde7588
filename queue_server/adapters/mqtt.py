"""The hub's MQTT adapter: publishes every committed event, keeps retained state snapshots fresh, answers device
commands on ``cmd/<command>`` → ``reply/<command>``. It speaks MQTT through runtime.mqtt (the one module that
imports paho: TLS, random-suffix client id, Last Will, ready after SUBACK, reconnect, no-delay, wire log).

- Events go out on ``event/<type>`` (QoS 1, not retained) strictly in ``seq`` order: QueueService may call its
  listeners from several threads, so envelopes pass through one publisher thread with a reorder buffer that
  fills gaps from the store.
- After events, only the snapshots they touched are republished (retained, QoS 0): ``state/calls``,
  ``state/counters/<id>``, ``state/services/<code>``. Every (re)connect republishes ``hub/status`` online and
  all state; the Last Will sets ``hub/status`` offline.
- Events committed while the broker is unreachable are NOT queued for later: replaying old calls would make
  displays announce citizens who were already served. Screens recover from the retained state instead (and the
  store keeps every event for SSE resume and the outbox).
- Commands run on their own worker thread (never on paho's network thread) through a CommandRegistry that other
  parts extend (e.g. the firmware bridge's ``submit-rating``). A bad payload gets an error reply, never a crash.
- The hub starts and serves HTTP while the broker is down; the client reconnects by itself.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from contracts import topics
from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import (
    MAX_JSON_DEPTH,
    Availability,
    CommandReply,
    CommandRequest,
    Envelope,
    MessageError,
    json_depth,
)
from queue_server.app.ports import Publisher
from queue_server.app.views import public_json
from queue_server.mqtt_access import BrokerInventory, command_refusal
from runtime.mqtt import Message, MqttClient, Will
from runtime.mqtt import MqttSettings as ClientSettings

if TYPE_CHECKING:
    from queue_server.app.queue_service import QueueService
    from queue_server.config import MqttSettings

log = logging.getLogger(__name__)

CommandHandler = Callable[[dict[str, Any]], dict[str, Any]]
GAP_WAIT_S = 0.5          # how long an out-of-order event may wait for the ones before it
STATE_MAX_DELAY_S = 0.05  # under a burst, snapshots are republished at most this often (events never wait)
# Service snapshots carry the wait estimate, a forward simulation of the queue each (~0.5 ms with a long queue).
# Under a stream of events that touch services only (tickets issued: no call, no counter change) they are
# republished at most this often; whenever calls or counters go out, the touched services go out first with them,
# as before. After a quiet spell the first change goes out at once; only a sustained burst of issues (a bench, an
# offline kiosk's sync) sees service snapshots 4 times a second instead of 20 (bench/hub.py: 20 × 12 services a
# second cost 0.1-0.2 ms of hub CPU per ticket).
SERVICES_MAX_DELAY_S = 0.25
# how often an idle publisher asks whether the clock alone changed the retained state (a new day, a service that
# started or stopped issuing): boards stay subscribed overnight and through the lunch break, when no event comes
CLOCK_CHECK_S = 1.0


# ------------------------------------------------------------------------------------------ commands

def arg(args: dict[str, Any], name: str, kind: type = str, *, required: bool = True) -> Any:
    """Read one command argument; counters may come as numbers from keypads (``5`` means ``"5"``)."""
    if name not in args or args[name] is None:
        if required:
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"args.{name}: missing")
        return None
    value = args[name]
    if kind is str and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise MotcuaError(ErrorCode.BAD_REQUEST, f"args.{name}: expected {kind.__name__}")
    if isinstance(value, str) and not (0 < len(value) <= 200):
        raise MotcuaError(ErrorCode.BAD_REQUEST, f"args.{name}: must be 1 to 200 characters")
    return value


class CommandRegistry:
    """Command name → handler(args) → result dict; handlers raise MotcuaError to refuse."""

    def __init__(self) -> None:
        self._handlers: dict[str, CommandHandler] = {}

    def register(self, name: str, handler: CommandHandler, *, replace: bool = False) -> None:
        topics.slug(name, "command")
        if name in self._handlers and not replace:
            raise ValueError(f"command {name!r} is already registered")
        self._handlers[name] = handler

    @property
    def names(self) -> list[str]:
        return sorted(self._handlers)

    def handle(self, request: CommandRequest) -> CommandReply:
        handler = self._handlers.get(request.command)
        try:
            if handler is None:
                raise MotcuaError(ErrorCode.BAD_REQUEST, f"unknown command {request.command!r}; "
                                                         f"known: {', '.join(self.names)}")
            result = handler(dict(request.args))
            return CommandReply(request.command, request.correlation_id, True, result=result)
        except MotcuaError as err:
            return CommandReply(request.command, request.correlation_id, False,
                                error={"code": str(err.code), "message": err.message})
        except (MessageError, topics.TopicError, ValueError, TypeError, KeyError) as err:
            return CommandReply(request.command, request.correlation_id, False,
                                error={"code": str(ErrorCode.BAD_REQUEST), "message": str(err)})
        except Exception:          # a bug in a handler must not take the adapter down
            log.exception("command %s (%s) failed", request.command, request.correlation_id)
            return CommandReply(request.command, request.correlation_id, False,
                                error={"code": str(ErrorCode.INTERNAL), "message": "internal error"})


def queue_commands(service: QueueService) -> CommandRegistry:
    """The counter commands a staff keypad or tool may send: the same QueueService calls as the HTTP API."""
    from queue_server.app.views import ticket_to_json

    reg = CommandRegistry()

    def ticket_cmd(fn: Callable[[str], Any]) -> CommandHandler:
        return lambda a: {"ticket": ticket_to_json(fn(arg(a, "counter")))}

    def counter_cmd(fn: Callable[[dict[str, Any]], Any]) -> CommandHandler:
        return lambda a: {"counter": asdict(fn(a))}

    reg.register("call-next", lambda a: {"ticket": ticket_to_json(
        service.call_next(arg(a, "counter"), staff=arg(a, "staff", required=False)))})
    reg.register("recall", ticket_cmd(service.recall))
    reg.register("start", ticket_cmd(service.start_service))
    reg.register("complete", ticket_cmd(service.complete))
    reg.register("no-show", ticket_cmd(service.mark_no_show))
    reg.register("transfer", lambda a: {"ticket": ticket_to_json(service.transfer(
        arg(a, "counter"), to_service=arg(a, "to_service", required=False),
        to_counter=arg(a, "to_counter", required=False), confirm=a.get("confirm") is True))})
    reg.register("open", counter_cmd(lambda a: service.open_counter(arg(a, "counter"),
                                                                    staff=arg(a, "staff", required=False))))
    reg.register("pause", counter_cmd(lambda a: service.pause_counter(
        arg(a, "counter"), arg(a, "reason", required=False) or "Tạm nghỉ")))
    reg.register("resume", counter_cmd(lambda a: service.resume_counter(arg(a, "counter"))))
    reg.register("close", counter_cmd(lambda a: service.close_counter(arg(a, "counter"))))
    return reg


# ------------------------------------------------------------------------------------------ adapter

class _Dirty:
    """Snapshots touched by events and not yet republished."""

    __slots__ = ("calls", "counters", "services")

    def __init__(self) -> None:
        self.services: set[str] = set()
        self.counters: set[str] = set()
        self.calls = False

    def __bool__(self) -> bool:
        return self.calls or bool(self.services) or bool(self.counters)


_RECONNECTED = object()     # marker in the publisher inbox: republish status and all state
_STOP = object()


class MqttAdapter:
    """Publishes the hub's events and state and serves commands. ``on_events`` is a QueueService listener."""

    def __init__(self, settings: MqttSettings, center_id: str, service: QueueService,
                 commands: CommandRegistry | None = None, *, client_id: str | None = None,
                 access: BrokerInventory | None = None) -> None:
        self.settings = settings
        # the center's [broker] inventory: a device command for a counter not bound to its bridge is refused
        self.access = access
        self.refused_commands = 0
        self.center = center_id
        self.service = service
        self.commands = commands if commands is not None else queue_commands(service)
        self.connected = False
        self.published_events = 0
        self.dropped_events = 0
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._cmd_queue: queue.Queue[Any] = queue.Queue(maxsize=1000)
        self._threads: list[threading.Thread] = []
        self._next_seq = 0
        self._clock_marks: Any = None     # service.clock_marks() when all state was last published
        # Device health (availability, state, fault events from devices/<id>/...): fed to this registry on the
        # command worker, and each alert raised or cleared handed to ``on_device_alerts`` (the hub logs events).
        self.device_registry: Any = None
        self.on_device_alerts: Callable[[list[Any]], None] | None = None
        self._known_services = {s.code for s in service_center(service).services}
        self._known_counters = {c.id for c in service_center(service).counters}

        # the configured client_id is a prefix: the client adds a random suffix, so nobody can knock the hub
        # off the broker by connecting with a guessed id
        self.client = MqttClient(
            client_settings(settings, prefix=client_id), name="" if (client_id or getattr(settings, "client_id", None))
            else f"hub-{center_id}",
            will=Will(topics.hub_status(center_id), str(Availability.OFFLINE), qos=1, retain=True),
            subscriptions=self._filters, on_connect=self._on_connect, on_disconnect=self._on_disconnect,
            on_message=self._on_message, min_backoff_s=1, max_backoff_s=15)

    # lifecycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        self._next_seq = self.service.last_seq + 1
        for target, name in ((self._publisher, "mqtt-publisher"), (self._command_worker, "mqtt-commands")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        # in the background: the client keeps retrying, so a missing broker never blocks start
        self.client.start()
        log.info("MQTT: connecting to %s:%s as center %s", self.settings.host, self.settings.port, self.center)

    def stop(self, timeout: float = 3.0) -> None:
        self._inbox.put(_STOP)
        self._cmd_queue.put(_STOP)
        for t in self._threads:
            t.join(timeout)
        self.connected = False          # a clean stop is not a lost connection
        # the client publishes the Will's "offline" itself before a clean disconnect (which cancels the Will)
        self.client.stop(say_will=True, timeout=timeout)

    def wait_connected(self, timeout: float) -> bool:
        """True once connected AND subscribed (commands sent from then on are heard), False after ``timeout``."""
        return self.client.wait_ready(timeout)

    # the QueueService listener --------------------------------------------------------------------
    def on_events(self, envelopes: Sequence[Envelope]) -> None:
        if envelopes:
            self._inbox.put(tuple(envelopes))

    __call__ = on_events

    # client callbacks (network thread: keep them short) ----------------------------------------------
    def _filters(self) -> list[str]:
        # asked on every connect: one SUBSCRIBE for all, so one SUBACK says the hub hears commands and devices
        filters = [topics.cmd_filter(self.center)]
        if self.device_registry is not None:
            filters += self.device_registry.subscriptions()
        return filters

    def _on_connect(self) -> None:
        self.connected = True
        self._inbox.put(_RECONNECTED)

    def _on_disconnect(self, reason: str) -> None:
        self.connected = False

    def _on_message(self, msg: Message) -> None:
        try:
            self._cmd_queue.put_nowait((msg.topic, msg.payload))
        except queue.Full:
            log.warning("MQTT: command queue full, dropped a message on %s", msg.topic)

    # publishing -------------------------------------------------------------------------------------
    def _publish(self, topic: str, payload: str, *, retain: bool, qos: int = 1) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain)

    def _publish_state(self, topic: str, payload: str) -> None:
        # QoS 0 for snapshots: each one is superseded by the next, and a lost connection (the only way TCP
        # loses one) ends in a full republish on reconnect; it halves the broker round trips under load.
        self._publish(topic, payload, retain=True, qos=0)

    def _publisher(self) -> None:
        pending: dict[int, Envelope] = {}
        gap_since: float | None = None
        dirty = _Dirty()
        last_flush = 0.0
        last_services = 0.0
        next_clock_check = 0.0
        while True:
            timeout: float = GAP_WAIT_S if pending else CLOCK_CHECK_S
            if dirty:       # wake up when the touched snapshots are due
                due = max(0.0, self._due(dirty, last_flush, last_services) - time.monotonic())
                timeout = min(timeout, due)
            try:
                item = self._inbox.get(timeout=timeout)
            except queue.Empty:
                item = None
            if item is _STOP:
                return
            if isinstance(item, tuple):
                # under load, take every batch already waiting: their events go out one by one, but each
                # touched snapshot is published once for all of them instead of once per batch
                merged = list(item)
                while True:
                    try:
                        more = self._inbox.get_nowait()
                    except queue.Empty:
                        break
                    if not isinstance(more, tuple):
                        self._inbox.put(more)      # a marker: handle it on the next turn, after these events
                        break
                    merged.extend(more)
                item = tuple(merged)
            try:
                if item is _RECONNECTED:
                    self._publish(topics.hub_status(self.center), str(Availability.ONLINE), retain=True)
                    self._clock_marks = self.service.clock_marks()
                    self.publish_all_state()
                    dirty = _Dirty()
                    continue
                if item is not None:
                    for env in item:
                        if env.seq >= self._next_seq:
                            pending[env.seq] = env
                if pending and self._next_seq not in pending and gap_since is not None \
                        and time.monotonic() - gap_since >= GAP_WAIT_S:
                    # the listener call carrying the missing seq is late or lost: read it from the store
                    for env in self.service.events_after(self._next_seq - 1, limit=1000):
                        pending.setdefault(env.seq, env)
                    if self._next_seq not in pending:
                        self._next_seq = min(pending)
                ready: list[Envelope] = []
                while self._next_seq in pending:
                    ready.append(pending.pop(self._next_seq))
                    self._next_seq += 1
                if ready:
                    self._emit_events(ready, dirty)
                gap_since = (gap_since or time.monotonic()) if pending else None
                # snapshots: at once after a quiet spell; while events keep coming, at most every
                # STATE_MAX_DELAY_S (services alone: SERVICES_MAX_DELAY_S). (Flushing whenever the inbox was
                # momentarily empty meant a flush per commit under load: ~0.9 snapshot messages per ticket, a third
                # of the adapter's CPU.)
                now = time.monotonic()
                if dirty and now >= self._due(dirty, last_flush, last_services):
                    if dirty.services:
                        last_services = now
                    if dirty.calls or dirty.counters:
                        last_flush = now
                    self._flush_state(dirty)
                    dirty = _Dirty()
                if self.connected and now >= next_clock_check:
                    next_clock_check = now + CLOCK_CHECK_S
                    marks = self.service.clock_marks()
                    if marks != self._clock_marks:
                        self._clock_marks = marks
                        self.publish_all_state()
            except Exception:      # never let one bad snapshot stop every later event
                log.exception("MQTT: publishing failed")
                dirty = _Dirty()

    @staticmethod
    def _due(dirty: _Dirty, last_flush: float, last_services: float) -> float:
        """When the touched snapshots may be republished (time.monotonic): calls or counters every
        STATE_MAX_DELAY_S (with the touched services, published first); services alone every SERVICES_MAX_DELAY_S."""
        if dirty.calls or dirty.counters:
            return last_flush + STATE_MAX_DELAY_S
        return last_services + SERVICES_MAX_DELAY_S

    def _emit_events(self, envelopes: list[Envelope], dirty: _Dirty) -> None:
        for env in envelopes:
            if self.connected:
                self._publish(topics.event(self.center, env.type), public_json(env), retain=False)
                self.published_events += 1
            else:
                self.dropped_events += 1
            s, c, k = self._touched(env)
            dirty.services |= s
            dirty.counters |= c
            dirty.calls = dirty.calls or k

    def _flush_state(self, dirty: _Dirty) -> None:
        if not self.connected:
            return       # the reconnect republishes all state
        # read under one lock hold, then publish: the writer is not waited for once per snapshot
        calls, counters, services = self.service.snapshots(calls=dirty.calls, counters=sorted(dirty.counters),
                                                           services=sorted(dirty.services))
        # services, then counters, then calls: whoever sees the newest calls (what displays wait for) has
        # already received the counters and services of the same moment (one connection keeps them in order)
        for sst in services:
            self._publish_state(topics.state_service(self.center, sst.service), sst.to_json())
        for cst in counters:
            self._publish_state(topics.state_counter(self.center, cst.counter), cst.to_json())
        if calls is not None:
            self._publish_state(topics.state_calls(self.center), calls.to_json())

    def _touched(self, env: Envelope) -> tuple[set[str], set[str], bool]:
        if env.type == "config.changed":
            # an admin's live change: services and counters may have come (their retained state is published
            # now) or changed names; every snapshot is published again
            center = service_center(self.service)
            self._known_services = {s.code for s in center.services}
            self._known_counters = {c.id for c in center.counters}
            return set(self._known_services), set(self._known_counters), True
        data = env.data
        services: set[str] = set()
        counters: set[str] = set()
        ticket = data.get("ticket")
        if isinstance(ticket, dict):
            services.update(str(ticket.get(k)) for k in ("service", "origin_service") if ticket.get(k))
            if ticket.get("counter"):
                counters.add(str(ticket["counter"]))
        for key in ("service", "from_service", "to_service"):
            if isinstance(data.get(key), str):
                services.add(data[key])
        for key in ("counter", "from_counter", "to_counter", "target_counter"):
            if isinstance(data.get(key), str):
                counters.add(data[key])
        calls = env.type.startswith("ticket.") and env.type != "ticket.issued"
        return services & self._known_services, counters & self._known_counters, calls

    def publish_all_state(self) -> None:
        self._publish_state(topics.state_calls(self.center), self.service.calls_snapshot().to_json())
        for st in self.service.counter_states():
            self._publish_state(topics.state_counter(self.center, st.counter), st.to_json())
        for ss in self.service.service_states():
            self._publish_state(topics.state_service(self.center, ss.service), ss.to_json())

    # commands -----------------------------------------------------------------------------------------
    def _command_worker(self) -> None:
        while True:
            item = self._cmd_queue.get()
            if item is _STOP:
                return
            topic, payload = item
            if self.device_registry is not None and self.device_registry.wants(topic):
                self._device_message(topic, payload)
                continue
            try:
                reply = self._answer(topic, payload)
                if reply is not None:
                    self._publish(topics.reply(self.center, reply.command), reply.to_json(), retain=False)
            except Exception:
                log.exception("MQTT: command on %s failed", topic)

    def _device_message(self, topic: str, payload: bytes) -> None:
        try:
            changes = self.device_registry.feed(topic, payload, self.service.clock.now())
            if changes and self.on_device_alerts is not None:
                self.on_device_alerts(changes)
        except Exception:   # a bad device message must never stop command handling
            log.exception("MQTT: device message on %s failed", topic)

    def _answer(self, topic: str, payload: bytes) -> CommandReply | None:
        try:
            parsed = topics.parse(topic)
        except topics.TopicError:
            return None
        if parsed.kind != "cmd":
            return None
        command = parsed.key
        try:
            request = CommandRequest.from_json(payload)
        except MessageError as err:
            correlation = _correlation_of(payload)
            log.info("MQTT: bad command payload on %s: %s", topic, err)
            return CommandReply(command, correlation, False,
                                error={"code": str(ErrorCode.BAD_REQUEST), "message": str(err)})
        if request.command != command:
            return CommandReply(command, request.correlation_id, False, error={
                "code": str(ErrorCode.BAD_REQUEST),
                "message": f"payload command {request.command!r} does not match the topic's {command!r}"})
        why = command_refusal(self.access, parsed.counter, command, dict(request.args), request.source)
        if why is not None:
            self.refused_commands += 1
            log.warning("MQTT: refused command from %s on %s (%s): %s", request.source or "?", topic,
                        request.correlation_id, why)
            return CommandReply(command, request.correlation_id, False,
                                error={"code": str(ErrorCode.FORBIDDEN), "message": why})
        reply = self.commands.handle(request)
        log.info("MQTT command %s from %s (%s): %s", command, request.source or "?", request.correlation_id,
                 "ok" if reply.ok else (reply.error or {}).get("code"))
        return reply


def client_settings(settings: Any, prefix: str | None = None) -> ClientSettings:
    """The shared client's settings from the hub's ``[mqtt]`` table (until the one settings model carries
    runtime.mqtt.MqttSettings itself): ``client_id`` is now a prefix, ``ca_file`` the CA, ``keepalive_s`` ..."""
    if isinstance(settings, ClientSettings):
        return settings if prefix is None else replace(settings, client_id_prefix=prefix)
    return ClientSettings(
        host=settings.host, port=settings.port, username=settings.username, password=settings.password,
        tls=bool(getattr(settings, "tls", False)),
        tls_ca=getattr(settings, "ca_file", None) or getattr(settings, "tls_ca", None),
        tls_cert=getattr(settings, "tls_cert", None), tls_key=getattr(settings, "tls_key", None),
        client_id_prefix=prefix or getattr(settings, "client_id", None) or "motcua",
        keepalive=int(getattr(settings, "keepalive_s", 0) or getattr(settings, "keepalive", 30)))


def _correlation_of(payload: bytes) -> str:
    """Best effort: echo a correlation id even from an otherwise invalid request, so the sender can match it."""
    if json_depth(payload) > MAX_JSON_DEPTH:
        return ""
    try:
        obj = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return ""
    value = obj.get("correlation_id") if isinstance(obj, dict) else None
    return value if isinstance(value, str) else ""


def service_center(service: QueueService) -> Any:
    return service.center


def _implements_the_port(adapter: MqttAdapter) -> Publisher:
    return adapter        # mypy checks that MqttAdapter satisfies the Publisher port
