"""QueueService: the hub's use cases (issue, call, recall, …) around the pure domain and the SQLite store.

One writer thread serialises every command and GROUP-COMMITS: commands that arrive while a commit is in
flight are queued, applied one by one in arrival order (read state → pure ``decide`` → ``evolve``), written
with their projections in ONE transaction, and only then is each caller released. Listeners get the
committed envelopes in seq order after the commit, on the writer thread (so they see every event once, in
order; a listener must not block for long). Queries read the in-memory projections under the same lock the
writer holds while it applies AND commits a batch, so no query ever sees a change that is not yet durable.
Must not: talk MQTT or HTTP, or read the wall clock (the Clock port does).
"""
from __future__ import annotations

import logging
import os
import queue
import random
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import (
    VN_TZ,
    CallInfo,
    CallsSnapshot,
    CounterState,
    Envelope,
    ServiceState,
    format_at,
)
from queue_server.adapters.sqlite_store import Projections, SqliteStore, collect_rows
from queue_server.app.ports import Clock, EventListener
from queue_server.app.views import call_info, counter_state, event_data
from queue_server.domain import numbering, queue_policy, wait_estimate
from queue_server.domain import transitions as tr
from queue_server.domain.model import (
    CenterDef,
    Counter,
    CounterId,
    CounterStatus,
    Lease,
    ServiceCode,
    Ticket,
    TicketId,
    TicketStatus,
)
from queue_server.domain.transitions import Issued, QueueState

log = logging.getLogger(__name__)

IssueResult = Issued   # (ticket, ahead, estimated_wait_min)

_BATCH_MAX = 512


# Not os.urandom per event: ids need uniqueness, not secrecy (they are published), and a syscall on the writer's
# path releases the GIL, which under load costs the writer a wait to get it back (~15 us per event). A private
# generator seeded from the OS, so nobody seeding the global ``random`` (Hypothesis, a simulation) repeats ids.
_ID_BITS = random.Random()
os.register_at_fork(after_in_child=_ID_BITS.seed)


def event_id(at: datetime) -> str:
    """A UUIDv7 (RFC 9562) for an event at ``at``: 48 bits of Unix milliseconds, then 74 random bits.

    Time-ordered ids keep the log's unique index on ``id`` growing at its right edge: a commit dirties one index
    page instead of one random page per event (WAL pages per commit of 3 issues 18.0 -> 16.7). Uniqueness
    comes from the random bits, so equal timestamps (whole seconds, a fixed test clock) are fine.
    """
    ms = int(at.timestamp() * 1000)
    rand = _ID_BITS.getrandbits(74)
    value = ((ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | (rand >> 62 & 0xFFF) << 64 | 0b10 << 62
             | rand & ((1 << 62) - 1))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True, slots=True)
class TicketView:
    ticket: Ticket
    ahead: int
    estimated_wait_min: int
    wait: wait_estimate.WaitEstimate | None = None


class _Reply:
    """What a caller waits for: set once by the writer, then ``result()`` returns it or raises.

    A pre-acquired lock that the writer releases: one futex wake per caller, where a Future's Condition takes
    a fresh lock, a waiter list and two lock round trips (it showed as ~16 % of the writer's time).
    """

    __slots__ = ("_error", "_gate", "_set", "_value")

    def __init__(self) -> None:
        self._gate = threading.Lock()
        self._gate.acquire()
        self._set = False
        self._value: Any = None
        self._error: BaseException | None = None

    def done(self) -> bool:
        return self._set

    def set_result(self, value: Any) -> None:
        if not self._set:
            self._set = True
            self._value = value
            self._gate.release()

    def set_exception(self, error: BaseException) -> None:
        if not self._set:
            self._set = True
            self._error = error
            self._gate.release()

    def result(self) -> Any:
        self._gate.acquire()
        self._gate.release()       # stays open: a second result() returns at once
        if self._error is not None:
            raise self._error
        return self._value


@dataclass(slots=True)
class _Job:
    command: tr.Command | _External
    future: _Reply


@dataclass(frozen=True, slots=True)
class _External:
    """An event decided outside the queue (a rating, a device fault): it only needs a place in the log."""

    type: str
    data: dict[str, Any]


