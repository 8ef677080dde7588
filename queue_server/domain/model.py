"""Queue domain values: center definition (services, counters, priorities, policy, rules) and tickets.

Pure: no I/O, no clock reads. Times are passed in as timezone-aware datetimes by the caller.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import NewType

TicketId = NewType("TicketId", str)
CounterId = NewType("CounterId", str)
ServiceCode = NewType("ServiceCode", str)


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


class PolicyKind(StrEnum):
    STRICT = "strict"            # every priority ticket before any normal one
    INTERLEAVE = "interleave"    # one priority ticket after N normal ones
    WEIGHTED = "weighted"        # by waiting time, priority tickets credited extra minutes


@dataclass(frozen=True, slots=True)
class TicketNumber:
    prefix: str
    number: int

    @property
    def display(self) -> str:
        """``TicketNumber("A", 23).display == "A023"``; four digits once the number passes 999."""
        return f"{self.prefix}{self.number:03d}"


@dataclass(frozen=True, slots=True)
class ServiceDef:
    """A lĩnh vực a citizen queues for."""

    code: ServiceCode
    name: str
    name_en: str
    prefix: str
    number_start: int = 1
    number_end: int = 999
    daily_quota: int | None = None              # None = limited only by the number range
    stop_issuing_before_close_min: int = 30     # no new tickets this long before the last session ends
    avg_service_min: float = 10.0               # prior for the estimate until today's data exists
    # Kiosks' offline blocks come from [offline_from, number_end], so the hall's online numbers run on without
    # gaps; None = the top fifth of the range (800–999 for 1–999).
    offline_from: int | None = None
    # common thủ tục (procedures) citizens come for, shown under the service on the kiosk and searchable there
    procedures: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CounterDef:
    """A quầy; ``services`` in order of preference (first = its main work)."""

    id: CounterId
    name: str
    services: tuple[ServiceCode, ...]


@dataclass(frozen=True, slots=True)
class PriorityCategory:
    code: str
    label: str
    label_en: str
    legal_basis: str


@dataclass(frozen=True, slots=True)
class PolicyDef:
    kind: PolicyKind = PolicyKind.STRICT
    interleave_normal: int = 3          # INTERLEAVE: one priority ticket after this many normal ones
    priority_bonus_min: float = 15.0    # WEIGHTED: minutes of waiting credited to a priority ticket
    # True: a counter calls a priority ticket of ANY of its services (when the policy would call one there) before
    # a normal ticket of its preferred service — the promise "người được ưu tiên được gọi trước" (Law on the Elderly
    # 2009) holds at every counter. False: its order of preference first, priority only within a service.
    priority_across_services: bool = True


@dataclass(frozen=True, slots=True)
class TicketRules:
    recalls_before_no_show: int = 2     # recalls needed before staff may mark a no-show
    recall_delay_s: int = 30            # minimum seconds between two calls of the same ticket
    max_reactivations: int = 1


@dataclass(frozen=True, slots=True)
class WorkingSession:
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class CenterDef:
    """Everything about one center the queue rules need (built from config, never from code constants)."""

    id: str
    name: str
    name_en: str
    services: tuple[ServiceDef, ...]
    counters: tuple[CounterDef, ...]
    priorities: tuple[PriorityCategory, ...] = ()
    policy: PolicyDef = field(default_factory=PolicyDef)
    rules: TicketRules = field(default_factory=TicketRules)
    # weekday (0 = Monday) -> sessions; days missing are closed
    sessions: dict[int, tuple[WorkingSession, ...]] = field(default_factory=dict)
    # From the working calendar (public holidays, announced days off, make-up working days such as Saturday
    # 22/08/2026): a day off has no sessions; a make-up day works the Monday pattern unless its weekday has one.
    days_off: frozenset[date] = frozenset()
    makeup_days: frozenset[date] = frozenset()

    def sessions_on(self, day: date) -> tuple[WorkingSession, ...]:
        if day in self.makeup_days:
            return self.sessions.get(day.weekday()) or self.sessions.get(0, ())
        if day in self.days_off:
            return ()
        return self.sessions.get(day.weekday(), ())

    def service(self, code: str) -> ServiceDef | None:
        return next((s for s in self.services if s.code == code), None)

    def counter(self, counter_id: str) -> CounterDef | None:
        return next((c for c in self.counters if c.id == counter_id), None)

    def priority(self, code: str) -> PriorityCategory | None:
        return next((p for p in self.priorities if p.code == code), None)


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


def ticket_id_for(day: date, service: str, number: int) -> TicketId:
    """``20261123-ho-tich-23``: stable, unique per day and origin service (a transfer keeps it)."""
    return TicketId(f"{day.year:04d}{day.month:02d}{day.day:02d}-{service}-{number}")


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
