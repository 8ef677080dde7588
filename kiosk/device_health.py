"""The kiosk's devices report themselves: printer, scanner and camera health on MQTT (devices.health's
DeviceHealthPublisher over the shared client runtime.mqtt, each with a Last Will), and the printer's readiness
handed to the kiosk so it stops offering paper tickets it cannot print and offers them again by itself.

The printer's status is read before and after every job (EscposTicketPrinter does both) and on a timer between
jobs, so paper loaded, or run out while idle, is seen within ``printer_check_s``. A printer whose transport cannot
read status back (a ``file:`` printer, some USB ones) is never declared down on a guess.

Must not: decide anything about tickets (the presenters do) or block the UI thread (status reads run on this
module's own thread; the kiosk hears of a change through ``on_change``, which the app posts to the UI thread).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

# faults that keep the printer from printing (paper_near_end only warns: it still prints)
BLOCKING = ("paper_out", "cover_open", "offline", "jammed")


def blocking_fault(status: Any) -> str | None:
    """The first fault of a devices.printer.PrinterStatus that stops printing, or None (also when unknown)."""
    if status is None or not getattr(status, "known", True):
        return None
    return next((f for f in status.faults if f in BLOCKING), None)


class PrinterWatch:
    """Follows one ticket printer (the kiosk's PrinterAdapter): publishes its health, tells the kiosk when it can
    or cannot print. ``publisher`` may be None (MQTT off): the kiosk still stops and resumes by itself."""

    def __init__(self, adapter: Any, publisher: Any, on_change: Callable[[str | None], None],
                 every_s: float = 10.0) -> None:
        self.adapter = adapter
        self.publisher = publisher
        self.on_change = on_change
        self.every_s = every_s
        self.fault: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        adapter.on_printed = self.after_job

    def start(self) -> None:
        self.check()
        self._thread = threading.Thread(target=self._loop, name="printer-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.check()
            except Exception:
                log.exception("printer status check failed")

    def check(self) -> str | None:
        """Read the status now (between jobs) and report it."""
        status = self.adapter.printer.status()
        if self.publisher is not None:
            self.publisher.report_printer(status)
        return self._set(blocking_fault(status))

    def after_job(self, report: Any) -> None:
        """Each job: the status read after it (or before, when the printer refused it) and the job's outcome."""
        status = report.status_after if report.status_after is not None else getattr(
            self.adapter.printer, "last_status", None)
        faults = list(status.faults) if status is not None and getattr(status, "known", True) else []
        if not report.printed and report.fault and report.fault not in faults:
            faults.insert(0, report.fault)   # layout_error, or offline when nothing answered
        if self.publisher is not None:
            self.publisher.report(faults, {"paper_near_end": "paper_near_end" in faults})
            self.publisher.report_event("ticket_printed" if report.printed else "print_failed",
                                        {"bytes": report.bytes_sent, "fault": report.fault})
        blocking = next((f for f in faults if f in BLOCKING), None)
        self._set(blocking)

    def _set(self, fault: str | None) -> str | None:
        with self._lock:
            changed = fault != self.fault
            self.fault = fault
        if changed:
            log.warning("printer: %s", f"cannot print ({fault})" if fault else "can print again")
            self.on_change(fault)
        return fault


class KioskDeviceHealth:
    """One publisher per device of this kiosk (``<kiosk id>-printer``, ``-scanner``, ``-camera``), all behind the
    kiosk's ONE broker connection (one user, one live connection: docs/security.md), whose Will marks the kiosk
    (its broker user, else its id) offline; started in the background (a kiosk works with the broker down) and
    stopped cleanly."""

    def __init__(self, settings: Any) -> None:
        from devices.health import DeviceHealthGroup
        from runtime.mqtt import MqttSettings

        m = settings.mqtt
        mqtt = MqttSettings(host=m.host, port=m.port, username=m.username or None, password=m.password or None,
                            tls=m.tls, tls_ca=m.tls_ca or None, keepalive=m.keepalive_s,
                            client_id_prefix=f"motcua-{settings.id}")
        self.group = DeviceHealthGroup(m.center, m.username or settings.id, "kiosk", mqtt)
        self.publishers: dict[str, Any] = {}
        for kind, url in (("printer", settings.devices.printer), ("scanner", settings.devices.scanner),
                          ("camera", settings.devices.camera)):
            if url:
                self.publishers[kind] = self.group.add(f"{settings.id}-{kind}", kind)

    def get(self, kind: str) -> Any:
        return self.publishers.get(kind)

    def start(self) -> None:
        self.group.start()

    def wait_connected(self, timeout: float) -> bool:
        return all(pub.wait_connected(timeout) for pub in self.publishers.values())

    def report(self, kind: str, faults: tuple[str, ...] = ()) -> None:
        pub = self.publishers.get(kind)
        if pub is not None:
            pub.report(faults)

    def stop(self) -> None:
        try:
            self.group.stop()
        except Exception:
            log.exception("device health publishers did not stop cleanly")


def start_device_health(settings: Any, printer: Any, on_printer_change: Callable[[str | None], None],
                        *, scanner_running: bool | None = None, camera_ok: bool | None = None
                        ) -> tuple[PrinterWatch, KioskDeviceHealth | None]:
    """Wire and start the kiosk's device health: MQTT publishers when ``[mqtt] enabled``, and the printer watch
    in every case. ``scanner_running``/``camera_ok``: whether they opened (None: not configured)."""
    health = KioskDeviceHealth(settings) if settings.mqtt.enabled else None
    if health is not None:
        health.start()
        if scanner_running is not None:
            health.report("scanner", () if scanner_running else ("not_found",))
        if camera_ok is not None:
            health.report("camera", () if camera_ok else ("not_found",))
    watch = PrinterWatch(printer, health.get("printer") if health is not None else None, on_printer_change,
                         every_s=settings.devices.printer_check_s)
    watch.start()
    return watch, health
