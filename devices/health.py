"""DeviceHealthPublisher: a device's availability, state and fault events on MQTT, with a Last Will.

A process with one device owns one publisher and its connection. A process with several (a kiosk's printer,
scanner and camera) puts them behind ONE connection, a :class:`DeviceHealthGroup`: the broker ties each user to
one live connection (``use_username_as_clientid``), so a process is one user and one connection; the group's Will
marks the process itself offline and its retained state lists the devices it covers (the hub counts them offline
with it: contracts/device_state.py). Each publisher publishes
``devices/<id>/availability`` = ``online`` (retained) on every (re)connect, with the broker holding ``offline`` as
the Last Will so an abrupt death (power cut, kill -9, cable pulled) is seen by the hub within keepalive x 1.5;
``devices/<id>/state`` (retained JSON: kind, status, faults) whenever it changes; and one ``devices/<id>/event``
per fault that appears or clears. Topic strings come from contracts.topics; payloads from contracts.device_state.

It never blocks the device: the shared client (runtime.mqtt: TLS, random-suffix client id, Will) connects and
reconnects on its own thread; publishes while offline are queued (QoS 1) and the retained state is republished
on reconnect.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from contracts import topics
from contracts.device_state import OFFLINE, ONLINE, DeviceEvent, DeviceState, status_for
from contracts.messages import VN_TZ, format_at
from runtime.mqtt import MqttClient, MqttError, MqttSettings, Will

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(VN_TZ)


class DeviceHealthPublisher:
    """``mqtt`` (runtime.mqtt.MqttSettings, with TLS for a broker on another machine) takes precedence over the
    plain ``host``/``port``/``username``/``password``/``keepalive`` arguments; ``client_id`` is a prefix."""

    def __init__(self, center: str, device_id: str, kind: str, host: str = "127.0.0.1", port: int = 1883,
                 client_id: str | None = None, keepalive: int = 10, username: str | None = None,
                 password: str | None = None, clock: Callable[[], datetime] = _now, *,
                 mqtt: MqttSettings | None = None, client: MqttClient | None = None) -> None:
        self.center = topics.slug(center, "center")
        self.device_id = topics.slug(device_id, "device id")
        self.kind = kind
        settings = mqtt or MqttSettings(host=host, port=port, username=username, password=password,
                                        keepalive=keepalive)
        if client_id:
            settings = replace(settings, client_id_prefix=client_id)
        self.host, self.port, self.keepalive = settings.host, settings.port, settings.keepalive
        self.clock = clock
        self.availability_topic = topics.device_availability(center, device_id)
        self.state_topic = topics.device_state(center, device_id)
        self.event_topic = topics.device_event(center, device_id)
        self._lock = threading.Lock()
        self._faults: tuple[str, ...] = ()
        self._detail: dict[str, Any] = {}
        self._state: DeviceState | None = None
        self.connected = threading.Event()
        # ``client``: a DeviceHealthGroup's shared connection (the group starts, stops and reconnects it)
        self.shared = client is not None
        self.client = client if client is not None else MqttClient(
            settings, name="" if client_id else f"device-{device_id}",
            will=Will(self.availability_topic, OFFLINE, qos=1, retain=True),
            on_connect=self._on_connect, on_disconnect=self._on_disconnect, min_backoff_s=1, max_backoff_s=30)

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background; returns at once (a device must work while the broker is down)."""
        if not self.shared:
            self.client.start()

    def wait_connected(self, timeout: float) -> bool:
        return self.connected.wait(timeout)

    def stop(self) -> None:
        """Graceful stop: say offline ourselves (the Last Will only fires on an abrupt disconnect)."""
        if self.shared:
            self.client.publish(self.availability_topic, OFFLINE, qos=1, retain=True).wait(2)
        else:
            self.client.stop(say_will=True, timeout=2)
        self.connected.clear()

    def _on_connect(self) -> None:
        self.client.publish(self.availability_topic, ONLINE, qos=1, retain=True)
        with self._lock:
            state = self._state
        if state is not None:
            self.client.publish(self.state_topic, state.to_json(), qos=1, retain=True)
        self.connected.set()
        log.info("%s: online on %s:%s", self.device_id, self.host, self.port)

    def _on_disconnect(self, reason: str) -> None:
        self.connected.clear()
        log.info("%s: disconnected (%s); reconnecting", self.device_id, reason)

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


class DeviceHealthGroup:
    """Several devices of one process behind ONE connection (``gateway_id``: the process's own device id, its
    broker user where there is one). ``add()`` every device, then ``start()``."""

    def __init__(self, center: str, gateway_id: str, kind: str, mqtt: MqttSettings,
                 clock: Callable[[], datetime] = _now) -> None:
        self.center = topics.slug(center, "center")
        self.id = topics.slug(gateway_id, "device id")
        self.kind = kind
        self.clock = clock
        self.availability_topic = topics.device_availability(center, self.id)
        self.publishers: dict[str, DeviceHealthPublisher] = {}
        self.client = MqttClient(mqtt, name=f"device-{self.id}",
                                 will=Will(self.availability_topic, OFFLINE, qos=1, retain=True),
                                 on_connect=self._on_connect, on_disconnect=self._on_disconnect,
                                 min_backoff_s=1, max_backoff_s=30)

    def add(self, device_id: str, kind: str) -> DeviceHealthPublisher:
        if topics.slug(device_id, "device id") == self.id:
            raise ValueError(f"device {device_id!r} has the id of its own process")
        pub = DeviceHealthPublisher(self.center, device_id, kind, clock=self.clock, client=self.client)
        self.publishers[pub.device_id] = pub
        return pub

    def start(self) -> None:
        self.client.start()

    def stop(self) -> None:
        for pub in self.publishers.values():
            pub.stop()
        self.client.stop(say_will=True, timeout=2)

    def _on_connect(self) -> None:
        # the process first: the hub learns which devices its availability covers before theirs arrive
        state = DeviceState(self.kind, status_for(()), (), format_at(self.clock()),
                            {"devices": sorted(self.publishers)})
        self.client.publish(topics.device_state(self.center, self.id), state.to_json(), qos=1, retain=True)
        self.client.publish(self.availability_topic, ONLINE, qos=1, retain=True)
        for pub in self.publishers.values():
            pub._on_connect()

    def _on_disconnect(self, reason: str) -> None:
        for pub in self.publishers.values():
            pub._on_disconnect(reason)


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
    ap.add_argument("--username", help="broker user (password from $MOTCUA_MQTT__PASSWORD, as every process reads it)")
    ap.add_argument("--tls-ca", help="CA file: connect over TLS and check the broker's certificate")
    ap.add_argument("--tls-cert", help="client certificate (PEM), if the broker wants one")
    ap.add_argument("--tls-key", help="its private key (PEM)")
    ap.add_argument("--fault", action="append", default=[])
    args = ap.parse_args(argv)
    mqtt = MqttSettings(host=args.host, port=args.port, username=args.username,
                        password=os.environ.get("MOTCUA_MQTT__PASSWORD") or os.environ.get("MOTCUA_MQTT_PASSWORD"), tls_ca=args.tls_ca,
                        tls_cert=args.tls_cert, tls_key=args.tls_key, keepalive=args.keepalive)
    try:
        pub = DeviceHealthPublisher(args.center, args.device, args.kind, mqtt=mqtt)
    except MqttError as err:          # a CA or client certificate that does not load
        print(f"config error: {err}", file=sys.stderr)
        return 2
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
