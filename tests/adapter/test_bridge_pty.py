"""The bridge over socat pty pairs, the firmware running on CPython in another process, a real Mosquitto."""
from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from contracts import topics
from contracts.device_state import DeviceState
from contracts.messages import CommandReply, CommandRequest, CounterState, Envelope
from firmware_bridge.bridge import Bridge
from firmware_bridge.config import BridgeSettings, DeviceBinding
from firmware_bridge.sim.virtual_device import VirtualDevice
from firmware_bridge.sim.watch import TopicWatch

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(90)]


@pytest.fixture
def center() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"   # a center of its own: no retained message from another test


@pytest.fixture
def watch(mosquitto, center: str) -> Iterator[TopicWatch]:
    w = TopicWatch(mosquitto.host, mosquitto.port, [f"motcua/v1/{center}/#"])
    yield w
    w.close()


def make_settings(mosquitto, center: str, tmp_path: Path, *devices: tuple[str, str, str]) -> BridgeSettings:
    return BridgeSettings(
        center=center, mqtt_host=mosquitto.host, mqtt_port=mosquitto.port,
        devices=tuple(DeviceBinding(d, kind, str(tmp_path / f"by-id-{d}"), counter) for d, kind, counter in devices),
    )


def online(center: str, device: str):
    return topics.device_availability(center, device)


def test_hello_brings_the_device_online_and_frames_reach_the_display(mosquitto, center, watch, tmp_path,
                                                                      caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="motcua.wire")
    settings = make_settings(mosquitto, center, tmp_path, ("led-05", "led_display", "5"))
    bridge = Bridge(settings)
    with VirtualDevice("led_display", "led-05", tmp_path / "by-id-led-05") as led:
        bridge.start()
        try:
            watch.wait_for(online(center, "led-05"), lambda m: m.text == "online")
            state = watch.wait_for(topics.device_state(center, "led-05"), lambda m: json.loads(m.payload)["online"])
            assert json.loads(state.payload)["firmware"].startswith("motcua-fw")
            # "online" comes with the first HELLO the bridge accepts; when the device's boot hello crosses the
            # bridge's, the device answers with a second one and the bridge replays the display on it too.
            # The handshake is over once the device's latest HELLO is acknowledged.
            led.wait_for("log hello acknowledged")
            # A call for another counter is not ours; a call for counter 5 shows and blinks.
            other = Envelope.new(1, "ticket.called", center, _now(), {"ticket": {"number": "B001"}, "counter": "6"})
            mine = Envelope.new(2, "ticket.called", center, _now(), {"ticket": {"number": "A023"}, "counter": "5"})
            watch.publish(topics.event(center, "ticket.called"), other.to_json())
            watch.publish(topics.event(center, "ticket.called"), mine.to_json())
            assert led.wait_for("show A") == "show A023|blink"
            # Pause from the retained counter state, then a manual command on devices/<id>/set.
            paused = CounterState(3, "5", "Quầy 5", "paused", pause_reason="lunch")
            watch.publish(topics.state_counter(center, "5"), paused.to_json(), retain=True)
            assert led.wait_for("show ") == "show ----"
            resumed = CounterState(4, "5", "Quầy 5", "open")
            watch.publish(topics.state_counter(center, "5"), resumed.to_json(), retain=True)
            assert led.wait_for("show ") == "show "
            watch.publish(topics.device_set(center, "led-05"), json.dumps({"show": "C777"}))
            assert led.wait_for("show ") == "show C777"
            watch.publish(topics.device_set(center, "led-05"), "not json")     # ignored, no crash
            watch.publish(topics.device_set(center, "led-05"), json.dumps({"show": "D100", "blink": True}))
            assert led.wait_for("show ") == "show D100|blink"
            mark = watch.mark()
        finally:
            bridge.stop()
    watch.wait_for(online(center, "led-05"), lambda m: m.text == "offline", after=mark)
    wire = [r.getMessage() for r in caplog.records if r.name == "motcua.wire"]
    # hex frames both ways, e.g. ">>> led-05 05 01 20 ..." — the device's hello came in, commands went out
    assert any(re.fullmatch(r"<<< led-05( [0-9a-f]{2})+", line) for line in wire)
    assert any(re.fullmatch(r">>> led-05( [0-9a-f]{2})+", line) for line in wire)


