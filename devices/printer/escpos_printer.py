"""EscposTicketPrinter: sends a laid-out ticket over python-escpos (USB, serial, network, file) and reads status.

The job is built once by TicketLayout; the transport only moves bytes. Where the link is bidirectional the printer's
real-time status (DLE EOT 1/2/4) is read before the job (a printer out of paper or with its cover open gets no job)
and after it (paper that ran out during the job makes the report a failure). A failed job is reported with a stable
fault code, never counted as printed. Nothing here raises to the caller for a device problem: print_ticket always
returns a PrintReport.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from devices.printer import status as dle
from devices.printer.layout import LayoutConfig, LayoutError, TicketLayout
from devices.printer.model import UNKNOWN_STATUS, PrintableTicket, PrinterError, PrinterStatus, PrintReport
from devices.printer.sim import SimFaults, SimulatedPrinter
from devices.urls import DeviceUrl, DeviceUrlError, parse_device_url, usb_ids

log = logging.getLogger(__name__)
wire = logging.getLogger("motcua.wire.printer")


class Transport(Protocol):
    """Moves bytes to a printer. ``bidirectional`` says whether read() can ever return a status reply."""

    bidirectional: bool

    def open(self) -> None: ...

    def write(self, data: bytes) -> None: ...

    def read(self, timeout: float) -> bytes: ...

    def discard_input(self) -> None: ...

    def close(self) -> None: ...


class EscposTransport:
    """A python-escpos printer object (Usb, Serial, Network, File) used as a byte pipe."""

    def __init__(self, printer: Any, bidirectional: bool) -> None:
        self.printer = printer
        self.bidirectional = bidirectional
        self._open = False

    def open(self) -> None:
        if not self._open:
            self.printer.open()  # raises escpos DeviceNotFoundError when the device is missing
            self._open = True

    def write(self, data: bytes) -> None:
        self.open()
        self.printer._raw(data)

    def _device(self) -> Any:
        return getattr(self.printer, "device", None)

    def read(self, timeout: float) -> bytes:
        dev = self._device()
        if dev is None:
            return b""
        if hasattr(dev, "recv"):  # socket (Network)
            dev.settimeout(timeout)
            try:
                return bytes(dev.recv(16))
            except TimeoutError:
                return b""
        if hasattr(dev, "in_waiting"):  # pyserial (Serial)
            dev.timeout = timeout
            return bytes(dev.read(1))
        return bytes(self.printer._read() or b"")  # Usb: pyusb read with the library's own timeout

    def discard_input(self) -> None:
        dev = self._device()
        if dev is not None and hasattr(dev, "reset_input_buffer"):
            dev.reset_input_buffer()
        elif dev is not None and hasattr(dev, "recv"):
            dev.settimeout(0)
            try:
                while dev.recv(64):
                    pass
            except (BlockingIOError, TimeoutError, OSError):
                pass

    def close(self) -> None:
        if self._open:
            self._open = False
            try:
                self.printer.close()
            except Exception as err:  # noqa: BLE001 - closing a dead device must not hide the original fault
                log.debug("close failed: %s", err)


class InProcessTransport:
    """Straight into a SimulatedPrinter in this process: the default for ``sim://printer`` and ``make demo``."""

    bidirectional = True

    def __init__(self, printer: SimulatedPrinter) -> None:
        self.printer = printer
        self._replies = bytearray()

    def open(self) -> None:
        pass

    def write(self, data: bytes) -> None:
        self._replies += self.printer.feed(data)

    def read(self, timeout: float) -> bytes:
        out, self._replies = bytes(self._replies[:1]), self._replies[1:]
        return out

    def discard_input(self) -> None:
        self._replies.clear()

    def close(self) -> None:
        pass


