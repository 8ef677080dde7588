"""The hub's SQLite store: an append-only event log (the source of truth) plus projections of current state.

Implements the EventStore port. Every commit writes the events AND the projection rows they change in ONE
transaction (``runtime.sqlite``: WAL, ``synchronous=FULL``: a commit that returned survives power loss); the
rows come from the pure projector (``queue_server.app.projector``), which decides what changes, so this module
only decides how rows are stored. ``rebuild()`` replays the log into fresh projections. Only the writer thread
writes; reads from other threads use their own read connection. Must not decide anything about the queue.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ, Envelope, EventType, dumps, format_at, parse_at
from queue_server.app.ports import EventStore
from queue_server.app.projector import (
    CALL_EVENTS,
    CALLED_EVENT,
    DONE_EVENT,
    RELEASE_EVENTS,
    Projections,
    day_start,
    live_state,
    occupancy_sample,
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
from queue_server.domain.model import CenterDef, Counter, Lease, ServiceCode, ServiceDay, Ticket
from queue_server.domain.transitions import HELD, QueueState
from runtime import sqlite as db
from runtime.sqlite import Migration

__all__ = ["MIGRATIONS", "Projections", "SqliteStore"]

log = logging.getLogger(__name__)

HISTORY_DAYS = 28     # calendar days of history the wait estimate learns from

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
# The DDL sqlite-utils generated for the first releases, written out, so files made then and now are alike.
_M1_INITIAL = """
CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL, at TEXT NOT NULL,
                     data TEXT NOT NULL);
CREATE UNIQUE INDEX idx_events_id ON events (id);
CREATE INDEX idx_events_type ON events (type);
CREATE TABLE tickets (id TEXT PRIMARY KEY, day TEXT NOT NULL, service TEXT NOT NULL, origin_service TEXT,
                      number INTEGER, status TEXT NOT NULL, priority TEXT, counter TEXT, issued_at TEXT,
                      done_at TEXT, data TEXT NOT NULL);
CREATE INDEX idx_tickets_day_status ON tickets (day, status);
CREATE TABLE counters (id TEXT PRIMARY KEY, status TEXT, data TEXT);
CREATE TABLE service_days (day TEXT, service TEXT, next_number INTEGER, issued INTEGER, normal_streak INTEGER,
                           PRIMARY KEY (day, service));
CREATE TABLE leases (id TEXT PRIMARY KEY, kiosk TEXT, service TEXT, day TEXT, first INTEGER, last INTEGER,
                     granted_at TEXT)
