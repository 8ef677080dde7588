"""The province's daily rollups against a real PostgreSQL, for a ticket left in hand at Friday's closing and
completed on Monday (events from a real hub's log: SqliteStore + QueueService on a hand-moved clock): served on
Friday, but the weekend is no service time, so the month's average service time is that of the timed services, as
the hub's own report has it. A database of schema 2 (rows written before ``timed``) keeps its averages: migration 3
sets timed = served on them, the denominator they were summed over."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from contracts.messages import VN_TZ
from province import schema
from province.schema import current_version, migrate
from province.store import ProvinceStore
from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app.ports import FixedClock
from queue_server.app.queue_service import QueueService
from tests.hub_center import make_center, serve_one
from tests.province.pgfix import pg_dsn, pg_server  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(120)]
FRIDAY = datetime(2026, 11, 27, 8, 0, tzinfo=VN_TZ)
MONDAY = datetime(2026, 11, 30, 7, 30, tzinfo=VN_TZ)
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=VN_TZ)


def weekend_log(folder: Path) -> list[dict[str, Any]]:
    """Friday: served 09:05 → 09:20; called 16:45, started 16:50, in hand at closing, completed Monday 07:35;
    Monday: served 07:45 → 07:55. The hub's events as its province sink sends them."""
    clock = FixedClock(FRIDAY)
    svc = QueueService(make_center(), SqliteStore(folder / "hub.sqlite3"), clock)
    try:
        svc.open_counter("1", "canbo")
        serve_one(svc, clock, FRIDAY.replace(hour=9), 15)
        clock.set(FRIDAY.replace(hour=16, minute=20))
        svc.issue_ticket("ho-tich")
        clock.set(FRIDAY.replace(hour=16, minute=45))
        svc.call_next("1")
        clock.set(FRIDAY.replace(hour=16, minute=50))
        svc.start_service("1")
        clock.set(MONDAY.replace(minute=35))
        svc.complete("1")
        serve_one(svc, clock, MONDAY.replace(minute=40), 10)
        return [e.to_dict() for e in svc.events_after(0, 100_000)]
    finally:
        svc.close()


def test_a_ticket_done_after_the_weekend_is_served_on_friday_without_the_weekend_as_service_time(
        pg_dsn: str, tmp_path: Path) -> None:
    events = weekend_log(tmp_path)
    store = ProvinceStore(pg_dsn, now=lambda: NOW)
    try:
        assert store.ingest(make_center().id, events).applied_seq == len(events)
        month = store.monthly(date(2026, 11, 1))[0]
        # 3 served; (15 + 10) / 2 minutes, not (15 + 3,765 + 10) / 3
        assert (month["served"], month["avg_service_min"]) == (3, 12.5)
        rows = store.conn().execute("SELECT day, served, timed, service_sum_s FROM daily_stats ORDER BY day")
        assert rows.fetchall() == [(date(2026, 11, 27), 2, 1, 900.0), (date(2026, 11, 30), 1, 1, 600.0)]
    finally:
        store.close()


def test_migration_3_keeps_the_averages_of_rows_written_before_it(pg_dsn: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        with monkeypatch.context() as m:                    # a province database as schema 2 left it
            m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:2])
            assert migrate(conn) == [1, 2]
        conn.execute("INSERT INTO centers (center) VALUES ('xa-a')")
        conn.execute("INSERT INTO daily_stats (center, day, served, service_sum_s, called) "
                     "VALUES ('xa-a', '2026-11-02', 4, 1200, 4)")      # 4 services summed to 20 minutes
        store = ProvinceStore(pg_dsn, now=lambda: NOW)                 # the upgraded province starts
        try:
            assert current_version(conn) == 3
            assert conn.execute("SELECT timed FROM daily_stats").fetchone() == (4,)
            assert store.monthly(date(2026, 11, 1))[0]["avg_service_min"] == 5.0
        finally:
            store.close()
