"""Ratings in the hub's SQLite file (the RatingsRepository port): its own tables and migrations (runtime.sqlite).

UNIQUE constraints (ticket id; dossier code) make a duplicate impossible to store, even when two rating pads
or a pad and a tablet race: the second insert fails inside its transaction and nothing of it is written.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from datetime import date, datetime
from pathlib import Path

from contracts.errors import ErrorCode, MotcuaError
from queue_server.app.ports import RatingsRepository
from queue_server.domain.ratings import Rating
from runtime import sqlite as db
from runtime.sqlite import Migration

COMPONENT = "ratings"
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "ratings and the dossier codes they claim", """
    CREATE TABLE IF NOT EXISTS ratings (
        id TEXT PRIMARY KEY,
        ticket_id TEXT NOT NULL UNIQUE,
        ticket_number TEXT NOT NULL,
        counter TEXT NOT NULL,
        staff TEXT,
        service TEXT NOT NULL,
        day TEXT NOT NULL,
        level INTEGER NOT NULL,
        at TEXT NOT NULL,
        criteria TEXT NOT NULL DEFAULT '{}',
        source TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX IF NOT EXISTS ratings_day ON ratings(day);
    CREATE TABLE IF NOT EXISTS rating_dossiers (
        dossier_code TEXT PRIMARY KEY,
        rating_id TEXT NOT NULL REFERENCES ratings(id)
    );
    """),
)


def _legacy_version(conn: sqlite3.Connection) -> int:
    # files made before runtime.sqlite kept the version in ratings_schema
    if not db.table_exists(conn, "ratings_schema"):
        return 0
    return int(conn.execute("SELECT MAX(version) FROM ratings_schema").fetchone()[0] or 0)


class RatingsStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = db.connect(self.path, foreign_keys=True)
        with self._lock:
            db.migrate(self._conn, COMPONENT, MIGRATIONS, legacy_version=_legacy_version)

    def add(self, rating: Rating) -> None:
        """Store a rating and claim its dossier codes, all or nothing; MotcuaError already_rated on a duplicate."""
        with self._lock:
            try:
                with db.immediate(self._conn):
                    self._conn.execute(
                            "INSERT INTO ratings(id, ticket_id, ticket_number, counter, staff, service, day, level,"
                        " at, criteria, source) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (rating.id, rating.ticket_id, rating.ticket_number, rating.counter, rating.staff,
                         rating.service, rating.day.isoformat(), rating.level, rating.at.isoformat(),
                         json.dumps(dict(rating.criteria)), rating.source))
                    for code in rating.dossier_codes:
                        self._conn.execute("INSERT INTO rating_dossiers(dossier_code, rating_id) VALUES (?, ?)",
                                           (code, rating.id))
            except sqlite3.IntegrityError as err:   # rolled back: nothing of this rating was stored
                raise self._duplicate(rating) from err

    def _duplicate(self, rating: Rating) -> MotcuaError:
        # Called after the rollback, so these reads see what the winner of a race committed.
        if self._conn.execute("SELECT 1 FROM ratings WHERE ticket_id = ?", (rating.ticket_id,)).fetchone():
            return MotcuaError(ErrorCode.ALREADY_RATED, f"ticket {rating.ticket_number} has already been rated")
        for code in rating.dossier_codes:
            if self._conn.execute("SELECT 1 FROM rating_dossiers WHERE dossier_code = ?", (code,)).fetchone():
                return MotcuaError(ErrorCode.ALREADY_RATED, f"dossier {code} has already been rated")
        return MotcuaError(ErrorCode.ALREADY_RATED, "this rating has already been stored")

    def for_ticket(self, ticket_id: str) -> Rating | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM ratings WHERE ticket_id = ?", (ticket_id,)).fetchone()
            return self._rating(row) if row else None

    def dossier_rated(self, code: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM rating_dossiers WHERE dossier_code = ?",
                                      (code,)).fetchone() is not None

    def on_day(self, day: date) -> list[Rating]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM ratings WHERE day = ? ORDER BY at, id",
                                      (day.isoformat(),)).fetchall()
            return [self._rating(r) for r in rows]

    def between(self, first: date, last: date) -> list[Rating]:
        """Ratings from day ``first`` to day ``last``, both included."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM ratings WHERE day BETWEEN ? AND ? ORDER BY at, id",
                                      (first.isoformat(), last.isoformat())).fetchall()
            return [self._rating(r) for r in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM ratings").fetchone()[0])

    def _rating(self, row: tuple[object, ...]) -> Rating:
        (rid, ticket_id, number, counter, staff, service, day, level, at, criteria, source) = row
        codes = tuple(r[0] for r in self._conn.execute(
            "SELECT dossier_code FROM rating_dossiers WHERE rating_id = ? ORDER BY dossier_code", (rid,)))
        return Rating(str(rid), str(ticket_id), str(number), str(counter), None if staff is None else str(staff),
                      str(service), date.fromisoformat(str(day)), int(str(level)),
                      datetime.fromisoformat(str(at)),
                      tuple(sorted((str(k), int(v)) for k, v in json.loads(str(criteria)).items())), codes,
                      str(source))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _implements_the_port(store: RatingsStore) -> RatingsRepository:
    return store          # mypy checks that RatingsStore satisfies the RatingsRepository port