"""

# start-up reads the tickets counters still hold (any day) and today's calls and completions
_M2_START_UP_INDEXES = """
CREATE INDEX IF NOT EXISTS idx_tickets_status ON tickets (status);
CREATE INDEX IF NOT EXISTS idx_events_type_at ON events (type, at)
"""

# Ordered; a migration never changes once released, a new one is appended.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "event log, tickets, counters, service days, leases", _M1_INITIAL),
    Migration(2, "indexes for loading the live state", _M2_START_UP_INDEXES),
)
COMPONENT = "hub"


def _legacy_version(conn: sqlite3.Connection) -> int:
    # files made before runtime.sqlite kept their version in their own schema_version table
    if not db.table_exists(conn, "schema_version"):
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def storage_full(err: BaseException) -> MotcuaError:
    return MotcuaError(ErrorCode.STORAGE_FULL, "Ổ đĩa của máy chủ đã đầy: chưa lưu được, vui lòng thử lại sau ít "
                       "phút và báo quản trị viên. / The hub's disk is full: nothing was stored; try again in a "
                       f"few minutes and tell the administrator. ({err})")


class SqliteStore:
    """Append-only event log + projections in one SQLite file (the EventStore port)."""

    def __init__(self, path: str | Path, *, migrate_upto: int | None = None) -> None:
        self.path = Path(path)
        # Checkpoints (which fsync the main file) run on a background thread, not inside a command's commit:
        # an automatic checkpoint every 1000 pages put multi-millisecond spikes into issue latency.
        self._conn = db.connect(self.path, autocheckpoint=0)
        self._read_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        self.migrate(migrate_upto)
        self.center_id = ""
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="motcua-checkpoint", daemon=True)
        self._checkpointer.start()

    def _checkpoint_loop(self, interval_s: float = 1.0) -> None:
        conn = db.connect(self.path, busy_timeout_s=1.0)
        try:
            while not self._stop.wait(interval_s):
                try:
                    # PASSIVE never waits for (or blocks) the writer or readers
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as err:
                    log.warning("store %s: checkpoint failed: %s", self.path, err)
        finally:
            conn.close()

    # -- schema
    def migrate(self, upto: int | None = None) -> int:
        """Apply the migrations not yet applied, in order (``upto``: stop after that version, for tests)."""
        return db.migrate(self._conn, COMPONENT, MIGRATIONS, upto=upto, legacy_version=_legacy_version)

    @property
    def schema_version(self) -> int:
        return db.schema_version(self._conn, COMPONENT)

    # -- reads
    def _read(self) -> sqlite3.Connection:
        if self._reader is None:
            self._reader = db.connect(self.path)
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

    def events_since(self, at: str, types: Sequence[str]) -> list[Envelope]:
        if not types:
            return []
        marks = ", ".join("?" * len(types))
        with self._read_lock:       # idx_events_type_at: today's few help events, not the whole log
            rows = self._read().execute(
                f"SELECT seq, id, type, at, data FROM events WHERE type IN ({marks}) AND at >= ? ORDER BY seq",
                (*types, at)).fetchall()
        return [self._envelope(r) for r in rows]

    def _envelope(self, row: Sequence[Any]) -> Envelope:
        return Envelope(id=row[1], seq=row[0], type=row[2], center=self.center_id, at=row[3],
                        data=json.loads(row[4]))

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        with self._read_lock:
            row = self._read().execute("SELECT data FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        return None if row is None else ticket_from_json(json.loads(row[0]))

    def get_lease(self, lease_id: str) -> Lease | None:
        with self._read_lock:
            row = self._read().execute("SELECT id, kiosk, service, day, first, last, granted_at FROM leases "
                                       "WHERE id = ?", (lease_id,)).fetchone()
        return None if row is None else lease_from_json(dict(zip(
            ("id", "kiosk", "service", "day", "first", "last", "granted_at"), row, strict=True)))

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
        held = tuple(str(s) for s in HELD)
        day_iso = day.isoformat()
        tickets = [ticket_from_json(json.loads(data)) for (data,) in c.execute(
            "SELECT data FROM tickets WHERE day = ? OR status IN (?, ?)", (day_iso, *held))]
        counters = [counter_from_json(json.loads(data)) for (data,) in c.execute("SELECT data FROM counters")]
        service_days = [ServiceDay(day, ServiceCode(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in c.execute(
            "SELECT service, next_number, issued, normal_streak FROM service_days WHERE day = ?", (day_iso,))]
        leases = [lease_from_json(dict(zip(("id", "kiosk", "service", "day", "first", "last", "granted_at"), row,
                                           strict=True)))
                  for row in c.execute("SELECT id, kiosk, service, day, first, last, granted_at FROM leases "
                                       "WHERE day = ?", (day_iso,))]
        # recent service times and the last calls are kept in the order the events happened
        start = day_start(day)
        calls = [ticket_from_json(json.loads(data)["ticket"]) for (data,) in c.execute(
            "SELECT data FROM events WHERE at >= ? AND type IN (?, ?) ORDER BY seq DESC LIMIT ?",
            (start, *CALL_EVENTS, QueueState(center=center).calls.maxlen))]
        done = [ticket_from_json(json.loads(data)["ticket"]) for (data,) in c.execute(
            "SELECT data FROM events WHERE at >= ? AND type = ? ORDER BY seq", (start, DONE_EVENT))]
        released = [(at, json.loads(data)) for at, data in c.execute(
            "SELECT at, data FROM events WHERE at >= ? AND type IN (?, ?, ?) ORDER BY seq", (start, *RELEASE_EVENTS))]
        # the lane of each of today's calls (bookings interleaved with walk-ins), read inside SQLite: no JSON parsed
        lanes = [(str(svc), str(tday), bool(pri), bool(booked)) for svc, tday, pri, booked in c.execute(
            "SELECT json_extract(data, '$.ticket.service'), json_extract(data, '$.ticket.day'), "
            "json_extract(data, '$.ticket.priority') IS NOT NULL, json_extract(data, '$.ticket.booking') IS NOT NULL "
            "FROM events WHERE at >= ? AND type = ? ORDER BY seq", (start, CALLED_EVENT))]
        return live_state(center, day, tickets=tickets, counters=counters, service_days=service_days,
                          leases=leases, called_newest_first=calls, done_in_order=done, released_in_order=released,
                          prior=self.history_prior(day), calls_in_order=lanes)

    def history_prior(self, day: date) -> wait_estimate.HistoryPrior:
        """The estimate's prior: occupancy per service, counter and hour, and the day's arrival waves, of the
        ``HISTORY_DAYS`` calendar days before ``day`` (read through the (type, at) and (day) indexes)."""
        return wait_estimate.HistoryPrior.from_samples(self.occupancy_history(day), self.issue_history(day),
                                                       self.opening_history(day))

    def occupancy_history(self, day: date, days: int = HISTORY_DAYS) -> list[tuple[str, str, int, float]]:
        """(service, counter, hour of the call, seconds call → release) of the ``days`` calendar days before ``day``."""
        # the four fields projector.occupancy_of reads, taken out inside SQLite: a large center's four weeks are
        # ~40,000 release events, and parsing each whole ticket was most of the hub's start (and of a new day's
        # first command, which reads the prior again). Same samples as occupancy_of (tests/adapter/test_year_old_store)
        out: list[tuple[str, str, int, float]] = []
        for at, counter, from_service, service, called in self._conn.execute(
                "SELECT at, json_extract(data, '$.counter'), json_extract(data, '$.from_service'), "
                "json_extract(data, '$.ticket.service'), json_extract(data, '$.ticket.called_at') FROM events "
                "WHERE at >= ? AND at < ? AND type IN (?, ?, ?) AND json_type(data, '$.ticket') = 'object' "
                "AND json_type(data, '$.counter') = 'text' ORDER BY seq",
                (day_start(day - timedelta(days=days)), day_start(day), *RELEASE_EVENTS)):
            if called is None:
                continue
            sample = occupancy_sample(str(from_service or service), counter, parse_at(str(called)),
                                      datetime.fromisoformat(at))
            if sample is not None:
                out.append(sample)
        return out

    def opening_history(self, day: date, days: int = HISTORY_DAYS) -> list[tuple[str, str, float, str | None]]:
        """(counter, local day, seconds after local midnight, staff login) of every counter opening of the ``days``
        calendar days before ``day``: when staff usually open each counter (the estimate expects a not-yet-open one
        then) and who usually sits there (someone else standing in is not judged by that person's history)."""
        out: list[tuple[str, str, float, str | None]] = []
        for at, data in self._conn.execute(
                "SELECT at, data FROM events WHERE at >= ? AND at < ? AND type = ? ORDER BY seq",
                (day_start(day - timedelta(days=days)), day_start(day), EventType.COUNTER_OPENED.value)):
            try:
                local = datetime.fromisoformat(at).astimezone(VN_TZ)
                fields = json.loads(data)
                counter = str(fields["counter"])
            except (TypeError, ValueError, KeyError):
                continue
            # events stored before display names carry the login as ``staff``
            staff = fields.get("staff_login") if "staff_login" in fields else fields.get("staff")
            out.append((counter, local.date().isoformat(),
                        local.hour * 3600.0 + local.minute * 60.0 + local.second,
                        staff if isinstance(staff, str) and staff else None))
        return out

    def issue_history(self, day: date, days: int = HISTORY_DAYS) -> list[tuple[str, str, int, bool]]:
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
        """Append ``envelopes`` and upsert ``rows`` in one durable transaction (all or nothing). A full disk is
        MotcuaError storage_full (the transaction rolled back: nothing of it is stored)."""
        try:
            self._commit(envelopes, rows, center, seq)
        except sqlite3.OperationalError as err:
            if db.is_disk_full(err):
                raise storage_full(err) from err
            raise

    def _commit(self, envelopes: Sequence[Envelope], rows: Projections, center: CenterDef, seq: int) -> None:
        with db.immediate(self._conn) as c:
            c.executemany("INSERT INTO events(seq, id, type, at, data) VALUES (?,?,?,?,?)",
                          [(e.seq, e.id, e.type, e.at, _dumps(e.data)) for e in envelopes])
            self._write_rows(c, rows, center, seq)

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
        """Run the whole event log through the projector: the final state and every projection row it implies."""
        with self._read_lock:
            cursor = self._read().execute("SELECT seq, id, type, at, data FROM events ORDER BY seq")
            return replay(center, (self._envelope(raw) for raw in cursor))

    def rebuild(self, center: CenterDef) -> None:
        """Throw the projections away and rebuild them from the event log, in one transaction."""
        _, rows = self.replay(center)
        with db.immediate(self._conn) as c:
            for table in ("tickets", "counters", "service_days", "leases"):
                c.execute(f"DELETE FROM {table}")
            self._write_rows(c, rows, center, 0)
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


def _implements_the_port(store: SqliteStore) -> EventStore:
    return store          # mypy checks that SqliteStore satisfies the EventStore port
