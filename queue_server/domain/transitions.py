"""The ticket and counter state machine: ``decide(state, command, now) -> Decision(events, result)`` and
``evolve(state, event)``; ``transition(state, command, now) -> (new state, events)`` composes the two.

Pure: no I/O, no clock reads, no logging. ``decide`` only reads the state and raises MotcuaError with a stable
code on refusal; ``evolve`` is the ONLY code that changes a QueueState, and it derives everything (queues,
counters' ticket in hand, numbering, interleave streak, recent service times, last calls) from the events —
so replaying the stored event log rebuilds exactly the state the hub had.

Lifecycle (DOMAIN.md): issued → called → serving → done; called → no_show (after the configured recalls);
called/serving → transferred (keeps its number, is ``issued`` again in the target queue, so ``transferred``
is never a resting status); issued → cancelled; no_show → issued (reactivate, limited). Only tickets of the
current working day are ever in a queue: yesterday's unserved tickets stay in history, not callable.
"""
from __future__ import annotations

import functools
import itertools
import re
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from typing import Any

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ, EventType

from . import estimates, numbering, queue_policy, wait_estimate
from .model import (
    CenterDef,
    Counter,
    CounterId,
    CounterStatus,
    Lease,
    PolicyKind,
    ServiceCode,
    ServiceDay,
    ServiceDef,
    Ticket,
    TicketId,
    TicketNumber,
    TicketStatus,
    WorkingSession,
    ticket_id_for,
)
from .queue_policy import QueueKey, ServiceQueue

HELD = (TicketStatus.CALLED, TicketStatus.SERVING)   # statuses in which a counter holds the ticket
ARRIVAL_SHRINK = 5.0   # tickets: today's busyness factor counts as 1 until today has seen about this many
# A site without history (its first days): today's arrival rate is measured over at least this many working hours —
# the first half hour is the door's rush, and its rate carried over the whole day told the services counters take
# after their first choices that nobody would serve them all day (bench/estimate.py: first days told 8–10 h, real
# 1–2 h) — and the share of priority citizens is shrunk towards about one in ten until some twenty tickets wait
# (one elderly citizen among two waiting is not half of the day's arrivals going first).
NEW_SITE_MIN_HOURS = 2.0
PRIORITY_SHARE_DEFAULT = 0.1
PRIORITY_SHARE_WEIGHT = 20.0


def new_site_priority_share(priority_waiting: int, waiting: int) -> float:
    """The share of a service's arrivals taken to be priority citizens when history has none: what waits now,
    shrunk towards ``PRIORITY_SHARE_DEFAULT`` as if ``PRIORITY_SHARE_WEIGHT`` tickets at that share waited too."""
    return (priority_waiting + PRIORITY_SHARE_WEIGHT * PRIORITY_SHARE_DEFAULT) / (waiting + PRIORITY_SHARE_WEIGHT)
CALLS_KEPT = 20                                      # last calls kept for hall displays


# --------------------------------------------------------------------------------------------- commands
@dataclass(frozen=True, slots=True)
class IssueTicket:
    service: str
    priority: str | None = None
    kiosk: str | None = None
    request_id: str | None = None     # a kiosk retrying after a lost answer gets the same ticket, not a second one
    # a checked-in booking joins the queue as if it had come at this moment (its slot's start, bookings.queue_time);
    # never later than now, so a booking can only move a citizen forward, never behind walk-ins who came after
    queue_at: datetime | None = None
    # the booking code a check-in issues for (BookingService only): the ticket then queues in the booked lane
    booking: str | None = None


@dataclass(frozen=True, slots=True)
class RecordPrintResult:
    ticket_id: str
    printed: bool
    fault: str | None = None


@dataclass(frozen=True, slots=True)
class CallNext:
    counter: str
    staff: str | None = None


@dataclass(frozen=True, slots=True)
class CallTicket:
    counter: str
    ticket_id: str | None = None
    number: str | None = None          # display form, e.g. "A023"
    staff: str | None = None


@dataclass(frozen=True, slots=True)
class Recall:
    counter: str


@dataclass(frozen=True, slots=True)
class StartService:
    counter: str


@dataclass(frozen=True, slots=True)
class Complete:
    counter: str


@dataclass(frozen=True, slots=True)
class MarkNoShow:
    counter: str


@dataclass(frozen=True, slots=True)
class Transfer:
    counter: str
    to_service: str | None = None
    to_counter: str | None = None
    confirm: bool = False      # transfer even to a closed counter / a service no open or paused counter serves


@dataclass(frozen=True, slots=True)
class Reactivate:
    ticket_id: str


@dataclass(frozen=True, slots=True)
class Cancel:
    ticket_id: str
    reason: str | None = None          # why (staff give one in the console); kept in the event, not the ticket
    by_counter: str | None = None      # the counter whose staff cancelled it


@dataclass(frozen=True, slots=True)
class OpenCounter:
    counter: str
    staff: str | None = None
    staff_name: str | None = None      # display name shown on screens (``staff`` is the login, kept for reports)
    takeover: bool = False             # the staff member confirmed taking over a counter open under someone else


@dataclass(frozen=True, slots=True)
class PauseCounter:
    counter: str
    reason: str


@dataclass(frozen=True, slots=True)
class ResumeCounter:
    counter: str


@dataclass(frozen=True, slots=True)
class CloseCounter:
    counter: str


@dataclass(frozen=True, slots=True)
class LeaseNumbers:
    kiosk: str
    service: str
    size: int


@dataclass(frozen=True, slots=True)
class LeasedTicket:
    number: int
    issued_at: datetime
    priority: str | None = None


@dataclass(frozen=True, slots=True)
class MergeLeased:
    lease_id: str
    tickets: tuple[LeasedTicket, ...]
    # a lease of a past day, as stored (the state holds today's only), and its tickets already merged: tickets
    # issued offline until closing and handed in only on a later day
    past: Lease | None = None
    merged: tuple[Ticket, ...] = ()
    # the kiosk holding the lease, as it re-reports it: a hub restored from an earlier backup that no longer knows
    # a lease of today adopts it back (see _adopt)
    kiosk: str | None = None


Command = (IssueTicket | RecordPrintResult | CallNext | CallTicket | Recall | StartService | Complete
           | MarkNoShow | Transfer | Reactivate | Cancel | OpenCounter | PauseCounter | ResumeCounter
           | CloseCounter | LeaseNumbers | MergeLeased)


# ----------------------------------------------------------------------------------------------- events
@dataclass(frozen=True, slots=True)
class DomainEvent:
    """One state change. Ticket events carry the ticket AFTER the change; counter events the counter after."""

    type: EventType
    at: datetime
    ticket: Ticket | None = None
    counter: Counter | None = None
    lease: Lease | None = None
    by_counter: CounterId | None = None     # the counter that acted (call, recall, transfer ...)
    detail: tuple[tuple[str, str], ...] = ()   # small extras: fault, from_service, lease ...


@dataclass(frozen=True, slots=True)
class Issued:
    ticket: Ticket
    ahead: int
    estimated_wait_min: int
    wait: wait_estimate.WaitEstimate | None = None     # the range the citizen is told


