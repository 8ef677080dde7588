"""The queue's queries: snapshots, states, waits and today's figures, read from the writer's live state.

Every read holds the writer's lock, which the writer holds while it applies AND commits a batch, so no query
sees a change that is not yet durable. Must not change state (a query on a new day only rolls the state to it,
as the writer would) or write anything.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import CallInfo, CallsSnapshot, CounterState, Envelope, ServiceState, format_at
from queue_server.app.views import call_info, counter_state
from queue_server.app.writer import Writer
from queue_server.domain import counter_presence, numbering, queue_policy, wait_estimate
from queue_server.domain.model import (
    Counter,
    CounterId,
    CounterStatus,
    ServiceCode,
    Ticket,
    TicketId,
    TicketStatus,
)
from queue_server.domain.transitions import QueueState


@dataclass(frozen=True, slots=True)
class TicketView:
    ticket: Ticket
    ahead: int
    estimated_wait_min: int
    wait: wait_estimate.WaitEstimate | None = None     # the range the citizen is told (None: not waiting)
    # the ticket's working day is over: one still waiting was never reached (numbers restart every day)
    day_over: bool = False
    # today's last session has ended with the ticket still waiting: it will not be called tomorrow (a counter
    # working on after closing may still call it today)
    hours_over: bool = False
    resumes_at: datetime | None = None    # the lunch break: when the counters work again (the ticket waits)
    # the day or today's hours are over with the ticket still waiting: when numbers are issued again
    opens_at: datetime | None = None


class QueueQueries:
    """Mixed into QueueService: the read side."""

    _writer: Writer
    _seen: dict[str, datetime]
    _started: datetime
    silent_after_s: float
    # per service, the last ServiceState answered and what it was computed from (see ``_service_state``)
    _service_memo: dict[ServiceCode, tuple[tuple[Any, ...], ServiceState]]

    def _silent(self, state: QueueState, now: datetime) -> frozenset[CounterId]:
        seen = {CounterId(k): v for k, v in self._seen.items()}
        return counter_presence.silent_counters(state.counters, seen, now, self.silent_after_s, self._started)

    def silent_counters(self) -> frozenset[str]:
        """Open counters nobody has touched (console or keypad) for ``silent_after_s``: flagged on the board, left
        out of wait estimates."""
        with self._writer.lock:
            state = self._rolled()
            return frozenset(str(c) for c in self._silent(state, self._writer.now()))

    def no_shows(self, services: Iterable[str], limit: int = 20) -> list[Ticket]:
        """Today's no-show tickets of these services, latest first (what staff may reactivate)."""
        codes = set(services)
        with self._writer.lock:
            state = self._rolled()
            found = [t for t in state.tickets.values()
                     if t.status is TicketStatus.NO_SHOW and t.day == state.day and t.service in codes]
        found.sort(key=lambda t: (t.last_called_at or t.issued_at, t.queue_seq), reverse=True)
        return found[:limit]

    def counter_holder(self, counter_id: str) -> str | None:
        """The login an open counter is held under (None when closed or held by nobody)."""
        with self._writer.lock:
            c = self._writer.state.counters.get(CounterId(counter_id))
            return None if c is None or c.status is CounterStatus.CLOSED else c.staff

    def counter_last_heard(self, counter_id: str) -> datetime | None:
        with self._writer.lock:
            state = self._rolled()
            c = state.counters.get(CounterId(counter_id))
            if c is None:
                return None
            return counter_presence.last_heard(c, self._seen.get(counter_id), self._started)

    def clock_marks(self) -> tuple[date, frozenset[str]]:
        """What of the published state the clock changes with no event: the working day (at midnight yesterday's
        calls and queues go) and the services refusing tickets now (working hours, the lunch break, closing).
        Publishers of snapshots that stay up all day (retained MQTT state, open SSE streams) compare it to know
        when to publish again."""
        with self._writer.lock:
            state = self._rolled()
            now = self._writer.now()
            refusing = frozenset(s.code for s in self._writer.center.services
                                 if self._refusal(state, s.code, now) is not None)
            return numbering.working_day(now), refusing

    def _rolled(self) -> QueueState:
        # a query on a new day must not show yesterday's queue (caller holds the lock)
        return self._writer.roll(self._writer.clock.now())

    @property
    def last_seq(self) -> int:
        with self._writer.lock:
            return self._writer.last_seq

    def state_for_tests(self) -> dict[str, object]:
        """The whole in-memory state in comparable form (tests compare it with a reload or a replay)."""
        with self._writer.lock:
            return self._writer.state.comparable()

    def get_ticket(self, ticket_id: str) -> TicketView:
        with self._writer.lock:
            state = self._rolled()
            t = state.tickets.get(TicketId(ticket_id))
            if t is not None and t.day == state.day:
                now = self._writer.now()
                wait = state.wait_for(t, now, self._silent(state, now))
                waits = t.status in (TicketStatus.ISSUED, TicketStatus.TRANSFERRED)
                center = self._writer.center
                # today made a day off after numbers were given (a storm closes the center at 10:00): as after
                # closing, the number is not called tomorrow
                over = waits and (numbering.hours_over(center, now) or not center.sessions_on(t.day))
                return TicketView(t, state.ahead(t), 0 if wait is None else wait.minutes, wait,
                                  hours_over=over,
                                  resumes_at=numbering.resumes_at(center, now) if waits else None,
                                  opens_at=numbering.next_opening(center, now) if over else None)
            today = state.day
            now, center = self._writer.now(), self._writer.center
        # a past day's ticket (a counter may still hold it): nobody is ahead of it and nothing is promised
        old = t if t is not None else self._writer.store.get_ticket(ticket_id)
        if old is None:
            raise MotcuaError(ErrorCode.UNKNOWN_TICKET, f"unknown ticket {ticket_id!r}")
        over = today is not None and old.day < today
        waits = old.status in (TicketStatus.ISSUED, TicketStatus.TRANSFERRED)
        return TicketView(old, 0, 0, day_over=over,
                          opens_at=numbering.next_opening(center, now) if over and waits else None)

    def waiting(self, service: str | None = None) -> list[Ticket]:
        with self._writer.lock:
            state = self._rolled()
            if service is not None and self._writer.center.service(service) is None:
                raise MotcuaError(ErrorCode.UNKNOWN_SERVICE, f"unknown service {service!r}")
            return state.waiting(service)

    def _counter_state(self, c: Counter, seq: int) -> CounterState:
        current = self._writer.state.tickets.get(c.current) if c.current is not None else None
        return counter_state(self._writer.center, c, seq, current, self._writer.state.day)

    def counter_state(self, counter_id: str) -> CounterState:
        with self._writer.lock:
            state = self._rolled()
            if self._writer.center.counter(counter_id) is None:
                raise MotcuaError(ErrorCode.UNKNOWN_COUNTER, f"unknown counter {counter_id!r}")
            return self._counter_state(state.counters[CounterId(counter_id)], self._writer.last_seq)

    def counter_states(self) -> list[CounterState]:
        with self._writer.lock:
            state = self._rolled()
            return [self._counter_state(state.counters[c.id], self._writer.last_seq) for c in self._writer.center.counters]

    def issue_refusal(self, code: str) -> MotcuaError | None:
        """Why ``issue_ticket(code)`` would be refused now (SERVICE_CLOSED / QUOTA_REACHED …), or None."""
        with self._writer.lock:
            state = self._rolled()
            return self._refusal(state, code, self._writer.now())

    def _refusal(self, state: QueueState, code: str, now: datetime) -> MotcuaError | None:
        service = self._writer.center.service(code)
        if service is None:
            return MotcuaError(ErrorCode.UNKNOWN_SERVICE, f"unknown service {code!r}")
        try:
            numbering.check_can_issue(self._writer.center, service, state.service_day(service.code), now,
                                      state.leases.values())
        except MotcuaError as err:
            return err
        return None

    def _service_state(self, state: QueueState, code: ServiceCode, now: datetime) -> ServiceState:
        # A service's state is a function of the live state (which only the writer changes, each commit a new
        # seq; a reload a new object), the center, the second it is asked in and the silent counters. Kiosks'
        # service lists, /state, the MQTT and stream snapshots ask for it at the same seq again and again, and each
        # answer runs a wait simulation (~0.5 ms with a long queue) under the writer's lock: the same question
        # gets the same answer without running it again. The caller holds the writer's lock.
        silent = self._silent(state, now)
        memo_key = (id(state), id(self._writer.center), self._writer.last_seq, now, silent)
        memo: dict[ServiceCode, tuple[tuple[Any, ...], ServiceState]] = self.__dict__.setdefault("_service_memo", {})
        hit = memo.get(code)
        if hit is not None and hit[0] == memo_key:
            return hit[1]
        service = self._writer.center.service(code)
        assert service is not None
        # the wait a citizen taking a normal ticket now would be told
        key = (now.timestamp(), state.next_queue_seq, "~")
        sd = state.service_day(code)
        ahead = queue_policy.ahead_of(self._writer.center.policy, state.queue(code), sd.normal_streak, key, False,
                                      sd.walk_in_streak)
        ahead += state.waiting_count(code) - len(state.queue(code))
        # a silent counter (staff gone without closing) serves nobody: it must not shorten the promised wait
        wait = state.wait_estimate(code, ahead, False, now, exclude=silent)
        last = next((c.number for c in state.calls if c.service == code), None)
        answer = ServiceState(seq=self._writer.last_seq, service=code, name=service.name,
                              waiting=state.waiting_count(code), estimated_wait_min=wait.minutes, last_called=last,
                              accepting=self._refusal(state, code, now) is None, wait_low_min=wait.low_min,
                              wait_high_min=wait.high_min, served_now=wait.served,
                              wait_past_close=wait.past_close)
        memo[code] = (memo_key, answer)
        return answer

    def service_state(self, code: str) -> ServiceState:
        with self._writer.lock:
            state = self._rolled()
            if self._writer.center.service(code) is None:
                raise MotcuaError(ErrorCode.UNKNOWN_SERVICE, f"unknown service {code!r}")
            return self._service_state(state, ServiceCode(code), self._writer.now())

    def service_states(self) -> list[ServiceState]:
        with self._writer.lock:
            state = self._rolled()
            now = self._writer.now()
            return [self._service_state(state, s.code, now) for s in self._writer.center.services]

    def calls(self, limit: int = 10) -> list[CallInfo]:
        with self._writer.lock:
            state = self._rolled()
            return [call_info(self._writer.center, c) for c in list(state.calls)[:max(0, limit)]]

    def calls_snapshot(self) -> CallsSnapshot:
        with self._writer.lock:
            return CallsSnapshot(self._writer.last_seq, tuple(self.calls()))

    def snapshots(self, *, calls: bool, counters: Iterable[str] = (), services: Iterable[str] = ()
                  ) -> tuple[CallsSnapshot | None, list[CounterState], list[ServiceState]]:
        """Several snapshots under ONE hold of the lock: they share one seq, and an adapter republishing a burst's
        snapshots waits behind the writer's commit once, not once per snapshot (each wait delayed the events
        queued behind it)."""
        with self._writer.lock:
            return (self.calls_snapshot() if calls else None, [self.counter_state(c) for c in counters],
                    [self.service_state(code) for code in services])

    def snapshot(self) -> dict[str, Any]:
        """The body of GET /api/v1/state: seq, calls, counters, services, center, and today's unanswered help
        requests (a console or board opened after a kiosk asked must show it too)."""
        with self._writer.lock:
            return {
                "seq": self._writer.last_seq,
                "calls": [asdict(c) for c in self.calls()],
                "counters": [asdict(c) for c in self.counter_states()],
                "services": [asdict(s) for s in self.service_states()],
                "center": {"id": self._writer.center.id, "name": self._writer.center.name, "name_en": self._writer.center.name_en},
                "help": self._writer.help.on(numbering.working_day(self._writer.clock.now())),
            }

    def last_completed(self, counter_id: str) -> Ticket | None:
        with self._writer.lock:
            if self._writer.center.counter(counter_id) is None:
                raise MotcuaError(ErrorCode.UNKNOWN_COUNTER, f"unknown counter {counter_id!r}")
            tid = self._writer.state.counters[CounterId(counter_id)].last_done
            if tid is None:
                return None
            t = self._writer.state.tickets.get(tid)
        return t if t is not None else self._writer.store.get_ticket(tid)

    def events_after(self, seq: int, limit: int = 1000) -> list[Envelope]:
        events = self._writer.store.events_after(seq, limit)
        return [Envelope(e.id, e.seq, e.type, self._writer.center.id, e.at, e.data) for e in events]

    def stats_today(self) -> dict[str, Any]:
        """GET /stats/today: per service waiting, longest/avg wait, avg service, served, no-show; per counter."""
        with self._writer.lock:
            state = self._rolled()
            now = self._writer.now()
            by_service: dict[str, list[Ticket]] = {s.code: [] for s in self._writer.center.services}
            issued_for: dict[str, int] = dict.fromkeys(by_service, 0)
            for t in state.tickets.values():      # one pass: this runs under the writer's lock
                if t.day != state.day:
                    continue
                if t.service in by_service:
                    by_service[t.service].append(t)
                if t.origin_service in issued_for:
                    issued_for[t.origin_service] += 1
            per: dict[str, dict[str, Any]] = {}
            for s in self._writer.center.services:
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
            silent = self._silent(state, now)
            for cdef in self._writer.center.counters:
                c = state.counters[cdef.id]
                cur = state.tickets.get(c.current) if c.current is not None else None
                counters[cdef.id] = {
                    "name": cdef.name, "status": str(c.status), "staff": c.staff_name or c.staff,
                    "silent": cdef.id in silent, "pause_reason": c.pause_reason,
                    "current": cur.display if cur is not None else None,
                    "since": format_at(c.since) if c.since is not None else None,
                    "open": c.status is CounterStatus.OPEN,
                }
            return {"day": state.day.isoformat() if state.day else None, "seq": self._writer.last_seq,
                    "services": per, "counters": counters}
