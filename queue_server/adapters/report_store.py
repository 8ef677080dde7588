"""The reporting read model in its own SQLite file (``reports.sqlite3`` beside the hub's store): aggregates per
working day × service × counter × staff × hour, per-dimension daily rollups that long reports read, rating
counts, a per-ticket ledger that makes every fact count once, and a copy of the dossier figures.

Fed from the hub's event log: ``catch_up()`` reads the events after the last seq it applied (from the hub's file,
read-only) and writes the aggregates AND the new last seq in one transaction, so a crash or a restart resumes
exactly where it stopped, and ``rebuild()`` starts from an empty model. Its own file keeps report writes and
long report reads away from the queue's writer. Knows nothing of HTTP; the figures themselves are computed by
queue_server.app.reporting.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from contracts.messages import format_at, parse_at
from queue_server.app import reporting as rp
from runtime import sqlite as db

try:
    import orjson as _orjson

    _loads: Callable[[str | bytes], Any] = _orjson.loads
except ImportError:  # pragma: no cover - orjson is in the hub extra
    _loads = json.loads

log = logging.getLogger(__name__)

_MEASURE_COLS = (*rp.SCALARS, *rp.MAXES)
_MEASURE_DDL = ", ".join(f"{c} INTEGER NOT NULL DEFAULT 0" for c in _MEASURE_COLS) + ", wait_h BLOB, service_h BLOB"

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS rpt_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    (f"CREATE TABLE IF NOT EXISTS rpt_cell (day TEXT NOT NULL, service TEXT NOT NULL, counter TEXT NOT NULL, "
     f"staff TEXT NOT NULL, hour INTEGER NOT NULL, {_MEASURE_DDL}, "
     f"PRIMARY KEY (day, service, counter, staff, hour)) WITHOUT ROWID"),
    (f"CREATE TABLE IF NOT EXISTS rpt_roll (dim TEXT NOT NULL, day TEXT NOT NULL, key TEXT NOT NULL, {_MEASURE_DDL}, "
     f"PRIMARY KEY (dim, day, key)) WITHOUT ROWID"),
    "CREATE INDEX IF NOT EXISTS rpt_roll_day ON rpt_roll (day)",
    ("CREATE TABLE IF NOT EXISTS rpt_rating (day TEXT NOT NULL, service TEXT NOT NULL, counter TEXT NOT NULL, "
     "staff TEXT NOT NULL, level INTEGER NOT NULL, n INTEGER NOT NULL, "
     "PRIMARY KEY (day, service, counter, staff, level)) WITHOUT ROWID"),
    ("CREATE TABLE IF NOT EXISTS rpt_rating_roll (dim TEXT NOT NULL, day TEXT NOT NULL, key TEXT NOT NULL, "
     "level INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (dim, day, key, level)) WITHOUT ROWID"),
    "CREATE TABLE IF NOT EXISTS rpt_ticket (id TEXT PRIMARY KEY, flags INTEGER NOT NULL, ns TEXT) WITHOUT ROWID",
    ("CREATE TABLE IF NOT EXISTS rpt_counter (id TEXT PRIMARY KEY, status TEXT NOT NULL, staff TEXT NOT NULL, "
     "since TEXT, last TEXT)"),
    ("CREATE TABLE IF NOT EXISTS rpt_dossier (code TEXT PRIMARY KEY, procedure TEXT NOT NULL, "
     "received_at INTEGER NOT NULL, due_at INTEGER, finished_at INTEGER, apologised INTEGER NOT NULL, "
     "status TEXT NOT NULL, "
     "res_wmin INTEGER) WITHOUT ROWID"),
    # covering: a report's dossier query reads only this index, never the rows
    ("CREATE INDEX IF NOT EXISTS rpt_dossier_received ON rpt_dossier "
     "(received_at, finished_at, due_at, apologised, res_wmin, procedure)"),
    # issue 16: each booking's latest status by its slot's day (from booking.* events: no personal data)
    ("CREATE TABLE IF NOT EXISTS rpt_booking (code TEXT PRIMARY KEY, day TEXT NOT NULL, service TEXT NOT NULL, "
     "slot TEXT NOT NULL, status TEXT NOT NULL) WITHOUT ROWID"),
    "CREATE INDEX IF NOT EXISTS rpt_booking_day ON rpt_booking (day)",
)
TABLES = ("rpt_cell", "rpt_roll", "rpt_rating", "rpt_rating_roll", "rpt_ticket", "rpt_counter", "rpt_dossier",
          "rpt_booking")
# 5: a takeover ends one staff member's duty and starts the next one's, duty keyed by login
# 6: ``timed`` (served tickets with a measured service time): a service across a closing is served, not timed
SCHEMA_VERSION = "6"     # a model of another version is emptied on open and rebuilt from the log by catching up


def encode_hist(hist: dict[int, int]) -> bytes | None:
    """Sparse histogram → bytes (little-endian uint32 pairs bucket, count); None when empty."""
    if not hist:
        return None
    flat = array("I")
    for i in sorted(hist):
        flat.append(i)
        flat.append(hist[i])
    return flat.tobytes()


def decode_hist(blob: bytes | None) -> dict[int, int]:
    if not blob:
        return {}
    flat = array("I")
    flat.frombytes(blob)
    return dict(zip(flat[0::2], flat[1::2], strict=True))


@dataclass(frozen=True, slots=True)
class DossierFacts:
    """The dossier fields reports need (from the lookup mirror)."""

    code: str
    procedure: str
    received_at: datetime
    status: str
    due_at: datetime | None
    finished_at: datetime | None
    apologised: bool


def facts_from_dossier(d: Any) -> DossierFacts:
    """From a queue_server.domain.dossier_status.Dossier (the mirror's record)."""
    finished = (d.finished_at or d.updated_at or d.synced_at) if d.finished else None
    return DossierFacts(d.code, d.procedure, d.received_at, str(d.status), d.due_at, finished,
                        d.original_due_at is not None)


class ReportStore:
    """``events_path``: the hub's SQLite file (read only). ``dossier(code)`` → DossierFacts | None and
    ``all_dossiers()`` → iterable of DossierFacts read the mirror; ``working_minutes(a, b)`` the calendar."""

    def __init__(self, path: str | Path, events_path: str | Path, *,
                 dossier: Callable[[str], DossierFacts | None] = lambda code: None,
                 all_dossiers: Callable[[], Iterable[DossierFacts]] = lambda: (),
                 working_minutes: Callable[[datetime, datetime], int] | None = None,
                 batch: int = 20000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.events_path = Path(events_path)
        self.dossier = dossier
        self.all_dossiers = all_dossiers
        self.working_minutes = working_minutes
        self.batch = batch
        self._lock = threading.RLock()           # one catch-up / rebuild at a time; reads use their own conn
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conn_lock = threading.Lock()
        self._writer = self._connect()
        self._events: sqlite3.Connection | None = None
        with self._lock:
            c = self._writer
            with db.immediate(c):
                c.execute(SCHEMA[0])
                row = c.execute("SELECT value FROM rpt_meta WHERE key = 'schema_version'").fetchone()
                if row is not None and row[0] != SCHEMA_VERSION:
                    # derived data: dropped and rebuilt from the log by catching up, rather than migrated
                    log.info("reports: model version %s → %s, rebuilding from the event log", row[0], SCHEMA_VERSION)
                    for table in TABLES:
                        c.execute(f"DROP TABLE IF EXISTS {table}")
                    c.execute("DELETE FROM rpt_meta WHERE key = 'last_seq'")
                had_bookings = c.execute("SELECT 1 FROM sqlite_master WHERE name = 'rpt_booking'").fetchone()
                for stmt in SCHEMA[1:]:
                    c.execute(stmt)
                c.execute("INSERT OR REPLACE INTO rpt_meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                if had_bookings is None:
                    self._backfill_bookings(c)

    def _backfill_bookings(self, c: sqlite3.Connection) -> None:
        """A model made before bookings were reported has caught up past their events: fold just those (read from
        the type index) up to its position, so nothing is counted twice and no full rebuild is needed."""
        row = c.execute("SELECT value FROM rpt_meta WHERE key = 'last_seq'").fetchone()
        if row is None or not self.events_path.exists():
            return
        kinds = sorted(rp.BOOKING_EVENTS)
        try:
            rows = self._events_conn().execute(
                f"SELECT seq, data FROM events WHERE seq <= ? AND type IN ({', '.join('?' * len(kinds))}) "
                f"ORDER BY seq", (int(row[0]), *kinds)).fetchall()
        except sqlite3.OperationalError:
            return              # no event log yet
        folder = rp.Folder(self._ledger, self._counter)
        for seq, data in rows:
            try:
                folder.booking(_loads(data))
            except (KeyError, TypeError, ValueError) as err:
                log.warning("reports: event %s skipped: %s", seq, err)
        self._write_bookings(c, folder.delta)

    @staticmethod
    def _write_bookings(c: sqlite3.Connection, delta: rp.Delta) -> None:
        c.executemany("INSERT OR REPLACE INTO rpt_booking VALUES (?,?,?,?,?)",
                      [(code, *row) for code, row in delta.bookings.items()])

    # -------------------------------------------------------------------------------------- connections
    def _connect(self) -> sqlite3.Connection:
        conn = db.connect(self.path)
        conn.execute("PRAGMA synchronous=NORMAL")     # a lost last batch is re-read from the log on start
        with self._conn_lock:
            self._conns.append(conn)
        return conn

    def _read(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _events_conn(self) -> sqlite3.Connection:
        if self._events is None:
            uri = f"file:{self.events_path.resolve()}?mode=ro"
            self._events = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False,
                                           timeout=30.0)
            self._events.execute("PRAGMA busy_timeout=30000")
        return self._events

    def close(self) -> None:
        with self._lock, self._conn_lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
            if self._events is not None:
                self._events.close()
                self._events = None
        self._local = threading.local()

    # -------------------------------------------------------------------------------------------- state
    @property
    def last_seq(self) -> int:
        row = self._read().execute("SELECT value FROM rpt_meta WHERE key = 'last_seq'").fetchone()
        return int(row[0]) if row else 0

    def _ledger(self, ticket_id: str) -> rp.LedgerRow | None:
        row = self._writer.execute("SELECT flags, ns FROM rpt_ticket WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            return None
        ns = json.loads(row[1]) if row[1] else None
        key: rp.CellKey | None = (str(ns[0]), str(ns[1]), str(ns[2]), str(ns[3]), int(ns[4])) if ns else None
        return rp.LedgerRow(int(row[0]), key)

    def _counter(self, counter_id: str) -> rp.CounterDuty | None:
        row = self._writer.execute("SELECT status, staff, since, last FROM rpt_counter WHERE id = ?",
                                   (counter_id,)).fetchone()
        if row is None:
            return None
        return rp.CounterDuty(row[0], row[1], parse_at(row[2]) if row[2] else None,
                              parse_at(row[3]) if row[3] else None)

    # --------------------------------------------------------------------------------------- catching up
    def catch_up(self, max_batches: int | None = None) -> int:
        """Apply the events stored after the last applied seq; returns how many relevant events it read."""
        done = 0
        with self._lock:
            batches = 0
            while max_batches is None or batches < max_batches:
                n, more = self._one_batch()
                done += n
                batches += 1
                if not more:
                    break
        return done

    def _one_batch(self) -> tuple[int, bool]:
        # The whole batch — reading the position, folding, writing the aggregates and the new position — is one
        # write transaction, so two feeders (the hub's and a `motcua reports rebuild`) never apply a batch twice.
        with db.immediate(self._writer):
            return self._fold_batch()

    def _fold_batch(self) -> tuple[int, bool]:
        events = self._events_conn()
        row = self._writer.execute("SELECT value FROM rpt_meta WHERE key = 'last_seq'").fetchone()
        after = int(row[0]) if row else 0
        # Read the top first: events committed after this read are left for the next batch, never skipped.
        top = int(events.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])
        if top <= after:
            return 0, False
        # A seq window, not a LIMIT: SQLite answers "type IN (...)" from the type index and sorts, so a LIMIT would
        # still read every later event each batch; the window bounds the work of a batch to its own size.
        new_last = min(top, after + self.batch)
        kinds = sorted(rp.RELEVANT)
        rows = events.execute(
            f"SELECT seq, type, at, data FROM events WHERE seq > ? AND seq <= ? AND type IN "
            f"({', '.join('?' * len(kinds))}) ORDER BY seq", (after, new_last, *kinds)).fetchall()
        folder = rp.Folder(self._ledger, self._counter)
        for _seq, kind, at, data in rows:
            try:
                folder.fold(kind, at, _loads(data))
            except (KeyError, TypeError, ValueError) as err:
                # one malformed stored event must not stop reporting for good; it is logged and skipped
                log.warning("reports: event %s (%s) skipped: %s", _seq, kind, err)
        self._write(folder.delta, new_last)
        return len(rows), new_last < top

    def _dossier_row(self, f: DossierFacts) -> tuple[Any, ...]:
        res = None
        if f.finished_at is not None:
            if self.working_minutes is not None:
                try:
                    res = self.working_minutes(f.received_at, f.finished_at)
                except ValueError:
                    res = None
            else:
                res = max(0, int((f.finished_at - f.received_at).total_seconds() // 60))
        # epoch seconds: a year's report compares ~100,000 rows a dozen times; integers compare fastest
        return (f.code, f.procedure, _epoch(f.received_at), _epoch(f.due_at), _epoch(f.finished_at),
                int(f.apologised), f.status, res)

    def _write(self, delta: rp.Delta, new_last: int) -> None:
        """Inside the caller's transaction: merge ``delta`` into the tables and move the position."""
        c = self._writer
        rolls: dict[tuple[str, str, str], rp.Measures] = {}
        for key, m in delta.cells.items():
            for rk in rp.rollup_keys(key):
                acc = rolls.get(rk)
                if acc is None:
                    acc = rolls[rk] = rp.Measures()
                acc.add(m)
        dossier_rows = []
        for code in delta.dossiers:
            facts = self.dossier(code)
            if facts is not None:
                dossier_rows.append(self._dossier_row(facts))
        self._merge(c, "rpt_cell", ("day", "service", "counter", "staff", "hour"), delta.cells.items())
        self._merge(c, "rpt_roll", ("day", "dim", "key"), rolls.items())
        c.executemany("INSERT INTO rpt_rating VALUES (?,?,?,?,?,?) ON CONFLICT(day, service, counter, staff, "
                      "level) DO UPDATE SET n = n + excluded.n", [(*k, n) for k, n in delta.ratings.items()])
        rating_rolls: dict[tuple[str, str, str, int], int] = {}
        for (day, service, counter, staff, level), n in delta.ratings.items():
            for dim, value in (("all", ""), ("service", service), ("counter", counter), ("staff", staff)):
                if value or dim == "all":
                    rating_key = (dim, day, value, level)
                    rating_rolls[rating_key] = rating_rolls.get(rating_key, 0) + n
        c.executemany("INSERT INTO rpt_rating_roll VALUES (?,?,?,?,?) ON CONFLICT(dim, day, key, level) "
                      "DO UPDATE SET n = n + excluded.n", [(*k, n) for k, n in rating_rolls.items()])
        c.executemany("INSERT OR REPLACE INTO rpt_ticket VALUES (?,?,?)",
                      [(tid, r.flags, json.dumps(r.no_show_key) if r.no_show_key else None)
                       for tid, r in delta.ledger.items()])
        c.executemany("INSERT OR REPLACE INTO rpt_counter VALUES (?,?,?,?,?)",
                      [(cid, d.status, d.staff, format_at(d.since) if d.since else None,
                        format_at(d.last) if d.last else None) for cid, d in delta.counters.items()])
        c.executemany("INSERT OR REPLACE INTO rpt_dossier VALUES (?,?,?,?,?,?,?,?)", dossier_rows)
        self._write_bookings(c, delta)
        c.execute("INSERT OR REPLACE INTO rpt_meta VALUES ('last_seq', ?)", (str(new_last),))

    @staticmethod
    def _merge(c: sqlite3.Connection, table: str, key_cols: tuple[str, ...],
               items: Iterable[tuple[tuple[Any, ...], rp.Measures]]) -> None:
        """Add ``items`` to the stored rows: the rows of the days concerned are read in one query per day (a
        batch spans few days), merged in Python (histograms), and written back."""
        items = list(items)
        days = sorted({key[0] for key, _ in items})
        nk = len(key_cols)
        stored: dict[tuple[Any, ...], rp.Measures] = {}
        select = (f"SELECT {', '.join(key_cols)}, {', '.join(_MEASURE_COLS)}, wait_h, service_h FROM {table} "
                  f"WHERE day = ?")
        for day in days:
            for row in c.execute(select, (day,)):
                stored[tuple(row[:nk])] = _measures(row[nk:])
        cols = (*key_cols, *_MEASURE_COLS, "wait_h", "service_h")
        upsert = f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        out = []
        for key, m in items:
            old = stored.get(key)
            if old is not None:
                old.add(m)
                m = old
            out.append((*key, m.issued, m.called, m.wait_sum, m.served, m.timed, m.service_sum, m.no_show, m.cancelled,
                        m.transferred, m.open_s, m.pause_s, m.wait_max, m.service_max, encode_hist(m.wait),
                        encode_hist(m.service)))
        c.executemany(upsert, out)

    # ------------------------------------------------------------------------------------------ rebuild
    def rebuild(self, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Empty the model and apply the whole event log again; dossiers are copied from the mirror afresh."""
        started = time.perf_counter()
        with self._lock:
            with db.immediate(self._writer) as c:
                for table in TABLES:
                    c.execute(f"DELETE FROM {table}")
                c.execute("DELETE FROM rpt_meta WHERE key = 'last_seq'")
            events = 0
            batch, self.batch = self.batch, max(self.batch, 100_000)
            try:
                while True:
                    n, more = self._one_batch()
                    events += n
                    if progress is not None:
                        progress(events)
                    if not more:
                        break
            finally:
                self.batch = batch
            dossiers = self.copy_dossiers()
        elapsed = time.perf_counter() - started
        return {"events": events, "dossiers": dossiers, "seconds": round(elapsed, 3),
                "events_per_s": round(events / elapsed) if elapsed > 0 else None, "last_seq": self.last_seq}

    def copy_dossiers(self, chunk: int = 5000) -> int:
        """Copy every mirrored dossier's figures (a mirror filled by a bulk load has no dossier.updated events)."""
        count = 0
        buf: list[tuple[Any, ...]] = []
        c = self._writer

        def flush() -> None:
            with db.immediate(c):
                c.executemany("INSERT OR REPLACE INTO rpt_dossier VALUES (?,?,?,?,?,?,?,?)", buf)
            buf.clear()

        with self._lock:
            for facts in self.all_dossiers():
                buf.append(self._dossier_row(facts))
                count += 1
                if len(buf) >= chunk:
                    flush()
            if buf:
                flush()
        return count

    # -------------------------------------------------------------------------------------------- reads
    def measures(self, start: date, end: date, group: str, *, service: str | None = None,
                 counter: str | None = None, staff: str | None = None) -> dict[str, rp.Measures]:
        """Summed measures for [start, end] per group value: group is one of all, service, counter, staff, hour
        (the daily rollups) or day, weekday_hour; with a service/counter/staff filter the fine cells are read."""
        lo, hi = start.isoformat(), end.isoformat()
        filtered = any(x is not None for x in (service, counter, staff))
        if not filtered and group in rp.ROLLUP_DIMS:
            return self._sum("rpt_roll", "key", "dim = ? AND day >= ? AND day <= ?", [group, lo, hi])
        if not filtered and group in ("day", "weekday_hour"):
            # weekday from the ISO day in SQL: strftime('%w') is 0 for Sunday; 1 = Monday as in isoweekday
            key = "day" if group == "day" else \
                "((CAST(strftime('%w', day) AS INTEGER) + 6) % 7 + 1) || '-' || key"
            return self._sum("rpt_roll", key, "dim = ? AND day >= ? AND day <= ?",
                             ["all" if group == "day" else "hour", lo, hi])
        where, args = ["day >= ?", "day <= ?"], [lo, hi]
        for col, value in (("service", service), ("counter", counter), ("staff", staff)):
            if value is not None:
                where.append(f"{col} = ?")
                args.append(value)
        key_expr = {"all": "''", "service": "service", "counter": "counter", "staff": "staff",
                    "hour": "printf('%02d', hour)", "day": "day"}.get(group)
        if key_expr is None:
            raise ValueError(f"group: {group!r} cannot be combined with a filter")
        out = self._sum("rpt_cell", key_expr, " AND ".join(where), args)
        if group in ("service", "counter", "staff"):
            out.pop("", None)          # facts with no service (duty), counter or staff (issued) are not a group
        return out

    def _sum(self, table: str, key: str, where: str, args: Sequence[Any]) -> dict[str, rp.Measures]:
        """Scalars summed by SQLite (GROUP BY), histograms summed with numpy over the rows that have one."""
        conn = self._read()
        sums = ", ".join([*(f"SUM({c})" for c in rp.SCALARS), *(f"MAX({c})" for c in rp.MAXES)])
        out: dict[str, rp.Measures] = {}
        for row in conn.execute(f"SELECT {key}, {sums} FROM {table} WHERE {where} GROUP BY 1", args):
            out[str(row[0])] = _scalars(row[1:])
        if out:
            rows = conn.execute(f"SELECT {key}, wait_h, service_h FROM {table} WHERE {where} "
                                f"AND (wait_h IS NOT NULL OR service_h IS NOT NULL)", args).fetchall()
            keys = list(out)
            index = {k: i for i, k in enumerate(keys)}
            for col, attr in ((1, "wait"), (2, "service")):
                _sum_hists(rows, col, index, keys, out, attr)
        return out

    def ratings(self, start: date, end: date, group: str, *, service: str | None = None,
                counter: str | None = None, staff: str | None = None) -> dict[str, dict[int, int]]:
        """Rating counts per group value and level (the daily rollups unless a filter asks for the fine rows)."""
        lo, hi = start.isoformat(), end.isoformat()
        if all(x is None for x in (service, counter, staff)) and group in ("all", "service", "counter", "staff",
                                                                             "day"):
            key_expr = "day" if group == "day" else "key"
            dim = "all" if group == "day" else group
            sql = (f"SELECT {key_expr}, level, SUM(n) FROM rpt_rating_roll WHERE dim = ? AND day >= ? AND day <= ? "
                   f"GROUP BY 1, 2")
            args: list[Any] = [dim, lo, hi]
        else:
            key_expr = {"all": "''", "service": "service", "counter": "counter", "staff": "staff",
                        "day": "day"}.get(group, "''")
            where, args = ["day >= ?", "day <= ?"], [lo, hi]
            for col, value in (("service", service), ("counter", counter), ("staff", staff)):
                if value is not None:
                    where.append(f"{col} = ?")
                    args.append(value)
            sql = f"SELECT {key_expr}, level, SUM(n) FROM rpt_rating WHERE {' AND '.join(where)} GROUP BY 1, 2"
        out: dict[str, dict[int, int]] = {}
        for key, level, n in self._read().execute(sql, args):
            out.setdefault(str(key), {})[int(level)] = int(n)
        return out

    def dossier_counts(self, since: datetime, until: datetime, as_of: datetime,
                       soon: datetime) -> list[tuple[Any, ...]]:
        """Dossiers that concern [since, until), counted per (procedure, received in the period, finished class,
        in-progress class, apologised): rows (procedure, received, fc, pc, apologised, count, resolution count,
        resolution working minutes). fc: 0 not finished in the period (before ``as_of``), 1 on time, 2 late (an
        apology counts as late), 3 no deadline. pc: 0 not in progress at ``as_of``, 1 not yet due, 2 nearly due
        (due before ``soon``), 3 overdue. One GROUP BY over small integer classes: a year (~100,000 dossiers)
        costs one sort, not a dozen SUMs."""
        sql = """
            SELECT procedure, r, fc, pc, ap, COUNT(*), SUM(fc > 0 AND res_wmin IS NOT NULL),
                   COALESCE(SUM(CASE WHEN fc > 0 THEN res_wmin END), 0)
            FROM (
                SELECT procedure, res_wmin, apologised AS ap, received_at >= :since AS r,
                       CASE WHEN finished_at >= :since AND finished_at < :until AND finished_at < :as_of THEN
                            CASE WHEN due_at IS NULL THEN 3 WHEN finished_at <= due_at AND apologised = 0 THEN 1
                                 ELSE 2 END
                       ELSE 0 END AS fc,
                       CASE WHEN received_at < :as_of AND (finished_at IS NULL OR finished_at >= :as_of) THEN
                            CASE WHEN due_at IS NULL THEN 1 WHEN :as_of > due_at THEN 3 WHEN due_at < :soon THEN 2
                                 ELSE 1 END
                       ELSE 0 END AS pc
                FROM rpt_dossier
                WHERE received_at < :until AND (finished_at IS NULL OR finished_at >= :since)
                LIMIT -1)
            GROUP BY 1, 2, 3, 4, 5"""
        args = {"since": _epoch(since), "until": _epoch(until), "as_of": _epoch(as_of), "soon": _epoch(soon)}
        return self._read().execute(sql, args).fetchall()

    def open_duty(self) -> list[tuple[str, str, str, datetime, datetime | None]]:
        """(counter, staff, status, since, last activity) of counters open or paused now: their current interval is
        not in the aggregates until the counter's next event, so a report of today adds it up to now."""
        return [(r[0], r[2], r[1], parse_at(r[3]), parse_at(r[4]) if r[4] else None) for r in self._read().execute(
            "SELECT id, status, staff, since, last FROM rpt_counter "
            "WHERE status IN ('open', 'paused') AND since IS NOT NULL")]

    def booking_counts(self, start: date, end: date) -> list[tuple[str, str, str, str, int]]:
        """(day, service, slot start ISO, status, how many) for bookings whose slot lies in [start, end]."""
        rows = self._read().execute(
            "SELECT day, service, slot, status, COUNT(*) FROM rpt_booking WHERE day >= ? AND day <= ? "
            "GROUP BY day, service, slot, status", (start.isoformat(), end.isoformat())).fetchall()
        return [(str(a), str(b), str(c), str(d), int(n)) for a, b, c, d, n in rows]

    def counts(self) -> dict[str, int]:
        conn = self._read()
        return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in TABLES}


def _epoch(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def _scalars(values: Sequence[Any]) -> rp.Measures:
    fields: dict[str, Any] = {name: int(v or 0) for name, v in zip(_MEASURE_COLS, values, strict=True)}
    return rp.Measures(**fields)


def _measures(row: Sequence[Any]) -> rp.Measures:
    m = _scalars(row[:len(_MEASURE_COLS)])
    m.wait = decode_hist(row[len(_MEASURE_COLS)])
    m.service = decode_hist(row[len(_MEASURE_COLS) + 1])
    return m


def _sum_hists(rows: Sequence[Sequence[Any]], col: int, index: dict[str, int], keys: list[str],
               out: dict[str, rp.Measures], attr: str) -> None:
    """Add the sparse histogram blobs of ``rows`` (column ``col``) into ``out[key].<attr>``: one bincount over
    all (group, bucket) pairs, so a year of daily rollups costs a few numpy calls rather than a Python loop."""
    blobs = [(index[str(r[0])], r[col]) for r in rows if r[col]]
    if not blobs:
        return
    if len(blobs) < 64:
        for gi, blob in blobs:
            rp.add_hist(getattr(out[keys[gi]], attr), decode_hist(blob))
        return
    flat = np.frombuffer(b"".join(b for _, b in blobs), dtype="<u4").reshape(-1, 2)
    per_row = np.fromiter((len(b) // 8 for _, b in blobs), dtype=np.int64, count=len(blobs))
    groups = np.repeat(np.fromiter((g for g, _ in blobs), dtype=np.int64, count=len(blobs)), per_row)
    summed = np.bincount(groups * rp.NBUCKETS + flat[:, 0].astype(np.int64), weights=flat[:, 1],
                         minlength=len(keys) * rp.NBUCKETS).reshape(len(keys), rp.NBUCKETS)
    for group in np.flatnonzero(summed.any(axis=1)):
        row = summed[group]
        setattr(out[keys[int(group)]], attr, {int(i): int(row[i]) for i in np.flatnonzero(row)})
