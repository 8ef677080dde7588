"""runtime.sqlite on real files: durable settings, immediate transactions, versioned migrations per component,
adoption of an older bookkeeping, a failing step that leaves nothing behind, and concurrent openers."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from runtime import sqlite as db
from runtime.sqlite import Migration

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

STEPS = (
    Migration(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)"),
    Migration(2, "an index", "CREATE INDEX notes_text ON notes (text)"),
)


def test_connections_are_wal_full_and_wait_for_the_lock(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "a" / "x.db", busy_timeout_s=2.5)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2              # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
    assert conn.isolation_level is None                                        # transactions are explicit
    conn.close()


def test_the_wal_shrinks_back_after_a_burst(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    conn = db.connect(path, wal_size_limit=256 * 1024)
    assert db.connect(tmp_path / "y.db").execute("PRAGMA journal_size_limit").fetchone()[0] == db.WAL_SIZE_LIMIT
    conn.execute("PRAGMA wal_autocheckpoint=0")       # as the hub: checkpoints are the caller's
    conn.execute("CREATE TABLE blobs (b BLOB)")
    for _ in range(40):                               # a burst: ~4 MB through the WAL
        conn.execute("INSERT INTO blobs VALUES (randomblob(100000))")
    wal = Path(str(path) + "-wal")
    assert wal.stat().st_size > 3_000_000
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    conn.execute("INSERT INTO blobs VALUES (x'00')")  # the next write starts the WAL over, and cuts it back
    assert wal.stat().st_size <= 256 * 1024
    assert conn.execute("SELECT count(*) FROM blobs").fetchone()[0] == 41
    conn.close()


def test_immediate_commits_together_or_not_at_all(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "x.db")
    db.migrate(conn, "notes", STEPS)
    with db.immediate(conn):
        conn.execute("INSERT INTO notes (text) VALUES ('một')")
    with pytest.raises(sqlite3.IntegrityError), db.immediate(conn):
        conn.execute("INSERT INTO notes (text) VALUES ('hai')")
        conn.execute("INSERT INTO notes (text) VALUES (NULL)")
    assert conn.execute("SELECT text FROM notes").fetchall() == [("một",)] and not conn.in_transaction
    conn.close()


def test_migrations_run_once_in_order_per_component(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    conn = db.connect(path)
    assert db.migrate(conn, "notes", STEPS, upto=1) == 1
    assert db.migrate(conn, "notes", STEPS) == 2
    assert db.migrate(conn, "notes", STEPS) == 2                  # nothing re-runs
    other = (Migration(1, "tags", "CREATE TABLE tags (name TEXT)"),)
    assert db.migrate(conn, "tags", other) == 1                    # another store in the same file
    assert db.applied_versions(conn, "notes") == [1, 2] and db.applied_versions(conn, "tags") == [1]
    conn.close()


def test_a_failing_step_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "x.db")
    db.migrate(conn, "notes", STEPS[:1])
    broken = (*STEPS[:1], Migration(2, "half", "CREATE TABLE extra (a TEXT); CREATE TABLE notes (b TEXT)"))
    with pytest.raises(sqlite3.OperationalError):
        db.migrate(conn, "notes", broken)
    assert db.schema_version(conn, "notes") == 1 and not db.table_exists(conn, "extra")
    assert db.migrate(conn, "notes", STEPS) == 2
    conn.close()


def test_an_older_bookkeeping_is_adopted_not_rerun(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "x.db")
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    conn.execute("INSERT INTO notes (text) VALUES ('cũ')")
    conn.execute("CREATE TABLE notes_schema (version INTEGER)")
    conn.execute("INSERT INTO notes_schema VALUES (1)")

    def legacy(c: sqlite3.Connection) -> int:
        return int(c.execute("SELECT MAX(version) FROM notes_schema").fetchone()[0])

    assert db.migrate(conn, "notes", STEPS, legacy_version=legacy) == 2
    assert conn.execute("SELECT text FROM notes").fetchall() == [("cũ",)]
    assert db.applied_versions(conn, "notes") == [1, 2]
    conn.close()


def test_bad_migration_lists_are_refused(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "x.db")
    with pytest.raises(ValueError):
        db.migrate(conn, "notes", (STEPS[1], STEPS[0]))
    conn.close()


def test_processes_opening_one_file_at_once_apply_each_step_once(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            conn = db.connect(path)
            db.migrate(conn, "notes", STEPS)
            conn.close()
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == []
    conn = db.connect(path)
    assert conn.execute("SELECT version FROM schema_migrations WHERE component = 'notes'").fetchall() == [(1,), (2,)]
    conn.close()
