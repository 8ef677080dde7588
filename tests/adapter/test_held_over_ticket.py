"""A ticket left in hand at Friday's closing and completed on Monday morning, on the real hub (SQLite file,
FixedClock, HTTP) and its reports read model: Friday's report counts it served at 16h — the last hour anyone worked
on it — but its service time is unknown, so Friday's average, percentiles and maximum are those of the services
that were timed (not one of 3,765 minutes); Monday's report is Monday's own work. A reports model of the previous
version (no ``timed``) is rebuilt from the event log when it is opened, with the same figures. The wait estimate
learns nothing from it either: a call on Friday and a release on Monday is no occupancy sample, in the history the
store reads inside SQLite, in projector.occupancy_of over the whole events, or in Monday's state after a restart."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from hub_center import HO_TICH, make_center, serve_one
from hub_support import HubOptions, TestHub

from contracts.messages import VN_TZ
from queue_server.adapters.report_store import ReportStore
from queue_server.adapters.sqlite_store import HISTORY_DAYS, SqliteStore
from queue_server.app import reporting as rp
from queue_server.app.ports import FixedClock
from queue_server.app.projector import RELEASE_EVENTS, day_start, occupancy_of
from queue_server.app.queue_service import QueueService

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]
FRIDAY = datetime(2026, 11, 27, 8, 0, tzinfo=VN_TZ)
MONDAY = datetime(2026, 11, 30, 7, 30, tzinfo=VN_TZ)


def friday_and_monday(service: Any, clock: FixedClock, ticket_service: str = "ho-tich") -> None:
    """Friday: one citizen served 09:05 → 09:20; the last one called 16:45, started 16:50 and still in hand at
    closing. Monday 07:35 the staff complete Friday's ticket (the console asks them to), then serve Monday's first
    citizen 07:45 → 07:55."""
    clock.set(FRIDAY)
    service.open_counter("1", "canbo")
    serve_one(service, clock, FRIDAY.replace(hour=9), 15, ticket_service)
    clock.set(FRIDAY.replace(hour=16, minute=20))       # before issuing stops (16:30)
    service.issue_ticket(ticket_service)
    clock.set(FRIDAY.replace(hour=16, minute=45))
    service.call_next("1")
    clock.set(FRIDAY.replace(hour=16, minute=50))
    service.start_service("1")
    clock.set(MONDAY.replace(minute=35))
    assert service.complete("1").day == FRIDAY.date()           # Friday's ticket, completed on Monday
    serve_one(service, clock, MONDAY.replace(minute=40), 10, ticket_service)


@pytest.fixture
def hub_options() -> HubOptions:
    return HubOptions(serve=True, blueprints=None, at=FRIDAY)


def summary(hub: TestHub, day: str, group: str) -> dict[str, Any]:
    r = requests.get(f"{hub.url}/api/v1/reports/summary", params={"from": day, "to": day, "group": group},
                     headers=hub.login("quanly"), timeout=10)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_fridays_ticket_completed_on_monday_is_served_on_friday_at_16h_and_untimed(hub: TestHub) -> None:
    friday_and_monday(hub.hub.service, hub.clock)

    friday = summary(hub, "2026-11-27", "hour")
    by_hour = {row["key"]: row for row in friday["rows"] if row["served"]}
    assert {h: row["served"] for h, row in by_hour.items()} == {"09": 1, "16": 1}      # no 07h on Friday
    totals = friday["totals"]
    assert totals["served"] == 2
    # the one timed service (15 min), not (15 + 3,765) / 2 minutes
    assert (totals["service_avg_min"], totals["service_p50_min"], totals["service_p90_min"]) == (15.0, 15.0, 15.0)
    assert by_hour["16"]["service_avg_min"] is None               # served, its service time unknown

    monday = summary(hub, "2026-11-30", "hour")
    assert {row["key"]: row["served"] for row in monday["rows"] if row["served"]} == {"07": 1}
    assert (monday["totals"]["served"], monday["totals"]["service_avg_min"]) == (1, 10.0)

    # the exports keep their columns and carry the same figures
    r = requests.get(f"{hub.url}/api/v1/reports/export.csv", params={"from": "2026-11-27", "to": "2026-11-27"},
                     headers=hub.login("quanly"), timeout=10)
    assert r.status_code == 200, r.text
    assert "3765" not in r.text and "1890" not in r.text


def test_a_version_5_reports_model_is_rebuilt_with_timed_on_open(tmp_path: Path) -> None:
    clock = FixedClock(FRIDAY)
    svc = QueueService(make_center(), SqliteStore(tmp_path / "hub.sqlite3"), clock)
    try:
        friday_and_monday(svc, clock, HO_TICH)
        reports = ReportStore(tmp_path / "reports.sqlite3", tmp_path / "hub.sqlite3")
        reports.catch_up()
        # what version 5 left: no timed column, and Friday's service sum over the weekend (as it was counted then)
        for table in ("rpt_cell", "rpt_roll"):
            reports._writer.execute(f"ALTER TABLE {table} DROP COLUMN timed")
        reports._writer.execute("UPDATE rpt_roll SET service_sum = 900 + 3765 * 60, service_max = 3765 * 60 "
                                "WHERE day = '2026-11-27' AND dim = 'all'")
        reports._writer.execute("UPDATE rpt_meta SET value = '5' WHERE key = 'schema_version'")
        reports.close()
        with sqlite3.connect(tmp_path / "reports.sqlite3") as conn:
            assert "timed" not in {r[1] for r in conn.execute("PRAGMA table_info(rpt_roll)")}

        reports = ReportStore(tmp_path / "reports.sqlite3", tmp_path / "hub.sqlite3")     # the upgraded hub opens it
        try:
            assert reports.last_seq == 0 and reports.counts()["rpt_roll"] == 0      # emptied, to be caught up
            reports.catch_up()
            friday = reports.measures(FRIDAY.date(), FRIDAY.date(), "all")[""]
            assert (friday.served, friday.timed, friday.service_sum, friday.service_max) == (2, 1, 900, 900)
            assert rp.figures(friday, 1800)["service_avg_min"] == 15.0
            monday = reports.measures(MONDAY.date(), MONDAY.date(), "all")[""]
            assert (monday.served, monday.timed, monday.service_sum) == (1, 1, 600)
        finally:
            reports.close()
    finally:
        svc.close()


def test_a_call_on_friday_released_on_monday_is_no_occupancy_sample(tmp_path: Path) -> None:
    clock = FixedClock(FRIDAY)
    path = tmp_path / "hub.sqlite3"
    svc = QueueService(make_center(), SqliteStore(path), clock)
    try:
        friday_and_monday(svc, clock, HO_TICH)
    finally:
        svc.close()
    tuesday = MONDAY.date() + timedelta(days=1)
    store = SqliteStore(path)
    try:
        # Monday's hub restarting after Friday's ticket was let go reads today's releases back from the log: at
        # counter 1 only Monday's citizen (called 07:40, done 07:55), not Friday 16:45 → Monday 07:35
        monday = store.load_state(make_center(), MONDAY.date())
        assert [list(v) for v in monday.occupancy_s.values()] == [[900.0]]
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT at, data FROM events WHERE at >= ? AND at < ? AND type IN (?, ?, ?) "
                                "ORDER BY seq", (day_start(tuesday - timedelta(days=HISTORY_DAYS)),
                                                 day_start(tuesday), *RELEASE_EVENTS)).fetchall()
        assert len(rows) == 3                                   # three tickets let go, two of them samples
        expected = [s for at, data in rows if (s := occupancy_of(at, json.loads(data))) is not None]
        assert store.occupancy_history(tuesday) == expected == [
            ("ho-tich", "1", 9, 1200.0),                        # Friday's 09:00 call, done 09:20
            ("ho-tich", "1", 7, 900.0)]                         # Monday's 07:40 call, done 07:55
    finally:
        store.close()
