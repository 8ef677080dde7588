"""Device wiring for the kiosk: printer, scanner and camera opened by URL from the kiosk config.

Adapts the devices package's ports to what the presenters need (PrintJob → PrintableTicket); opens nothing until
asked. Scanner and camera callbacks arrive on device threads: ``post`` hands them to the UI thread.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kiosk.presenters.ports import PrintJob

log = logging.getLogger(__name__)

FOOTER = ("Xin vui lòng chờ đến lượt", "Please wait for your number")


class PrinterAdapter:
    """KioskPrinter over devices.printer.TicketPrinter; counts the bytes handed over (for the benchmark)."""

    def __init__(self, printer: Any) -> None:
        self.printer = printer
        self.on_printed: Callable[[Any], None] | None = None
        self.warmed = threading.Event()

    def print_job(self, job: PrintJob) -> Any:
        from devices.printer.model import PrintableTicket

        ticket = PrintableTicket(
            center_name=job.center_name, number=job.ticket.number, service_name=job.service_name,
            # An offline ticket has no live count: None prints "watch the display" rather than a guess.
            people_ahead=job.ticket.ahead, estimated_wait_min=job.ticket.estimated_wait_min,
            wait_low_min=job.ticket.wait_low_min, wait_high_min=job.ticket.wait_high_min,
            wait_served=job.ticket.wait_served, wait_past_close=job.ticket.wait_past_close,
            issued_at=job.issued_at, tracking_url=job.tracking_url, priority_label=job.priority_label)
        report = self.printer.print_ticket(ticket)
        if self.on_printed is not None:
            self.on_printed(report)
        return report


    def warm_up(self) -> None:
        """Lay out one dummy ticket (fonts loaded, glyphs cached) without sending it: the first citizen of the
        day must not wait for font loading (measured: ~1.4 s cold vs ~60 ms warm)."""
        layout = getattr(self.printer, "layout", None)
        if layout is None:
            self.warmed.set()
            return
        from datetime import datetime

        from contracts.messages import VN_TZ
        from devices.printer.model import PrintableTicket

        try:
            layout.build(PrintableTicket(
                center_name="Trung tâm Phục vụ hành chính công", number="A000", service_name="Tư pháp – Hộ tịch",
                people_ahead=0, estimated_wait_min=0, issued_at=datetime.now(VN_TZ),
                tracking_url="http://127.0.0.1/t/x", priority_label="Người cao tuổi"))
        except Exception as err:  # noqa: BLE001 - a warm-up failure shows up again, properly, on the first job
            log.warning("printer warm-up failed: %s", err)
        finally:
            self.warmed.set()


def open_kiosk_printer(url: str, out_dir: Any = None) -> PrinterAdapter:
    from devices.printer import open_printer

    return PrinterAdapter(open_printer(url, name="kiosk-printer", out_dir=out_dir))


class KeyboardWedge:
    """A scanner that types: characters arrive one by one and Enter ends a code (HID wedge; also the PC keyboard
    in ``--sim``). Pure buffer logic, fed by the app's keyboard hook."""

    def __init__(self, on_code: Callable[[str], None], max_len: int = 4096) -> None:
        self.on_code = on_code
        self.max_len = max_len
        self._buf: list[str] = []

    def feed(self, text: str) -> None:
        for ch in text:
            if ch in "\r\n":
                code = "".join(self._buf).strip()
                self._buf.clear()
                if code:
                    self.on_code(code)
            elif len(self._buf) < self.max_len:
                self._buf.append(ch)


def open_scanner(url: str, on_scan: Callable[..., None]) -> Any:
    """Start the scanner the URL names (devices.scanner: HID wedge, serial, sim); ``on_scan(raw, dossier_code,
    ticket_ref, source)`` is called on the scanner's thread for each read. Returns the running ScannerRunner
    (``stop()`` it), or None when the URL is empty. An unplugged scanner is retried by the runner."""
    if not url:
        return None
    from devices.scanner import open_scanner as open_device

    def deliver(event: Any) -> None:
        on_scan(event.raw, _text(event.dossier_code), event.ticket_ref, event.source)

    runner: Any = open_device(url, deliver)   # with on_scan given, always a ScannerRunner
    runner.start()
    return runner


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "normalized", value))


class CameraFeed:
    """Reads frames from a camera on a thread while the lookup screen shows the preview; decoded codes and
    frames go to the callbacks (which must post to the UI thread themselves)."""

    def __init__(self, url: str, on_frame: Callable[[Any], None], on_code: Callable[[str], None],
                 interval_s: float = 0.08) -> None:
        self.url = url
        self.on_frame = on_frame
        self.on_code = on_code
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._camera: Any = None
        self._decoder: Any = None

    def start(self) -> bool:
        if self._thread is not None:
            return True
        try:
            from devices.camera import CodeDecoder, open_camera
            self._camera = open_camera(self.url)
            self._decoder = CodeDecoder()
        except Exception as err:  # noqa: BLE001 - no camera is a degraded kiosk, not a dead one
            log.warning("camera %s unavailable: %s", self.url, err)
            return False
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="kiosk-camera", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        self._thread = None
        if self._camera is not None and callable(getattr(self._camera, "close", None)):
            self._camera.close()
        self._camera = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                frame = self._camera.read()
            except Exception as err:  # noqa: BLE001
                log.warning("camera read failed: %s", err)
                continue
            if frame is None:
                continue  # a camera between frames, or a replay that has ended
            self.on_frame(frame)
            try:
                found = self._decoder.decode(frame)   # throttled and de-duplicated by the decoder
            except Exception as err:  # noqa: BLE001
                log.debug("decode failed: %s", err)
                continue
            for item in found:
                self.on_code(str(item.text))
