"""Scanner drivers: HID keyboard wedge (Linux evdev, exclusive grab), serial (pyserial), and the simulator.

Each runs a small reader loop on the caller's thread inside read_scan(timeout); nothing starts threads here.
A scanner that disappears (USB unplugged) makes read_scan raise ScannerError, so the owner can publish the fault
and reopen later; bad bytes (wrong baud rate, garbage) never raise.
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import queue
import select
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from contracts.messages import VN_TZ
from devices.scanner.decode import INPUT_EVENT, AssemblerConfig, KeyDecoder, ScanAssembler
from devices.scanner.model import ScanEvent, Scanner, ScannerError, classify
from devices.urls import DeviceUrlError, parse_device_url

log = logging.getLogger(__name__)
wire = logging.getLogger("motcua.wire.scanner")

EVIOCGRAB = 0x40044590  # _IOW('E', 0x90, int): exclusive access, so keystrokes never reach the kiosk UI

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(VN_TZ)


class _AssemblingScanner:
    """Shared loop: read bytes → characters → assembled scans → ScanEvents."""

    source = "scanner"

    def __init__(self, assembler: ScanAssembler, clock: Clock = _now) -> None:
        self.assembler = assembler
        self.clock = clock
        self._ready: list[str] = []
        self._closed = False

    def _read_chars(self, timeout: float) -> str | None:  # None: closed
        raise NotImplementedError

    def read_scan(self, timeout: float | None = None) -> ScanEvent | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._ready:
            if self._closed:
                return None
            left = 0.5 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return None
            step = min(left, 0.1) if self.assembler.config.idle_flush_s is not None else left
            chars = self._read_chars(step)
            if chars is None:
                return None
            now = time.monotonic()
            self._ready += self.assembler.feed(chars, now)
            self._ready += self.assembler.flush_if_idle(now)
        text = self._ready.pop(0)
        return classify(text, self.source, self.clock())


class HidScanner(_AssemblingScanner):
    """A keyboard-wedge scanner read from /dev/input/eventN (or /dev/input/by-id/...-event-kbd).

    evdev the package is not needed: the kernel's input_event structs are decoded with struct, and the exclusive
    grab is one ioctl. A path that is not an evdev device (a FIFO in tests) works without the grab.
    """

    def __init__(self, path: str, grab: bool = True, config: AssemblerConfig | None = None,
                 clock: Clock = _now, source: str | None = None) -> None:
        super().__init__(ScanAssembler(config or AssemblerConfig(terminators="\n\t")), clock)
        self.path = path
        self.source = source or f"hid:{path}"
        self.decoder = KeyDecoder()
        try:
            self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as err:
            raise ScannerError(f"cannot open HID scanner {path}: {err.strerror}") from err
        self.grabbed = False
        if grab:
            try:
                fcntl.ioctl(self._fd, EVIOCGRAB, 1)
                self.grabbed = True
            except OSError as err:
                # ENOTTY: not an evdev node (FIFO, file). EBUSY: someone else grabbed it: say so loudly.
                level = logging.DEBUG if err.errno == errno.ENOTTY else logging.WARNING
                log.log(level, "%s: exclusive grab failed (%s); keystrokes may reach other apps", path, err)
        self._partial = b""

    def _read_chars(self, timeout: float) -> str | None:
        if self._closed:
            return None
        ready, _, _ = select.select([self._fd], [], [], max(0.0, timeout))
        if not ready:
            return ""
        try:
            data = os.read(self._fd, INPUT_EVENT.size * 64)
        except BlockingIOError:
            return ""
        except OSError as err:  # ENODEV: unplugged
            raise ScannerError(f"HID scanner {self.path} went away: {err.strerror}") from err
        if not data:
            # EOF: a FIFO whose writer closed; a real evdev node never returns EOF. Wait for a writer again.
            time.sleep(min(timeout, 0.05))
            return ""
        data = self._partial + data
        cut = len(data) - len(data) % INPUT_EVENT.size
        self._partial = data[cut:]
        return self.decoder.feed_bytes(data[:cut])

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self.grabbed:
                try:
                    fcntl.ioctl(self._fd, EVIOCGRAB, 0)
                except OSError:
                    pass
            os.close(self._fd)


class SerialScanner(_AssemblingScanner):
    """A serial (or USB-CDC) scanner: text lines, optional prefix/suffix, CR/LF terminators, UTF-8 tolerant."""

    def __init__(self, port: str, baudrate: int = 9600, config: AssemblerConfig | None = None,
                 clock: Clock = _now, source: str | None = None, encoding: str = "utf-8") -> None:
        import serial  # type: ignore[import-untyped]  # pyserial

        super().__init__(ScanAssembler(config), clock)
        self.port_name = port
        self.source = source or f"serial:{port}"
        self.encoding = encoding
        try:
            self._port = serial.serial_for_url(port, baudrate=baudrate, timeout=0.1)
        except (serial.SerialException, ValueError) as err:
            raise ScannerError(f"cannot open serial scanner {port}: {err}") from err
        import codecs

        # incremental: a multi-byte UTF-8 character split across two reads is not mangled
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._serial_exc = serial.SerialException

    def _read_chars(self, timeout: float) -> str | None:
        if self._closed:
            return None
        try:
            self._port.timeout = max(0.001, timeout)
            data = self._port.read(max(1, self._port.in_waiting))
        except (self._serial_exc, OSError) as err:
            raise ScannerError(f"serial scanner {self.port_name} failed: {err}") from err
        if data and wire.isEnabledFor(logging.DEBUG):
            wire.debug("<<< %s", data.hex(" "))
        return str(self._decoder.decode(data))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._port.close()


class SimulatedScanner:
    """Scans pushed by a test or the demo (``push``), or read line by line from a file (``sim://scanner?file=``)."""

    def __init__(self, source: str = "sim-scanner", clock: Clock = _now, debounce_s: float = 0.0) -> None:
        self.source = source
        self.clock = clock
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._assembler = ScanAssembler(AssemblerConfig(debounce_s=debounce_s))
        self._closed = False

    def push(self, raw: str) -> None:
        """A scan as a scanner would send it (terminator optional)."""
        self._queue.put(raw if raw.endswith(("\n", "\r")) else raw + "\n")

    def push_file(self, path: Path) -> int:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for line in lines:
            self.push(line)
        return len(lines)

    def read_scan(self, timeout: float | None = None) -> ScanEvent | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._closed:
                return None
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(timeout=left)
            except queue.Empty:
                return None
            if item is None:
                return None
            done = self._assembler.feed(item, time.monotonic())
            if done:
                return classify(done[0], self.source, self.clock())

    def close(self) -> None:
        self._closed = True
        self._queue.put(None)


class ScannerRunner:
    """Push-style use of a Scanner: a thread calls ``on_scan(event)`` for each scan until stop().

    A scanner that fails (unplugged) is reported through ``on_error`` and reopened after ``retry_s``, so a kiosk
    keeps working and picks the scanner up again when it is plugged back in.
    """

    def __init__(self, opener: Callable[[], Scanner], on_scan: Callable[[ScanEvent], None],
                 on_error: Callable[[Exception], None] | None = None, retry_s: float = 2.0,
                 name: str = "scanner") -> None:
        self._opener = opener
        self.on_scan = on_scan
        self.on_error = on_error
        self.retry_s = retry_s
        self.name = name
        self.scanner: Scanner | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Open the device now (so scans sent right after start() are not missed), then read on a thread.
        A device that cannot be opened yet is retried by the thread."""
        if self._thread is None:
            if self.scanner is None:
                try:
                    self.scanner = self._opener()
                except Exception as err:  # noqa: BLE001 - reported, then retried by the thread
                    log.warning("%s: %s; retrying in %.1f s", self.name, err, self.retry_s)
                    if self.on_error is not None:
                        self.on_error(err)
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"scanner-{self.name}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        # The reader thread returns within read_scan's 0.5 s timeout; only then is the device closed, because
        # closing a serial port under a blocked read() makes pyserial fail in odd ways.
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self.scanner is not None:
            self.scanner.close()
            self.scanner = None

    close = stop

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.scanner is None:
                    self.scanner = self._opener()
                event = self.scanner.read_scan(timeout=0.5)
            except Exception as err:  # noqa: BLE001 - ScannerError or a driver bug: reopen, never die
                log.warning("%s: %s; retrying in %.1f s", self.name, err, self.retry_s)
                if self.on_error is not None:
                    self.on_error(err)
                if self.scanner is not None:
                    self.scanner.close()
                self.scanner = None
                self._stop.wait(self.retry_s)
                continue
            if event is not None:
                try:
                    self.on_scan(event)
                except Exception:  # a bug in the UI callback must not kill the scanner thread
                    log.exception("%s: scan handler failed", self.name)


def open_scanner(url: str, on_scan: Callable[[ScanEvent], None] | None = None, *,
                 clock: Clock = _now) -> HidScanner | SerialScanner | SimulatedScanner | ScannerRunner:
    """``hid:///dev/input/by-id/...?grab=1``, ``serial:///dev/ttyACM0?baud=9600&prefix=%02&suffix=%03``,
    ``sim://scanner?file=scans.txt``. Common options: prefix, suffix, debounce_ms, idle_ms.

    Without ``on_scan``: the Scanner itself (pull with read_scan). With ``on_scan``: a ScannerRunner, not yet
    started, that calls it from its own thread (call start()/stop()); the URL is still validated here."""
    if on_scan is None:
        return _open(url, clock)
    parse_device_url(url, expect="scanner")
    if url.startswith("sim://"):
        sim = _open(url, clock)  # one instance, so a test or the demo can push() into runner.scanner
        runner = ScannerRunner(lambda: sim, on_scan, name=url)
        runner.scanner = sim
        return runner
    return ScannerRunner(lambda: _open(url, clock), on_scan, name=url)


def _open(url: str, clock: Clock) -> HidScanner | SerialScanner | SimulatedScanner:
    u = parse_device_url(url, expect="scanner")
    config = AssemblerConfig(
        prefix=u.param("prefix", "") or "",
        suffix=u.param("suffix", "") or "",
        terminators="\n\t" if u.scheme == "hid" else "\r\n",
        debounce_s=u.int_param("debounce_ms", 1000) / 1000,
        idle_flush_s=(u.int_param("idle_ms", 0) / 1000) or None,
    )
    if u.is_simulated:
        sim = SimulatedScanner(u.param("id", "sim-scanner") or "sim-scanner", clock,
                               debounce_s=u.int_param("debounce_ms", 0) / 1000)
        if u.param("file"):
            sim.push_file(Path(u.param("file") or ""))
        return sim
    if u.scheme == "hid":
        return HidScanner(u.path, grab=u.bool_param("grab", True), config=config, clock=clock)
    if u.scheme == "serial":
        return SerialScanner(u.path, baudrate=u.int_param("baud", 9600), config=config, clock=clock,
                             encoding=u.param("encoding", "utf-8") or "utf-8")
    raise DeviceUrlError(f"{url}: not a scanner URL")  # pragma: no cover - parse_device_url checked the kind
