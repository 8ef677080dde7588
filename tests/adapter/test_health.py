"""DeviceHealthPublisher against a real Mosquitto: retained availability and state, fault events, graceful stop,
and the Last Will when the device process dies abruptly; the hub's DeviceRegistry fed from the same broker."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from contracts import topics
from contracts.messages import VN_TZ
from devices.health import DeviceHealthPublisher
from devices.printer import open_printer
from queue_server.adapters.device_registry import DeviceRegistry

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]
ROOT = Path(__file__).resolve().parents[2]


class Watcher:
    """A subscriber that queues (topic, payload, retain) and waits for a matching message."""

    def __init__(self, host: str, port: int, topic_filter: str, client_id: str) -> None:
        self.messages: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.on_connect = lambda c, u, f, rc, p=None: c.subscribe(topic_filter, qos=1)
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload, bool(m.retain)))
        self.client.connect(host, port)
        self.client.loop_start()

    def wait_for(self, topic: str, predicate=lambda payload: True, timeout: float = 10.0) -> bytes:
        import time

        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching message on {topic}")
            try:
                t, payload, _ = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if t == topic and predicate(payload):
                return payload

    def collect(self, wanted: set[str], timeout: float = 10.0) -> dict[str, bytes]:
        """The first message on each wanted topic, in whatever order the broker sends them."""
        got: dict[str, bytes] = {}
        while set(got) != wanted:
            topic, payload, _ = self.messages.get(timeout=timeout)
            if topic in wanted:
                got.setdefault(topic, payload)
        return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def center(request: pytest.FixtureRequest) -> str:
    # a center per test keeps retained messages of one test away from the next on the shared broker
    return "c-" + request.node.name.replace("_", "-").lower()[:40].strip("-[]")


def test_availability_state_and_fault_events(mosquitto, center: str) -> None:
    watcher = Watcher(mosquitto.host, mosquitto.port, topics.devices_filter(center, "#"), "watch-health-1")
    pub = DeviceHealthPublisher(center, "printer-1", "printer", mosquitto.host, mosquitto.port)
    pub.start()
    try:
        assert pub.wait_connected(10)
        watcher.wait_for(topics.device_availability(center, "printer-1"), lambda p: p == b"online")
        printer = open_printer("sim://printer?paper=out")
        pub.report_printer(printer.status())
        state = json.loads(watcher.wait_for(topics.device_state(center, "printer-1")))
        assert (state["kind"], state["status"], state["faults"]) == ("printer", "fault", ["paper_out"])
        event = json.loads(watcher.wait_for(topics.device_event(center, "printer-1")))
        assert (event["type"], event["fault"]) == ("fault", "paper_out")
        printer.simulator.set_faults(paper="near_end")  # type: ignore[attr-defined]
        pub.report_printer(printer.status())
        # published in this order: the retained state, then one event per fault raised or cleared
        state = json.loads(watcher.wait_for(topics.device_state(center, "printer-1"),
                                            lambda p: b"warning" in p))
        assert state["faults"] == ["paper_near_end"]
        raised = json.loads(watcher.wait_for(topics.device_event(center, "printer-1")))
        assert (raised["type"], raised["fault"]) == ("fault", "paper_near_end")
        cleared = json.loads(watcher.wait_for(topics.device_event(center, "printer-1")))
        assert (cleared["type"], cleared["fault"]) == ("fault_cleared", "paper_out")
    finally:
        pub.stop()
    watcher.wait_for(topics.device_availability(center, "printer-1"), lambda p: p == b"offline")
    watcher.close()
    # retained: a late subscriber (the hub starting after the device) still gets both
    late = Watcher(mosquitto.host, mosquitto.port, topics.devices_filter(center, "#"), "watch-health-late")
    got = late.collect({topics.device_state(center, "printer-1"), topics.device_availability(center, "printer-1")})
    assert json.loads(got[topics.device_state(center, "printer-1")])["faults"] == ["paper_near_end"]
    assert got[topics.device_availability(center, "printer-1")] == b"offline"
    late.close()


def test_last_will_on_abrupt_disconnect_reaches_the_registry(mosquitto, center: str) -> None:
    registry = DeviceRegistry(center)
    watcher = Watcher(mosquitto.host, mosquitto.port, topics.devices_filter(center, "#"), "watch-health-2")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "devices.health", "--center", center, "--device", "printer-2", "--kind", "printer",
         "--port", str(mosquitto.port), "--keepalive", "2", "--fault", "paper_out"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"

        def feed_until(topic: str, predicate) -> None:
            payload = watcher.wait_for(topic, predicate)
            registry.feed(topic, payload, datetime.now(VN_TZ))

        feed_until(topics.device_availability(center, "printer-2"), lambda p: p == b"online")
        feed_until(topics.device_state(center, "printer-2"), lambda p: b"paper_out" in p)
        assert [a.code for a in registry.alerts()] == ["paper_out"]
        os.kill(proc.pid, signal.SIGKILL)  # no DISCONNECT packet: only the broker's Last Will can tell
        proc.wait(10)
        feed_until(topics.device_availability(center, "printer-2"), lambda p: p == b"offline")
        assert registry.device("printer-2").availability == "offline"  # type: ignore[union-attr]
        assert {a.code for a in registry.alerts()} == {"offline", "paper_out"}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        watcher.close()


def test_publisher_starts_while_the_broker_is_down_and_connects_later(fresh_mosquitto, center: str) -> None:
    fresh_mosquitto.stop()
    pub = DeviceHealthPublisher(center, "scanner-1", "scanner", fresh_mosquitto.host, fresh_mosquitto.port)
    pub.start()  # must not raise or block
    try:
        pub.report(["read_error"])
        assert not pub.connected.is_set()
        fresh_mosquitto.restart()
        assert pub.wait_connected(20)
        watcher = Watcher(fresh_mosquitto.host, fresh_mosquitto.port, topics.devices_filter(center, "#"), "w3")
        state = json.loads(watcher.wait_for(topics.device_state(center, "scanner-1")))
        assert state["faults"] == ["read_error"]  # the state set while offline was republished on connect
        watcher.close()
    finally:
        pub.stop()


def test_reporting_printer_publishes_each_job(mosquitto, center: str) -> None:
    from datetime import datetime as _dt

    from devices.health import ReportingPrinter
    from devices.printer import PrintableTicket

    watcher = Watcher(mosquitto.host, mosquitto.port, topics.devices_filter(center, "#"), "watch-health-4")
    pub = DeviceHealthPublisher(center, "kiosk-1-printer", "printer", mosquitto.host, mosquitto.port)
    pub.start()
    try:
        assert pub.wait_connected(10)
        printer = ReportingPrinter(open_printer("sim://printer?paper_jobs=1"), pub)
        ticket = PrintableTicket("Trung tâm HCC", "C001", "Hộ tịch", 0, None, _dt(2026, 11, 23, 9, tzinfo=VN_TZ),
                                 "http://10.0.0.2:8080/t/x1")
        assert printer.print_ticket(ticket).printed
        ok = json.loads(watcher.wait_for(topics.device_event(center, "kiosk-1-printer"),
                                         lambda p: b"ticket_printed" in p))
        assert ok["data"] == {"number": "C001", "bytes": len(printer.printer.layout.build(ticket)),
                              "fault": None}
        assert not printer.print_ticket(ticket).printed  # the roll ends during the second job
        state = json.loads(watcher.wait_for(topics.device_state(center, "kiosk-1-printer"),
                                            lambda p: b"paper_out" in p))
        assert state["status"] == "fault"
        failed = json.loads(watcher.wait_for(topics.device_event(center, "kiosk-1-printer"),
                                             lambda p: b"print_failed" in p))
        assert failed["data"]["fault"] == "paper_out"
    finally:
        pub.stop()
        watcher.close()