Result = Ticket | Counter | Lease | Issued | tuple[Ticket, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    events: tuple[DomainEvent, ...]
    result: Result


@dataclass(frozen=True, slots=True)
class Call:
    """One call or recall as displays show it."""

    ticket_id: TicketId
    number: str
    service: ServiceCode
    counter: CounterId
    at: datetime
    recall: int


# ------------------------------------------------------------------------------------------------ state
@dataclass(slots=True)
class QueueState:
    """The hub's live state for the current working day. Changed only by ``evolve`` (and ``roll_to``).

    ``tickets`` holds today's tickets plus any older ticket a counter still holds; the store keeps history.
    """

    center: CenterDef
    day: date | None = None
    tickets: dict[TicketId, Ticket] = field(default_factory=dict)
    counters: dict[CounterId, Counter] = field(default_factory=dict)
    service_days: dict[ServiceCode, ServiceDay] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)
    queues: dict[ServiceCode, ServiceQueue] = field(default_factory=dict)
    targeted: dict[CounterId, list[QueueKey]] = field(default_factory=dict)
    by_display: dict[str, TicketId] = field(default_factory=dict)
    by_request: dict[str, TicketId] = field(default_factory=dict)
    recent_service_s: dict[ServiceCode, deque[float]] = field(default_factory=dict)
    calls: deque[Call] = field(default_factory=lambda: deque(maxlen=CALLS_KEPT))
    next_queue_seq: int = 1
    # today's occupancy per ticket (call → done / no-show / transfer) per (service, counter), for the estimate
    occupancy_s: dict[tuple[ServiceCode, CounterId], deque[float]] = field(default_factory=dict)
    # learnt from past days by the store (not derived from today's events; kept across days)
    prior: wait_estimate.HistoryPrior = field(default_factory=wait_estimate.HistoryPrior)

    def __post_init__(self) -> None:
        for c in self.center.counters:
            self.counters.setdefault(c.id, Counter(id=c.id))
        for s in self.center.services:
            self.queues.setdefault(s.code, ServiceQueue())

    # -- reads
    def service_day(self, code: ServiceCode) -> ServiceDay:
        existing = self.service_days.get(code)
        if existing is not None:
            return existing
        service = self.center.service(code)
        assert self.day is not None
        if service is None:   # replaying events of a service since removed from the config
            return ServiceDay(self.day, code, 1, 0, max(1, self.center.policy.interleave_normal),
                              queue_policy.full_walk_ins(self.center.policy))
        return numbering.new_service_day(service, self.day, self.center.policy)

    def queue(self, code: str) -> ServiceQueue:
        q = self.queues.get(ServiceCode(code))
        if q is None:       # a service since removed from the config (replay): not built on every call
            q = self.queues[ServiceCode(code)] = ServiceQueue()
        return q

    def open_counters_serving(self, code: str, exclude: frozenset[CounterId] = frozenset()) -> int:
        """Open counters serving ``code``, less ``exclude`` (silent counters, see counter_presence)."""
        return sum(1 for c in self.center.counters
                   if code in c.services and self.counters[c.id].status is CounterStatus.OPEN and c.id not in exclude)

    def avg_service_min(self, service: ServiceDef) -> float:
        return estimates.average_service_min(self.recent_service_s.get(service.code, ()), service.avg_service_min)

    def ahead(self, ticket: Ticket) -> int:
        """People called before ``ticket`` (0 when it is not waiting)."""
        if ticket.status is not TicketStatus.ISSUED or ticket.day != self.day:
            return 0
        key = key_of(ticket)
        if ticket.target_counter is not None:
            return bisect_left(self.targeted.get(ticket.target_counter, []), key)
        sd = self.service_day(ticket.service)
        return queue_policy.ahead_of(self.center.policy, self.queue(ticket.service), sd.normal_streak, key,
                                     lane_of(ticket), sd.walk_in_streak)

    def estimated_wait_min(self, ticket: Ticket, now: datetime | None = None,
                           exclude: frozenset[CounterId] = frozenset()) -> int:
        """The old single figure: the expected wait in whole minutes (see ``wait_for``)."""
        wait = self.wait_for(ticket, now, exclude)
        return 0 if wait is None else wait.minutes

    def wait_for(self, ticket: Ticket, now: datetime | None = None,
                 exclude: frozenset[CounterId] = frozenset()) -> wait_estimate.WaitEstimate | None:
        """The wait a waiting ticket is told at ``now`` (default: when it joined its queue); None if not waiting.
        ``exclude``: silent counters (open, nobody there), which serve no one."""
        if ticket.status is not TicketStatus.ISSUED or ticket.day != self.day:
            return None
        at = now if now is not None else (ticket.queued_at or ticket.issued_at)
        if ticket.target_counter is not None:
            ahead = self.ahead(ticket)
            return self.wait_estimate(ticket.service, ahead, ticket.priority is not None, at,
                                      only_counter=ticket.target_counter, exclude=exclude)
        return self.wait_estimate(ticket.service, self.ahead(ticket), ticket.priority is not None, at,
                                  exclude=exclude)

    def service_times(self, now: datetime) -> wait_estimate.ServiceTimes:
        by_service: dict[str, list[float]] = {}
        for (svc, _), values in self.occupancy_s.items():
            by_service.setdefault(svc, []).extend(values)
        usual = self.prior.usual_staff
        stand_ins = frozenset(cid for cid, c in self.counters.items()
                              if c.staff and cid in usual and usual[cid] != c.staff)
        return wait_estimate.ServiceTimes(
            default_s={s.code: s.avg_service_min * 60.0 for s in self.center.services}, prior=self.prior,
            today_by_counter={k: tuple(v) for k, v in self.occupancy_s.items()}, today_by_service=by_service,
            hour=now.astimezone(VN_TZ).hour, stand_ins=stand_ins)

    def hall(self, now: datetime, times: wait_estimate.ServiceTimes,
             exclude: frozenset[CounterId] = frozenset()) -> wait_estimate.Hall:
        """The counters that can call now or after a pause (not the silent ones in ``exclude``), what they hold,
        who waits, who is still to come."""
        counters: list[wait_estimate.CounterNow] = []
        for definition in self.center.counters:
            c = self.counters[definition.id]
            if c.status is CounterStatus.CLOSED or definition.id in exclude:
                continue
            free = 0.0
            if c.current is not None and (held := self.tickets.get(c.current)) is not None:
                since = held.called_at or c.since or now
                free = wait_estimate.free_in_s(times.seconds(held.service, c.id), (now - since).total_seconds(),
                                               times.spread(held.service))
            if c.status is CounterStatus.PAUSED:
                paused = (now - c.since).total_seconds() if c.since is not None else 0.0
                free += max(60.0, wait_estimate.PAUSE_EXPECTED_S - paused)
            counters.append(wait_estimate.CounterNow(definition.id, tuple(definition.services), free,
                                                     len(self.targeted.get(definition.id, ()))))
        counters.extend(self._expected_openings(now, exclude))
        waiting: dict[str, int] = {s.code: len(self.queue(s.code)) for s in self.center.services}
        spans = self._spans(now)
        until = self._issue_left_s(now, spans)
        return wait_estimate.Hall(tuple(counters), waiting, self._arrivals_per_h(now), spans, until,
                                  self._arrival_steps(now, spans, until))

    def _expected_openings(self, now: datetime, exclude: frozenset[CounterId]) -> list[wait_estimate.CounterNow]:
        """Closed counters not yet opened today that, on past days not yet open by this time of day, more often
        opened later than stayed shut (``HistoryPrior.opening_after``): expected at the mean of those later
        openings, not before a minute from now. Otherwise the counter is taken as absent today."""
        local = now.astimezone(VN_TZ)
        clock_s = local.hour * 3600.0 + local.minute * 60.0 + local.second
        out: list[wait_estimate.CounterNow] = []
        for definition in self.center.counters:
            c = self.counters[definition.id]
            if (c.status is not CounterStatus.CLOSED or definition.id in exclude
                    or (c.since is not None and c.since.astimezone(VN_TZ).date() == local.date())):
                continue
            expected_s = self.prior.opening_after(definition.id, clock_s)
            if expected_s is None:
                continue
            out.append(wait_estimate.CounterNow(definition.id, tuple(definition.services),
                                                max(60.0, expected_s - clock_s)))
        return out

    def _arrival_steps(self, now: datetime, spans: tuple[tuple[float, float], ...], until: float
                       ) -> dict[str, tuple[tuple[float, float], ...]]:
        """With history: each service's arrivals hour by hour for the rest of the day — its usual waves, scaled
        by how busy today has been so far compared with a usual day (shrunk towards 1 while today is young)."""
        prior = self.prior
        if prior.days == 0:
            return {}
        local = now.astimezone(VN_TZ)
        sessions = self.center.sessions_on(local.date())

        def worked_in_hour(h: int, upto: datetime | None = None) -> float:
            """Hours of working time within clock hour ``h`` (up to ``upto``): 0.5 for 07:00 when work starts 07:30."""
            a = local.replace(hour=h, minute=0, second=0, microsecond=0)
            b = a + timedelta(hours=1) if upto is None else min(a + timedelta(hours=1), upto)
            total = 0.0
            for sess in sessions:
                s0 = datetime.combine(local.date(), sess.start, tzinfo=VN_TZ)
                s1 = datetime.combine(local.date(), sess.end, tzinfo=VN_TZ)
                total += max(0.0, (min(b, s1) - max(a, s0)).total_seconds()) / 3600.0
            return total

        share = _hour_shares(tuple(sessions), local.date())
        now_share = worked_in_hour(local.hour, local)
        # when each clock hour from now on starts, in working seconds from now: the same for every service
        hour_starts: list[tuple[int, float]] = []
        for h in range(local.hour, 24):
            start = local.replace(hour=h, minute=0, second=0, microsecond=0)
            at = _working_s(max(0.0, (start - local).total_seconds()), spans)
            if at >= until:
                break
            hour_starts.append((h, at))
        # the usual tickets of an hour arrived in its working part: a rate per working hour, not per clock hour
        out: dict[str, tuple[tuple[float, float], ...]] = {}
        for s in self.center.services:
            usual = [prior.arrivals_by_hour.get((s.code, h), 0.0) for h in range(24)]
            expected = sum(usual[:local.hour]) + (usual[local.hour] * now_share / share[local.hour]
                                                  if share[local.hour] > 0 else 0.0)
            issued = self.service_days[s.code].issued if s.code in self.service_days else 0
            factor = (issued + ARRIVAL_SHRINK) / (expected + ARRIVAL_SHRINK)
            steps = [(at, (usual[h] / share[h] if share[h] > 0 else 0.0) * factor) for h, at in hour_starts]
            out[s.code] = tuple(steps)
        return out

    def _issue_left_s(self, now: datetime, spans: tuple[tuple[float, float], ...]) -> float:
        """Working seconds from now until tickets stop being issued (the earliest stop of any service)."""
        local = now.astimezone(VN_TZ)
        sessions = self.center.sessions_on(local.date())
        if not sessions or not self.center.services:
            return 0.0
        last_end = datetime.combine(local.date(), max(s.end for s in sessions), tzinfo=VN_TZ)
        stop = last_end - timedelta(minutes=min(s.stop_issuing_before_close_min for s in self.center.services))
        wall = (stop - local).total_seconds()
        working = 0.0
        for a, b in spans:
            if wall <= a:
                break
            working += min(b, wall) - a
        return max(0.0, working)

    def _spans(self, now: datetime) -> tuple[tuple[float, float], ...]:
        local = now.astimezone(VN_TZ)
        spans: list[tuple[float, float]] = []
        for session in self.center.sessions_on(local.date()):
            start = datetime.combine(local.date(), session.start, tzinfo=VN_TZ)
            end = datetime.combine(local.date(), session.end, tzinfo=VN_TZ)
            a, b = (start - local).total_seconds(), (end - local).total_seconds()
            if b > 0:
                spans.append((max(0.0, a), b))
        return tuple(spans) or ((0.0, float("inf")),)

    def _arrivals_per_h(self, now: datetime) -> dict[str, float]:
        """Without history: tickets per hour still expected per service at today's rate so far."""
        local = now.astimezone(VN_TZ)
        sessions = self.center.sessions_on(local.date())
        if not sessions:
            return {}
        first = datetime.combine(local.date(), min(s.start for s in sessions), tzinfo=VN_TZ)
        worked_h = max(NEW_SITE_MIN_HOURS, (local - first).total_seconds() / 3600.0 - self._break_h(local))
        return {s.code: (self.service_days[s.code].issued if s.code in self.service_days else 0) / worked_h
                for s in self.center.services}

    def _break_h(self, local: datetime) -> float:
        sessions = sorted(self.center.sessions_on(local.date()), key=lambda s: s.start)
        gap = 0.0
        for a, b in itertools.pairwise(sessions):
            end = datetime.combine(local.date(), a.end, tzinfo=VN_TZ)
            start = datetime.combine(local.date(), b.start, tzinfo=VN_TZ)
            if local > end:
                gap += (min(local, start) - end).total_seconds() / 3600.0
        return gap

    def wait_estimate(self, service: str, ahead: int, is_priority: bool, now: datetime,
                      only_counter: CounterId | None = None,
                      exclude: frozenset[CounterId] = frozenset()) -> wait_estimate.WaitEstimate:
        """The wait for someone with ``ahead`` people before them in ``service`` (or in a transfer to
        ``only_counter``), told at ``now``; ``exclude``: silent counters, left out like closed ones."""
        times = self.service_times(now)
        hall = self.hall(now, times, exclude)
        if only_counter is not None:
            mine = [wait_estimate.CounterNow(c.id, (service,), c.free_in_s) for c in hall.counters
                    if c.id == only_counter]
            hall = wait_estimate.Hall(tuple(mine), {}, {}, hall.working_spans, 0.0)
            return wait_estimate.estimate_wait(service, ahead, hall, times)
        extra = 0.0
        if is_priority and self.center.policy.priority_across_services \
                and self.center.policy.kind is not PolicyKind.WEIGHTED:
            # a priority citizen is called before the normal tickets of a counter's other services too: for them
            # every counter serving the service takes it first (a second-choice service is no longer second)
            hall = replace(hall, counters=tuple(
                replace(c, services=(service, *(s for s in c.services if s != service)))
                if service in c.services else c for c in hall.counters))
        if not is_priority and self.center.policy.kind is not PolicyKind.WEIGHTED:
            # priority citizens still to come go before a normal ticket: their share of the service's arrivals
            # (history's, else today's queue's); interleave lets one in after every N normal tickets at most
            queue = self.queue(service)
            share = self.prior.priority_share.get(service)
            if share is None:
                share = new_site_priority_share(len(queue.priority), len(queue))
            steps = hall.arrival_steps.get(service)
            rate = steps[0][1] if steps else hall.arrivals_per_h.get(service, 0.0)
            extra = rate * share
            if self.center.policy.priority_across_services:
                # priority citizens of a service our counters take after ours are called before us too: those
                # waiting now count as ahead, those still to come as arrivals ahead
                later = {s for c in hall.counters if service in c.services
                         for s in c.services[c.services.index(service) + 1:]}
                for other in sorted(later):
                    ahead += len(self.queue(other).priority)
                    steps = hall.arrival_steps.get(other)
                    rate = steps[0][1] if steps else hall.arrivals_per_h.get(other, 0.0)
                    extra += rate * self.prior.priority_share.get(other, 0.0)
        standby: tuple[wait_estimate.CounterNow, ...] = ()
        if not any(service in c.services for c in hall.counters):
            standby = tuple(wait_estimate.CounterNow(c.id, tuple(c.services)) for c in self.center.counters
                            if self.counters[c.id].status is CounterStatus.CLOSED and service in c.services)
        return wait_estimate.estimate_wait(service, ahead, hall, times, extra, standby=standby)

    def waiting_count(self, code: str) -> int:
        targeted = sum(1 for keys in self.targeted.values() for k in keys
                       if self.tickets[TicketId(k[2])].service == code)
        return len(self.queue(code)) + targeted

    def waiting(self, code: str | None = None) -> list[Ticket]:
        """Waiting tickets in call order (per service; services in config order when ``code`` is None)."""
        codes = [s.code for s in self.center.services] if code is None else [ServiceCode(code)]
        out: list[Ticket] = []
        for svc in codes:
            for keys in self.targeted.values():
                out.extend(self.tickets[TicketId(k[2])] for k in keys if self.tickets[TicketId(k[2])].service == svc)
            sd = self.service_day(svc)
            order = queue_policy.call_order(self.center.policy, self.queue(svc), sd.normal_streak, sd.walk_in_streak)
            out.extend(self.tickets[TicketId(k[2])] for k, _ in order)
        return out

    # -- day rollover (derived, not an event: the date of the next event decides it)
    def roll_to(self, day: date) -> None:
        """Start working day ``day``: forget yesterday's queues and numbering, keep tickets counters hold."""
        if self.day is not None and day <= self.day:
            return
        self.day = day
        self.tickets = {tid: t for tid, t in self.tickets.items()
                        if t.day >= day or (t.status in HELD and t.counter is not None)}
        self.service_days = {}
        self.leases = {lid: lease for lid, lease in self.leases.items() if lease.day >= day}
        self.queues = {s.code: ServiceQueue() for s in self.center.services}
        self.targeted = {}
        self.by_display = {}
        self.by_request = {}
        self.recent_service_s = {}
        self.occupancy_s = {}
        self.calls.clear()
        self.next_queue_seq = 1
        for t in self.tickets.values():
            if t.day == day:
                self._index(t)

    def _index(self, t: Ticket) -> None:
        """Put a ticket of the current day into the lookup and, if it waits, into its queue."""
        self.by_display[t.display] = t.id
        if t.request_id is not None:
            self.by_request[t.request_id] = t.id
        self.next_queue_seq = max(self.next_queue_seq, t.queue_seq + 1)
        if t.status is TicketStatus.ISSUED:
            if t.target_counter is not None:
                insort(self.targeted.setdefault(t.target_counter, []), key_of(t))
            else:
                self.queue(t.service).add(key_of(t), lane_of(t))

    def _unqueue(self, t: Ticket) -> None:
        if t.status is not TicketStatus.ISSUED:
            return
        key = key_of(t)
        if t.target_counter is not None:
            keys = self.targeted.get(t.target_counter, [])
            i = bisect_left(keys, key)
            if i < len(keys) and keys[i] == key:
                del keys[i]
            if not keys:
                self.targeted.pop(t.target_counter, None)
        else:
            self.queue(t.service).remove(key, lane_of(t))

    def copy(self) -> QueueState:
        return QueueState(
            center=self.center, day=self.day, tickets=dict(self.tickets), counters=dict(self.counters),
            service_days=dict(self.service_days), leases=dict(self.leases),
            queues={k: q.copy() for k, q in self.queues.items()},
            targeted={k: list(v) for k, v in self.targeted.items()}, by_display=dict(self.by_display),
            by_request=dict(self.by_request), recent_service_s={k: deque(v, maxlen=v.maxlen) for k, v in self.recent_service_s.items()},
            calls=deque(self.calls, maxlen=CALLS_KEPT), next_queue_seq=self.next_queue_seq,
            occupancy_s={k: deque(v, maxlen=v.maxlen) for k, v in self.occupancy_s.items()}, prior=self.prior)

    def comparable(self) -> dict[str, object]:
        """Everything that defines the state, in plain containers: two states are the same iff equal."""
        return {
            "day": self.day, "tickets": dict(self.tickets), "counters": dict(self.counters),
            "service_days": dict(self.service_days), "leases": dict(self.leases),
            "queues": {k: (list(q.priority), list(q.normal), list(q.booked)) for k, q in self.queues.items() if len(q)},
            "targeted": {k: list(v) for k, v in self.targeted.items() if v},
            "by_display": dict(self.by_display),
            "recent_service_s": {k: list(v) for k, v in self.recent_service_s.items() if v},
            "calls": list(self.calls), "next_queue_seq": self.next_queue_seq,
            "occupancy_s": {k: list(v) for k, v in self.occupancy_s.items() if v},
        }


