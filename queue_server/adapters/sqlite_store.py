"""The hub's SQLite store: an append-only event log (the source of truth) plus projections of current state.

Every commit writes the events AND the projection rows they change in ONE transaction (WAL,
``synchronous=FULL``: a commit that returned survives power loss). Schema and migrations go through
sqlite-utils; the hot write path uses raw sqlite3 because sqlite-utils' per-call overhead halves throughput
(research/feasibility.md §6). ``rebuild()`` replays the log into fresh projections. Only the QueueService's
writer thread writes; reads from other threads use their own short-lived read connection.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from contracts.messages import VN_TZ, Envelope, EventType, dumps, format_at
from queue_server.app.views import (
    counter_from_json,
    counter_to_json,
    event_from_envelope,
    lease_from_json,
    lease_to_json,
    ticket_from_json,
    ticket_to_json,
)
from queue_server.domain import estimates
from queue_server.domain.model import (
    CenterDef,
    Counter,
    CounterId,
    Lease,
    ServiceCode,
    ServiceDay,
    Ticket,
)
from queue_server.domain.transitions import HELD, OCCUPANCY_KEPT, Call, QueueState, evolve

log = logging.getLogger(__name__)

_dumps = dumps   # compact, non-ASCII kept; orjson when installed


def _upsert(table: str, columns: tuple[str, ...], key: tuple[str, ...]) -> str:
    updates = ", ".join(f"{col} = excluded.{col}" for col in columns if col not in key)
    return (f"INSERT INTO {table}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            f" ON CONFLICT({', '.join(key)}) DO UPDATE SET {updates}")


_UPSERT_TICKET = _upsert("tickets", ("id", "day", "service", "origin_service", "number", "status", "priority",
                                     "counter", "issued_at", "done_at", "data"), ("id",))
_UPSERT_COUNTER = _upsert("counters", ("id", "status", "data"), ("id",))
_UPSERT_SERVICE_DAY = _upsert("service_days", ("day", "service", "next_number", "issued", "normal_streak"),
                              ("day", "service"))
_UPSERT_LEASE = _upsert("leases", ("id", "kiosk", "service", "day", "first", "last", "granted_at"), ("id",))


# --------------------------------------------------------------------------------------------- migrations
def _m1_initial(db: sqlite_utils.Database) -> None:
    db.table("events").create({"seq": int, "id": str, "type": str, "at": str, "data": str}, pk="seq",
                        not_null={"id", "type", "at", "data"})
    db.table("events").create_index(["id"], unique=True)
    db.table("events").create_index(["type"])
    db.table("tickets").create({"id": str, "day": str, "service": str, "origin_service": str, "number": int,
                          "status": str, "priority": str, "counter": str, "issued_at": str, "done_at": str,
                          "data": str}, pk="id", not_null={"day", "service", "status", "data"})
    db.table("tickets").create_index(["day", "status"])
    db.table("counters").create({"id": str, "status": str, "data": str}, pk="id")
    db.table("service_days").create({"day": str, "service": str, "next_number": int, "issued": int,
                               "normal_streak": int}, pk=("day", "service"))
    db.table("leases").create({"id": str, "kiosk": str, "service": str, "day": str, "first": int, "last": int,
                         "granted_at": str}, pk="id")


def _m2_start_up_indexes(db: sqlite_utils.Database) -> None:
    # start-up reads the tickets counters still hold (any day) and today's calls and completions
    db.table("tickets").create_index(["status"], if_not_exists=True)
    db.table("events").create_index(["type", "at"], if_not_exists=True)


# Ordered; a migration never changes once released, a new one is appended.
MIGRATIONS: tuple[tuple[int, str, Callable[[sqlite_utils.Database], None]], ...] = (
    (1, "event log, tickets, counters, service days, leases", _m1_initial),
    (2, "indexes for loading the live state", _m2_start_up_indexes),
)


@dataclass(slots=True)
class Projections:
    """Rows to upsert, keyed so that a later value in the same batch replaces an earlier one."""

    tickets: dict[str, Ticket] = field(default_factory=dict)
    counters: dict[str, Counter] = field(default_factory=dict)
    service_days: dict[tuple[date, str], ServiceDay] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)
    ticket_json: dict[str, dict[str, Any]] = field(default_factory=dict)   # already built for the event


class SqliteStore:
    """Append-only event log + projections in one SQLite file."""

    def __init__(self, path: str | Path, *, migrate_upto: int | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = self._connect()
        self._read_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        self.migrate(migrate_upto)
        self.center_id = ""
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="motcua-checkpoint", daemon=True)
        self._checkpointer.start()

    def _checkpoint_loop(self, interval_s: float = 1.0) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=1000")
            while not self._stop.wait(interval_s):
                try:
                    # PASSIVE never waits for (or blocks) the writer or readers
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as err:
                    log.warning("store %s: checkpoint failed: %s", self.path, err)
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        # autocommit mode: transactions are explicit BEGIN IMMEDIATE ... COMMIT
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        # Checkpoints (which fsync the main file) run on a background thread, not inside a command's commit:
        # an automatic checkpoint every 1000 pages put multi-millisecond spikes into issue latency.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    # -- schema
    def migrate(self, upto: int | None = None) -> int:
        """Apply the migrations not yet applied, in order (``upto``: stop after that version, for tests)."""
        db = sqlite_utils.Database(self._conn)
        if "schema_version" not in db.table_names():
            db.table("schema_version").create({"version": int, "description": str, "applied_at": str}, pk="version")
        done = {row["version"] for row in db.table("schema_version").rows}
        for version, description, step in MIGRATIONS:
            if version in done or (upto is not None and version > upto):
                continue
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                step(db)
                self._conn.execute(
                    "INSERT INTO schema_version(version, description, applied_at) VALUES (?,?,?)",
                    (version, description, format_at(datetime.now(VN_TZ))))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            log.info("store %s: migrated to schema version %d (%s)", self.path, version, description)
        return self.schema_version

    @property
    def schema_version(self) -> int:
        row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    # -- reads
    def _read(self) -> sqlite3.Connection:
        if self._reader is None:
            self._reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._reader.execute("PRAGMA busy_timeout=30000")
        return self._reader

    @property
    def last_seq(self) -> int:
        with self._read_lock:
            row = self._read().execute("SELECT MAX(seq) FROM events").fetchone()
        return int(row[0] or 0)

    def events_after(self, seq: int, limit: int = 1000) -> list[Envelope]:
        if limit <= 0:        # SQLite reads LIMIT -1 as "no limit"
            return []
        with self._read_lock:
            rows = self._read().execute(
                "SELECT seq, id, type, at, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (int(seq), int(limit))).fetchall()
        return [self._envelope(r) for r in rows]

    def _envelope(self, row: Sequence[Any]) -> Envelope:
        return Envelope(id=row[1], seq=row[0], type=row[2], center=self.center_id, at=row[3],
                        data=json.loads(row[4]))

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        with self._read_lock:
            row = self._read().execute("SELECT data FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        return None if row is None else ticket_from_json(json.loads(row[0]))

    def projection_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every projection row, sorted: for tests that compare a rebuild with what the live path wrote."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        with self._read_lock:
            for table, key in (("tickets", "id"), ("counters", "id"), ("service_days", "day, service"),
                               ("leases", "id")):
                out[table] = [tuple(r) for r in self._read().execute(f"SELECT * FROM {table} ORDER BY {key}")]
        return out

    # -- load
    def load_state(self, center: CenterDef, day: date) -> QueueState:
        """The live state for working day ``day`` from the projections (not a replay: fast on start)."""
        self.center_id = center.id
        c = self._conn
        state = QueueState(center=center, day=day)
        held = tuple(str(s) for s in HELD)
        for (data,) in c.execute("SELECT data FROM tickets WHERE day = ? OR status IN (?, ?)",
                                 (day.isoformat(), *held)):
            t = ticket_from_json(json.loads(data))
            if t.day == day or (t.status in HELD and t.counter is not None):
                state.tickets[t.id] = t
        for (data,) in c.execute("SELECT data FROM counters"):
            counter = counter_from_json(json.loads(data))
            if counter.id in state.counters:
                state.counters[counter.id] = counter
        for row in c.execute("SELECT service, next_number, issued, normal_streak FROM service_days WHERE day = ?",
                             (day.isoformat(),)):
            code = ServiceCode(row[0])
            state.service_days[code] = ServiceDay(day, code, int(row[1]), int(row[2]), int(row[3]))
        for row in c.execute("SELECT id, kiosk, service, day, first, last, granted_at FROM leases WHERE day = ?",
                             (day.isoformat(),)):
            state.leases[row[0]] = lease_from_json(dict(zip(
                ("id", "kiosk", "service", "day", "first", "last", "granted_at"), row, strict=True)))
        for t in sorted(state.tickets.values(), key=lambda t: t.queue_seq):
            if t.day == day:
                state._index(t)
        # recent service times and the last calls are kept in the order the events happened
        start = format_at(datetime.combine(day, datetime.min.time(), tzinfo=VN_TZ))
        calls: list[Call] = []
        for (data,) in c.execute(
                "SELECT data FROM events WHERE at >= ? AND type IN (?, ?) ORDER BY seq DESC LIMIT ?",
                (start, str(EventType.TICKET_CALLED), str(EventType.TICKET_RECALLED), state.calls.maxlen)):
            t = ticket_from_json(json.loads(data)["ticket"])
            if t.counter is not None and t.last_called_at is not None:
                calls.append(Call(t.id, t.display, t.service, t.counter, t.last_called_at, t.recalls))
        state.calls.extend(calls)
        for (data,) in c.execute("SELECT data FROM events WHERE at >= ? AND type = ? ORDER BY seq",
                                 (start, str(EventType.TICKET_DONE))):
            t = ticket_from_json(json.loads(data)["ticket"])
            if t.day == day and t.service_time_s is not None:
                state.recent_service_s.setdefault(
                    t.service, deque(maxlen=estimates.RECENT_WINDOW)).append(t.service_time_s)
        for service, counter, _, seconds in self._occupancy(start, None):
            state.occupancy_s.setdefault((ServiceCode(service), CounterId(counter)),
                                         deque(maxlen=OCCUPANCY_KEPT)).append(seconds)
        return state

    _OCCUPANCY_TYPES = (str(EventType.TICKET_DONE), str(EventType.TICKET_NO_SHOW), str(EventType.TICKET_TRANSFERRED))

    def _occupancy(self, start: str, end: str | None) -> list[tuple[str, str, int, float]]:
        """(service, counter, hour of the call, seconds from call to release) of tickets let go in [start, end)."""
        out: list[tuple[str, str, int, float]] = []
        sql = ("SELECT at, data FROM events WHERE at >= ? AND type IN (?, ?, ?)" + (" AND at < ?" if end else "")
               + " ORDER BY seq")
        args: tuple[str, ...] = (start, *self._OCCUPANCY_TYPES, *((end,) if end else ()))
        for at, data in self._conn.execute(sql, args):
            body = json.loads(data)
            t = ticket_from_json(body["ticket"])
            counter = body.get("counter")
            if t.called_at is None or not isinstance(counter, str):
                continue
            service = body.get("from_service") or t.service
            seconds = (datetime.fromisoformat(at) - t.called_at).total_seconds()
            out.append((str(service), counter, t.called_at.astimezone(VN_TZ).hour, max(0.0, seconds)))
        return out

    def occupancy_history(self, day: date, days: int = 28) -> list[tuple[str, str, int, float]]:
        """The occupancy samples of the ``days`` calendar days before ``day`` (the estimate's prior)."""
        start = format_at(datetime.combine(day - timedelta(days=days), datetime.min.time(), tzinfo=VN_TZ))
        end = format_at(datetime.combine(day, datetime.min.time(), tzinfo=VN_TZ))
        return self._occupancy(start, end)

    def issue_history(self, day: date, days: int = 28) -> list[tuple[str, str, int, bool]]:
        """(service, day, hour of issue, priority) of every ticket of the ``days`` calendar days before ``day``."""
        out: list[tuple[str, str, int, bool]] = []
        for service, ticket_day, issued_at, priority in self._conn.execute(
                "SELECT origin_service, day, issued_at, priority FROM tickets WHERE day >= ? AND day < ?",
                ((day - timedelta(days=days)).isoformat(), day.isoformat())):
            try:
                hour = datetime.fromisoformat(issued_at).astimezone(VN_TZ).hour
            except (TypeError, ValueError):
                continue
            out.append((str(service), str(ticket_day), hour, priority is not None))
        return out

    # -- the hot write path
    def commit(self, envelopes: Sequence[Envelope], rows: Projections, center: CenterDef, seq: int) -> None:
        """Append ``envelopes`` and upsert ``rows`` in one durable transaction (all or nothing)."""
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        try:
            c.executemany("INSERT INTO events(seq, id, type, at, data) VALUES (?,?,?,?,?)",
                          [(e.seq, e.id, e.type, e.at, _dumps(e.data)) for e in envelopes])
            self._write_rows(c, rows, center, seq)
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise

    @staticmethod
    def _write_rows(c: sqlite3.Connection, rows: Projections, center: CenterDef, seq: int) -> None:
        # UPSERTs (update in place) rather than INSERT OR REPLACE (delete + insert under a new rowid): a changed
        # ticket or service day then dirties its own page and only the indexes whose columns changed, not the old
        # page, a new page and every index; fewer pages per commit is less WAL to write and checksum.
        if rows.tickets:
            c.executemany(_UPSERT_TICKET, [
                (t.id, t.day.isoformat(), t.service, t.origin_service, t.number.number, str(t.status), t.priority,
                 t.counter, format_at(t.issued_at), format_at(t.done_at) if t.done_at else None,
                 _dumps(rows.ticket_json.get(t.id) or ticket_to_json(t))) for t in rows.tickets.values()])
        if rows.counters:
            c.executemany(_UPSERT_COUNTER, [(k.id, str(k.status), _dumps(_counter_row(center, k)))
                                            for k in rows.counters.values()])
        if rows.service_days:
            c.executemany(_UPSERT_SERVICE_DAY, [(d.day.isoformat(), d.service, d.next_number, d.issued,
                                                 d.normal_streak) for d in rows.service_days.values()])
        if rows.leases:
            c.executemany(_UPSERT_LEASE, [tuple(lease_to_json(x).values()) for x in rows.leases.values()])

    # -- replay
    def replay(self, center: CenterDef) -> tuple[QueueState, Projections]:
        """Run the whole event log through ``evolve``: the final state and every projection row it implies."""
        state = QueueState(center=center)
        rows = Projections()
        with self._read_lock:
            cursor = self._read().execute("SELECT seq, id, type, at, data FROM events ORDER BY seq")
            for raw in cursor:
                event = event_from_envelope(self._envelope(raw))
                if event is None:
                    continue
                before = dict(state.counters)
                evolve(state, event)
                collect_rows(state, event, before, rows)
        return state, rows

    def rebuild(self, center: CenterDef) -> None:
        """Throw the projections away and rebuild them from the event log, in one transaction."""
        _, rows = self.replay(center)
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        try:
            for table in ("tickets", "counters", "service_days", "leases"):
                c.execute(f"DELETE FROM {table}")
            self._write_rows(c, rows, center, 0)
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise
        log.info("store %s: projections rebuilt from %d events", self.path, self.last_seq)

    def close(self) -> None:
        self._stop.set()
        if self._checkpointer.is_alive() and threading.current_thread() is not self._checkpointer:
            self._checkpointer.join(timeout=10)
        try:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as err:
            log.warning("store %s: final checkpoint failed: %s", self.path, err)
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        self._conn.close()


def _counter_row(center: CenterDef, counter: Counter) -> dict[str, Any]:
    # seq and the held ticket's display fields are filled in when a snapshot is served, not stored
    return counter_to_json(center, counter, 0, None)


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
