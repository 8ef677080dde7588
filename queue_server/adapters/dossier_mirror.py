"""SQLite lookup mirror of the main system's dossiers: what a kiosk may show, keyed by normalized dossier code.

Its own tables (prefixed ``dossier_``) and migrations, so it can live in the hub's database file or in a file of
its own; the default is a file of its own so a large mirror and its sync writes never contend with the queue's
writer. Implements the DossierMirrorPort. Stores only masked applicant names. Knows nothing of HTTP or of the main system's wire format.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from contracts.messages import format_at, parse_at
from queue_server.app.ports import DossierMirrorPort, MirrorUpdate, UpsertResult
from queue_server.domain.dossier_status import Dossier, DossierStatus, DossierStep
from runtime import sqlite as db
from runtime.sqlite import Migration

__all__ = ["MIGRATIONS", "DossierMirror", "MirrorUpdate", "UpsertResult", "dossier_row"]

# Each entry runs once, in order, inside a transaction; never edit a released entry, append a new one.
COMPONENT = "dossiers"
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "dossier mirror, push ids seen, meta", """
    CREATE TABLE IF NOT EXISTS dossier_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE dossier_mirror (
        code TEXT PRIMARY KEY,
        procedure TEXT NOT NULL,
        applicant_masked TEXT NOT NULL,
        received_at TEXT NOT NULL,
        status TEXT NOT NULL,
        due_at TEXT,
        appointment_at TEXT,
        original_due_at TEXT,
        apology_reason TEXT NOT NULL DEFAULT '',
        finished_at TEXT,
        steps TEXT NOT NULL DEFAULT '[]',
        updated_at TEXT,
        synced_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE dossier_push_seen (
        update_id TEXT PRIMARY KEY,
        code TEXT NOT NULL,
        result TEXT NOT NULL,
        at TEXT NOT NULL
    ) WITHOUT ROWID
    """),
    Migration(2, "on-time / resolution rates by receipt date",
              "CREATE INDEX dossier_mirror_received ON dossier_mirror (received_at)"),
)


def _legacy_version(conn: sqlite3.Connection) -> int:
    # files made before runtime.sqlite kept the version in dossier_meta
    if not db.table_exists(conn, "dossier_meta"):
        return 0
    row = conn.execute("SELECT value FROM dossier_meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0

_COLUMNS = ("code", "procedure", "applicant_masked", "received_at", "status", "due_at", "appointment_at",
            "original_due_at", "apology_reason", "finished_at", "steps", "updated_at", "synced_at")
_INSERT = (f"INSERT OR REPLACE INTO dossier_mirror ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in _COLUMNS)})")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM dossier_mirror WHERE code = ?"


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else format_at(moment)


def _dt(text: str | None) -> datetime | None:
    return None if text is None else parse_at(text)


def _steps_json(steps: tuple[DossierStep, ...]) -> str:
    return json.dumps([{"name": s.name, "unit": s.unit, "started_at": _ts(s.started_at), "due_at": _ts(s.due_at),
                        "done_at": _ts(s.done_at)} for s in steps], ensure_ascii=False, separators=(",", ":"))


def dossier_row(d: Dossier) -> tuple[Any, ...]:
    if d.synced_at is None:
        raise ValueError("a mirrored dossier needs synced_at")
    return (d.code, d.procedure, d.applicant_masked, format_at(d.received_at), str(d.status), _ts(d.due_at),
            _ts(d.appointment_at), _ts(d.original_due_at), d.apology_reason, _ts(d.finished_at),
            _steps_json(d.steps), _ts(d.updated_at), format_at(d.synced_at))


def _from_row(row: tuple[Any, ...]) -> Dossier:
    steps = tuple(DossierStep(s["name"], s.get("unit", ""), _dt(s.get("started_at")), _dt(s.get("due_at")),
                              _dt(s.get("done_at"))) for s in json.loads(row[10]))
    return Dossier(code=row[0], procedure=row[1], applicant_masked=row[2], received_at=parse_at(row[3]),
                   status=DossierStatus(row[4]), due_at=_dt(row[5]), appointment_at=_dt(row[6]),
                   original_due_at=_dt(row[7]), apology_reason=row[8], finished_at=_dt(row[9]), steps=steps,
                   updated_at=_dt(row[11]), synced_at=parse_at(row[12]))


class DossierMirror:
    """Thread-safe: one SQLite connection per thread (WAL lets kiosks read while a sync writes)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._migrate()

    # ---- connections ----------------------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = db.connect(self.path, busy_timeout_s=10)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    def _migrate(self) -> None:
        with self._write_lock:
            db.migrate(self._conn(), COMPONENT, MIGRATIONS, legacy_version=_legacy_version)

    @property
    def schema_version(self) -> int:
        return db.schema_version(self._conn(), COMPONENT)

    # ---- reads ----------------------------------------------------------------------------------------------
    def get(self, code: str) -> Dossier | None:
        row = self._conn().execute(_SELECT, (code,)).fetchone()
        return None if row is None else _from_row(row)

    def count(self) -> int:
        return int(self._conn().execute("SELECT count(*) FROM dossier_mirror").fetchone()[0])

    def outcomes(self, received_from: datetime, received_before: datetime) -> list[tuple[Dossier, bool]]:
        """(dossier, finished) for dossiers received in [from, before) — for the rates; steps are not loaded."""
        rows = self._conn().execute(
            f"SELECT {', '.join(_COLUMNS)} FROM dossier_mirror WHERE received_at >= ? AND received_at < ?",
            (format_at(received_from), format_at(received_before))).fetchall()
        result = []
        for row in rows:
            d = _from_row((*row[:10], "[]", *row[11:]))
            result.append((d, d.finished))
        return result

    def each(self, chunk: int = 5000) -> Iterator[Dossier]:
        """Every mirrored dossier without its steps, in code order (the reports model copies them on rebuild)."""
        last = ""
        while True:
            rows = self._conn().execute(
                f"SELECT {', '.join(_COLUMNS)} FROM dossier_mirror WHERE code > ? ORDER BY code LIMIT ?",
                (last, chunk)).fetchall()
            if not rows:
                return
            for row in rows:
                yield _from_row((*row[:10], "[]", *row[11:]))
            last = rows[-1][0]

    def meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM dossier_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # ---- writes ---------------------------------------------------------------------------------------------
    def set_meta(self, key: str, value: str) -> None:
        with self._write_lock:
            self._conn().execute("INSERT OR REPLACE INTO dossier_meta VALUES (?, ?)", (key, value))

    def apply(self, updates: Iterable[MirrorUpdate], now: datetime) -> list[UpsertResult]:
        """Apply updates in one transaction: all or nothing. Idempotent per ``update_id``; an update older than
        the stored record (by ``updated_at``) is ignored as stale, so out-of-order pushes cannot go backwards."""
        conn = self._conn()
        results: list[UpsertResult] = []
        with self._write_lock, db.immediate(conn):
            for update in updates:
                results.append(self._apply_one(conn, update, now))
            conn.execute("INSERT OR REPLACE INTO dossier_meta VALUES ('last_sync_at', ?)", (format_at(now),))
        return results

    def _apply_one(self, conn: sqlite3.Connection, update: MirrorUpdate, now: datetime) -> UpsertResult:
        d = update.dossier
        if update.update_id is not None:
            seen = conn.execute("SELECT 1 FROM dossier_push_seen WHERE update_id = ?", (update.update_id,))
            if seen.fetchone():
                return UpsertResult.DUPLICATE
        row = conn.execute("SELECT updated_at FROM dossier_mirror WHERE code = ?", (d.code,)).fetchone()
        result = UpsertResult.APPLIED
        if row is not None and row[0] is not None and d.updated_at is not None and parse_at(row[0]) > d.updated_at:
            result = UpsertResult.STALE
        else:
            conn.execute(_INSERT, dossier_row(_with_sync(d, now)))
        if update.update_id is not None:
            conn.execute("INSERT INTO dossier_push_seen VALUES (?, ?, ?, ?)",
                         (update.update_id, d.code, str(result), format_at(now)))
        return result

    def upsert(self, dossier: Dossier, now: datetime, update_id: str | None = None) -> UpsertResult:
        return self.apply([MirrorUpdate(dossier, update_id)], now)[0]

    def bulk_load(self, rows: Iterable[tuple[Any, ...]], chunk: int = 50_000) -> int:
        """Fast initial load (rows shaped like ``dossier_row``): executemany in one transaction."""
        conn = self._conn()
        total = 0
        with self._write_lock, db.immediate(conn):
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= chunk:
                    conn.executemany(_INSERT, batch)
                    total += len(batch)
                    batch.clear()
            conn.executemany(_INSERT, batch)
            total += len(batch)
        return total

    def forget_push_ids_before(self, moment: datetime) -> int:
        """Housekeeping: idempotency keys older than any retry window can go."""
        conn = self._conn()
        with self._write_lock:
            cur = conn.execute("DELETE FROM dossier_push_seen WHERE at < ?", (format_at(moment),))
        return cur.rowcount


def _with_sync(d: Dossier, now: datetime) -> Dossier:
    return replace(d, synced_at=now)


def _implements_the_port(mirror: DossierMirror) -> DossierMirrorPort:
    return mirror         # mypy checks that DossierMirror satisfies the DossierMirrorPort
