"""Simulated ESC/POS ticket printer: interprets the bytes motcua sends and renders each ticket to an image.

Reachable in-process (``feed()``), over TCP like a port-9100 network printer (``serve_tcp``), or on a serial
device such as one end of a socat pty pair (``serve_serial``). It understands the commands our layout emits —
text with sizes, bold, alignment, code pages 30/31 (TCVN-3), ``GS v 0`` raster images, ``GS ( k`` QR codes,
feeds, cuts and ``DLE EOT`` real-time status — and skips the other common ones. Faults can be injected: paper
near end / out (now, or after N tickets), cover open, offline, silent (no status replies), slow.

While the printer is not ready (paper out, cover open, offline) printable data is dropped, as on a real printer
that has stopped: nothing is rendered and no ticket is counted, but status requests are still answered.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Self

import segno
from escpos.capabilities import CAPABILITIES  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont

from devices.printer import status as dle
from devices.printer.model import PrinterStatus

log = logging.getLogger(__name__)
wire = logging.getLogger("motcua.wire.printer_sim")

MONO_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SANS_FONTS = ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LINE_DOTS = 30  # default line spacing (ESC 2) in dots


def _code_page_table(name: str) -> dict[int, str] | str | None:
    """The upper half of a code page from python-escpos' capability database: a Python codec name, or a table."""
    enc = CAPABILITIES["encodings"].get(name)
    if not enc:
        return None
    if enc.get("python_encode"):
        return str(enc["python_encode"])
    rows = enc.get("data")
    if not rows:
        return None
    return {0x80 + r * 16 + c: ch for r, row in enumerate(rows) for c, ch in enumerate(row) if ch != " "}


# Code page numbers as the "default" profile numbers them (python-escpos' magic encoder switches between them).
_CODE_PAGES: dict[int, dict[int, str] | str] = {}
for _num, _name in CAPABILITIES["profiles"]["default"]["codePages"].items():
    _table = _code_page_table(_name)
    if _table is not None:
        _CODE_PAGES[int(_num)] = _table


@dataclass(frozen=True, slots=True)
class Element:
    """Something placed on the paper: ``kind`` is text, raster or qr; ``content`` the text or QR data."""

    kind: str
    x: int
    y: int
    width: int
    height: int
    content: str = ""
    scale: tuple[int, int] = (1, 1)
    bold: bool = False
    image: Image.Image | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class RenderedTicket:
    """One cut-off piece of paper."""

    image: Image.Image
    elements: tuple[Element, ...]
    data: bytes

    def texts(self) -> list[str]:
        return [e.content for e in self.elements if e.kind == "text"]

    def qr_payloads(self) -> list[str]:
        return [e.content for e in self.elements if e.kind == "qr"]


@dataclass(frozen=True, slots=True)
class SimFaults:
    paper: str = "ok"               # ok | near_end | out
    cover_open: bool = False
    offline: bool = False           # answers status with the offline bit, drops data
    silent: bool = False            # does not answer status at all (unplugged cable, powered off)
    delay_ms: int = 0               # per chunk received: a slow printer
    paper_jobs: int | None = None   # this many tickets print; the paper runs out during the next job


class _Block:
    def __init__(self, image: Image.Image, align: int, element: Element | None) -> None:
        self.image, self.align, self.element = image, align, element


