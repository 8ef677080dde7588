"""The restore mark in the hub's SQLite file (the RestoreMarks port): one row ``motcua restore`` writes into the
event store it puts back, which the hub reads at start and deletes once its hold on new offline leases is over
(queue_server/app/lease_hold.py). Own table and migrations (runtime.sqlite), beside the event log.

A normal restart finds no row and is not delayed; a restart during the hold finds the row still there and holds
again (the kiosks re-report at every hub start). Must not decide how long the hold lasts.
"""
from __future__ import annotations

from pathlib import Path

from runtime import sqlite as db
from runtime.sqlite import Migration

COMPONENT = "restore_mark"
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the mark of a store put back from a backup", """
    CREATE TABLE IF NOT EXISTS restore_mark (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        backup      TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        restored_at TEXT NOT NULL
    )
    """),
)


def mark_restored(path: str | Path, backup: str, created_at: str, restored_at: str) -> None:
    """Mark the event store at ``path`` as put back from ``backup`` (made at ``created_at``)."""
    conn = db.connect(path)
    try:
        db.migrate(conn, COMPONENT, MIGRATIONS)
        with db.immediate(conn):
            conn.execute("INSERT OR REPLACE INTO restore_mark VALUES (1, ?, ?, ?)", (backup, created_at, restored_at))
    finally:
        conn.close()


class RestoreMarkStore:
    """Read at start and cleared once: a connection per call, nothing held open for the hub's lifetime."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def restored(self) -> str | None:
        conn = db.connect(self.path)
        try:
            db.migrate(conn, COMPONENT, MIGRATIONS)
            row = conn.execute("SELECT backup FROM restore_mark WHERE id = 1").fetchone()
        finally:
            conn.close()
        return str(row[0]) if row else None

    def clear(self) -> None:
        conn = db.connect(self.path)
        try:
            db.migrate(conn, COMPONENT, MIGRATIONS)
            with db.immediate(conn):
                conn.execute("DELETE FROM restore_mark")
        finally:
            conn.close()
