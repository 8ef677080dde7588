"""What a center is, as every process agrees on it: services, counters, priority categories, calling policy,
ticket rules and working sessions. Built from the center's config (runtime.settings) and read by the queue domain.

Pure values and lookups; no I/O, no clock reads. The queue rules themselves live in queue_server/domain.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from enum import StrEnum
from typing import NewType

CounterId = NewType("CounterId", str)
ServiceCode = NewType("ServiceCode", str)


class PolicyKind(StrEnum):
    STRICT = "strict"            # every priority ticket before any normal one
    INTERLEAVE = "interleave"    # one priority ticket after N normal ones
    WEIGHTED = "weighted"        # by waiting time, priority tickets credited extra minutes


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
    # Booked (checked-in) tickets against walk-ins (issue 16, [bookings] placement): 0 = one lane by queued_at
    # (placement "slot_time" / "arrival"); M > 0 = "interleave": at most M walk-ins called between two booked
    # tickets while booked ones wait. Priority precedence above is unchanged: a booked ticket is not a priority one.
    booked_walk_ins: int = 0


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
