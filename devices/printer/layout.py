"""Ticket layout: PrintableTicket → ESC/POS bytes (built with python-escpos' Dummy); reads fonts, opens no device.

Why this shape: a full-raster ticket is ~20 KB (1.5 s+ on a 38,400-baud link, 21 s at 9600). So only the
Vietnamese lines become raster images (Pillow + Noto Sans, 1-bit, each cropped to its text's ink box); the ASCII
parts (the big number, the time, English hints) stay native text with the printer's own character sizes, and the
QR is the printer's native ``GS ( k`` command (~70 bytes instead of ~2.5 KB as an image). A whole Vietnamese
ticket stays under 6 KB. Printers that really have TCVN-3 at code page 30 can use ``text_mode="tcvn3"``: all text
native, ~400 bytes (check the model first: cheap CP1258-only printers print '?' for every toned vowel).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from escpos.printer import Dummy  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont

from contracts.wait_text import wait_range_text
from devices.printer.model import PrintableTicket

FONT_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/truetype/dejavu"))
FONT_REGULAR = ("NotoSans-Regular.ttf", "DejaVuSans.ttf")
FONT_BOLD = ("NotoSans-Bold.ttf", "DejaVuSans-Bold.ttf")

ESC = b"\x1b"
GS = b"\x1d"

# Paper widths in dots at 203 dpi: 58 mm → 384; 80 mm → 576 (Epson TM-T20/T88 in 80 mm mode: 512 or 576).
PAPER_DOTS = {"58": 384, "80": 576}
TEXT_MODES = ("raster", "tcvn3")
_INVERT = bytes(255 - i for i in range(256))


class LayoutError(ValueError):
    """A ticket or layout setting that cannot be printed (bad paper width, missing font, unprintable number)."""


@dataclass(frozen=True, slots=True)
class LayoutConfig:
    paper_dots: int = 576
    text_mode: str = "raster"          # "raster" (any printer) or "tcvn3" (printer has TCVN-3 at page 30)
    margin_dots: int = 8
    profile: str | None = None         # python-escpos profile name, for tcvn3 code page lookup

    def __post_init__(self) -> None:
        if self.paper_dots not in (384, 512, 576):
            raise LayoutError(f"paper_dots: expected 384 (58 mm), 512 or 576 (80 mm), got {self.paper_dots}")
        if self.text_mode not in TEXT_MODES:
            raise LayoutError(f"text_mode: expected one of {TEXT_MODES}, got {self.text_mode!r}")

    @property
    def narrow(self) -> bool:
        return self.paper_dots <= 384

    @property
    def max_text_width(self) -> int:
        return self.paper_dots - 2 * self.margin_dots


def _find_font(names: tuple[str, ...]) -> Path:
    for name in names:
        for folder in FONT_DIRS:
            candidate = folder / name
            if candidate.exists():
                return candidate
    raise LayoutError(f"no font covering Vietnamese found ({', '.join(names)}): install fonts-noto-core")


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_find_font(FONT_BOLD if bold else FONT_REGULAR)), size)


@dataclass(frozen=True, slots=True)
class _Glyph:
    mask: Image.Image | None   # ink = 1; None for a space
    left: int                  # ink box relative to the pen position on the baseline
    top: int
    advance: float


@lru_cache(maxsize=4096)
def _glyph(ch: str, size: int, bold: bool) -> _Glyph:
    # FreeType costs ~2 ms per line with Noto Sans here; a ticket uses a few dozen distinct glyphs, so render each
    # glyph once and compose lines from the cache (a cold ticket then costs well under the 20 ms budget).
    f = font(size, bold)
    advance = float(f.getlength(ch))
    left, top, right, bottom = (int(v) for v in f.getbbox(ch, anchor="ls"))
    if right <= left or bottom <= top:
        return _Glyph(None, 0, 0, advance)
    mask = Image.new("1", (right - left, bottom - top), 0)
    draw = ImageDraw.Draw(mask)
    draw.fontmode = "1"  # no anti-aliasing: crisp dots, and no grey to threshold away
    draw.text((-left, -top), ch, font=f, fill=1, anchor="ls")
    return _Glyph(mask, left, top, advance)


def _placed(text: str, size: int, bold: bool) -> list[tuple[_Glyph, int]]:
    out = []
    pen = 0.0
    for ch in text:
        g = _glyph(ch, size, bold)
        out.append((g, round(pen)))
        pen += g.advance
    return out


def _ink_box(placed: list[tuple[_Glyph, int]]) -> tuple[int, int, int, int] | None:
    boxes = [(x + g.left, g.top, x + g.left + g.mask.width, g.top + g.mask.height)
             for g, x in placed if g.mask is not None]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _nfc(text: str) -> str:
    # Precomposed letters (NFC) are one glyph each; decomposed input (NFD from some keyboards) would otherwise
    # place combining marks as separate glyphs.
    return unicodedata.normalize("NFC", text)


def text_width(text: str, size: int, bold: bool = False) -> int:
    """Width in dots of render_line(text): the same measure, without drawing."""
    box = _ink_box(_placed(_nfc(text), size, bold))
    return 0 if box is None else box[2] - box[0]


def wrap(text: str, size: int, bold: bool, max_width: int) -> list[str]:
    """Greedy word wrap by rendered width; a single over-long word is split by characters."""
    lines: list[str] = []
    current = ""
    for word in _nfc(text).split():
        trial = f"{current} {word}" if current else word
        if text_width(trial, size, bold) <= max_width:
            current = trial
            continue
        if current:
            lines.append(current)
        current = ""
        while text_width(word, size, bold) > max_width:
            cut = len(word)
            while cut > 1 and text_width(word[:cut], size, bold) > max_width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines


@lru_cache(maxsize=256)
def render_line(text: str, size: int, bold: bool = False) -> Image.Image:
    """One line as a 1-bit image cropped to its ink box (white = 1, black = 0), composed from cached glyphs.
    Also the reference render the tests compare the simulator's output with."""
    placed = _placed(_nfc(text), size, bold)
    box = _ink_box(placed)
    if box is None:
        return Image.new("1", (1, 1), 1)
    x0, y0, x1, y1 = box
    img = Image.new("1", (x1 - x0, y1 - y0), 1)
    for g, x in placed:
        if g.mask is not None:
            gx, gy = x + g.left - x0, g.top - y0
            img.paste(0, (gx, gy, gx + g.mask.width, gy + g.mask.height), g.mask)
    return img