class EscposTicketPrinter:
    """The TicketPrinter for every real ESC/POS printer and for the in-process simulator."""

    def __init__(self, transport: Transport, layout: TicketLayout | None = None, status_timeout: float = 0.5,
                 name: str = "printer") -> None:
        self.transport = transport
        self.layout = layout or TicketLayout()
        self.status_timeout = status_timeout
        self.name = name
        self._lock = threading.Lock()  # one job at a time: two kiosks threads must not interleave bytes
        self.last_status: PrinterStatus = UNKNOWN_STATUS

    def status(self) -> PrinterStatus:
        with self._lock:
            return self._status()

    def _status(self) -> PrinterStatus:
        if not self.transport.bidirectional:
            return UNKNOWN_STATUS
        try:
            self.transport.open()
            self.transport.discard_input()
            replies: dict[int, int] = {}
            for n in dle.QUERIES:
                self.transport.write(dle.request(n))
                deadline = time.monotonic() + self.status_timeout
                while time.monotonic() < deadline:
                    got = self.transport.read(max(0.01, deadline - time.monotonic()))
                    if got and dle.is_status_byte(got[-1]):
                        replies[n] = got[-1]
                        break
                if n not in replies:
                    break  # no answer to one query: the printer is not there, don't wait for the others
        except Exception as err:  # noqa: BLE001 - device gone, socket reset, USB unplugged: all mean offline
            log.warning("%s: status read failed: %s", self.name, err)
            self.transport.close()
            self.last_status = PrinterStatus(online=False)
            return self.last_status
        self.last_status = dle.decode(replies)
        return self.last_status

    def print_ticket(self, ticket: PrintableTicket) -> PrintReport:
        try:
            data = self.layout.build(ticket)
        except LayoutError as err:
            log.error("%s: ticket %s cannot be laid out: %s", self.name, ticket.number, err)
            return PrintReport(False, "layout_error", 0)
        with self._lock:
            before = self._status()
            if before.known and not before.ready:
                log.warning("%s: not printing %s: %s", self.name, ticket.number, ",".join(before.faults))
                return PrintReport(False, before.faults[0], 0, before)
            try:
                self.transport.open()
                if wire.isEnabledFor(logging.DEBUG):
                    wire.debug(">>> %d bytes %s", len(data), data[:64].hex(" "))
                self.transport.write(data)
            except Exception as err:  # noqa: BLE001 - any transport failure is a failed job, never a crash
                log.error("%s: sending ticket %s failed: %s", self.name, ticket.number, err)
                self.transport.close()
                self.last_status = PrinterStatus(online=False)
                return PrintReport(False, "offline", 0, self.last_status)
            after = self._status()
            if after.known and not after.ready:
                log.warning("%s: ticket %s failed during the job: %s", self.name, ticket.number,
                            ",".join(after.faults))
                return PrintReport(False, after.faults[0], len(data), after)
            return PrintReport(True, None, len(data), after)

    def close(self) -> None:
        self.transport.close()


def sim_faults_from_url(u: DeviceUrl) -> SimFaults:
    paper = u.param("paper", "ok") or "ok"
    if paper not in ("ok", "near_end", "out"):
        raise DeviceUrlError(f"{u.raw}: paper={paper!r}: expected ok, near_end or out")
    jobs = u.param("paper_jobs")
    return SimFaults(
        paper=paper,
        cover_open=(u.param("cover") == "open") or u.bool_param("cover_open"),
        offline=u.bool_param("offline"),
        silent=u.bool_param("silent"),
        delay_ms=u.int_param("delay_ms", 0),
        paper_jobs=int(jobs) if jobs and jobs.isdigit() else None,
    )


def layout_from_url(u: DeviceUrl) -> TicketLayout:
    width = u.param("width", "80") or "80"
    dots = u.int_param("dots", {"58": 384, "80": 576}.get(width, 0))
    try:
        return TicketLayout(LayoutConfig(paper_dots=dots, text_mode=u.param("text", "raster") or "raster",
                                         profile=u.param("profile")))
    except LayoutError as err:
        raise DeviceUrlError(f"{u.raw}: {err}") from err


def open_printer(url: str, name: str = "printer", out_dir: Path | None = None) -> EscposTicketPrinter:
    """Build the printer a URL names (see devices/urls.py). Opening the device itself is lazy: a printer that is
    unplugged at start reports offline on its first status read instead of stopping the kiosk."""
    u = parse_device_url(url, expect="printer")
    layout = layout_from_url(u)
    timeout = u.float_param("status_timeout", 0.5)
    if u.is_simulated:
        out = Path(u.param("out") or "") if u.param("out") else out_dir
        sim = SimulatedPrinter(layout.config.paper_dots, sim_faults_from_url(u), out, name=name)
        printer = EscposTicketPrinter(InProcessTransport(sim), layout, timeout, name)
        printer.simulator = sim  # type: ignore[attr-defined]  # tests and the demo look at what was printed
        return printer
    try:
        from escpos import printer as ep  # type: ignore[import-untyped]
    except ImportError as err:  # pragma: no cover - python-escpos is in the kiosk extra
        raise PrinterError("python-escpos is not installed: pip install motcua[kiosk]") from err
    if u.scheme == "escpos-net":
        transport = EscposTransport(ep.Network(u.host, port=u.port or 9100, timeout=u.float_param("timeout", 5)),
                                    bidirectional=True)
    elif u.scheme == "escpos-serial":
        transport = EscposTransport(
            ep.Serial(devfile=u.path, baudrate=u.int_param("baud", 38400), timeout=timeout,
                      dsrdtr=u.bool_param("dsrdtr", False)),
            bidirectional=True)
    elif u.scheme == "escpos-usb":
        vendor, product = usb_ids(u)
        transport = EscposTransport(ep.Usb(vendor, product, timeout=u.int_param("timeout", 0)), bidirectional=True)
    elif u.scheme == "file":
        transport = EscposTransport(ep.File(devfile=u.path), bidirectional=False)
    else:  # pragma: no cover - parse_device_url already refused it
        raise DeviceUrlError(f"{url}: not a printer URL")
    return EscposTicketPrinter(transport, layout, timeout, name)
