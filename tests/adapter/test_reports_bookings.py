"""Booking figures in the reports (issue 16 pt 5) on a real hub (SQLite files, FixedClock): a simulated day of bookings
— checked in at the kiosk, no-shows swept, cancelled, still to come — gives per day and slot counts, the check-in and
no-show rates and slot utilisation on /api/v1/reports/bookings and the manager board's source, computed from the
booking events: a rebuild of the read model from the log, and a model made before bookings were reported (its
booking table missing), give the same figures; the Excel export has them on a sheet of their own, the PDF a section."""
from __future__ import annotations

import io
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from api_support import login
from test_bookings_day import at, book, check_in, raw_settings

from queue_server.adapters.report_store import ReportStore
from queue_server.app.ports import FixedClock
from queue_server.config import settings_from_dict
from queue_server.wiring import build_hub

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(90)]

DAY = "2026-11-23"


@pytest.fixture
def day(tmp_path: Path) -> Iterator[Any]:
    clock = FixedClock(at(7, 0))
    hub = build_hub(settings_from_dict(raw_settings(tmp_path)), clock=clock, extra_blueprints=[])
    hub.clock = clock
    client = hub.app.test_client()
    # the portal's bookings for the day (capacity: ho-tich 2, dat-dai 1, thue 1 per 30-minute slot)
    codes = {name: book(client, name, service, at(hh, mm), f"09000000{i:02d}")["code"]
             for i, (name, service, hh, mm) in enumerate((
                 ("a", "ho-tich", 8, 0), ("b", "ho-tich", 8, 0), ("c", "dat-dai", 8, 30), ("d", "thue", 9, 0),
                 ("e", "ho-tich", 10, 0), ("f", "ho-tich", 14, 0)))}
    assert client.post(f"/api/v1/bookings/{codes['d']}/cancel").status_code == 200
    clock.set(at(7, 50))
    assert check_in(client, codes["a"]).status_code == 201
    clock.set(at(8, 20))
    assert check_in(client, codes["c"]).status_code == 201
    clock.set(at(10, 5))
    assert check_in(client, codes["e"]).status_code == 201
    clock.set(at(10, 30))
    assert [b.code for b in hub.engagement.bookings.sweep()] == [codes["b"]]     # b never came
    hub.codes = codes
    yield hub
    hub.stop()


def _report(hub: Any, **query: str) -> dict[str, Any]:
    client = hub.app.test_client()
    r = client.get("/api/v1/reports/bookings", query_string=query or {"period": "day"},
                   headers=login(client, "quanly"))
    assert r.status_code == 200, r.json
    result: dict[str, Any] = r.json
    return result


def test_a_day_of_bookings_in_the_report(day: Any) -> None:
    report = _report(day)
    assert report["enabled"] is True and report["period"]["from"] == DAY
    assert report["totals"] == {"made": 6, "booked": 1, "checked_in": 3, "no_show": 1, "cancelled": 1}
    assert report["check_in_rate"] == 0.75 and report["no_show_rate"] == 0.25
    # places the calendar offered that day: 15 half-hour slots × (2 + 1 + 1) places; 3 used
    assert report["places_offered"] == 60 and report["slot_utilisation"] == round(3 / 60, 3)
    [d] = report["days"]
    slots = {(s["service"], s["start"][11:16]): s for s in d["slots"]}
    eight = slots[("ho-tich", "08:00")]
    assert (eight["capacity"], eight["made"], eight["checked_in"], eight["no_show"], eight["utilisation"]) == \
        (2, 2, 1, 1, 0.5)
    assert eight["name"] == "Tư pháp – Hộ tịch"
    assert slots[("thue", "09:00")]["cancelled"] == 1 and slots[("thue", "09:00")]["utilisation"] == 0
    assert slots[("ho-tich", "14:00")]["booked"] == 1                 # still to come
    assert (d["made"], d["check_in_rate"]) == (6, 0.75)
    # the same figures as the booking store's own account
    client = day.app.test_client()
    stats = client.get("/api/v1/stats/bookings", headers=login(client, "quanly")).json
    assert stats["check_in_rate"] == report["check_in_rate"] and stats["slot_utilisation"] == \
        report["slot_utilisation"]
    # a month: the same day inside it, the days before it offering places too
    month = _report(day, month="2026-11")
    assert month["totals"] == report["totals"] and month["places_offered"] > report["places_offered"]
    # managers only
    assert client.get("/api/v1/reports/bookings").status_code == 401
    assert client.get("/api/v1/reports/bookings", headers=login(client, "canbo")).status_code == 403