@functools.lru_cache(maxsize=64)
def _hour_shares(sessions: tuple[WorkingSession, ...], day: date) -> tuple[float, ...]:
    """Hours of working time within each clock hour of ``day`` (0.5 for 07:00 when work starts 07:30): the same
    for every estimate of the day, so computed once (the wait estimate runs at every issue)."""
    out: list[float] = []
    for h in range(24):
        a = datetime.combine(day, dt_time(h), tzinfo=VN_TZ)
        b = a + timedelta(hours=1)
        total = 0.0
        for sess in sessions:
            s0 = datetime.combine(day, sess.start, tzinfo=VN_TZ)
            s1 = datetime.combine(day, sess.end, tzinfo=VN_TZ)
            total += max(0.0, (min(b, s1) - max(a, s0)).total_seconds()) / 3600.0
        out.append(total)
    return tuple(out)


def _working_s(wall_s: float, spans: tuple[tuple[float, float], ...]) -> float:
    """Working seconds between now and ``wall_s`` seconds from now (the inverse of wait_estimate's wall time)."""
    total = 0.0
    for a, b in spans:
        if wall_s <= a:
            break
        total += min(b, wall_s) - a
    return total


def key_of(t: Ticket) -> QueueKey:
    queued = t.queued_at or t.issued_at
    return (queued.timestamp(), t.queue_seq, str(t.id))


