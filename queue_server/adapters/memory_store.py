"""An in-memory event store (the EventStore port) for fast unit tests and throwaway demos: nothing survives.

It keeps what SqliteStore keeps (the log and the projection rows, in the same JSON shapes, through the same
projector), so a command scenario gives the same answers on either store; that is what proves the seam. Not for
production: no durability, one process.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import date
from typing import Any

from contracts.messages import Envelope, dumps
from queue_server.app.ports import EventStore
from queue_server.app.projector import (
    CALL_EVENTS,
    CALLED_EVENT,
    DONE_EVENT,
    RELEASE_EVENTS,
    Projections,
    day_start,
    live_state,
    replay,
)
from queue_server.app.views import (
    counter_from_json,
    counter_to_json,
    lease_from_json,
    lease_to_json,
    ticket_from_json,
    ticket_to_json,
)
from queue_server.domain import wait_estimate
from queue_server.domain.model import CenterDef, Lease, ServiceDay, Ticket
from queue_server.domain.transitions import HELD, QueueState


class MemoryStore:
    """The log and the projections in dicts, guarded by one lock; values stored as JSON text, as on disk."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[tuple[int, str, str, str, str]] = []      # seq, id, type, at, data
        self._ids: set[str] = set()
        self._tickets: dict[str, str] = {}
        self._counters: dict[str, str] = {}
        self._service_days: dict[tuple[str, str], tuple[int, int, int]] = {}
        self._leases: dict[str, dict[str, Any]] = {}
        self.center_id = ""
        self.closed = False

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._events[-1][0] if self._events else 0

    def _envelope(self, row: tuple[int, str, str, str, str]) -> Envelope:
        return Envelope(id=row[1], seq=row[0], type=row[2], center=self.center_id, at=row[3],
                        data=json.loads(row[4]))

    def events_after(self, seq: int, limit: int = 1000) -> list[Envelope]:
        if limit <= 0:
            return []
        with self._lock:
            rows = [r for r in self._events if r[0] > seq][:limit]
        return [self._envelope(r) for r in rows]

    def events_since(self, at: str, types: Sequence[str]) -> list[Envelope]:
        with self._lock:
            rows = [r for r in self._events if r[2] in types and r[3] >= at]
        return [self._envelope(r) for r in rows]

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        with self._lock:
            data = self._tickets.get(ticket_id)
        return None if data is None else ticket_from_json(json.loads(data))

    def get_lease(self, lease_id: str) -> Lease | None:
        with self._lock:
            data = self._leases.get(lease_id)
        return None if data is None else lease_from_json(data)

    def load_state(self, center: CenterDef, day: date) -> QueueState:
        self.center_id = center.id
        held = {str(s) for s in HELD}
        day_iso = day.isoformat()
        start = day_start(day)
        with self._lock:
            tickets = [ticket_from_json(t) for t in map(json.loads, self._tickets.values())
                       if t["day"] == day_iso or t["status"] in held]
            counters = [counter_from_json(json.loads(c)) for c in self._counters.values()]
            service_days = [ServiceDay(day, code, *values)  # type: ignore[arg-type]
                            for (d, code), values in self._service_days.items() if d == day_iso]
            leases = [lease_from_json(x) for x in self._leases.values() if x["day"] == day_iso]
            today = [r for r in self._events if r[3] >= start]
        maxlen = QueueState(center=center).calls.maxlen or 0
        calls = [ticket_from_json(json.loads(r[4])["ticket"]) for r in reversed(today) if r[2] in CALL_EVENTS]
        done = [ticket_from_json(json.loads(r[4])["ticket"]) for r in today if r[2] == DONE_EVENT]
        released = [(r[3], json.loads(r[4])) for r in today if r[2] in RELEASE_EVENTS]
        called = [json.loads(r[4])["ticket"] for r in today if r[2] == CALLED_EVENT]
        lanes = [(t["service"], t["day"], t.get("priority") is not None, t.get("booking") is not None)
                 for t in called]
        return live_state(center, day, tickets=tickets, counters=counters, service_days=service_days,
                          leases=leases, called_newest_first=calls[:maxlen], done_in_order=done,
                          released_in_order=released, calls_in_order=lanes)

    def history_prior(self, day: date) -> wait_estimate.HistoryPrior:
        return wait_estimate.HistoryPrior()     # like load_state here: fast unit tests start with no history

    def commit(self, envelopes: Sequence[Envelope], rows: Projections, center: CenterDef, seq: int) -> None:
        """All or nothing, like a transaction: everything is checked and encoded before anything is kept."""
        new = [(e.seq, e.id, e.type, e.at, dumps(e.data)) for e in envelopes]
        with self._lock:
            last = self._events[-1][0] if self._events else 0
            ids = [e.id for e in envelopes]
            if len(set(ids)) != len(ids) or self._ids.intersection(ids):
                raise ValueError("duplicate event id")
            for row in new:
                if row[0] <= last:
                    raise ValueError(f"event seq {row[0]} is not after {last}")
                last = row[0]
            self._events.extend(new)
            self._ids.update(ids)
            self._write_rows(rows, center)

    def _write_rows(self, rows: Projections, center: CenterDef) -> None:
        for t in rows.tickets.values():
            self._tickets[t.id] = dumps(rows.ticket_json.get(t.id) or ticket_to_json(t))
        for k in rows.counters.values():
            self._counters[k.id] = dumps(counter_to_json(center, k, 0, None))
        for d in rows.service_days.values():
            self._service_days[(d.day.isoformat(), d.service)] = (d.next_number, d.issued, d.normal_streak)
        for x in rows.leases.values():
            self._leases[x.id] = lease_to_json(x)

    def replay(self, center: CenterDef) -> tuple[QueueState, Projections]:
        with self._lock:
            events = list(self._events)
        return replay(center, (self._envelope(r) for r in events))

    def rebuild(self, center: CenterDef) -> None:
        _, rows = self.replay(center)
        with self._lock:
            self._tickets.clear()
            self._counters.clear()
            self._service_days.clear()
            self._leases.clear()
            self._write_rows(rows, center)

    def close(self) -> None:
        self.closed = True


def _implements_the_port(store: MemoryStore) -> EventStore:
    return store          # mypy checks that MemoryStore satisfies the EventStore port
