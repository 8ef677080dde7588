"""The live configuration's storage beside the event log, in the hub's own SQLite file: the ``config.changed``
events read back in order (to replay them on top of the TOML seed at start, and for ``motcua config export``),
the events of a day for the audit page, and the ``credentials`` table, where password hashes set from the admin page live (never in the event log,
which MQTT, SSE and the outbox carry). Its own migrations under the component name ``credentials``.

Must not: decide anything (what a change means is runtime.settings.edit's), or write events (the writer does).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from queue_server.app.ports import ConfigRepository
from runtime import sqlite as db

_MIGRATIONS = [
    db.Migration(1, "password hashes set live", """
CREATE TABLE credentials (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, set_at TEXT NOT NULL)
"""),
]


class ConfigLog:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = db.connect(self.path)
        db.migrate(self._conn, "credentials", _MIGRATIONS)

    def changes(self) -> Iterator[dict[str, Any]]:
        """Every ``config.changed`` event's data, oldest first (the events table may not exist yet)."""
        if not db.table_exists(self._conn, "events"):
            return
        for (data,) in self._conn.execute("SELECT data FROM events WHERE type = 'config.changed' ORDER BY seq"):
            yield json.loads(data)

    def events_between(self, start: str, end: str, prefixes: tuple[str, ...], limit: int
                       ) -> list[tuple[int, str, str, dict[str, Any]]]:
        """Events ``start <= at < end`` (ISO text, +07:00) whose type starts with one of ``prefixes``, oldest
        first, at most ``limit``: the audit page's rows."""
        if not db.table_exists(self._conn, "events"):
            return []
        # "type LIKE 'ticket.%'" cannot use an index, and no index starts with ``at``: that read every event of
        # every day (a year's log: 2.3 million rows a page view). The log holds a few dozen types, so name the ones
        # that match and let idx_events_type_at find the day's rows of each.
        kinds = [k for k in self.event_types() if k.startswith(prefixes)] if prefixes else self.event_types()
        if not kinds:
            return []
        rows = self._conn.execute(
            f"SELECT seq, type, at, data FROM events WHERE type IN ({', '.join('?' * len(kinds))}) "
            "AND at >= ? AND at < ? ORDER BY seq LIMIT ?", (*kinds, start, end, limit)).fetchall()
        return [(seq, kind, at, json.loads(data)) for seq, kind, at, data in rows]

    def event_types(self) -> list[str]:
        """The distinct event types in the log, from the type index: one seek per type, not a scan of the log."""
        if not db.table_exists(self._conn, "events"):
            return []
        return [kind for (kind,) in self._conn.execute(
            "WITH RECURSIVE kinds(type) AS (SELECT MIN(type) FROM events UNION ALL "
            "SELECT (SELECT MIN(type) FROM events WHERE type > kinds.type) FROM kinds WHERE kinds.type IS NOT NULL) "
            "SELECT type FROM kinds WHERE type IS NOT NULL")]

    def credentials(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT username, password_hash FROM credentials").fetchall())

    def set_credential(self, username: str, password_hash: str, at: str) -> None:
        with db.immediate(self._conn) as c:
            c.execute("INSERT INTO credentials(username, password_hash, set_at) VALUES (?,?,?) "
                      "ON CONFLICT(username) DO UPDATE SET password_hash = excluded.password_hash, "
                      "set_at = excluded.set_at", (username, password_hash, at))

    def forget_credential(self, username: str) -> bool:
        """Drop the password set live for ``username`` (``motcua user set-password`` sets the file's, which then
        applies at the next start); True when there was one."""
        with db.immediate(self._conn) as c:
            return c.execute("DELETE FROM credentials WHERE username = ?", (username,)).rowcount > 0

    def close(self) -> None:
        self._conn.close()


def _implements_the_port(log: ConfigLog) -> ConfigRepository:
    return log          # mypy checks that ConfigLog satisfies the ConfigRepository port
