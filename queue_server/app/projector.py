"""The projector: which current-state rows an event changes, the live state assembled from such rows, a replay.

Pure (no I/O, no clock): every event store applies it the same way, so SQLite today and PostgreSQL later keep
identical projections, and a rebuild from the log gives back exactly what the live path wrote. The store
decides only how rows are stored and read.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from contracts.messages import VN_TZ, Envelope, EventType, format_at
from queue_server.app.views import event_from_envelope, ticket_from_json
from queue_server.domain import estimates, queue_policy, wait_estimate
from queue_server.domain.model import CenterDef, Counter, CounterId, Lease, ServiceCode, ServiceDay, Ticket
from queue_server.domain.transitions import HELD, OCCUPANCY_KEPT, Call, QueueState, evolve

CALL_EVENTS = (str(EventType.TICKET_CALLED), str(EventType.TICKET_RECALLED))
CALLED_EVENT = str(EventType.TICKET_CALLED)
DONE_EVENT = str(EventType.TICKET_DONE)
# a counter lets a ticket go: its occupancy (call → release) feeds the wait estimate
RELEASE_EVENTS = (str(EventType.TICKET_DONE), str(EventType.TICKET_NO_SHOW), str(EventType.TICKET_TRANSFERRED))


def occupancy_sample(service: str, counter: str, called_at: datetime, released: datetime
                     ) -> tuple[str, str, int, float] | None:
    """(service, counter, hour of the call, seconds from call to release); None for a ticket called on an earlier
    local day than it was let go (left in hand at Friday's closing, finished or marked absent on Monday): days are
    not how long a counter is taken by a ticket. The one rule of ``occupancy_of`` and the store's history query."""
    called = called_at.astimezone(VN_TZ)
    if called.date() != released.astimezone(VN_TZ).date():
        return None
    return service, counter, called.hour, max(0.0, (released - called_at).total_seconds())


def occupancy_of(at: str, data: dict[str, Any]) -> tuple[str, str, int, float] | None:
    """The occupancy sample (``occupancy_sample``) of a stored release event, or None."""
    ticket = data.get("ticket")
    counter = data.get("counter")
    if not isinstance(ticket, dict) or not isinstance(counter, str):
        return None
    t = ticket_from_json(ticket)
    if t.called_at is None:
        return None
    return occupancy_sample(str(data.get("from_service") or t.service), counter, t.called_at,
                            datetime.fromisoformat(at))


@dataclass(slots=True)
class Projections:
    """Rows to upsert, keyed so that a later value in the same batch replaces an earlier one."""

    tickets: dict[str, Ticket] = field(default_factory=dict)
    counters: dict[str, Counter] = field(default_factory=dict)
    service_days: dict[tuple[date, str], ServiceDay] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)
    ticket_json: dict[str, dict[str, Any]] = field(default_factory=dict)   # already built for the event


def collect_rows(state: QueueState, event: Any, counters_before: dict[CounterId, Counter],
                 rows: Projections) -> None:
    """Add the projection rows ``event`` (already applied to ``state``) changed to ``rows``."""
    ticket: Ticket | None = event.ticket
    if ticket is not None:
        rows.tickets[ticket.id] = ticket
        for code in {ticket.origin_service, ticket.service}:
            sd = state.service_days.get(code)
            if sd is not None:
                rows.service_days[(sd.day, sd.service)] = sd
    if event.lease is not None:
        rows.leases[event.lease.id] = event.lease
        sd = state.service_days.get(event.lease.service)
        if sd is not None:
            rows.service_days[(sd.day, sd.service)] = sd
    for cid, counter in state.counters.items():
        if counters_before.get(cid) is not counter:
            rows.counters[cid] = counter


def replay(center: CenterDef, envelopes: Iterable[Envelope]) -> tuple[QueueState, Projections]:
    """Run the log (in seq order) through ``evolve``: the final state and every projection row it implies."""
    state = QueueState(center=center)
    rows = Projections()
    for envelope in envelopes:
        event = event_from_envelope(envelope)
        if event is None:           # ratings, device faults ...: in the log, not in the queue's state
            continue
        before = dict(state.counters)
        evolve(state, event)
        collect_rows(state, event, before, rows)
    return state, rows


def day_start(day: date) -> str:
    """The stored ``at`` of the first moment of ``day``: events at or after it belong to that day or later."""
    return format_at(datetime.combine(day, datetime.min.time(), tzinfo=VN_TZ))


def live_state(center: CenterDef, day: date, *, tickets: Iterable[Ticket], counters: Iterable[Counter],
               service_days: Iterable[ServiceDay], leases: Iterable[Lease], called_newest_first: Iterable[Ticket],
               done_in_order: Iterable[Ticket], released_in_order: Iterable[tuple[str, dict[str, Any]]] = (),
               prior: wait_estimate.HistoryPrior | None = None,
               calls_in_order: Iterable[tuple[str, str, bool, bool]] = ()) -> QueueState:
    """The live state for ``day`` from stored rows (fast on start, no replay).

    ``tickets``: those of ``day`` and those any counter still holds; ``counters``, ``service_days`` and
    ``leases``: the rows (only ``day``'s service days and leases are kept); ``called_newest_first``: the tickets
    of today's call and recall events, newest first (at least the last ``calls.maxlen``); ``done_in_order``: the
    tickets of today's completion events in log order (recent service times feed the wait estimate);
    ``released_in_order``: (at, data) of today's release events (done, no-show, transfer) in log order, for the
    estimate's occupancy samples; ``prior``: what past days taught the estimate; ``calls_in_order``: (service,
    ticket day, priority?, booked?) of today's call events in log order — the walk-ins called since the last booked
    ticket (``ServiceDay.walk_in_streak``) are folded from them as ``evolve`` does, so no table holds that count.
    """
    state = QueueState(center=center, day=day)
    if prior is not None:
        state.prior = prior
    for t in tickets:
        if t.day == day or (t.status in HELD and t.counter is not None):
            state.tickets[t.id] = t
    for counter in counters:
        if counter.id in state.counters:
            state.counters[counter.id] = counter
    full = queue_policy.full_walk_ins(center.policy)
    walk_ins: dict[str, int] = {}
    for service, ticket_day, is_priority, booked in calls_in_order:
        if ticket_day == day.isoformat():
            walk_ins[service] = queue_policy.next_walk_ins(walk_ins.get(service, full),
                                                           queue_policy.lane(is_priority, booked))
    for sd in service_days:
        if sd.day == day:
            state.service_days[sd.service] = replace(sd, walk_in_streak=walk_ins.get(sd.service, full))
    for lease in leases:
        if lease.day == day:
            state.leases[lease.id] = lease
    for t in sorted(state.tickets.values(), key=lambda t: t.queue_seq):
        if t.day == day:
            state._index(t)
    calls: list[Call] = []
    for i, t in enumerate(called_newest_first):
        if i >= (state.calls.maxlen or 0):
            break
        if t.counter is not None and t.last_called_at is not None:
            calls.append(Call(t.id, t.display, t.service, t.counter, t.last_called_at, t.recalls))
    state.calls.extend(calls)
    for t in done_in_order:
        if t.day == day and t.service_time_s is not None:
            state.recent_service_s.setdefault(
                t.service, deque(maxlen=estimates.RECENT_WINDOW)).append(t.service_time_s)
    for at, data in released_in_order:
        sample = occupancy_of(at, data)
        if sample is not None:
            service, counter_id, _, seconds = sample
            state.occupancy_s.setdefault((ServiceCode(service), CounterId(counter_id)),
                                         deque(maxlen=OCCUPANCY_KEPT)).append(seconds)
    return state