def lane_of(t: Ticket) -> queue_policy.Lane:
    """Which of its service's lanes a waiting ticket is in: from the ticket alone (priority category, booking),
    so replaying the log puts every ticket back where it was."""
    return queue_policy.lane(t.priority is not None, t.booking is not None)


# ----------------------------------------------------------------------------------------------- decide
def _fail(code: ErrorCode, message: str) -> MotcuaError:
    return MotcuaError(code, message)


def _service(state: QueueState, code: str) -> ServiceDef:
    service = state.center.service(code)
    if service is None:
        raise _fail(ErrorCode.UNKNOWN_SERVICE, f"unknown service {code!r}")
    return service


def _counter(state: QueueState, counter_id: str) -> Counter:
    if state.center.counter(counter_id) is None:
        raise _fail(ErrorCode.UNKNOWN_COUNTER, f"unknown counter {counter_id!r}")
    return state.counters[CounterId(counter_id)]


def _ticket(state: QueueState, ticket_id: str) -> Ticket:
    t = state.tickets.get(TicketId(ticket_id))
    if t is None:
        raise _fail(ErrorCode.UNKNOWN_TICKET, f"unknown ticket {ticket_id!r} (or not from today)")
    return t


def _must_be_open(counter: Counter) -> None:
    if counter.status is not CounterStatus.OPEN:
        raise _fail(ErrorCode.COUNTER_NOT_OPEN, f"counter {counter.id} is {counter.status}")


def _held(state: QueueState, counter_id: str) -> tuple[Counter, Ticket]:
    counter = _counter(state, counter_id)
    if counter.current is None:
        raise _fail(ErrorCode.COUNTER_IDLE, f"counter {counter.id} has no ticket in hand")
    return counter, state.tickets[counter.current]


