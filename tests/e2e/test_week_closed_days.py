"""A center's week at the kiosk: Friday afternoon, Saturday morning, a public holiday, Monday morning. Real hub
(waitress on loopback, SQLite file, hand-moved clock), real kiosk presenters, hub client, journal and simulated
printer, the calendar the hub sends in /config.

A citizen at the door on Saturday, or on Quốc khánh, is refused a number; the kiosk must say when numbers are issued
again (Monday 07:30; the day after the holiday) rather than a list of weekday hours to decode — on a Wednesday
holiday "Thứ Hai – Thứ Sáu: 07:30–11:30" reads as open. Monday starts clean: numbering from 001, Friday's waiting
ticket in no queue, Friday's report intact."""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import free_port
from kiosk_support import desk_kiosk, start_hub
from test_kiosk_offline import take_ticket

from contracts.messages import VN_TZ

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
FRIDAY_1600 = datetime(2026, 11, 27, 16, 0, tzinfo=VN_TZ)
SATURDAY_0800 = datetime(2026, 11, 28, 8, 0, tzinfo=VN_TZ)
MONDAY_0800 = datetime(2026, 11, 30, 8, 0, tzinfo=VN_TZ)
MONDAY_1200 = datetime(2026, 11, 30, 12, 0, tzinfo=VN_TZ)
FRIDAY_1650 = datetime(2026, 11, 27, 16, 50, tzinfo=VN_TZ)
HOLIDAY_0900 = datetime(2026, 9, 1, 9, 0, tzinfo=VN_TZ)     # Quốc khánh 2026: Tue 1/9 and Wed 2/9 off


def refused_screen(kiosk, clock) -> str:
    clock.advance(1.0)
    kiosk.catalog = kiosk.refresh_catalog()
    kiosk.home.take_ticket()
    assert kiosk.screen == "closed", kiosk.screen
    return kiosk.closed.view().body


def go_home(kiosk, clock) -> None:
    clock.advance(1.0)
    kiosk.go_home()
    assert kiosk.screen == "home"


def test_weekend_and_holiday_say_when_numbers_come_back_and_monday_starts_clean(tmp_path: Path) -> None:
    port = free_port()
    hub = start_hub(tmp_path, port=port, services=2, now=FRIDAY_1600)
    kiosk, printer, clock = desk_kiosk(tmp_path, hub.url, hub.clock.now)
    sim = printer.printer.simulator
    try:
        take_ticket(kiosk, clock, "ho-tich")
        take_ticket(kiosk, clock, "ho-tich")
        assert [t.texts()[0] for t in sim.tickets] == ["A001", "A002"]

        hub.clock.set(FRIDAY_1650)           # past the stop-issuing time: back on Monday
        assert refused_screen(kiosk, clock) == ("Hiện không cấp số thứ tự. Trung tâm cấp số lại từ 07:30 "
                                                "Thứ Hai, 30/11/2026.")
        go_home(kiosk, clock)
        hub.clock.set(SATURDAY_0800)
        body = refused_screen(kiosk, clock)
        assert "07:30 Thứ Hai, 30/11/2026" in body and "nghỉ" not in body, body
        clock.advance(1.0)
        kiosk.toggle_language()
        assert "07:30 on Monday, 30/11/2026" in kiosk.closed.view().body
        clock.advance(1.0)
        kiosk.toggle_language()
        go_home(kiosk, clock)

        hub.clock.set(MONDAY_1200)           # the lunch break: this afternoon
        assert "13:30 hôm nay" in refused_screen(kiosk, clock)
        go_home(kiosk, clock)

        hub.clock.set(HOLIDAY_0900)          # a Tuesday the weekday hours cover, and the next day off too
        body = refused_screen(kiosk, clock)
        assert body.startswith("Hôm nay Trung tâm nghỉ (ngày lễ"), body
        assert "07:30 Thứ Năm, 03/09/2026" in body, body
        go_home(kiosk, clock)

        hub.clock.set(MONDAY_0800)
        kiosk.set_catalog(kiosk.refresh_catalog())     # the app's upkeep loop does this every few seconds
        take_ticket(kiosk, clock, "ho-tich")
        assert sim.tickets[-1].texts()[0] == "A001"            # numbering restarts on Monday
        assert [t.id for t in hub.hub.service.waiting()] == ["20261130-ho-tich-1"]
        friday = requests.get(f"{hub.url}/api/v1/tickets/20261127-ho-tich-2", timeout=2).json()
        assert friday["ticket"]["status"] == "issued" and friday["day_over"] is True
        reports = hub.hub.reports.store
        reports.catch_up()
        assert reports.measures(FRIDAY_1600.date(), FRIDAY_1600.date(), "service")["ho-tich"].issued == 2
    finally:
        hub.stop()


def test_every_quota_reached_in_the_morning_names_the_next_working_day_not_the_afternoon(tmp_path: Path) -> None:
    """All services refusing at 09:00 is the daily quota (or range), not the hours: numbers come back on the next
    working day, not 'từ 13:30 hôm nay'."""
    from queue_server.app.ports import FixedClock

    clock = FixedClock(FRIDAY_1600.replace(hour=9))
    hub = start_hub(tmp_path, services=2, clock=clock)
    kiosk, _printer, tap = desk_kiosk(tmp_path, hub.url, hub.clock.now)
    try:
        for service in hub.settings.center.services:
            for _ in range(service.daily_quota or 0):
                hub.hub.service.issue_ticket(service.code)
            assert hub.hub.service.issue_refusal(service.code).code == "quota_reached"
        assert refused_screen(kiosk, tap) == ("Hiện không cấp số thứ tự. Trung tâm cấp số lại từ 07:30 "
                                              "Thứ Hai, 30/11/2026.")
    finally:
        hub.stop()
