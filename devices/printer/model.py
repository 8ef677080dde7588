"""The ticket printer port: what a ticket says, what a printer reports back; values only, no I/O."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class PrintableTicket:
    """Everything printed on a queue ticket (phiếu số thứ tự). Strings are citizen-facing: Vietnamese first."""

    center_name: str
    number: str                      # "A023": ASCII, printed with native double-size characters
    service_name: str
    people_ahead: int | None         # None: not known (a kiosk issuing offline from a leased block)
    estimated_wait_min: int | None
    issued_at: datetime
    tracking_url: str                # absolute URL of the hub's /t/<id> page, printed as a native QR
    footer_lines: tuple[str, ...] = ()
    priority_label: str | None = None
    wait_low_min: int | None = None          # the range told on screen; printed instead of the single figure
    wait_high_min: int | None = None
    wait_served: bool | None = None
    wait_past_close: bool = False            # printed as "có thể quá giờ làm việc", not the range


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """Real-time status (DLE EOT). ``known`` is False when the transport cannot read back (file, some USB)."""

    online: bool = True
    paper_near_end: bool = False
    paper_out: bool = False
    cover_open: bool = False
    known: bool = True

    @property
    def ready(self) -> bool:
        return self.online and not self.paper_out and not self.cover_open

    @property
    def faults(self) -> tuple[str, ...]:
        """Stable fault codes, as published on devices/<id>/state and alerted on by the hub."""
        out: list[str] = []
        if not self.online:
            out.append("offline")
        if self.paper_out:
            out.append("paper_out")
        if self.cover_open:
            out.append("cover_open")
        if self.paper_near_end:
            out.append("paper_near_end")
        return tuple(out)


UNKNOWN_STATUS = PrinterStatus(known=False)


@dataclass(frozen=True, slots=True)
class PrintReport:
    """The outcome of one job. ``printed`` is True only when the job went out and the printer was fine after it;
    a failed job is never counted as printed (DOMAIN.md: no phantom tickets)."""

    printed: bool
    fault: str | None
    bytes_sent: int
    status_after: PrinterStatus | None = field(default=None, compare=False)


@runtime_checkable
class TicketPrinter(Protocol):
    def print_ticket(self, ticket: PrintableTicket) -> PrintReport: ...

    def status(self) -> PrinterStatus: ...


class PrinterError(Exception):
    """A printer that cannot be opened or configured (bad URL, missing device)."""