def _now():
    from datetime import datetime

    from contracts.messages import VN_TZ
    return datetime.now(VN_TZ)


def test_unplug_and_replug_at_the_same_stable_path(mosquitto, center, watch, tmp_path) -> None:
    settings = make_settings(mosquitto, center, tmp_path, ("led-07", "led_display", "7"))
    bridge = Bridge(settings)
    led = VirtualDevice("led_display", "led-07", tmp_path / "by-id-led-07").plug()
    bridge.start()
    try:
        watch.wait_for(online(center, "led-07"), lambda m: m.text == "online")
        watch.publish(topics.device_set(center, "led-07"), json.dumps({"show": "A042"}))
        assert led.wait_for("show ") == "show A042"
        first_pts = os.path.realpath(tmp_path / "by-id-led-07")
        mark = watch.mark()
        led.unplug()
        watch.wait_for(online(center, "led-07"), lambda m: m.text == "offline", after=mark)
        mark = watch.mark()
        led.plug()    # a new pty pair: same stable path, (usually) another /dev/pts number
        assert os.path.exists(tmp_path / "by-id-led-07") and first_pts
        watch.wait_for(online(center, "led-07"), lambda m: m.text == "online", after=mark)
        # The rebooted display is given back the number it showed before the cable came out.
        assert led.wait_for("show A") == "show A042"
        watch.publish(topics.device_set(center, "led-07"), json.dumps({"show": "A043"}))
        assert led.wait_for("show A043") == "show A043"
        # A power glitch reboots the display: it comes up blank, says hello, and gets its number back.
        led.clear()
        led.control("reboot")
        assert led.wait_for("show ") == "show "
        assert led.wait_for("show ") == "show A043"
    finally:
        bridge.stop()
        led.stop()


def _until(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.01)


def test_a_hello_repeated_after_a_slow_ack_resets_nothing_and_a_reboot_does(mosquitto, center, watch, tmp_path,
                                                                            caplog) -> None:
    """HELLO carries a boot id: the device's HELLO retransmitted because the bridge's ack came late (fault
    injection: ``slowack``) is the same boot, acknowledged again with no replay; a reboot (new id) resets the
    link, writes the display again and says so in one log line."""
    caplog.set_level(logging.INFO, logger="firmware_bridge.bridge")
    settings = make_settings(mosquitto, center, tmp_path, ("led-08", "led_display", "8"))
    bridge = Bridge(settings)
    link = bridge.links["led-08"]
    with VirtualDevice("led_display", "led-08", tmp_path / "by-id-led-08") as led:
        bridge.start()
        try:
            led.wait_for("log hello acknowledged")
            watch.publish(topics.device_set(center, "led-08"), json.dumps({"show": "A042"}))
            assert led.wait_for("show ") == "show A042"
            # the bridge now acks late: the device's HELLO goes out again and again with the same seq and boot
            led.control("slowack 1000")
            start, repeats = len(led.history), link.hello_repeats
            led.control("hello")
            led.wait_for("log hello acknowledged")
            _until(lambda: link.hello_repeats >= repeats + 2, "the HELLO was not repeated")
            watch.publish(topics.device_set(center, "led-08"), json.dumps({"show": "B001"}))
            led.wait_for("show B001")        # written after the repeated HELLOs were handled: the sync point
            assert [line for line in led.history[start:] if line.startswith("show")] == ["show B001"]
            assert link.reboots == 0 and "rebooted" not in caplog.text
            # a power cycle, acks still slow: one reset and one replay, however often the new HELLO is repeated
            start, repeats = len(led.history), link.hello_repeats
            led.control("reboot")
            led.wait_for("log hello acknowledged")
            _until(lambda: link.hello_repeats >= repeats + 1, "the boot HELLO was not repeated")
            watch.publish(topics.device_set(center, "led-08"), json.dumps({"show": "C003"}))
            led.wait_for("show C003")
            assert [line for line in led.history[start:] if line.startswith("show")] == \
                ["show ", "show B001", "show C003"]     # blank at boot, the replay, the next command
            assert link.reboots == 1
            assert len([r for r in caplog.records if "led-08: rebooted" in r.getMessage()]) == 1
        finally:
            bridge.stop()