class QueueService:
    """Thread-safe façade of one center's queue. Create once per process; ``close()`` on shutdown."""

    def __init__(self, center: CenterDef, store: SqliteStore, clock: Clock) -> None:
        self.center = center
        self.store = store
        self.clock = clock
        self._lock = threading.RLock()
        self._state: QueueState = self._load()
        self._last_seq = store.last_seq
        self._listeners: list[EventListener] = []
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._writer = threading.Thread(target=self._run, name="motcua-writer", daemon=True)
        self._writer.start()

    # ------------------------------------------------------------------------------------ lifecycle
    def add_listener(self, fn: EventListener) -> None:
        with self._lock:
            self._listeners.append(fn)

    def remove_listener(self, fn: EventListener) -> None:
        with self._lock:
            if fn in self._listeners:
                self._listeners.remove(fn)

    def close(self) -> None:
        """Finish queued commands, stop the writer, close the store."""
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        if threading.current_thread() is not self._writer:
            self._writer.join(timeout=30)
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------- the writer
    def _submit(self, command: tr.Command) -> Any:
        if self._closed:
            raise MotcuaError(ErrorCode.INTERNAL, "the queue service is closed")
        job = _Job(command, _Reply())
        if threading.current_thread() is self._writer:
            # a listener issuing a command: run it now, as its own batch (waiting would deadlock)
            self._process([job])
        else:
            self._jobs.put(job)
        return job.future.result()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch = [job]
            stop = False
            while len(batch) < _BATCH_MAX:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            try:
                self._process(batch)
            except Exception:   # never let the writer die: fail the batch, reload, keep serving
                log.exception("writer: batch of %d failed; reloading state from the store", len(batch))
                self._reload()
                for j in batch:
                    if not j.future.done():
                        j.future.set_exception(MotcuaError(ErrorCode.INTERNAL, "internal error"))
            if stop:
                return

    def record_event(self, event_type: str, data: dict[str, Any]) -> Envelope:
        """Append an event the queue does not decide (``rating.submitted``, ``device.fault`` ...) to the log, with
        its gap-free seq, so listeners (MQTT, SSE, outbox) see it in order like any other; returns the envelope."""
        if not isinstance(event_type, str) or not event_type or event_type.startswith(("ticket.", "counter.", "lease.")):
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"event type {event_type!r} is decided by the queue itself")
        envelope: Envelope = self._submit(_External(event_type, dict(data)))  # type: ignore[arg-type]
        return envelope

    def _reload(self) -> None:
        """Make memory equal to disk again (after a failed commit or a bug half-way through a batch)."""
        with self._lock:
            self._state = self._load()
            self._last_seq = self.store.last_seq

    def _load(self) -> QueueState:
        day = numbering.working_day(self.clock.now())
        state = self.store.load_state(self.center, day)
        # the estimate's prior: how long each service took at each counter and hour over the past weeks
        state.prior = wait_estimate.HistoryPrior.from_samples(self.store.occupancy_history(day),
                                                              self.store.issue_history(day))
        return state

    def rebuild(self) -> None:
        """Rebuild the store's projections from the event log and reload the live state from them."""
        with self._lock:   # the writer commits under this lock, so nothing is written meanwhile
            self.store.rebuild(self.center)
            self._reload()

    def _now(self) -> datetime:
        # whole seconds: the wire format has no fractions, and replay must give back exactly this state
        return self.clock.now().astimezone(VN_TZ).replace(microsecond=0)

    def _process(self, batch: list[_Job]) -> None:
        envelopes: list[Envelope] = []
        rows = Projections()
        done: list[tuple[_Job, Any]] = []
        with self._lock:
            state = self._state
            seq = self._last_seq
            for job in batch:
                now = self._now()
                if isinstance(job.command, _External):
                    seq += 1
                    envelope = Envelope(str(uuid.uuid4()), seq, job.command.type, self.center.id, format_at(now),
                                        job.command.data)
                    envelopes.append(envelope)
                    done.append((job, envelope))
                    continue
                state.roll_to(numbering.working_day(now))
                try:
                    decision = tr.decide(state, job.command, now)
                except MotcuaError as err:
                    job.future.set_exception(err)
                    continue
                except Exception as err:
                    log.exception("command %r failed", job.command)
                    job.future.set_exception(err)
                    continue
                for event in decision.events:
                    before = dict(state.counters)
                    tr.evolve(state, event)
                    collect_rows(state, event, before, rows)
                    seq += 1
                    current = None
                    if event.counter is not None and event.counter.current is not None:
                        current = state.tickets.get(event.counter.current)
                    data = event_data(self.center, event, seq, current)
                    if event.ticket is not None:
                        rows.ticket_json[event.ticket.id] = data["ticket"]
                    envelopes.append(Envelope(event_id(event.at), seq, str(event.type), self.center.id,
                                              format_at(event.at), data))
                done.append((job, self._answer(decision.result, seq)))
            if envelopes:
                try:
                    self.store.commit(envelopes, rows, self.center, seq)
                except Exception as err:
                    log.exception("store commit of %d events failed; reloading state", len(envelopes))
                    self._reload()
                    failure = MotcuaError(ErrorCode.INTERNAL, f"could not store the change: {err}")
                    for job, _ in done:
                        job.future.set_exception(failure)
                    return
                self._last_seq = seq
            listeners = list(self._listeners)
        for job, answer in done:
            job.future.set_result(answer)
        if envelopes:
            for fn in listeners:
                try:
                    fn(envelopes)
                except Exception:
                    log.exception("event listener %r failed on seq %d..%d", fn, envelopes[0].seq,
                                  envelopes[-1].seq)

    def _answer(self, result: tr.Result, seq: int) -> Any:
        if isinstance(result, Counter):
            return self._counter_state(result, seq)
        if isinstance(result, tuple):
            return list(result)
        return result

    # ----------------------------------------------------------------------------------- commands
    def issue_ticket(self, service: str, priority: str | None = None, kiosk: str | None = None,
                     request_id: str | None = None) -> IssueResult:
        """``request_id``: the client's idempotency key; the same key again today returns the same ticket."""
        result: IssueResult = self._submit(tr.IssueTicket(service, priority, kiosk, request_id))
        return result

    def record_print_result(self, ticket_id: str, printed: bool, fault: str | None = None) -> Ticket:
        return self._ticket(tr.RecordPrintResult(ticket_id, printed, fault))

    def call_next(self, counter_id: str, staff: str | None = None) -> Ticket:
        return self._ticket(tr.CallNext(counter_id, staff))

    def call_ticket(self, counter_id: str, ticket_id: str | None = None, number: str | None = None,
                    staff: str | None = None) -> Ticket:
        return self._ticket(tr.CallTicket(counter_id, ticket_id, number, staff))

    def recall(self, counter_id: str) -> Ticket:
        return self._ticket(tr.Recall(counter_id))

    def start_service(self, counter_id: str) -> Ticket:
        return self._ticket(tr.StartService(counter_id))

    def complete(self, counter_id: str) -> Ticket:
        return self._ticket(tr.Complete(counter_id))

    def mark_no_show(self, counter_id: str) -> Ticket:
        return self._ticket(tr.MarkNoShow(counter_id))

    def transfer(self, counter_id: str, to_service: str | None = None, to_counter: str | None = None,
                 confirm: bool = False) -> Ticket:
        """``confirm``: even to a closed counter or a service no open/paused counter serves (refused otherwise)."""
        return self._ticket(tr.Transfer(counter_id, to_service, to_counter, confirm))

    def reactivate(self, ticket_id: str) -> Ticket:
        return self._ticket(tr.Reactivate(ticket_id))

    def cancel(self, ticket_id: str) -> Ticket:
        return self._ticket(tr.Cancel(ticket_id))

    def open_counter(self, counter_id: str, staff: str | None = None) -> CounterState:
        result: CounterState = self._submit(tr.OpenCounter(counter_id, staff))
        return result

    def pause_counter(self, counter_id: str, reason: str) -> CounterState:
        result: CounterState = self._submit(tr.PauseCounter(counter_id, reason))
        return result

    def resume_counter(self, counter_id: str) -> CounterState:
        result: CounterState = self._submit(tr.ResumeCounter(counter_id))
        return result

    def close_counter(self, counter_id: str) -> CounterState:
        result: CounterState = self._submit(tr.CloseCounter(counter_id))
        return result

    def lease_numbers(self, kiosk: str, service: str, size: int) -> Lease:
        result: Lease = self._submit(tr.LeaseNumbers(kiosk, service, size))
        return result

    def merge_leased(self, lease_id: str, tickets: Sequence[dict[str, Any]]) -> list[Ticket]:
        """Merge tickets a kiosk issued offline from a lease. Idempotent per number: a repeat returns them."""
        items: list[tr.LeasedTicket] = []
        for i, raw in enumerate(tickets):
            try:
                number = raw["number"]
                issued_at = raw["issued_at"]
                if isinstance(issued_at, str):
                    issued_at = datetime.fromisoformat(issued_at)
                if isinstance(number, bool) or not isinstance(number, int) or not isinstance(issued_at, datetime):
                    raise TypeError
                if issued_at.tzinfo is None:
                    raise ValueError
                priority = raw.get("priority")
                if priority is not None and not isinstance(priority, str):
                    raise TypeError
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                raise MotcuaError(ErrorCode.BAD_REQUEST,
                                  f"tickets[{i}]: needs number (int), issued_at (ISO 8601 with offset), "
                                  "priority (code or null)") from err
            items.append(tr.LeasedTicket(number, issued_at.astimezone(VN_TZ).replace(microsecond=0), priority))
        result: list[Ticket] = self._submit(tr.MergeLeased(lease_id, tuple(items)))
        return result

    def _ticket(self, command: tr.Command) -> Ticket:
        result: Ticket = self._submit(command)
        return result

    # ------------------------------------------------------------------------------------ queries
    def _rolled(self) -> QueueState:
        # a query on a new day must not show yesterday's queue (caller holds the lock)
        self._state.roll_to(numbering.working_day(self.clock.now()))
        return self._state

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._last_seq

    def state_for_tests(self) -> dict[str, object]:
        """The whole in-memory state in comparable form (tests compare it with a reload or a replay)."""
        with self._lock:
            return self._state.comparable()

    def get_ticket(self, ticket_id: str) -> TicketView:
        with self._lock:
            state = self._rolled()
            t = state.tickets.get(TicketId(ticket_id))
            if t is not None:
                wait = state.wait_for(t, self._now())
                return TicketView(t, state.ahead(t), 0 if wait is None else wait.minutes, wait)
        old = self.store.get_ticket(ticket_id)
        if old is None:
            raise MotcuaError(ErrorCode.UNKNOWN_TICKET, f"unknown ticket {ticket_id!r}")
        return TicketView(old, 0, 0)

    def waiting(self, service: str | None = None) -> list[Ticket]:
        with self._lock:
            state = self._rolled()
            if service is not None and self.center.service(service) is None:
                raise MotcuaError(ErrorCode.UNKNOWN_SERVICE, f"unknown service {service!r}")
            return state.waiting(service)

    def _counter_state(self, c: Counter, seq: int) -> CounterState:
        current = self._state.tickets.get(c.current) if c.current is not None else None
        return counter_state(self.center, c, seq, current)

    def counter_state(self, counter_id: str) -> CounterState:
        with self._lock:
            state = self._rolled()
            if self.center.counter(counter_id) is None:
                raise MotcuaError(ErrorCode.UNKNOWN_COUNTER, f"unknown counter {counter_id!r}")
            return self._counter_state(state.counters[CounterId(counter_id)], self._last_seq)

    def counter_states(self) -> list[CounterState]:
        with self._lock:
            state = self._rolled()
            return [self._counter_state(state.counters[c.id], self._last_seq) for c in self.center.counters]

    def issue_refusal(self, code: str) -> MotcuaError | None:
        """Why ``issue_ticket(code)`` would be refused now (SERVICE_CLOSED / QUOTA_REACHED …), or None."""
        with self._lock:
            state = self._rolled()
            return self._refusal(state, code, self._now())

    def _refusal(self, state: QueueState, code: str, now: datetime) -> MotcuaError | None:
        service = self.center.service(code)
        if service is None:
            return MotcuaError(ErrorCode.UNKNOWN_SERVICE, f"unknown service {code!r}")
        try:
            numbering.check_can_issue(self.center, service, state.service_day(service.code), now,
                                      state.leases.values())
        except MotcuaError as err:
            return err
        return None

    def _service_state(self, state: QueueState, code: ServiceCode, now: datetime) -> ServiceState:
        service = self.center.service(code)
        assert service is not None
        # the wait a citizen taking a normal ticket now would be told
        key = (now.timestamp(), state.next_queue_seq, "~")
        ahead = queue_policy.ahead_of(self.center.policy, state.queue(code), state.service_day(code).normal_streak,
                                      key, False)
        ahead += state.waiting_count(code) - len(state.queue(code))
        wait = state.wait_estimate(code, ahead, False, now)
        last = next((c.number for c in state.calls if c.service == code), None)
        return ServiceState(seq=self._last_seq, service=code, name=service.name, waiting=state.waiting_count(code),
                            estimated_wait_min=wait.minutes, last_called=last,
                            accepting=self._refusal(state, code, now) is None, wait_low_min=wait.low_min,
                            wait_high_min=wait.high_min, served_now=wait.served)

    def service_state(self, code: str) -> ServiceState:
        with self._lock:
            state = self._rolled()
            if self.center.service(code) is None:
                raise MotcuaError(ErrorCode.UNKNOWN_SERVICE, f"unknown service {code!r}")
            return self._service_state(state, ServiceCode(code), self._now())

    def service_states(self) -> list[ServiceState]:
        with self._lock:
            state = self._rolled()
            now = self._now()
            return [self._service_state(state, s.code, now) for s in self.center.services]

    def calls(self, limit: int = 10) -> list[CallInfo]:
        with self._lock:
            state = self._rolled()
            return [call_info(self.center, c) for c in list(state.calls)[:max(0, limit)]]

    def calls_snapshot(self) -> CallsSnapshot:
        with self._lock:
            return CallsSnapshot(self._last_seq, tuple(self.calls()))

    def snapshots(self, *, calls: bool, counters: Iterable[str] = (), services: Iterable[str] = ()
                  ) -> tuple[CallsSnapshot | None, list[CounterState], list[ServiceState]]:
        """Several snapshots under ONE hold of the lock: they share one seq, and an adapter republishing a burst's
        snapshots waits behind the writer's commit once, not once per snapshot (each wait delayed the events
        queued behind it)."""
        with self._lock:
            return (self.calls_snapshot() if calls else None, [self.counter_state(c) for c in counters],
                    [self.service_state(code) for code in services])

    def snapshot(self) -> dict[str, Any]:
        """The body of GET /api/v1/state: seq, calls, counters, services, center."""
        from dataclasses import asdict
        with self._lock:
            return {
                "seq": self._last_seq,
                "calls": [asdict(c) for c in self.calls()],
                "counters": [asdict(c) for c in self.counter_states()],
                "services": [asdict(s) for s in self.service_states()],
                "center": {"id": self.center.id, "name": self.center.name, "name_en": self.center.name_en},
            }

    def last_completed(self, counter_id: str) -> Ticket | None:
        with self._lock:
            if self.center.counter(counter_id) is None:
                raise MotcuaError(ErrorCode.UNKNOWN_COUNTER, f"unknown counter {counter_id!r}")
            tid = self._state.counters[CounterId(counter_id)].last_done
            if tid is None:
                return None
            t = self._state.tickets.get(tid)
        return t if t is not None else self.store.get_ticket(tid)

    def events_after(self, seq: int, limit: int = 1000) -> list[Envelope]:
        events = self.store.events_after(seq, limit)
        return [Envelope(e.id, e.seq, e.type, self.center.id, e.at, e.data) for e in events]

    def stats_today(self) -> dict[str, Any]:
        """GET /stats/today: per service waiting, longest/avg wait, avg service, served, no-show; per counter."""
        with self._lock:
            state = self._rolled()
            now = self._now()
            by_service: dict[str, list[Ticket]] = {s.code: [] for s in self.center.services}
            issued_for: dict[str, int] = dict.fromkeys(by_service, 0)
            for t in state.tickets.values():      # one pass: this runs under the writer's lock
                if t.day != state.day:
                    continue
                if t.service in by_service:
                    by_service[t.service].append(t)
                if t.origin_service in issued_for:
                    issued_for[t.origin_service] += 1
            per: dict[str, dict[str, Any]] = {}
            for s in self.center.services:
                today = by_service[s.code]
                waits = [w for t in today if (w := t.waiting_time_s) is not None]
                services = [d for t in today if t.status is TicketStatus.DONE and (d := t.service_time_s) is not None]
                waiting = [t for t in today if t.status is TicketStatus.ISSUED]
                longest = max(((now - t.issued_at).total_seconds() for t in waiting), default=0.0)
                per[s.code] = {
                    "name": s.name, "waiting": len(waiting), "issued": issued_for[s.code],
                    "longest_wait_min": round(longest / 60, 1),
                    "avg_wait_min": round(sum(waits) / len(waits) / 60, 1) if waits else 0.0,
                    "avg_service_min": round(sum(services) / len(services) / 60, 1) if services else 0.0,
                    "served": sum(1 for t in today if t.status is TicketStatus.DONE),
                    "no_show": sum(1 for t in today if t.status is TicketStatus.NO_SHOW),
                    "cancelled": sum(1 for t in today if t.status is TicketStatus.CANCELLED),
                    "not_printed": sum(1 for t in today if t.printed is False),
                }
            counters: dict[str, dict[str, Any]] = {}
            for cdef in self.center.counters:
                c = state.counters[cdef.id]
                cur = state.tickets.get(c.current) if c.current is not None else None
                counters[cdef.id] = {
                    "name": cdef.name, "status": str(c.status), "staff": c.staff,
                    "current": cur.display if cur is not None else None,
                    "since": format_at(c.since) if c.since is not None else None,
                    "open": c.status is CounterStatus.OPEN,
                }
            return {"day": state.day.isoformat() if state.day else None, "seq": self._last_seq,
                    "services": per, "counters": counters}
