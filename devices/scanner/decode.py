"""Pure decoding for scanners: Linux input_event bytes → characters (US keymap with shift), and a line assembler
with prefix/suffix stripping, CR/LF/TAB terminators, idle flush and debouncing of duplicate scans.

No I/O and no clock reads: callers pass ``now`` (monotonic seconds) in, so tests drive it with plain numbers.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

# struct input_event on 64-bit Linux: struct timeval {long tv_sec; long tv_usec}; __u16 type; __u16 code; __s32 value
INPUT_EVENT = struct.Struct("llHHi")
EV_SYN, EV_KEY, EV_MSC = 0, 1, 4
KEY_RELEASE, KEY_PRESS, KEY_REPEAT = 0, 1, 2
KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_CAPSLOCK = 42, 54, 58
KEY_ENTER, KEY_KPENTER, KEY_TAB = 28, 96, 15


@dataclass(frozen=True, slots=True)
class InputEvent:
    sec: int
    usec: int
    type: int
    code: int
    value: int


def pack_event(type_: int, code: int, value: int, sec: int = 0, usec: int = 0) -> bytes:
    return INPUT_EVENT.pack(sec, usec, type_, code, value)


def iter_events(data: bytes) -> Iterator[InputEvent]:
    """Whole events in ``data``; the caller keeps any trailing partial event for the next read."""
    size = INPUT_EVENT.size
    for offset in range(0, len(data) - len(data) % size, size):
        yield InputEvent(*INPUT_EVENT.unpack_from(data, offset))


# Linux keycodes (linux/input-event-codes.h) → (plain, shifted) on a US layout, which is what barcode scanners
# emulate by default.
_ROWS: dict[int, tuple[str, str]] = {}
for _start, _plain, _shift in ((2, "1234567890-=", "!@#$%^&*()_+"), (16, "qwertyuiop[]", "QWERTYUIOP{}"),
                               (30, "asdfghjkl;'`", 'ASDFGHJKL:"~'), (43, "\\zxcvbnm,./", "|ZXCVBNM<>?")):
    for _i, (_p, _s) in enumerate(zip(_plain, _shift)):
        _ROWS[_start + _i] = (_p, _s)
_ROWS[57] = (" ", " ")
# keypad: scanners set to "numeric keypad" mode send these; they do not depend on shift
for _code, _ch in {71: "7", 72: "8", 73: "9", 74: "-", 75: "4", 76: "5", 77: "6", 78: "+", 79: "1", 80: "2",
                   81: "3", 82: "0", 83: ".", 98: "/", 55: "*"}.items():
    _ROWS[_code] = (_ch, _ch)
KEYMAP: dict[int, tuple[str, str]] = dict(_ROWS)


def keycodes_for(text: str) -> list[tuple[int, bool]]:
    """(keycode, shift) for each character of ``text`` (US layout): the inverse of the keymap, for simulators."""
    reverse: dict[str, tuple[int, bool]] = {}
    for code in sorted(KEYMAP):  # main-block codes are lower than the keypad's, so they win
        plain, shifted = KEYMAP[code]
        reverse.setdefault(plain, (code, False))
        if shifted != plain:
            reverse.setdefault(shifted, (code, True))
    out = []
    for ch in text:
        if ch == "\n" or ch == "\r":
            out.append((KEY_ENTER, False))
        elif ch == "\t":
            out.append((KEY_TAB, False))
        elif ch in reverse:
            out.append(reverse[ch])
        else:
            raise ValueError(f"{ch!r} cannot be typed by a keyboard-wedge scanner on a US layout")
    return out


def events_for(text: str, terminator: str = "\n") -> bytes:
    """The input_event bytes a keyboard-wedge scanner produces for ``text`` + ``terminator``."""
    out = bytearray()
    for code, shift in keycodes_for(text + terminator):
        if shift:
            out += pack_event(EV_KEY, KEY_LEFTSHIFT, KEY_PRESS)
        out += pack_event(EV_MSC, 4, code)  # MSC_SCAN, as real keyboards send before the key
        out += pack_event(EV_KEY, code, KEY_PRESS) + pack_event(EV_SYN, 0, 0)
        out += pack_event(EV_KEY, code, KEY_RELEASE) + pack_event(EV_SYN, 0, 0)
        if shift:
            out += pack_event(EV_KEY, KEY_LEFTSHIFT, KEY_RELEASE) + pack_event(EV_SYN, 0, 0)
    return bytes(out)


class KeyDecoder:
    """Key events → characters. Enter/keypad Enter → "\\n", Tab → "\\t"; unknown keys are counted, not fatal."""

    def __init__(self) -> None:
        self.shift = 0
        self.caps = False
        self.unknown_keys = 0

    def feed(self, event: InputEvent) -> str:
        if event.type != EV_KEY:
            return ""
        code, value = event.code, event.value
        if code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            self.shift = max(0, self.shift + (1 if value == KEY_PRESS else -1 if value == KEY_RELEASE else 0))
            return ""
        if value != KEY_PRESS:  # releases and auto-repeat: a scanner never holds a key on purpose
            return ""
        if code == KEY_CAPSLOCK:
            self.caps = not self.caps
            return ""
        if code in (KEY_ENTER, KEY_KPENTER):
            return "\n"
        if code == KEY_TAB:
            return "\t"
        pair = KEYMAP.get(code)
        if pair is None:
            self.unknown_keys += 1
            return ""
        plain, shifted = pair
        upper = bool(self.shift)
        if plain.isalpha() and self.caps:
            upper = not upper
        return shifted if upper else plain

    def feed_bytes(self, data: bytes) -> str:
        return "".join(self.feed(e) for e in iter_events(data))


@dataclass(frozen=True, slots=True)
class AssemblerConfig:
    prefix: str = ""                  # stripped when a scan starts with it (e.g. STX, or an AIM id like "]Q1")
    suffix: str = ""                  # stripped when a scan ends with it (e.g. ETX)
    terminators: str = "\r\n"         # any of these ends a scan; CR LF counts once
    debounce_s: float = 1.0           # the same text again within this window is a duplicate, dropped
    idle_flush_s: float | None = None  # for scanners without a terminator: end the scan after this silence
    max_length: int = 4096            # a runaway scan (stuck key, wrong baud) is cut and dropped


class ScanAssembler:
    """Characters → complete scans."""

    def __init__(self, config: AssemblerConfig | None = None) -> None:
        self.config = config or AssemblerConfig()
        self._buf: list[str] = []
        self._last_char_at: float | None = None
        self._last_scan: tuple[str, float] | None = None
        self._overflow = False
        self.dropped_duplicates = 0
        self.dropped_overlong = 0

    def feed(self, chars: str, now: float) -> list[str]:
        out: list[str] = []
        for ch in chars:
            if ch in self.config.terminators:
                if self._overflow:
                    self._overflow = False
                    self._buf.clear()
                    continue
                self._finish(now, out)
                continue
            if self._overflow:
                continue
            self._buf.append(ch)
            if len(self._buf) > self.config.max_length:
                # drop the whole line up to the next terminator: its tail is as bad as its head
                self._buf.clear()
                self._overflow = True
                self.dropped_overlong += 1
        if chars:
            self._last_char_at = now
        return out

    def flush_if_idle(self, now: float) -> list[str]:
        out: list[str] = []
        idle = self.config.idle_flush_s
        if idle is not None and self._buf and self._last_char_at is not None and now - self._last_char_at >= idle:
            self._finish(now, out)
        return out

    def _finish(self, now: float, out: list[str]) -> None:
        text = "".join(self._buf)
        self._buf.clear()
        cfg = self.config
        if cfg.prefix and text.startswith(cfg.prefix):
            text = text[len(cfg.prefix):]
        if cfg.suffix and text.endswith(cfg.suffix):
            text = text[: -len(cfg.suffix)]
        text = text.strip("\x00")
        if not text.strip():
            return  # CR LF, or a scanner's empty keep-alive line
        if self._last_scan is not None:
            last_text, last_at = self._last_scan
            if text == last_text and now - last_at < cfg.debounce_s:
                self.dropped_duplicates += 1
                self._last_scan = (text, now)  # a held trigger keeps extending the window
                return
        self._last_scan = (text, now)
        out.append(text)