def test_the_figures_are_replayed_from_the_events(day: Any) -> None:
    before = _report(day)
    store = day.reports.store
    store.rebuild()
    assert _report(day) == before
    # a model made before bookings were reported: its booking table is missing; opening it folds just the booking
    # events up to where it had caught up (no full rebuild, nothing counted twice)
    path = store.path
    with sqlite3.connect(path) as c:
        c.execute("DROP TABLE rpt_booking")
    again = ReportStore(path, day.settings.store_path)
    try:
        rows = again.booking_counts(date(2026, 11, 23), date(2026, 11, 23))
        assert sum(n for *_, n in rows) == 6
        assert {r[3] for r in rows} == {"booked", "checked_in", "no_show", "cancelled"}
        again.catch_up()
        assert sum(n for *_, n in again.booking_counts(date(2026, 11, 23), date(2026, 11, 23))) == 6
    finally:
        again.close()


def test_the_excel_and_pdf_exports_carry_the_bookings(day: Any) -> None:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    client = day.app.test_client()
    manager = login(client, "quanly")
    r = client.get("/api/v1/reports/export.xlsx?period=day", headers=manager)
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.data))["Lịch hẹn"]
    values = {row[0]: row[1] for row in sheet.iter_rows(min_row=1, max_row=8, values_only=True)}
    assert values["Tổng số lịch hẹn"] == 6 and values["Đã đến (xác nhận tại kiosk)"] == 3
    assert values["Tỷ lệ đến"] == 0.75 and values["Số chỗ đã mở"] == 60
    header = next(i for i, row in enumerate(sheet.iter_rows(values_only=True), start=1) if row[0] == "Ngày")
    first = [c.value for c in sheet[header + 1]]
    assert first[0].date() == date(2026, 11, 23) and first[1:5] == ["08:00", "Tư pháp – Hộ tịch", 2, 2]
    assert sheet.cell(header + 1, 1).number_format == "DD/MM/YYYY"
    pdf = client.get("/api/v1/reports/report.pdf?period=day", headers=manager)
    assert pdf.status_code == 200 and pdf.data[:4] == b"%PDF"
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is needed: make test installs poppler-utils")
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.data, capture_output=True, check=True,
                          timeout=60).stdout.decode()
    assert "V. Đặt lịch hẹn" in text and "75,0% / 25,0%" in text


def test_a_center_without_bookings_reports_none(tmp_path: Path) -> None:
    raw = raw_settings(tmp_path)
    del raw["bookings"]
    hub = build_hub(settings_from_dict(raw), clock=FixedClock(at(9)), extra_blueprints=[])
    try:
        report = _report(hub)
        assert report["enabled"] is False and report["days"] == [] and report["places_offered"] is None
        client = hub.app.test_client()
        from openpyxl import load_workbook

        r = client.get("/api/v1/reports/export.xlsx?period=day", headers=login(client, "quanly"))
        assert "Lịch hẹn" not in load_workbook(io.BytesIO(r.data)).sheetnames
    finally:
        hub.stop()


def test_the_answer_matches_its_openapi_schema(day: Any) -> None:
    from test_openapi_responses import Checker

    client = day.app.test_client()
    checker = Checker(client)
    answer = checker.call("GET", "/reports/bookings?period=day", headers=login(client, "quanly"))
    assert answer["days"][0]["slots"]                     # the slot rows were checked too, not an empty list