def _issue(state: QueueState, cmd: IssueTicket, now: datetime) -> Decision:
    service = _service(state, cmd.service)
    if cmd.request_id is not None and cmd.request_id in state.by_request:
        return _reissue(state, state.tickets[state.by_request[cmd.request_id]], cmd)
    if cmd.priority is not None and state.center.priority(cmd.priority) is None:
        raise _fail(ErrorCode.UNKNOWN_PRIORITY, f"unknown priority category {cmd.priority!r}")
    assert state.day is not None
    sd = state.service_day(service.code)
    leases = state.leases.values()
    numbering.check_can_issue(state.center, service, sd, now, leases)
    number = numbering.next_online(sd, leases)
    ticket = Ticket(
        id=ticket_id_for(state.day, service.code, number), day=state.day, service=service.code,
        origin_service=service.code, number=TicketNumber(service.prefix, number), status=TicketStatus.ISSUED,
        issued_at=now, priority=cmd.priority, queued_at=min(cmd.queue_at, now) if cmd.queue_at else now,
        kiosk=cmd.kiosk, queue_seq=state.next_queue_seq, request_id=cmd.request_id, booking=cmd.booking)
    ahead = queue_policy.ahead_of(state.center.policy, state.queue(service.code), sd.normal_streak,
                                  key_of(ticket), lane_of(ticket), sd.walk_in_streak)
    wait = state.wait_estimate(service.code, ahead, ticket.priority is not None, now)
    return Decision((DomainEvent(EventType.TICKET_ISSUED, now, ticket=ticket),),
                    Issued(ticket, ahead, wait.minutes, wait))


def _reissue(state: QueueState, ticket: Ticket, cmd: IssueTicket) -> Decision:
    """The same request again (the kiosk never saw the answer): the same ticket, no event, no number used.
    A different service or priority under the same key is a client bug, refused rather than guessed."""
    if cmd.service != ticket.origin_service or cmd.priority != ticket.priority:
        raise _fail(ErrorCode.BAD_REQUEST, f"request_id {cmd.request_id!r} was already used for ticket "
                                           f"{ticket.display} ({ticket.origin_service}, priority {ticket.priority})")
    wait = state.wait_for(ticket)
    return Decision((), Issued(ticket, state.ahead(ticket), 0 if wait is None else wait.minutes, wait))


def _print_result(state: QueueState, cmd: RecordPrintResult, now: datetime) -> Decision:
    t = _ticket(state, cmd.ticket_id)
    new = replace(t, printed=cmd.printed)
    detail = (("fault", cmd.fault),) if cmd.fault else ()
    return Decision((DomainEvent(EventType.TICKET_PRINT_RECORDED, now, ticket=new, detail=detail),), new)


def _called(state: QueueState, counter: Counter, t: Ticket, staff: str | None, now: datetime) -> Decision:
    new = replace(t, status=TicketStatus.CALLED, called_at=now, last_called_at=now, counter=counter.id,
                  target_counter=None, staff=staff or counter.staff)
    return Decision((DomainEvent(EventType.TICKET_CALLED, now, ticket=new, by_counter=counter.id),), new)


def next_ticket_for(state: QueueState, counter_id: CounterId) -> TicketId | None:
    """Who a counter calls next: tickets transferred to this very counter first (they are mid-process);
    then, with ``priority_across_services``, a priority ticket of any of its services whose policy calls a priority
    ticket now (services in its order of preference); then the first of its services, in its order of preference,
    that has someone waiting — preference wins over waiting time across services; within the service the ordering
    policy decides."""
    keys = state.targeted.get(counter_id)
    if keys:
        return TicketId(keys[0][2])
    definition = state.center.counter(counter_id)
    assert definition is not None
    policy = state.center.policy
    if policy.priority_across_services:
        for code in definition.services:
            sd = state.service_day(code)
            chosen = queue_policy.pick(policy, state.queue(code), sd.normal_streak, sd.walk_in_streak)
            if chosen is not None and chosen[1]:
                return TicketId(chosen[0][2])
    for code in definition.services:
        sd = state.service_day(code)
        chosen = queue_policy.pick(policy, state.queue(code), sd.normal_streak, sd.walk_in_streak)
        if chosen is not None:
            return TicketId(chosen[0][2])
    return None


def _call_next(state: QueueState, cmd: CallNext, now: datetime) -> Decision:
    counter = _counter(state, cmd.counter)
    _must_be_open(counter)
    if counter.current is not None:
        raise _fail(ErrorCode.COUNTER_BUSY, f"counter {counter.id} still has {counter.current} in hand")
    tid = next_ticket_for(state, counter.id)
    if tid is None:
        raise _fail(ErrorCode.NOTHING_TO_CALL, f"nobody is waiting for counter {counter.id}")
    return _called(state, counter, state.tickets[tid], cmd.staff, now)


_DISPLAY = re.compile(r"^\s*([A-Za-z]{1,3})\s*-?\s*0*(\d{1,6})\s*$")


def normalise_display(text: str) -> str:
    """``"a23"``, ``"A-023"``, ``" A023 "`` → ``"A023"`` (keypads and staff type numbers loosely)."""
    match = _DISPLAY.match(text)
    if match is None:
        return text.strip().upper()
    return TicketNumber(match.group(1).upper(), int(match.group(2))).display


def _call_ticket(state: QueueState, cmd: CallTicket, now: datetime) -> Decision:
    counter = _counter(state, cmd.counter)
    if cmd.ticket_id is not None:
        t = _ticket(state, cmd.ticket_id)
    elif cmd.number is not None:
        tid = state.by_display.get(normalise_display(cmd.number))
        if tid is None:
            raise _fail(ErrorCode.UNKNOWN_TICKET, f"no ticket {cmd.number!r} today")
        t = state.tickets[tid]
    else:
        raise _fail(ErrorCode.BAD_REQUEST, "give ticket_id or number")
    if t.status in HELD:
        raise _fail(ErrorCode.TICKET_TAKEN, f"{t.display} is already {t.status} at counter {t.counter}")
    if t.status is not TicketStatus.ISSUED:
        raise _fail(ErrorCode.INVALID_TRANSITION, f"{t.display} is {t.status}, it cannot be called")
    _must_be_open(counter)
    if counter.current is not None:
        raise _fail(ErrorCode.COUNTER_BUSY, f"counter {counter.id} still has {counter.current} in hand")
    if t.day != state.day:
        raise _fail(ErrorCode.INVALID_TRANSITION, f"{t.display} is from {t.day}; only today's tickets are called")
    if t.target_counter is not None and t.target_counter != counter.id:
        raise _fail(ErrorCode.TICKET_TAKEN, f"{t.display} was transferred to counter {t.target_counter}")
    definition = state.center.counter(counter.id)
    assert definition is not None
    if t.target_counter is None and t.service not in definition.services:
        raise _fail(ErrorCode.SERVICE_NOT_SERVED, f"counter {counter.id} does not serve {t.service}")
    return _called(state, counter, t, cmd.staff, now)