def raster_command(img: Image.Image) -> bytes:
    """``GS v 0`` for a 1-bit image (0 = black in Pillow, 1 = dot in ESC/POS, rows padded to whole bytes).

    Written here rather than through ``Escpos.image()``, which prints a warning to stdout on every call when the
    profile has no paper width and re-converts the image through its own pipeline.
    """
    mono = img if img.mode == "1" else img.convert("1")
    width_bytes = (mono.width + 7) // 8
    if mono.width % 8:
        # Pillow pads rows with 0 bits (black): widen with white first so the padding prints nothing.
        padded = Image.new("1", (width_bytes * 8, mono.height), 1)
        padded.paste(mono, (0, 0))
        mono = padded
    data = mono.tobytes().translate(_INVERT)
    return GS + b"v0\x00" + width_bytes.to_bytes(2, "little") + mono.height.to_bytes(2, "little") + data


def _is_ascii(text: str) -> bool:
    return all(32 <= ord(c) < 127 for c in text)


def format_wait(ticket: PrintableTicket) -> tuple[str, str]:
    """(Vietnamese, English) line about the people ahead and the estimated wait."""
    if ticket.people_ahead is None:
        # offline: no live count, and a made-up 0 would send the citizen to the counter at once
        vi, en = "Vui lòng theo dõi màn hình gọi số", "Please watch the calling display"
    else:
        vi = f"Trước quý vị: {ticket.people_ahead} người"
        en = f"Ahead of you: {ticket.people_ahead}"
    if ticket.wait_high_min is not None or ticket.wait_served is False:
        vi += " · Chờ " + wait_range_text(ticket.wait_low_min, ticket.wait_high_min, ticket.wait_served, "vi",
                                          ticket.wait_past_close)
        en += " - wait " + wait_range_text(ticket.wait_low_min, ticket.wait_high_min, ticket.wait_served, "en",
                                           ticket.wait_past_close)
    elif ticket.estimated_wait_min is not None:
        vi += f" · Chờ khoảng {ticket.estimated_wait_min} phút"
        en += f" - wait about {ticket.estimated_wait_min} min"
    return vi, en


@dataclass(frozen=True, slots=True)
class Line:
    """One planned line: ``kind`` is raster (rendered Vietnamese), native (font B), native_large (font A),
    number (4x4 native) or qr (native QR of ``text``)."""

    kind: str
    text: str
    size: int = 0
    bold: bool = False


