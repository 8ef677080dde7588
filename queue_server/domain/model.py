"""Queue domain values: center definition (services, counters, priorities, policy, rules) and tickets.

Pure: no I/O, no clock reads. Times are passed in as timezone-aware datetimes by the caller.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

# The center definition and the ticket id/number rules are shared with the kiosk and the settings (contracts);
# they are re-exported here so the domain reads as one vocabulary.
from contracts.center import (
    CenterDef,
    CounterDef,
    CounterId,
    PolicyDef,
    PolicyKind,
    PriorityCategory,
    ServiceCode,
    ServiceDef,
    TicketRules,
    WorkingSession,
)
from contracts.tickets import TicketId, TicketNumber, ticket_id_for

__all__ = [
    "CenterDef", "Counter", "CounterDef", "CounterId", "CounterStatus", "Lease", "PolicyDef", "PolicyKind",
    "PriorityCategory", "ServiceCode", "ServiceDay", "ServiceDef", "Ticket", "TicketId", "TicketNumber",
    "TicketRules", "TicketStatus", "WorkingSession", "ticket_id_for",
]


class TicketStatus(StrEnum):
    ISSUED = "issued"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    TRANSFERRED = "transferred"
    CANCELLED = "cancelled"


class CounterStatus(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Ticket:
    """One số thứ tự for one working day. Immutable: transitions return a new Ticket."""

    id: TicketId
    day: date
    service: ServiceCode            # the queue it is in now (changes on transfer)
    origin_service: ServiceCode     # the service it was issued for (its prefix)
    number: TicketNumber
    status: TicketStatus
    issued_at: datetime
    priority: str | None = None
    queued_at: datetime | None = None   # when it (re)joined its current queue; FIFO key
    called_at: datetime | None = None
    serving_at: datetime | None = None
    done_at: datetime | None = None
    counter: CounterId | None = None
    target_counter: CounterId | None = None   # a transfer to a specific counter
    recalls: int = 0
    reactivations: int = 0
    printed: bool | None = None
    kiosk: str | None = None
    request_id: str | None = None       # the kiosk's idempotency key: a retried issue returns this ticket
    last_called_at: datetime | None = None    # the latest call or recall; recall_delay_s counts from here
    staff: str | None = None                  # who called it (for ratings and reports)
    lease_id: str | None = None               # issued offline by a kiosk from this leased block
    queue_seq: int = 0                        # tie-break for FIFO when two tickets share queued_at
    # the booking code this ticket was checked in from (issue 16): its lane in the queue (queue_policy) and the
    # booking the tracking page shows; set only by the booking check-in, never by a kiosk's request
    booking: str | None = None

    @property
    def display(self) -> str:
        return self.number.display

    @property
    def waiting_time_s(self) -> float | None:
        """Waiting time: first call − issue."""
        return _seconds(self.issued_at, self.called_at)

    @property
    def walk_time_s(self) -> float | None:
        """Walk time: start of service − first call."""
        return _seconds(self.called_at, self.serving_at)

    @property
    def service_time_s(self) -> float | None:
        """Service time: done − start of service."""
        return _seconds(self.serving_at, self.done_at)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


@dataclass(frozen=True, slots=True)
class Counter:
    """A quầy's live state (CounterDef is its configuration)."""

    id: CounterId
    status: CounterStatus = CounterStatus.CLOSED
    pause_reason: str | None = None
    staff: str | None = None
    current: TicketId | None = None           # the ticket it holds (called or serving)
    since: datetime | None = None             # last change of status or of the ticket in hand
    last_done: TicketId | None = None         # the last ticket it completed (what a rating pad rates)
    staff_name: str | None = None             # display name of ``staff`` (a login never reaches a screen)


@dataclass(frozen=True, slots=True)
class Lease:
    """A block of numbers reserved for one kiosk to issue while offline; the hub never issues them."""

    id: str
    kiosk: str
    service: ServiceCode
    day: date
    first: int
    last: int
    granted_at: datetime

    def __contains__(self, number: object) -> bool:
        return isinstance(number, int) and self.first <= number <= self.last


@dataclass(frozen=True, slots=True)
class ServiceDay:
    """Per service per working day: numbering and the interleave streak (both restart each day)."""

    day: date
    service: ServiceCode
    next_number: int             # the next number the hub itself may issue
    issued: int = 0              # tickets issued today (hub and merged offline), for the quota
    normal_streak: int = 0       # INTERLEAVE: normal tickets called since the last priority one
    walk_in_streak: int = 1      # bookings interleaved: walk-ins called since the last booked ticket