def _recall(state: QueueState, cmd: Recall, now: datetime) -> Decision:
    counter, t = _held(state, cmd.counter)
    if t.status is not TicketStatus.CALLED:
        raise _fail(ErrorCode.INVALID_TRANSITION, f"{t.display} is {t.status}; only a called ticket is recalled")
    if t.day != state.day:
        # the hall would announce today's citizen holding the same number
        raise _fail(ErrorCode.INVALID_TRANSITION,
                    f"{t.display} là phiếu ngày {t.day:%d/%m/%Y}, không gọi lại (số {t.display} hôm nay là người "
                    f"khác): đánh dấu vắng mặt / {t.display} is from {t.day:%d/%m/%Y}: not recalled today; "
                    "mark it a no-show")
    _must_be_open(counter)
    last = t.last_called_at or t.called_at
    delay = state.center.rules.recall_delay_s
    if last is not None and (now - last).total_seconds() < delay:
        wait = delay - int((now - last).total_seconds())
        raise _fail(ErrorCode.INVALID_TRANSITION, f"recall {t.display} again in {wait} s (recall delay {delay} s)")
    new = replace(t, recalls=t.recalls + 1, last_called_at=now)
    return Decision((DomainEvent(EventType.TICKET_RECALLED, now, ticket=new, by_counter=counter.id),), new)


def _start(state: QueueState, cmd: StartService, now: datetime) -> Decision:
    counter, t = _held(state, cmd.counter)
    if t.status is not TicketStatus.CALLED:
        raise _fail(ErrorCode.INVALID_TRANSITION, f"{t.display} is {t.status}; service starts after a call")
    new = replace(t, status=TicketStatus.SERVING, serving_at=now)
    return Decision((DomainEvent(EventType.TICKET_SERVING, now, ticket=new, by_counter=counter.id),), new)


def _complete(state: QueueState, cmd: Complete, now: datetime) -> Decision:
    counter, t = _held(state, cmd.counter)
    if t.status is not TicketStatus.SERVING:
        raise _fail(ErrorCode.INVALID_TRANSITION, f"{t.display} is {t.status}; start the service before completing")
    # after a takeover the one who finishes is the one the citizen rates at the counter's pad: served by them
    new = replace(t, status=TicketStatus.DONE, done_at=now, staff=counter.staff if counter.staff is not None else t.staff)
    return Decision((DomainEvent(EventType.TICKET_DONE, now, ticket=new, by_counter=counter.id),), new)


def _no_show(state: QueueState, cmd: MarkNoShow, now: datetime) -> Decision:
    counter, t = _held(state, cmd.counter)
    if t.status is not TicketStatus.CALLED:
        raise _fail(ErrorCode.INVALID_TRANSITION, f"{t.display} is {t.status}; only a called ticket is a no-show")
    # an earlier day's ticket left in hand is not recalled first (its day is over; see _recall)
    needed = state.center.rules.recalls_before_no_show if t.day == state.day else 0
    if t.recalls < needed:
        raise _fail(ErrorCode.INVALID_TRANSITION,
                    f"recall {t.display} {needed - t.recalls} more time(s) before marking a no-show")
    new = replace(t, status=TicketStatus.NO_SHOW)
    return Decision((DomainEvent(EventType.TICKET_NO_SHOW, now, ticket=new, by_counter=counter.id),), new)


def _transfer(state: QueueState, cmd: Transfer, now: datetime) -> Decision:
    if (cmd.to_service is None) == (cmd.to_counter is None):
        raise _fail(ErrorCode.BAD_REQUEST, "transfer needs exactly one of service or counter")
    counter, t = _held(state, cmd.counter)
    if t.day != state.day:
        raise _fail(ErrorCode.INVALID_TRANSITION, f"{t.display} is from {t.day}; it cannot join today's queue")
    target_counter: CounterId | None = None
    if cmd.to_service is not None:
        service = _service(state, cmd.to_service).code
        # a citizen sent to a queue nobody will call waits for nothing: refused unless staff confirm it
        serving = [c.id for c in state.center.counters if service in c.services
                   and state.counters[c.id].status is not CounterStatus.CLOSED]
        if not serving and not cmd.confirm:
            raise _fail(ErrorCode.TRANSFER_TARGET_UNSERVED,
                        f"no open counter serves {service} now; transfer with confirm=true to send "
                        f"{t.display} there anyway")
    else:
        assert cmd.to_counter is not None
        target = _counter(state, cmd.to_counter)
        if target.id == counter.id:
            raise _fail(ErrorCode.BAD_REQUEST, "transfer to the same counter")
        if target.status is CounterStatus.CLOSED and not cmd.confirm:
            raise _fail(ErrorCode.TRANSFER_TARGET_UNSERVED,
                        f"counter {target.id} is closed; transfer with confirm=true to send {t.display} there anyway")
        definition = state.center.counter(target.id)
        assert definition is not None
        target_counter = target.id
        # keep the ticket's service if the target counter serves it, else its main service
        service = t.service if t.service in definition.services else (definition.services[0] if
                                                                        definition.services else t.service)
    # Timestamps describe the latest pass: the next call and start overwrite called_at and serving_at.
    new = replace(t, status=TicketStatus.ISSUED, service=service, queued_at=now, counter=None,
                  target_counter=target_counter, queue_seq=state.next_queue_seq)
    detail = (("from_service", str(t.service)),)
    return Decision((DomainEvent(EventType.TICKET_TRANSFERRED, now, ticket=new, by_counter=counter.id,
                                 detail=detail),), new)


def _reactivate(state: QueueState, cmd: Reactivate, now: datetime) -> Decision:
    t = _ticket(state, cmd.ticket_id)
    if t.status is not TicketStatus.NO_SHOW:
        raise _fail(ErrorCode.INVALID_TRANSITION, f"{t.display} is {t.status}; only a no-show is reactivated")
    if t.day != state.day:
        raise _fail(ErrorCode.INVALID_TRANSITION, f"{t.display} is from {t.day}; only today's tickets")
    limit = state.center.rules.max_reactivations
    if t.reactivations >= limit:
        raise _fail(ErrorCode.INVALID_TRANSITION, f"{t.display} was already reactivated {t.reactivations} time(s)")
    # Back at the END of its queue: those who waited meanwhile are not pushed back by a late citizen.
    new = replace(t, status=TicketStatus.ISSUED, reactivations=t.reactivations + 1, queued_at=now, counter=None,
                  target_counter=None, recalls=0, queue_seq=state.next_queue_seq)
    return Decision((DomainEvent(EventType.TICKET_REACTIVATED, now, ticket=new),), new)


def _cancel(state: QueueState, cmd: Cancel, now: datetime) -> Decision:
    t = _ticket(state, cmd.ticket_id)
    if t.status is not TicketStatus.ISSUED:
        raise _fail(ErrorCode.INVALID_TRANSITION, f"{t.display} is {t.status}; only a waiting ticket is cancelled")
    reason = (cmd.reason or "").strip()
    by = CounterId(cmd.by_counter) if cmd.by_counter is not None else None
    if by is not None:
        _counter(state, by)
    new = replace(t, status=TicketStatus.CANCELLED, done_at=now)
    detail = (("reason", reason),) if reason else ()
    return Decision((DomainEvent(EventType.TICKET_CANCELLED, now, ticket=new, by_counter=by, detail=detail),), new)


def _open(state: QueueState, cmd: OpenCounter, now: datetime) -> Decision:
    counter = _counter(state, cmd.counter)
    holder = counter.staff
    taken_from = holder if (counter.status is not CounterStatus.CLOSED and holder is not None
                            and cmd.staff is not None and cmd.staff != holder) else None
    if taken_from is not None and not cmd.takeover:
        # Silently moving a counter (and the ticket in hand) to another account hides who served whom.
        raise _fail(ErrorCode.COUNTER_TAKEN,
                    f"counter {counter.id} is open under {counter.staff_name or holder}; confirm to take it over")
    same_person = cmd.staff is None or cmd.staff == holder
    new = replace(counter, status=CounterStatus.OPEN, pause_reason=None,
                  staff=cmd.staff if cmd.staff is not None else counter.staff,
                  staff_name=cmd.staff_name if cmd.staff_name is not None else (
                      counter.staff_name if same_person else None), since=now)
    if taken_from is not None:
        detail = (("from_staff", taken_from), ("from_staff_name", counter.staff_name or taken_from))
        return Decision((DomainEvent(EventType.COUNTER_TAKEN_OVER, now, counter=new, by_counter=new.id,
                                     detail=detail),), new)
    return Decision((DomainEvent(EventType.COUNTER_OPENED, now, counter=new, by_counter=new.id),), new)


