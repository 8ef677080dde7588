"""A store that holds many past days (bench/year_old_hub.py measures a year of a large center): what the hub reads
at start and the audit page's query stay the size of today and the recent days, however long the log is.

Work is counted in SQLite virtual-machine steps on the store's own connections (a progress handler), never timed:
a query that scans the log costs steps in proportion to it, one that seeks an index does not.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from hub_center import DAT_DAI, HO_TICH, MONDAY_0800, make_center

from contracts.messages import VN_TZ
from queue_server.adapters.config_log import ConfigLog
from queue_server.adapters.sqlite_store import HISTORY_DAYS, SqliteStore
from queue_server.app.ports import FixedClock
from queue_server.app.projector import RELEASE_EVENTS, day_start, occupancy_of
from queue_server.app.queue_service import QueueService
from queue_server.web.audit import KINDS
from runtime import sqlite as db

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(120)]

CENTER = make_center()
TODAY = MONDAY_0800.date()
# weekdays inside the estimate's window, and weekdays of half a year ago (far outside it)
RECENT = [d for d in (TODAY - timedelta(days=n) for n in (8, 4, 3)) if d.weekday() < 5]
LEFT_AT = MONDAY_0800 + timedelta(minutes=10)     # when the hub stops this morning, and starts again
OLD = [d for d in (TODAY - timedelta(days=n) for n in range(200, 172, -1)) if d.weekday() < 5]


def a_day(svc: QueueService, clock: FixedClock, day: date) -> None:
    """A small working day through the real writer: counters open, tickets issued, called, served, a no-show, a
    transfer."""
    clock.set(datetime.combine(day, time(8, 0), tzinfo=VN_TZ))
    svc.open_counter("1", "lan")
    svc.open_counter("3", "hoa")
    for i in range(5):
        svc.issue_ticket(HO_TICH if i % 2 else DAT_DAI)
        clock.advance(seconds=40)
    for counter in ("1", "3"):
        svc.call_next(counter)
        svc.start_service(counter)
        clock.advance(minutes=5)
        svc.complete(counter)
    svc.call_next("1")
    clock.advance(minutes=1)
    svc.recall("1")
    clock.advance(minutes=1)
    svc.mark_no_show("1")
    svc.call_next("3")
    svc.start_service("3")
    clock.advance(minutes=3)
    svc.transfer("3", to_service=HO_TICH)
    clock.set(datetime.combine(day, time(17, 5), tzinfo=VN_TZ))
    svc.close_counter("1")
    svc.close_counter("3")


def this_morning(svc: QueueService, clock: FixedClock) -> None:
    """Today, half-way: a counter serving, citizens waiting, a kiosk's unanswered call for help."""
    clock.set(MONDAY_0800)
    svc.open_counter("1", "lan")
    for i in range(4):
        svc.issue_ticket(HO_TICH if i % 2 else DAT_DAI)
        clock.advance(seconds=30)
    svc.call_next("1")
    svc.start_service("1")
    svc.ask_help("kiosk-1")
    clock.set(LEFT_AT)


def make_store(path: Path, days: list[date]) -> dict[str, object]:
    """A store with ``days`` of history and this morning; returns the live snapshot before the hub stops."""
    # the hub starts on the first day: its working day only moves forward
    clock = FixedClock(datetime.combine(days[0], time(8, 0), tzinfo=VN_TZ) if days else MONDAY_0800)
    svc = QueueService(CENTER, SqliteStore(path), clock)
    for day in days:
        a_day(svc, clock, day)
    this_morning(svc, clock)
    snapshot = svc.snapshot()
    svc.close()
    return snapshot


@contextmanager
def counted_steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Count the VM steps of every connection this thread opens through runtime.sqlite (the hub's own helper)."""
    steps = [0]
    real = db.connect

    def tick() -> int:
        steps[0] += 1
        return 0

    def connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        conn = real(*args, **kwargs)  # type: ignore[arg-type]
        if threading.current_thread() is threading.main_thread():   # not the store's checkpointer thread
            conn.set_progress_handler(tick, 10)
        return conn

    monkeypatch.setattr(db, "connect", connect)
    yield steps


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, object]]]:
    """``recent``: the recent days and today; ``old``: the same with half a year's days before them."""
    folder = tmp_path_factory.mktemp("stores")
    out = {}
    for name, days in (("recent", RECENT), ("old", OLD + RECENT)):
        path = folder / f"{name}.sqlite3"
        out[name] = (path, make_store(path, days))
    return out