def test_a_silent_device_goes_offline_and_comes_back(mosquitto, center, watch, tmp_path) -> None:
    settings = make_settings(mosquitto, center, tmp_path, ("pad-05", "rating_pad", "5"))
    bridge = Bridge(settings)
    with VirtualDevice("rating_pad", "pad-05", tmp_path / "by-id-pad-05", heartbeat_ms=200) as pad:
        bridge.start()
        try:
            watch.wait_for(online(center, "pad-05"), lambda m: m.text == "online")
            mark = watch.mark()
            pad.control("silent on")          # firmware hung: no heartbeats, no answers
            watch.wait_for(online(center, "pad-05"), lambda m: m.text == "offline", after=mark)
            state = watch.wait_for(topics.device_state(center, "pad-05"),
                                   lambda m: json.loads(m.payload)["reason"] == "missed heartbeats", after=mark)
            parsed = DeviceState.from_json(state.payload)        # the shared device-state contract
            assert (parsed.kind, parsed.status, parsed.faults) == ("rating_pad", "fault", ("offline",))
            assert parsed.detail["online"] is False
            mark = watch.mark()
            pad.control("silent off")         # it recovers: the bridge asks who it is and it says hello
            watch.wait_for(online(center, "pad-05"), lambda m: m.text == "online", after=mark)
        finally:
            bridge.stop()


def test_keypad_press_survives_noise_and_a_lost_frame(mosquitto, center, watch, tmp_path, caplog) -> None:
    settings = replace(make_settings(mosquitto, center, tmp_path, ("kp-05", "staff_keypad", "5")),
                       command_timeout_s=1.0)
    bridge = Bridge(settings)
    with VirtualDevice("staff_keypad", "kp-05", tmp_path / "by-id-kp-05") as kp:
        bridge.start()
        try:
            watch.wait_for(online(center, "kp-05"), lambda m: m.text == "online")
            kp.control("garbage 300")          # line noise first
            kp.control("drop 1")               # and the press's first transmission is lost
            kp.press("next")
            req_msg = watch.wait_for(topics.cmd(center, "call-next", "5"))
            req = CommandRequest.from_json(req_msg.payload)
            assert req.args == {"counter": "5"} and req.source == "kp-05"
            # The hub refuses: the keypad's screen says why, in Vietnamese.
            reply = CommandReply("call-next", req.correlation_id, False, error={"code": "nothing_to_call",
                                                                                 "message": "queue empty"})
            watch.publish(topics.reply(center, "call-next"), reply.to_json())
            assert kp.wait_for("show Lỗi") == "show Lỗi: hết số chờ"
            # Exactly one request for one press, even with the retransmit.
            mark = watch.mark()
            kp.press("recall")
            watch.wait_for(topics.cmd(center, "recall", "5"), after=mark)
            # nobody answers the recall (no hub here): the keypad says so instead of hanging
            assert kp.wait_for("show Lỗi: máy") == "show Lỗi: máy chủ không trả lời"
            # the log says once what to look at (a hub down, or one older than this bridge: upgrade order)
            said = [r.getMessage() for r in caplog.records if "no reply to" in r.getMessage()]
            assert said and "older than this bridge" in said[0]
            calls = [m for m in watch.messages if m.topic == topics.cmd(center, "call-next", "5")]
            assert len(calls) == 1
            kp.press("transfer")               # no transfer target configured: said on the keypad, no request
            assert kp.wait_for("show Chuyển") == "show Chuyển: dùng màn hình quầy"
            assert not [m for m in watch.messages if m.topic == topics.cmd(center, "transfer", "5")]
            assert bridge.links["kp-05"].decoder.frames_bad > 0     # the noise was seen and dropped
        finally:
            bridge.stop()


