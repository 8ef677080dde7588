"""Staff sessions in the hub's SQLite file (the SessionRepository port): only a SHA-256 of each bearer token is
stored, never the token, so a copy of the file (a backup) logs nobody in. Own table and migrations
(runtime.sqlite), beside the event log and the ratings. Must not decide who may log in (queue_server.web.auth)."""
from __future__ import annotations

import threading
from pathlib import Path

from queue_server.app.ports import StoredSession
from runtime import sqlite as db
from runtime.sqlite import Migration

COMPONENT = "sessions"
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "staff sessions by token hash", """
    CREATE TABLE IF NOT EXISTS staff_sessions (
        token_sha256 TEXT PRIMARY KEY,
        username     TEXT NOT NULL,
        role         TEXT NOT NULL,
        display_name TEXT NOT NULL,
        expires_at   REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS staff_sessions_user ON staff_sessions(username)
    """),
)


class SessionStore:
    def __init__(self, path: str | Path) -> None:
        self._lock = threading.Lock()
        self._conn = db.connect(path)
        with self._lock:
            db.migrate(self._conn, COMPONENT, MIGRATIONS)

    def add(self, s: StoredSession, now: float) -> None:
        with self._lock, db.immediate(self._conn):
            # expired rows go with each login: the table never holds more than the live sessions of a day
            self._conn.execute("DELETE FROM staff_sessions WHERE expires_at <= ?", (now,))
            self._conn.execute("INSERT OR REPLACE INTO staff_sessions VALUES (?,?,?,?,?)",
                               (s.token_sha256, s.username, s.role, s.display_name, s.expires_at))

    def get(self, token_sha256: str) -> StoredSession | None:
        with self._lock:
            row = self._conn.execute("SELECT token_sha256, username, role, display_name, expires_at "
                                     "FROM staff_sessions WHERE token_sha256 = ?", (token_sha256,)).fetchone()
        return StoredSession(*row) if row else None

    def delete(self, token_sha256: str) -> bool:
        with self._lock, db.immediate(self._conn):
            return self._conn.execute("DELETE FROM staff_sessions WHERE token_sha256 = ?",
                                      (token_sha256,)).rowcount > 0

    def delete_user(self, username: str, keep: str | None = None) -> int:
        """Every stored session of ``username`` but the one whose hash is ``keep``."""
        with self._lock, db.immediate(self._conn):
            return int(self._conn.execute("DELETE FROM staff_sessions WHERE username = ? AND token_sha256 IS NOT ?",
                                          (username, keep)).rowcount)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
