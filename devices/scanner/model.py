"""The scanner port: a scan as a typed event, and how raw text is classified; pure apart from the Protocol."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from contracts.dossier_code import DossierCode, find_dossier_code
from contracts.tickets import DISPLAY_PATTERN

# Our own tickets carry the hub's tracking URL (/t/<ticket id>, see docs/api.md); a bare number like A023 is also a
# ticket reference (typed on a keypad, or a 1D barcode on an older ticket).
_TRACKING_PATH = re.compile(r"(?:^|/)t/([A-Za-z0-9_-]{1,64})/?$")
_TICKET_NUMBER = DISPLAY_PATTERN        # contracts.tickets: the display rule the hub issues with
MAX_SCAN = 4096


@dataclass(frozen=True, slots=True)
class ScanEvent:
    """One scan. ``raw`` is exactly what the scanner sent (after prefix/suffix/terminator stripping)."""

    raw: str
    dossier_code: DossierCode | None
    ticket_ref: str | None
    source: str
    at: datetime


def ticket_ref_of(raw: str) -> str | None:
    text = raw.strip()
    if _TICKET_NUMBER.match(text.upper()):
        return text.upper()
    if "/t/" in text or text.startswith("t/"):
        path = urlsplit(text).path if "://" in text else text
        m = _TRACKING_PATH.search(path)
        if m:
            return m.group(1)
    return None


def classify(raw: str, source: str, at: datetime) -> ScanEvent:
    """Turn raw scanned text into a ScanEvent; never raises (junk simply has neither a code nor a ticket ref)."""
    raw = raw[:MAX_SCAN]
    return ScanEvent(raw=raw, dossier_code=find_dossier_code(raw), ticket_ref=ticket_ref_of(raw), source=source,
                     at=at)


@runtime_checkable
class Scanner(Protocol):
    """Anything that produces scans: HID wedge, serial scanner, camera decoder, simulator."""

    source: str

    def read_scan(self, timeout: float | None = None) -> ScanEvent | None:
        """The next scan, or None when ``timeout`` seconds pass without one (or the scanner was closed)."""
        ...

    def close(self) -> None: ...


class ScannerError(Exception):
    """A scanner that cannot be opened (missing device, no permission)."""
