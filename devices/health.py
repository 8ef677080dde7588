"""DeviceHealthPublisher: a device's availability, state and fault events on MQTT, with a Last Will.

Each device process (kiosk printer, scanner, camera) owns one publisher with its own client id. It publishes
``devices/<id>/availability`` = ``online`` (retained) on every (re)connect, with the broker holding ``offline`` as
the Last Will so an abrupt death (power cut, kill -9, cable pulled) is seen by the hub within keepalive x 1.5;
``devices/<id>/state`` (retained JSON: kind, status, faults) whenever it changes; and one ``devices/<id>/event``
per fault that appears or clears. Topic strings come from contracts.topics; payloads from contracts.device_state.

It never blocks the device: paho's own thread connects and reconnects; publishes while offline are queued by
paho (QoS 1) and the retained state is republished on reconnect.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contracts import topics
from contracts.device_state import OFFLINE, ONLINE, DeviceEvent, DeviceState, status_for
from contracts.messages import VN_TZ, format_at

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(VN_TZ)


class DeviceHealthPublisher:
    def __init__(self, center: str, device_id: str, kind: str, host: str = "127.0.0.1", port: int = 1883,
                 client_id: str | None = None, keepalive: int = 10, username: str | None = None,
                 password: str | None = None, clock: Callable[[], datetime] = _now) -> None:
        self.center = topics.slug(center, "center")
        self.device_id = topics.slug(device_id, "device id")
        self.kind = kind
        self.host, self.port, self.keepalive = host, port, keepalive
        self.clock = clock
        self.availability_topic = topics.device_availability(center, device_id)
        self.state_topic = topics.device_state(center, device_id)
        self.event_topic = topics.device_event(center, device_id)
        self._lock = threading.Lock()
        self._faults: tuple[str, ...] = ()
        self._detail: dict[str, Any] = {}
        self._state: DeviceState | None = None
        self.connected = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"motcua-device-{device_id}")
        if username:
            self.client.username_pw_set(username, password)
        self.client.will_set(self.availability_topic, OFFLINE, qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background; returns at once (a device must work while the broker is down)."""
        self.client.connect_async(self.host, self.port, keepalive=self.keepalive)
        self.client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        return self.connected.wait(timeout)

    def stop(self) -> None:
        """Graceful stop: say offline ourselves (the Last Will only fires on an abrupt disconnect)."""
        if self.connected.is_set():
            info = self.client.publish(self.availability_topic, OFFLINE, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2)
            except (RuntimeError, ValueError):  # not connected any more: the Will covers it
                pass
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: Any,
                    properties: object = None) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("%s: broker refused the connection: %s", self.device_id, reason)
            return
        client.publish(self.availability_topic, ONLINE, qos=1, retain=True)
        with self._lock:
            state = self._state
        if state is not None:
            client.publish(self.state_topic, state.to_json(), qos=1, retain=True)
        self.connected.set()
        log.info("%s: online on %s:%s", self.device_id, self.host, self.port)

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object, reason: Any,
                       properties: object = None) -> None:
        self.connected.clear()
        log.info("%s: disconnected (%s); paho reconnects", self.device_id, reason)

    # -- reporting -----------------------------------------------------------------------------------------------
    def report(self, faults: Iterable[str] = (), detail: dict[str, Any] | None = None) -> DeviceState:
        """Set the device's current faults; publishes state (retained) and one event per fault raised/cleared."""
        new = tuple(dict.fromkeys(faults))  # keep order, drop repeats
        now = format_at(self.clock())
        with self._lock:
            old = self._faults
            self._faults = new
            if detail is not None:
                self._detail = dict(detail)
            state = DeviceState(self.kind, status_for(new), new, now, self._detail)
            changed = self._state is None or (state.status, state.faults, state.detail) != (
                self._state.status, self._state.faults, self._state.detail)
            self._state = state
        if changed:
            self.client.publish(self.state_topic, state.to_json(), qos=1, retain=True)
        for fault in new:
            if fault not in old:
                self.client.publish(self.event_topic, DeviceEvent("fault", fault, now).to_json(), qos=1)
        for fault in old:
            if fault not in new:
                self.client.publish(self.event_topic, DeviceEvent("fault_cleared", fault, now).to_json(), qos=1)
        return state

    def report_event(self, event_type: str, data: dict[str, Any] | None = None) -> None:
        """Other device events (a scan, a ticket printed), never retained."""
        payload = DeviceEvent(event_type, None, format_at(self.clock()), data or {}).to_json()
        self.client.publish(self.event_topic, payload, qos=1)

    def report_printer(self, status: Any) -> DeviceState:
        """Convenience for a devices.printer.PrinterStatus (duck-typed to keep this module printer-agnostic)."""
        if not getattr(status, "known", True):
            return self.report(self._faults)
        return self.report(tuple(status.faults), {"paper_near_end": bool(status.paper_near_end)})


class ReportingPrinter:
    """A TicketPrinter that tells the hub how each job went: state (faults) and a ``ticket_printed`` or
    ``print_failed`` event per job. Wrap the kiosk's printer in it; call status() on a timer to catch a printer
    that ran out of paper while idle."""

    def __init__(self, printer: Any, publisher: DeviceHealthPublisher) -> None:
        self.printer = printer
        self.publisher = publisher

    def print_ticket(self, ticket: Any) -> Any:
        report = self.printer.print_ticket(ticket)
        status = report.status_after if report.status_after is not None else getattr(self.printer, "last_status",
                                                                                       None)
        faults = list(status.faults) if status is not None and status.known else []
        if not report.printed and report.fault and report.fault not in faults:
            faults.insert(0, report.fault)  # e.g. layout_error, or offline when nothing answered
        self.publisher.report(faults)
        self.publisher.report_event("ticket_printed" if report.printed else "print_failed",
                                    {"number": ticket.number, "bytes": report.bytes_sent, "fault": report.fault})
        return report

    def status(self) -> Any:
        status = self.printer.status()
        self.publisher.report_printer(status)
        return status


def main(argv: list[str] | None = None) -> int:
    """``python -m devices.health --center c --device printer-1 --kind printer --port 1883``: publish online and
    sit there (used by tests to check the Last Will when the process is killed, and handy on a bench)."""
    import argparse
    import sys

    ap = argparse.ArgumentParser()
    ap.add_argument("--center", required=True)
    ap.add_argument("--device", required=True)
    ap.add_argument("--kind", default="printer")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1883)
    ap.add_argument("--keepalive", type=int, default=10)
    ap.add_argument("--fault", action="append", default=[])
    args = ap.parse_args(argv)
    pub = DeviceHealthPublisher(args.center, args.device, args.kind, args.host, args.port,
                                keepalive=args.keepalive)
    pub.start()
    if not pub.wait_connected(10):
        print("not connected", flush=True)
        return 1
    pub.report(args.fault)
    print("ready", flush=True)
    sys.stdin.read()  # until the parent closes stdin, or kills us
    pub.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