def _load_font(paths: tuple[str, ...], size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in paths:
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


class SimulatedPrinter:
    """An ESC/POS printer in memory. Thread-safe: the TCP and serial servers feed it from their own threads."""

    def __init__(self, paper_dots: int = 576, faults: SimFaults | None = None, out_dir: Path | None = None,
                 name: str = "sim-printer") -> None:
        self.paper_dots = paper_dots
        self.faults = faults or SimFaults()
        self.out_dir = out_dir
        self.name = name
        self._lock = threading.RLock()
        self._buf = bytearray()
        self.received = bytearray()        # every byte ever received, in order
        self.tickets: list[RenderedTicket] = []
        self.dropped_bytes = 0
        self.unknown: list[str] = []      # commands we could not interpret (kept, never raised)
        self.ticket_done = threading.Condition(self._lock)
        self._reset()
        self._blocks: list[_Block] = []
        self._job = bytearray()
        self._cut_pending = False

    # -- fault injection --------------------------------------------------------------------------------
    def set_faults(self, **changes: object) -> None:
        with self._lock:
            self.faults = replace(self.faults, **changes)  # type: ignore[arg-type]

    @property
    def status(self) -> PrinterStatus:
        f = self.faults
        return PrinterStatus(online=not f.offline and not f.silent, paper_near_end=f.paper == "near_end",
                             paper_out=f.paper == "out", cover_open=f.cover_open)

    @property
    def ready(self) -> bool:
        f = self.faults
        if f.paper_jobs is not None and f.paper == "ok" and len(self.tickets) >= f.paper_jobs and (
                self._line or bytes(self._buf[:1]) not in (b"", b"\x10")):
            # the roll ends as the next job starts printing
            self.set_faults(paper="out")
        return self.status.ready

    # -- input --------------------------------------------------------------------------------------------
    def feed(self, data: bytes) -> bytes:
        """Take bytes as the printer's input buffer would; return what the printer answers (status bytes)."""
        if self.faults.delay_ms:
            time.sleep(self.faults.delay_ms / 1000)  # fault injection: a slow printer takes this long per chunk
        with self._lock:
            if wire.isEnabledFor(logging.DEBUG):
                wire.debug("<<< %s", data.hex(" "))
            self.received += data
            self._buf += data
            replies = bytearray()
            while self._buf:
                head = self._buf[0]
                used = self._step(replies)
                if used == 0:
                    break  # incomplete command: wait for more bytes
                if head != 0x10:  # real-time status requests are not part of the printed job
                    self._job += self._buf[:used]
                del self._buf[:used]
                if self._cut_pending:
                    self._cut_pending = False
                    self._finish_ticket()
            return bytes(replies)

    def wait_for_tickets(self, count: int, timeout: float = 10.0) -> bool:
        with self.ticket_done:
            return self.ticket_done.wait_for(lambda: len(self.tickets) >= count, timeout)

    # -- interpreter ---------------------------------------------------------------------------------------
    def _reset(self) -> None:
        self.align = 0
        self.bold = False
        self.font_b = False
        self.scale = (1, 1)
        self.code_page = 0
        self._line: list[tuple[str, tuple[int, int], bool, bool]] = []
        self._qr_size = 3
        self._qr_ec = "M"
        self._qr_data = b""

    def _step(self, replies: bytearray) -> int:  # a command table reads best as one switch
        b = self._buf
        c = b[0]
        if c == 0x10:  # DLE
            if len(b) < 3:
                return 0
            if b[1] == 0x04:
                if not self.faults.silent and b[2] in dle.QUERIES:
                    replies.append(dle.encode(self.status)[b[2]])
                return 3
            if b[1] == 0x14:  # DLE DC4 fn m t (pulse / recovery)
                return 5 if len(b) >= 5 else 0
            self._unknown(b[:2])
            return 2
        if c == 0x0A:
            self._flush_line(force=True)
            return 1
        if c == 0x0D:
            return 1
        if c == 0x1B:
            return self._esc()
        if c == 0x1D:
            return self._gs()
        if c < 0x20:
            return 1
        # printable run
        end = 1
        while end < len(b) and b[end] >= 0x20 and b[end] != 0x7F:
            end += 1
        self._add_text(bytes(b[:end]))
        return end

    def _need(self, n: int) -> bool:
        return len(self._buf) >= n

    def _esc(self) -> int:
        b = self._buf
        if not self._need(2):
            return 0
        cmd = chr(b[1])
        one_arg = {"a", "E", "M", "!", "t", "d", "J", "3", "-", "G", "R", "{", "V", "U", "c", "r", " "}
        if cmd == "@":
            self._take(2)
            self._reset()
            return 2
        if cmd in ("2", "i", "m"):
            if cmd in ("i", "m"):
                self._cut()
            return self._take(2)
        if cmd == "p":
            return self._take(5) if self._need(5) else 0
        if cmd in one_arg:
            if not self._need(3):
                return 0
            n = b[2]
            if cmd == "a":
                self._flush_line()
                self.align = n % 48 if n >= 48 else n
            elif cmd == "E":
                self.bold = bool(n & 1)
            elif cmd == "M":
                self.font_b = bool(n & 1)
            elif cmd == "!":
                self.font_b = bool(n & 0x01)
                self.bold = bool(n & 0x08)
                self.scale = (2 if n & 0x20 else 1, 2 if n & 0x10 else 1)
            elif cmd == "t":
                self.code_page = n
            elif cmd == "d":
                self._flush_line()
                self._blank(n * LINE_DOTS)
            elif cmd == "J":
                self._flush_line()
                self._blank(n)
            return self._take(3)
        self._unknown(b[:2])
        return self._take(2)

    def _gs(self) -> int:
        b = self._buf
        if not self._need(2):
            return 0
        cmd = chr(b[1])
        if cmd == "!":
            if not self._need(3):
                return 0
            n = b[2]
            self.scale = ((n >> 4) + 1, (n & 0x0F) + 1)
            return self._take(3)
        if cmd == "v":
            if not self._need(8):
                return 0
            width_bytes = b[4] | (b[5] << 8)
            height = b[6] | (b[7] << 8)
            total = 8 + width_bytes * height
            if width_bytes * 8 > self.paper_dots * 2 or total > 4_000_000:
                self._unknown(b[:8])  # a corrupt header must not make us buffer megabytes waiting for data
                return self._take(8)
            if not self._need(total):
                return 0
            self._raster(width_bytes, height, bytes(b[8:total]))
            return self._take(total)
        if cmd == "(":
            if not self._need(5):
                return 0
            length = b[3] | (b[4] << 8)
            total = 5 + length
            if not self._need(total):
                return 0
            if chr(b[2]) == "k":
                self._qr_cmd(bytes(b[5:total]))
            elif chr(b[2]) != "L":
                self._unknown(b[:3])
            return self._take(total)
        if cmd == "V":
            if not self._need(3):
                return 0
            m = b[2]
            if m in (65, 66, 97, 98, 103, 104):
                if not self._need(4):
                    return 0
                self._cut()
                return self._take(4)
            self._cut()
            return self._take(3)
        if cmd in ("B", "b", "h", "w", "H", "f", "a", "r", "I"):
            return self._take(3) if self._need(3) else 0
        if cmd in ("L", "W"):
            return self._take(4) if self._need(4) else 0
        self._unknown(b[:2])
        return self._take(2)

    def _take(self, n: int) -> int:
        return n

    def _unknown(self, head: bytes | bytearray) -> None:
        self.unknown.append(bytes(head).hex(" "))

    # -- rendering -----------------------------------------------------------------------------------------
    def _decode(self, raw: bytes) -> str:
        table = _CODE_PAGES.get(self.code_page, "cp437")
        if isinstance(table, str):
            try:
                return raw.decode(table, "replace")
            except LookupError:
                return raw.decode("cp437", "replace")
        return "".join(table.get(ch, chr(ch) if ch < 0x80 else "?") for ch in raw)

    def _add_text(self, raw: bytes) -> None:
        if not self.ready:
            self.dropped_bytes += len(raw)
            return
        self._line.append((self._decode(raw), self.scale, self.bold, self.font_b))

    def _flush_line(self, force: bool = False) -> None:
        if not self._line:
            if force:
                self._blank(LINE_DOTS)
            return
        runs, self._line = self._line, []
        images = []
        for text, (sw, sh), bold, font_b in runs:
            cell_w, cell_h = (9, 17) if font_b else (12, 24)
            # Our own code pages (TCVN-3) need a font with Vietnamese glyphs; ASCII uses a monospace cell font.
            paths = MONO_FONTS if all(ord(ch) < 128 for ch in text) else SANS_FONTS
            fnt = _load_font(paths, cell_h - 4)
            base = Image.new("1", (max(1, cell_w * len(text)), cell_h), 1)
            draw = ImageDraw.Draw(base)
            draw.fontmode = "1"
            draw.text((0, 2), text, font=fnt, fill=0)
            if bold:
                draw.text((1, 2), text, font=fnt, fill=0)
            images.append(base.resize((base.width * sw, base.height * sh), Image.Resampling.NEAREST))
        width = min(self.paper_dots, sum(i.width for i in images))
        height = max(i.height for i in images)
        line = Image.new("1", (width, height), 1)
        x = 0
        for img in images:
            line.paste(img, (x, height - img.height))
            x += img.width
        text = "".join(r[0] for r in runs)
        scale = max((r[1] for r in runs), key=lambda s: s[0] * s[1])
        self._place(line, Element("text", 0, 0, width, height, text, scale, any(r[2] for r in runs)))

    def _raster(self, width_bytes: int, height: int, data: bytes) -> None:
        if not self.ready:
            self.dropped_bytes += len(data)
            return
        self._flush_line()
        # ESC/POS: 1 = dot; Pillow "1" raw: 1 = white. Invert while unpacking.
        img = Image.frombytes("1", (width_bytes * 8, height), bytes(~x & 0xFF for x in data))
        self._place(img, Element("raster", 0, 0, img.width, height, image=img))

    def _qr_cmd(self, body: bytes) -> None:
        if len(body) < 2 or body[0] != 0x31:  # cn=49: QR code
            self._unknown(b"\x1d(k" + body[:2])
            return
        fn = body[1]
        if fn == 67 and len(body) >= 3:
            self._qr_size = max(1, min(16, body[2]))
        elif fn == 69 and len(body) >= 3:
            self._qr_ec = "LMQH"[(body[2] - 48) % 4]
        elif fn == 80:
            self._qr_data = body[3:]
        elif fn == 81:
            if not self.ready:
                return
            self._flush_line()
            text = self._qr_data.decode("utf-8", "replace")
            qr = segno.make_qr(text, error=self._qr_ec)
            size = self._qr_size
            w, h = (int(v) for v in qr.symbol_size(scale=size, border=2))
            img = Image.new("1", (w, h), 1)
            pix = img.load()
            assert pix is not None
            for yy, row in enumerate(qr.matrix_iter(scale=size, border=2)):
                for xx, dark in enumerate(row):
                    if dark:
                        pix[xx, yy] = 0
            self._place(img, Element("qr", 0, 0, w, h, text))

    def _blank(self, dots: int) -> None:
        if dots > 0 and self.ready:
            self._blocks.append(_Block(Image.new("1", (1, dots), 1), 0, None))

    def _place(self, img: Image.Image, element: Element) -> None:
        self._blocks.append(_Block(img, self.align, element))

    def _cut(self) -> None:
        self._flush_line()
        self._cut_pending = True

    def _finish_ticket(self) -> None:
        job, self._job = bytes(self._job), bytearray()
        blocks, self._blocks = self._blocks, []
        if not self.ready:
            log.info("%s: cut while not ready (%s): no ticket", self.name, ",".join(self.status.faults))
            return
        height = max(1, sum(bl.image.height for bl in blocks))
        page = Image.new("1", (self.paper_dots, height), 1)
        y = 0
        elements = []
        for bl in blocks:
            img = bl.image
            x = {1: (self.paper_dots - img.width) // 2, 2: self.paper_dots - img.width}.get(bl.align, 0)
            x = max(0, x)
            page.paste(img, (x, y))
            if bl.element is not None:
                e = bl.element
                elements.append(Element(e.kind, x, y, e.width, e.height, e.content, e.scale, e.bold, e.image))
            y += img.height
        ticket = RenderedTicket(page, tuple(elements), job)
        with self.ticket_done:
            self.tickets.append(ticket)
            if self.out_dir is not None:
                self.out_dir.mkdir(parents=True, exist_ok=True)
                page.save(self.out_dir / f"{self.name}-{len(self.tickets):04d}.png")
            self.ticket_done.notify_all()


# -- servers: the same simulator behind a TCP port or a serial device -------------------------------------------
class _Server:
    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TcpPrinterServer(_Server):
    """A port-9100-style raw printer on 127.0.0.1: one connection at a time, like most real network printers."""

    def __init__(self, printer: SimulatedPrinter, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self.printer = printer
        self._sock = socket.create_server((host, port))
        self._sock.settimeout(0.2)
        self.host, self.port = self._sock.getsockname()[:2]
        self._thread = threading.Thread(target=self._run, name=f"sim-printer-tcp-{self.port}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self._sock:
            while not self._stop.is_set():
                try:
                    conn, _ = self._sock.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                with conn:
                    conn.settimeout(0.2)
                    while not self._stop.is_set():
                        try:
                            data = conn.recv(4096)
                        except TimeoutError:
                            continue
                        except OSError:
                            break
                        if not data:
                            break
                        reply = self.printer.feed(data)
                        if reply:
                            try:
                                conn.sendall(reply)
                            except OSError:
                                break


class SerialPrinterServer(_Server):
    """The simulator on a serial device path (e.g. one end of a socat pty pair)."""

    def __init__(self, printer: SimulatedPrinter, path: str, baudrate: int = 38400) -> None:
        import serial  # type: ignore[import-untyped]  # pyserial: only the serial server needs it

        super().__init__()
        self.printer = printer
        self._port = serial.Serial(path, baudrate=baudrate, timeout=0.1)
        self._thread = threading.Thread(target=self._run, name=f"sim-printer-serial-{path}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._port.read(self._port.in_waiting or 1)
                if data:
                    reply = self.printer.feed(data)
                    if reply:
                        self._port.write(reply)
        except OSError as err:
            log.warning("simulated serial printer stopped: %s", err)
        finally:
            self._port.close()


def serve_tcp(printer: SimulatedPrinter, port: int = 0) -> TcpPrinterServer:
    return TcpPrinterServer(printer, port=port)


def serve_serial(printer: SimulatedPrinter, path: str, baudrate: int = 38400) -> SerialPrinterServer:
    return SerialPrinterServer(printer, path, baudrate)


def main(argv: list[str] | None = None) -> int:
    """``python -m devices.printer.sim --tcp 9100 --out var/printer`` for demos and manual tests."""
    import argparse

    ap = argparse.ArgumentParser(description="Simulated ESC/POS printer that renders tickets to PNG")
    ap.add_argument("--tcp", type=int, help="listen on 127.0.0.1:PORT")
    ap.add_argument("--serial", help="serve on a serial device path (e.g. a socat pty)")
    ap.add_argument("--dots", type=int, default=576)
    ap.add_argument("--out", type=Path, default=Path("var/printer"))
    ap.add_argument("--paper", default="ok", choices=["ok", "near_end", "out"])
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    printer = SimulatedPrinter(args.dots, SimFaults(paper=args.paper), args.out)
    server: _Server
    if args.serial:
        server = serve_serial(printer, args.serial)
    else:
        server = serve_tcp(printer, args.tcp or 9100)
        log.info("listening on 127.0.0.1:%s", getattr(server, "port", "?"))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