def _pause(state: QueueState, cmd: PauseCounter, now: datetime) -> Decision:
    counter = _counter(state, cmd.counter)
    reason = (cmd.reason or "").strip()
    if not reason:
        raise _fail(ErrorCode.BAD_REQUEST, "reason: a pause needs a reason")
    if counter.status is CounterStatus.CLOSED:
        raise _fail(ErrorCode.COUNTER_NOT_OPEN, f"counter {counter.id} is closed")
    if counter.status is CounterStatus.PAUSED:
        raise _fail(ErrorCode.INVALID_TRANSITION, f"counter {counter.id} is already paused")
    new = replace(counter, status=CounterStatus.PAUSED, pause_reason=reason, since=now)
    return Decision((DomainEvent(EventType.COUNTER_PAUSED, now, counter=new, by_counter=new.id),), new)


def _resume(state: QueueState, cmd: ResumeCounter, now: datetime) -> Decision:
    counter = _counter(state, cmd.counter)
    if counter.status is CounterStatus.CLOSED:
        raise _fail(ErrorCode.COUNTER_NOT_OPEN, f"counter {counter.id} is closed; open it")
    if counter.status is CounterStatus.OPEN:
        raise _fail(ErrorCode.INVALID_TRANSITION, f"counter {counter.id} is not paused")
    new = replace(counter, status=CounterStatus.OPEN, pause_reason=None, since=now)
    return Decision((DomainEvent(EventType.COUNTER_OPENED, now, counter=new, by_counter=new.id),), new)


def _close(state: QueueState, cmd: CloseCounter, now: datetime) -> Decision:
    counter = _counter(state, cmd.counter)
    if counter.status is CounterStatus.CLOSED:
        raise _fail(ErrorCode.INVALID_TRANSITION, f"counter {counter.id} is already closed")
    if counter.current is not None:
        raise _fail(ErrorCode.COUNTER_BUSY, f"counter {counter.id} still has {counter.current} in hand")
    new = replace(counter, status=CounterStatus.CLOSED, pause_reason=None, staff=None, staff_name=None, since=now)
    return Decision((DomainEvent(EventType.COUNTER_CLOSED, now, counter=new, by_counter=new.id),), new)


def lease_id_for(day: date, service: str, first: int, last: int) -> str:
    return f"{day:%Y%m%d}-{service}-{first}-{last}"


# Lease caps (issue 11): a kiosk leases numbers to keep issuing while the hub is unreachable, a few tens at a
# time, from the service's offline region (numbering.offline_first..number_end); one lease is at most 100 and one
# kiosk holds at most half the region a day.
MAX_LEASE_SIZE = 100              # one lease