def events_of(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def start_up(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict[str, object]]:
    """What the hub's start reads from its file (the live config replayed, the queue's writer loading the day and
    its help requests, the estimate's prior): VM steps, and the snapshot it then serves."""
    with monkeypatch.context() as m, counted_steps(m) as steps:
        config = ConfigLog(path)
        list(config.changes())
        config.close()
        svc = QueueService(CENTER, SqliteStore(path), FixedClock(LEFT_AT))
    snapshot = svc.snapshot()
    svc.close()
    return steps[0], snapshot


def test_the_history_is_much_longer_than_the_recent_days(stores: dict[str, tuple[Path, dict[str, object]]]) -> None:
    assert len(OLD) >= 4 * len(RECENT)
    assert all((TODAY - d).days > HISTORY_DAYS for d in OLD) and all((TODAY - d).days < HISTORY_DAYS for d in RECENT)
    assert events_of(stores["old"][0]) > 4 * events_of(stores["recent"][0])


def test_start_up_reads_today_and_the_recent_days_only(stores: dict[str, tuple[Path, dict[str, object]]],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    recent, _ = start_up(stores["recent"][0], monkeypatch)
    old, _ = start_up(stores["old"][0], monkeypatch)
    # half a year more in the log, (almost) no more work: a scan of the log would cost about 5 times as much
    assert old <= recent * 1.15, (old, recent)


def test_a_restart_on_a_long_log_gives_back_the_same_state(stores: dict[str, tuple[Path, dict[str, object]]],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path, before = stores["old"]
    _, after = start_up(path, monkeypatch)
    assert after == before
    assert after["help"] and any(c["current_ticket"] for c in after["counters"])      # the day as it was left


def test_the_audit_reads_its_day_only(stores: dict[str, tuple[Path, dict[str, object]]],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    found = {}
    steps = {}
    for name in ("recent", "old"):
        with monkeypatch.context() as m, counted_steps(m) as counted:
            log = ConfigLog(stores[name][0])
            counted[0] = 0
            found[name] = log.events_between(TODAY.isoformat(), (TODAY + timedelta(days=1)).isoformat(), KINDS, 20001)
            steps[name] = counted[0]
            log.close()
    assert found["old"] and [e[1:3] for e in found["old"]] == [e[1:3] for e in found["recent"]]
    assert steps["old"] <= steps["recent"] * 1.15, steps


@pytest.mark.parametrize("prefixes", [KINDS, ("ticket.",), ("ticket.done", "counter.closed"), ("help.",),
                                      ("nothing.",), ()])
def test_the_audit_finds_what_a_scan_of_the_log_finds(stores: dict[str, tuple[Path, dict[str, object]]],
                                                       prefixes: tuple[str, ...]) -> None:
    path, _ = stores["old"]
    log = ConfigLog(path)
    try:
        for day in (*OLD[:2], *RECENT, TODAY):
            start, end = day.isoformat(), (day + timedelta(days=1)).isoformat()
            where = " OR ".join("type LIKE ?" for _ in prefixes) or "1"
            with sqlite3.connect(path) as conn:        # the plain reading: every event of the log, filtered
                rows = conn.execute(f"SELECT seq, type, at, data FROM events WHERE at >= ? AND at < ? AND ({where})"
                                    " ORDER BY seq LIMIT 20001", (start, end, *[p + "%" for p in prefixes])).fetchall()
            got = log.events_between(start, end, prefixes, 20001)
            assert [(s, k, a) for s, k, a, _ in got] == [(s, k, a) for s, k, a, _ in rows]
            limited = log.events_between(start, end, prefixes, 3)
            assert [e[0] for e in limited] == [r[0] for r in rows[:3]]
    finally:
        log.close()


def test_the_prior_reads_the_same_samples_as_the_whole_events_give(
        stores: dict[str, tuple[Path, dict[str, object]]]) -> None:
    """occupancy_history takes four fields out inside SQLite; the samples are those projector.occupancy_of finds
    in the whole stored events (transfers count for the service they left)."""
    path, _ = stores["old"]
    store = SqliteStore(path)
    try:
        for day in (TODAY, RECENT[-1] + timedelta(days=1), OLD[-1] + timedelta(days=1)):
            with sqlite3.connect(path) as conn:
                rows = conn.execute("SELECT at, data FROM events WHERE at >= ? AND at < ? AND type IN (?, ?, ?) "
                                    "ORDER BY seq", (day_start(day - timedelta(days=HISTORY_DAYS)), day_start(day),
                                                     *RELEASE_EVENTS)).fetchall()
            expected = [s for at, data in rows if (s := occupancy_of(at, json.loads(data))) is not None]
            assert expected and store.occupancy_history(day) == expected
            assert any(s[0] == str(DAT_DAI) for s in expected) and any(s[0] == str(HO_TICH) for s in expected)
    finally:
        store.close()
