"""ESC/POS real-time status (DLE EOT n): the request bytes and the meaning of each reply byte; pure.

Reply bytes always have bits 1 and 4 set and bits 0 and 7 clear (``b & 0x93 == 0x12``), which is how a status
byte is told apart from stray data. Bits used (Epson TM series, followed by most clones):

* n=1 printer status:   bit 3 offline
* n=2 offline cause:    bit 2 cover open, bit 5 printing stopped by paper end, bit 6 error
* n=4 roll paper:       bits 2-3 paper near end, bits 5-6 paper end
"""
from __future__ import annotations

from devices.printer.model import PrinterStatus

DLE_EOT = b"\x10\x04"
QUERIES = (1, 2, 4)


def request(n: int) -> bytes:
    return DLE_EOT + bytes([n])


def is_status_byte(b: int) -> bool:
    return (b & 0x93) == 0x12


def decode(replies: dict[int, int]) -> PrinterStatus:
    """Turn the replies to DLE EOT 1, 2, 4 into a PrinterStatus; a missing reply means the printer is offline."""
    if any(n not in replies or not is_status_byte(replies[n]) for n in QUERIES):
        return PrinterStatus(online=False)
    printer, offline_cause, paper = replies[1], replies[2], replies[4]
    paper_out = bool(paper & 0x60) or bool(offline_cause & 0x20)
    return PrinterStatus(
        online=not (printer & 0x08) or paper_out or bool(offline_cause & 0x04),
        paper_near_end=bool(paper & 0x0C),
        paper_out=paper_out,
        cover_open=bool(offline_cause & 0x04),
    )


def encode(status: PrinterStatus) -> dict[int, int]:
    """The replies a printer in ``status`` gives: used by the simulator, and the inverse of decode()."""
    offline = (not status.online) or status.paper_out or status.cover_open
    return {
        1: 0x12 | (0x08 if offline else 0),
        2: 0x12 | (0x04 if status.cover_open else 0) | (0x20 if status.paper_out else 0),
        4: 0x12 | (0x0C if status.paper_near_end else 0) | (0x60 if status.paper_out else 0),
    }