def test_wrong_device_on_a_bound_port_is_not_brought_online(mosquitto, center, watch, tmp_path) -> None:
    settings = make_settings(mosquitto, center, tmp_path, ("led-09", "led_display", "9"))
    bridge = Bridge(settings)
    with VirtualDevice("led_display", "led-99", tmp_path / "by-id-led-09"):
        bridge.start()
        try:
            fault = watch.wait_for(topics.device_event(center, "led-09"))
            event = json.loads(fault.payload)
            assert (event["type"], event["fault"], event["device"]) == ("fault", "wrong_device", "led-09")
            assert "led-99" in event["detail"]
            assert not bridge.links["led-09"].online
        finally:
            bridge.stop()


def test_last_will_marks_devices_offline_when_the_bridge_dies(mosquitto, center, watch, tmp_path) -> None:
    """The bridge is ONE connection (one broker user, one live connection: issue 11), so its Will is the bridge's
    own availability; the hub's device registry, fed what the broker delivers, counts each device behind it
    offline too."""
    from datetime import datetime

    from queue_server.adapters.device_registry import DeviceRegistry

    config = tmp_path / "bridge.toml"
    config.write_text(
        f'[bridge]\ncenter = "{center}"\nmqtt_host = "{mosquitto.host}"\nmqtt_port = {mosquitto.port}\n'
        f'[[devices]]\nid = "pad-01"\nkind = "rating_pad"\nport = "{tmp_path / "by-id-pad-01"}"\ncounter = "1"\n'
        f'[[devices]]\nid = "kp-01"\nkind = "staff_keypad"\nport = "{tmp_path / "by-id-kp-01"}"\ncounter = "1"\n')
    with VirtualDevice("rating_pad", "pad-01", tmp_path / "by-id-pad-01"), \
            VirtualDevice("staff_keypad", "kp-01", tmp_path / "by-id-kp-01"):
        proc = subprocess.Popen([sys.executable, "-m", "firmware_bridge", "--config", str(config)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for dev in ("pad-01", "kp-01"):
                watch.wait_for(online(center, dev), lambda m: m.text == "online")
            mark = watch.mark()
            proc.send_signal(signal.SIGKILL)    # no clean disconnect: only the broker's Last Will can tell
            watch.wait_for(online(center, "bridge-pad-01"), lambda m: m.text == "offline", after=mark)
            registry = DeviceRegistry(center)
            for m in list(watch.messages):
                registry.feed(m.topic, m.payload, datetime(2026, 11, 23, 8, 0))
            for dev in ("pad-01", "kp-01", "bridge-pad-01"):
                rec = registry.device(dev)
                assert rec is not None and rec.availability == "offline", dev
            assert {a.device_id for a in registry.alerts() if a.code == "offline"} == {"pad-01", "kp-01",
                                                                                      "bridge-pad-01"}
            proc.wait(5)
            # systemd restarts the bridge: the device, still running, is found and introduced again
            mark = watch.mark()
            proc = subprocess.Popen([sys.executable, "-m", "firmware_bridge", "--config", str(config)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            watch.wait_for(online(center, "pad-01"), lambda m: m.text == "online", after=mark)
        finally:
            proc.terminate()
            proc.wait(5)


def test_demo_devices_show_calls_and_rate(mosquitto, center, watch, tmp_path) -> None:
    from firmware_bridge.sim.demo_devices import start_demo_devices

    demo = start_demo_devices(center, mosquitto.host, mosquitto.port, ["1"], workdir=tmp_path,
                              rate_probability=1.0, seed=7)
    try:
        for dev in ("led-1", "pad-1"):
            watch.wait_for(online(center, dev), lambda m: m.text == "online")
        called = Envelope.new(1, "ticket.called", center, _now(), {"ticket": {"number": "A007"}, "counter": "1"})
        done = Envelope.new(2, "ticket.done", center, _now(), {"ticket": {"number": "A007"}, "counter": "1"})
        watch.publish(topics.event(center, "ticket.called"), called.to_json())
        watch.publish(topics.event(center, "ticket.done"), done.to_json())
        req = CommandRequest.from_json(watch.wait_for(topics.cmd(center, "submit-rating", "1")).payload)
        assert req.args["counter"] == "1" and req.args["level"] in (3, 2, 1) and req.source == "pad-1"
        # the rating came through the pad; the LED's line is read by another citizen thread, which may not
        # have reached it yet: wait for it (a deadline, no fixed sleep)
        deadline = time.monotonic() + 20
        while demo.shown != {"1": "A007"} and time.monotonic() < deadline:
            demo.stop_event.wait(0.05)
        assert demo.shown == {"1": "A007"} and demo.presses == 1
    finally:
        demo.stop()


def test_a_press_from_a_device_the_bridge_forgot_is_not_lost(mosquitto, center, watch, tmp_path) -> None:
    settings = make_settings(mosquitto, center, tmp_path, ("kp-06", "staff_keypad", "6"))
    bridge = Bridge(settings)
    with VirtualDevice("staff_keypad", "kp-06", tmp_path / "by-id-kp-06", heartbeat_ms=200) as kp:
        bridge.start()
        try:
            watch.wait_for(online(center, "kp-06"), lambda m: m.text == "online")
            mark = watch.mark()
            kp.control("silent on")
            watch.wait_for(online(center, "kp-06"), lambda m: m.text == "offline", after=mark)
            # it wakes up and its first act is a key press, before the bridge knows it again
            kp.control("silent off")
            kp.press("next")
            req = CommandRequest.from_json(watch.wait_for(topics.cmd(center, "call-next", "6"), after=mark).payload)
            assert req.args == {"counter": "6"}
            watch.wait_for(online(center, "kp-06"), lambda m: m.text == "online", after=mark)
        finally:
            bridge.stop()


class HeldProxy:
    """A TCP proxy to the broker that holds the broker's bytes (CONNACK first) until ``release``: a connection
    whose CONNACK is slow, as under load. What the client writes passes at once."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.release = threading.Event()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, held: bool) -> None:
        if held:
            self.release.wait()
        while True:
            try:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
            except OSError:
                break
        for s in (src, dst):
            s.close()

    def close(self) -> None:
        self.release.set()
        self.listener.close()
        for s in self.sockets:
            s.close()


def test_a_device_is_reported_only_after_the_bridge_state_that_names_it(mosquitto, center, watch, tmp_path) -> None:
    """The last-will flake: a device came online while the bridge's CONNACK was on its way; paho sent its
    availability at once, ahead of the bridge's state (Bridge._on_connect) naming the devices behind it. A bridge
    killed in between left the hub a device online for good, never linked to the bridge whose Will said offline."""
    proxy = HeldProxy(mosquitto.port)
    settings = replace(make_settings(mosquitto, center, tmp_path, ("pad-02", "rating_pad", "2")),
                       mqtt_port=proxy.port)
    bridge = Bridge(settings)
    try:
        with VirtualDevice("rating_pad", "pad-02", tmp_path / "by-id-pad-02"):
            bridge.start()
            deadline = time.monotonic() + 20
            while not bridge.links["pad-02"].online:          # HELLO done while the CONNACK is held
                assert time.monotonic() < deadline, "pad-02 never said hello"
                time.sleep(0.01)
            proxy.release.set()
            watch.wait_for(online(center, "pad-02"), lambda m: m.text == "online")
            state = watch.wait_for(topics.device_state(center, "pad-02"), lambda m: json.loads(m.payload)["online"])
            assert json.loads(state.payload)["reason"] == "hello"
            gateway = topics.device_state(center, bridge.id)
            order = [m.topic for m in watch.messages]
            first_device = min(order.index(online(center, "pad-02")), order.index(state.topic))
            assert gateway in order[:first_device], order
            assert "pad-02" in DeviceState.from_json(watch.messages[order.index(gateway)].payload).detail["devices"]
    finally:
        bridge.stop()
        proxy.close()