class TicketLayout:
    """Builds the bytes of one ticket. Stateless apart from font caches, so one instance serves every job."""

    def __init__(self, config: LayoutConfig | None = None) -> None:
        self.config = config or LayoutConfig()

    def build(self, ticket: PrintableTicket) -> bytes:
        number = ticket.number.strip()
        if not number or not _is_ascii(number) or len(number) > 8:
            raise LayoutError(f"ticket number {ticket.number!r}: expected up to 8 ASCII characters, e.g. A023")
        if not ticket.tracking_url or not _is_ascii(ticket.tracking_url):
            raise LayoutError("tracking_url: expected an ASCII URL for the QR code")
        if self.config.text_mode == "tcvn3":
            return self._build_tcvn3(ticket, number)
        return self._build_raster(ticket, number)

    # -- raster mode (any ESC/POS printer) ------------------------------------------------------------------
    def plan(self, ticket: PrintableTicket) -> list[Line]:
        """The ticket's lines in print order, each marked raster (Vietnamese) or native (ASCII). build() prints
        exactly these; tests compare the simulator's rendering with them."""
        narrow = self.config.narrow
        # Pixel sizes: 19 px Noto is about the height of the printer's own font A (12x24 dots).
        title, body, small = (18, 17, 15) if narrow else (19, 18, 16)
        out: list[Line] = []

        def vi(text: str, size: int, bold: bool = False) -> None:
            if not text.strip():
                return
            if _is_ascii(text):
                out.append(Line("native", text.strip()))
                return
            out.extend(Line("raster", part, size, bold) for part in wrap(text, size, bold, self.config.max_text_width))

        vi(ticket.center_name, title, bold=True)
        vi(ticket.service_name, body, bold=True)
        if ticket.priority_label:
            vi(f"Ưu tiên: {ticket.priority_label}", body, bold=True)
        out.append(Line("number", ticket.number.strip()))
        vi_wait, en_wait = format_wait(ticket)
        vi(vi_wait, body)
        out.append(Line("native", en_wait))
        out.append(Line("native_large", ticket.issued_at.strftime("%H:%M - %d/%m/%Y")))
        out.append(Line("qr", ticket.tracking_url))
        vi("Quét mã để theo dõi lượt của quý vị", small)
        out.append(Line("native", "Scan to follow your turn"))
        for line in ticket.footer_lines:
            vi(line, small)
        return out

    def _build_raster(self, ticket: PrintableTicket, number: str) -> bytes:
        narrow = self.config.narrow
        p = Dummy()
        p._raw(ESC + b"@")            # reset: a previous job may have left sizes or alignment set
        p._raw(ESC + b"a\x01")        # centre everything: raster lines, native text and the QR
        for line in self.plan(ticket):
            if line.kind == "raster":
                p._raw(raster_command(render_line(line.text, line.size, line.bold)))
                p._raw(ESC + b"J" + bytes([max(2, line.size // 5)]))  # print and feed a few dots: 3 bytes
            elif line.kind in ("native", "native_large"):
                # Font B (9x17) for the small English hints: about half of font A, still legible.
                font_b = line.kind == "native"
                p._raw(ESC + b"M" + (b"\x01" if font_b else b"\x00"))
                p._raw(line.text.encode("ascii", "replace") + b"\n" + ESC + b"M\x00")
            elif line.kind == "number":
                # Native characters at 4x4 (3x3 on 58 mm when long): a few bytes instead of a big image.
                scale = 3 if narrow and len(number) > 4 else 4
                p._raw(GS + b"!" + bytes([((scale - 1) << 4) | (scale - 1)]) + ESC + b"E\x01")
                p._raw(number.encode("ascii") + b"\n")
                p._raw(GS + b"!\x00" + ESC + b"E\x00")
            elif line.kind == "qr":
                p.qr(line.text, native=True, size=5 if narrow else 6, ec=1)  # ec=1 → QR_ECLEVEL_M
                p._raw(b"\n")
        p.cut()
        return bytes(p.output)

    # -- text mode, TCVN-3 code page (printers that have it) --------------------------------------------------
    def _build_tcvn3(self, ticket: PrintableTicket, number: str) -> bytes:
        # python-escpos' magic encoder selects code page 30 (TCVN-3-1) and encodes the toned vowels itself.
        p = Dummy(profile=self.config.profile or "default")
        p._raw(ESC + b"@" + ESC + b"a\x01")
        p._raw(ESC + b"E\x01")
        p.text(ticket.center_name.upper() + "\n" + ticket.service_name + "\n")
        if ticket.priority_label:
            p.text(f"Ưu tiên: {ticket.priority_label}\n")
        p._raw(ESC + b"E\x00")
        p.text("SỐ THỨ TỰ / YOUR NUMBER\n")
        p._raw(GS + b"!\x33" + ESC + b"E\x01" + number.encode("ascii") + b"\n" + GS + b"!\x00" + ESC + b"E\x00")
        vi_wait, en_wait = format_wait(ticket)
        p.text(f"{vi_wait}\n{en_wait}\n")
        p.text("Giờ lấy số: " + ticket.issued_at.strftime("%H:%M  %d/%m/%Y") + "\n")
        p.qr(ticket.tracking_url, native=True, size=5 if self.config.narrow else 6, ec=1)
        p.text("\nQuét mã để theo dõi lượt của quý vị\nScan to follow your turn\n")
        for line in ticket.footer_lines:
            p.text(line + "\n")
        p.cut()
        return bytes(p.output)
