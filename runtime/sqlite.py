"""The one SQLite helper every motcua store uses: connections, immediate transactions, versioned migrations.

- ``connect``: autocommit mode (transactions are explicit), WAL, ``synchronous=FULL`` (a commit that returned
  survives a power cut), a busy timeout, usable from any thread (callers serialise writes themselves).
- ``immediate``: ``BEGIN IMMEDIATE ... COMMIT`` as a context manager; any exception rolls back and re-raises.
  IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading a read lock.
- ``migrate``: a store's ordered list of ``Migration`` steps, each applied once in its own transaction and
  recorded in ``schema_migrations`` under the store's component name. Several stores may share one file (the
  hub's event log and its ratings do), hence a row per component and version rather than ``PRAGMA
  user_version``. A file made by older code, which kept its version in a table of its own, is adopted through
  ``legacy_version``: its versions are recorded as applied and only newer steps run, so its data stays.

Imports nothing of ours; holds no schema of its own beyond the bookkeeping table.
"""
from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

log = logging.getLogger(__name__)

Step = str | Callable[[sqlite3.Connection], None]
"""SQL statements separated by ``;`` (no triggers), or a function given the connection inside the transaction."""

BOOKKEEPING = "schema_migrations"


class Migration(NamedTuple):
    """One released schema change; never edit it once released, append a new one."""

    version: int
    description: str
    step: Step


# What the WAL file shrinks back to once checkpointed: without a limit it stays at the largest a burst made it (a
# month's report rebuild, a restore's replay) for as long as the process runs.
WAL_SIZE_LIMIT = 64 * 1024 * 1024


def connect(path: str | Path, *, busy_timeout_s: float = 30.0, autocheckpoint: int | None = None,
            foreign_keys: bool = False, wal_size_limit: int = WAL_SIZE_LIMIT) -> sqlite3.Connection:
    """A connection in autocommit mode with WAL, ``synchronous=FULL``, a busy timeout, and a WAL file cut back to
    ``wal_size_limit`` bytes whenever a write starts it over after a checkpoint.

    ``autocheckpoint=0`` leaves checkpoints to the caller (the hub checkpoints on a thread of its own, so no
    command's commit pays for one); ``None`` keeps SQLite's default. ``":memory:"`` works (WAL does not apply).
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=busy_timeout_s)
    try:
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        _set_wal(conn, busy_timeout_s)
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA journal_size_limit={int(wal_size_limit)}")
        if autocheckpoint is not None:
            conn.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
        if foreign_keys:
            conn.execute("PRAGMA foreign_keys=ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _set_wal(conn: sqlite3.Connection, timeout_s: float) -> None:
    """WAL is kept by the file once set, so only a new (or older rollback-journal) file really switches. That needs
    the file to itself and SQLite answers "database is locked" at once, without the busy handler, while another
    connection is opening it too (two processes starting on a new file: 2 in 300 runs of six openers): retry."""
    deadline = time.monotonic() + max(timeout_s, 0.1)
    delay = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL").fetchone()
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err).lower() and "busy" not in str(err).lower():
                raise
            if time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: everything inside commits together or not at all."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def is_disk_full(err: BaseException) -> bool:
    """SQLITE_FULL ("database or disk is full"), or the OS's ENOSPC surfacing as a disk I/O error."""
    code = getattr(err, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) == sqlite3.SQLITE_FULL:
        return True
    text = str(err).lower()
    return "database or disk is full" in text or "no space left" in text


def _run(conn: sqlite3.Connection, step: Step) -> None:
    if callable(step):
        step(conn)
        return
    for statement in step.split(";"):
        if statement.strip():
            conn.execute(statement)


def _ensure_bookkeeping(conn: sqlite3.Connection) -> None:
    with immediate(conn):
        conn.execute(f"CREATE TABLE IF NOT EXISTS {BOOKKEEPING} (component TEXT NOT NULL, version INTEGER NOT NULL,"
                     " description TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (component, version))")


def applied_versions(conn: sqlite3.Connection, component: str) -> list[int]:
    """The versions of ``component`` recorded in this file, ascending (empty for a new file)."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (BOOKKEEPING,)).fetchone()
    if not exists:
        return []
    rows = conn.execute(f"SELECT version FROM {BOOKKEEPING} WHERE component = ? ORDER BY version", (component,))
    return [int(r[0]) for r in rows]


def schema_version(conn: sqlite3.Connection, component: str) -> int:
    versions = applied_versions(conn, component)
    return versions[-1] if versions else 0


def table_exists(conn: sqlite3.Connection, name: str) -> bool:
    """For ``legacy_version`` functions: whether an older code's table is there."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def migrate(conn: sqlite3.Connection, component: str, migrations: Sequence[Migration], *, upto: int | None = None,
            legacy_version: Callable[[sqlite3.Connection], int] | None = None) -> int:
    """Apply ``component``'s migrations not yet applied, in order, one transaction each; returns the version.

    ``upto`` stops after that version (tests make an old file with it). ``legacy_version(conn)`` reads the
    version an older bookkeeping recorded (0 when none); it is consulted only while this file has no row for
    ``component``. Safe when several connections or processes open the same file at once: each step re-checks
    under the write lock that nobody applied it meanwhile.
    """
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)) or (versions and versions[0] < 1):
        raise ValueError(f"{component}: migration versions must be unique, ascending and >= 1: {versions}")
    _ensure_bookkeeping(conn)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if legacy_version is not None:
        with immediate(conn):
            if not applied_versions(conn, component):
                adopted = legacy_version(conn)
                for m in migrations:
                    if m.version <= adopted:
                        conn.execute(f"INSERT INTO {BOOKKEEPING} VALUES (?, ?, ?, ?)",
                                     (component, m.version, f"{m.description} (adopted from an older file)", now))
                if adopted:
                    log.info("%s: adopted schema version %d from an older file", component, adopted)
    for m in migrations:
        if upto is not None and m.version > upto:
            break
        with immediate(conn):
            if m.version in applied_versions(conn, component):
                continue
            _run(conn, m.step)
            conn.execute(f"INSERT INTO {BOOKKEEPING} VALUES (?, ?, ?, ?)", (component, m.version, m.description, now))
        log.info("%s: migrated to schema version %d (%s)", component, m.version, m.description)
    return schema_version(conn, component)