def _lease(state: QueueState, cmd: LeaseNumbers, now: datetime) -> Decision:
    service = _service(state, cmd.service)
    if not cmd.kiosk:
        raise _fail(ErrorCode.BAD_REQUEST, "kiosk: required")
    assert state.day is not None
    first, last = numbering.reserve_block(service, state.service_day(service.code), cmd.size,
                                          state.leases.values())
    if cmd.size > MAX_LEASE_SIZE:
        raise _fail(ErrorCode.BAD_REQUEST, f"size: at most {MAX_LEASE_SIZE} numbers per lease")
    # one kiosk may hold at most half of the service's offline region a day: one kiosk (or a forged kiosk id
    # behind a stolen key) cannot take every other kiosk's offline numbers
    cap = max(1, (service.number_end - numbering.offline_first(service) + 1) // 2)
    mine = sum(le.last - le.first + 1 for le in state.leases.values()
               if le.service == service.code and le.day == state.day and le.kiosk == cmd.kiosk)
    if mine + cmd.size > cap:
        raise _fail(ErrorCode.QUOTA_REACHED, f"kiosk {cmd.kiosk} already leased {mine} numbers of {service.code} "
                                             f"today (at most {cap}, half the offline region)")
    lease = Lease(id=lease_id_for(state.day, service.code, first, last), kiosk=cmd.kiosk, service=service.code,
                  day=state.day, first=first, last=last, granted_at=now)
    return Decision((DomainEvent(EventType.LEASE_GRANTED, now, lease=lease),), lease)


def _merge(state: QueueState, cmd: MergeLeased, now: datetime) -> Decision:
    lease = state.leases.get(cmd.lease_id)
    if lease is None and cmd.past is not None and cmd.past.id == cmd.lease_id and state.day is not None \
            and cmd.past.day < state.day:
        # The hub was out of the kiosk's reach until closing: the citizens got paper that day, so the tickets
        # join their own day's record (its reports), never today's queue (evolve indexes only today's tickets).
        lease = cmd.past
    adopted = None
    if lease is None and cmd.kiosk:
        lease = adopted = _adopt(state, cmd, now)
    if lease is None:
        raise _fail(ErrorCode.NOT_FOUND, f"unknown lease {cmd.lease_id!r}")
    merged = {t.id: t for t in cmd.merged}
    service = _service(state, lease.service)
    seen: set[int] = set()
    for item in cmd.tickets:
        if item.number not in lease:
            raise _fail(ErrorCode.LEASE_CONFLICT, f"number {item.number} is outside lease {lease.first}–{lease.last}")
        if item.number in seen:
            raise _fail(ErrorCode.LEASE_CONFLICT, f"number {item.number} appears twice")
        if item.priority is not None and state.center.priority(item.priority) is None:
            raise _fail(ErrorCode.UNKNOWN_PRIORITY, f"unknown priority category {item.priority!r}")
        seen.add(item.number)
    events: list[DomainEvent] = [] if adopted is None else [DomainEvent(EventType.LEASE_GRANTED, now, lease=adopted)]
    result: list[Ticket] = []
    queue_seq = state.next_queue_seq
    for item in sorted(cmd.tickets, key=lambda i: (i.issued_at, i.number)):
        tid = ticket_id_for(lease.day, service.code, item.number)
        existing = state.tickets.get(tid) or merged.get(tid)
        if existing is not None:       # merged before: idempotent, nothing new
            if existing.lease_id != lease.id:
                raise _fail(ErrorCode.LEASE_CONFLICT, f"{tid} exists and is not from lease {lease.id}")
            result.append(existing)
            continue
        # It queues from when the citizen actually took it offline (clamped to [lease granted, now] against a
        # kiosk clock that drifted).
        issued_at = min(max(item.issued_at, lease.granted_at), now)
        t = Ticket(id=tid, day=lease.day, service=service.code, origin_service=service.code,
                   number=TicketNumber(service.prefix, item.number), status=TicketStatus.ISSUED,
                   issued_at=issued_at, priority=item.priority, queued_at=issued_at, kiosk=lease.kiosk,
                   printed=True, lease_id=lease.id, queue_seq=queue_seq)
        queue_seq += 1
        events.append(DomainEvent(EventType.TICKET_ISSUED, now, ticket=t, detail=(("lease", lease.id),)))
        result.append(t)
    return Decision(tuple(events), tuple(result))


def _adopt(state: QueueState, cmd: MergeLeased, now: datetime) -> Lease | None:
    """A lease of today the hub does not know, re-reported by the kiosk holding it: the hub was restored from a
    backup taken before it granted the block. Adopted back only when it is what the hub would have granted (its id
    names today, a known service, a block inside the offline region, at most one lease's size, within the kiosk's
    daily cap) and overlaps no lease the hub knows: otherwise another kiosk could be handed the same numbers."""
    day_text, _, rest = cmd.lease_id.partition("-")
    code, first_text, last_text = (rest.rsplit("-", 2) + ["", ""])[:3]
    if state.day is None or day_text != f"{state.day:%Y%m%d}" or not (first_text.isdigit() and last_text.isdigit()):
        return None                      # not a lease of today: unknown, as before
    service = state.center.service(code)
    first, last = int(first_text), int(last_text)
    if service is None or lease_id_for(state.day, code, first, last) != cmd.lease_id:
        return None
    if not (numbering.offline_first(service) <= first <= last <= service.number_end) \
            or last - first + 1 > MAX_LEASE_SIZE:
        raise _fail(ErrorCode.LEASE_CONFLICT, f"lease {cmd.lease_id} is not a block of the offline region")
    taken = [le for le in state.leases.values() if le.service == code and le.day == state.day]
    clash = next((le for le in taken if le.first <= last and first <= le.last), None)
    if clash is not None:
        raise _fail(ErrorCode.LEASE_CONFLICT, f"lease {cmd.lease_id} overlaps lease {clash.id} of kiosk {clash.kiosk}")
    cap = max(1, (service.number_end - numbering.offline_first(service) + 1) // 2)
    if sum(le.last - le.first + 1 for le in taken if le.kiosk == cmd.kiosk) + last - first + 1 > cap:
        raise _fail(ErrorCode.QUOTA_REACHED, f"kiosk {cmd.kiosk} would hold more than {cap} numbers of {code}")
    # granted before the kiosk's first ticket of it (its tickets keep their place), never before today began
    start = datetime.combine(state.day, dt_time.min, tzinfo=VN_TZ)
    granted = max(start, min([now, *(i.issued_at for i in cmd.tickets)]))
    assert cmd.kiosk is not None
    return Lease(id=cmd.lease_id, kiosk=cmd.kiosk, service=service.code, day=state.day, first=first, last=last,
                 granted_at=granted)


_DECIDERS: dict[type, Callable[[QueueState, Any, datetime], Decision]] = {
    IssueTicket: _issue, RecordPrintResult: _print_result, CallNext: _call_next, CallTicket: _call_ticket,
    Recall: _recall, StartService: _start, Complete: _complete, MarkNoShow: _no_show, Transfer: _transfer,
    Reactivate: _reactivate, Cancel: _cancel, OpenCounter: _open, PauseCounter: _pause,
    ResumeCounter: _resume, CloseCounter: _close, LeaseNumbers: _lease, MergeLeased: _merge,
}


def decide(state: QueueState, command: Command, now: datetime) -> Decision:
    """The events ``command`` causes at ``now`` (and the caller's answer); raises MotcuaError on refusal.

    ``state`` must already be rolled to ``now``'s working day (see ``roll_to``). Never changes ``state``.
    """
    decider = _DECIDERS[type(command)]
    return decider(state, command, now)


# ----------------------------------------------------------------------------------------------- evolve
def evolve(state: QueueState, event: DomainEvent) -> None:
    """Apply one event to ``state`` in place. Deterministic: the same events give the same state."""
    state.roll_to(numbering.working_day(event.at))
    if event.ticket is not None:
        _evolve_ticket(state, event)
    if event.counter is not None:
        state.counters[event.counter.id] = event.counter
    if event.lease is not None:
        lease = event.lease
        state.leases[lease.id] = lease
        sd = state.service_day(lease.service)
        service = state.center.service(lease.service)
        if service is None or lease.first < numbering.offline_first(service):
            # a lease from before offline blocks had their own region (it sat at next_number): replay as then
            state.service_days[lease.service] = replace(sd, next_number=max(sd.next_number, lease.last + 1))


def _evolve_ticket(state: QueueState, event: DomainEvent) -> None:
    new = event.ticket
    assert new is not None
    old = state.tickets.get(new.id)
    if old is not None and old.day == state.day:
        state._unqueue(old)
    state.tickets[new.id] = new
    if new.day == state.day:
        state._index(new)
    at = event.at
    # the counter that held it lets go; the counter that holds it now takes it
    if old is not None and old.status in HELD and old.counter is not None and (
            new.status not in HELD or new.counter != old.counter):
        c = state.counters.get(old.counter)
        if c is not None and c.current == old.id:
            state.counters[c.id] = replace(c, current=None, since=at,
                                           last_done=new.id if new.status is TicketStatus.DONE else c.last_done)
    if new.status in HELD and new.counter is not None:
        c = state.counters.get(new.counter)
        if c is not None and c.current != new.id:
            keeps_name = new.staff is None or new.staff == c.staff   # a keypad calling under another login
            state.counters[c.id] = replace(c, current=new.id, since=at,
                                           staff=new.staff if new.staff is not None else c.staff,
                                           staff_name=c.staff_name if keeps_name else None)
    if new.day != state.day:
        return
    if event.type is EventType.TICKET_ISSUED:
        lease = state.leases.get(new.lease_id) if new.lease_id is not None else None
        state.service_days[new.origin_service] = numbering.after_issue(
            state.service_day(new.origin_service), new.number.number, online=lease is None or lease.first < (
                numbering.offline_first(svc) if (svc := state.center.service(new.origin_service)) else 0))
    elif event.type is EventType.TICKET_CALLED:
        sd = state.service_day(new.service)
        state.service_days[new.service] = replace(
            sd, normal_streak=queue_policy.next_streak(sd.normal_streak, new.priority is not None),
            walk_in_streak=queue_policy.next_walk_ins(sd.walk_in_streak, lane_of(new)))
    elif event.type is EventType.TICKET_DONE:
        seconds = new.service_time_s
        if seconds is not None:
            state.recent_service_s.setdefault(
                new.service, deque(maxlen=estimates.RECENT_WINDOW)).append(seconds)
    note_occupancy(state, old, event)
    if event.type in (EventType.TICKET_CALLED, EventType.TICKET_RECALLED) and new.counter is not None:
        state.calls.appendleft(Call(new.id, new.display, new.service, new.counter, at, new.recalls))


OCCUPANCY_KEPT = 60     # per (service, counter): enough for a robust mean, recent enough to follow the day


def occupancy_sample(old: Ticket | None, event: DomainEvent) -> tuple[ServiceCode, CounterId, float] | None:
    """How long a counter was taken by a ticket it let go (done, no-show or transfer): from its call."""
    if event.type not in (EventType.TICKET_DONE, EventType.TICKET_NO_SHOW, EventType.TICKET_TRANSFERRED):
        return None
    if old is None or old.status not in HELD or old.counter is None or old.called_at is None:
        return None
    return old.service, old.counter, max(0.0, (event.at - old.called_at).total_seconds())


def note_occupancy(state: QueueState, old: Ticket | None, event: DomainEvent) -> None:
    sample = occupancy_sample(old, event)
    if sample is not None:
        service, counter, seconds = sample
        state.occupancy_s.setdefault((service, counter), deque(maxlen=OCCUPANCY_KEPT)).append(seconds)


def transition(state: QueueState, command: Command, now: datetime) -> tuple[QueueState, tuple[DomainEvent, ...]]:
    """``(state, command, now) -> (new state, events)``; ``state`` itself is left untouched."""
    new = state.copy()
    new.roll_to(numbering.working_day(now))
    decision = decide(new, command, now)
    for event in decision.events:
        evolve(new, event)
    return new, decision.events
