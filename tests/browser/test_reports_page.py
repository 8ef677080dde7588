"""Reports pages in real Chromium against the real hub: the manager logs in at /reports, picks a period, sees the
day's figures, the three SVG charts drawn by the hub and the detail tables; screenshots at 1920×1080 and
1366×768; a staff account is refused; the Decision 766 page labels its values as the center's own estimate;
the manager board's date picker shows a past day from the reports model."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def _a_morning(hub: Any) -> None:
    for service in ("ho-tich", "ho-tich", "ho-tich", "dat-dai"):
        hub.issue(service)
    staff = hub.login("staff1")
    hub.post("/counters/1/open", staff)
    for _ in range(2):
        hub.clock.advance(minutes=6)
        hub.post("/counters/1/call-next", staff)
        hub.post("/counters/1/start", staff)
        hub.clock.advance(minutes=4)
        hub.post("/counters/1/complete", staff)
    r = requests.post(f"{hub.url}/api/v1/ratings", json={"counter": "1", "level": 3}, timeout=5)
    assert r.ok, r.text


def _login(page: Any, hub: Any, path: str, username: str = "manager") -> None:
    page.goto(f"{hub.url}{path}")
    page.fill("#username", username)
    page.fill("#password", hub.password)
    page.click("#login button[type=submit]")


def test_staff_is_refused(hub: Any, page_factory: Any) -> None:
    page = page_factory()
    _login(page, hub, "/reports", "staff1")
    page.wait_for_function("document.getElementById('message').textContent.includes('không có quyền')")
    assert page.is_hidden("#page")


@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768)])
def test_reports_page_figures_charts_and_tables(hub: Any, page_factory: Any, artifacts_dir: Path,
                                                size: tuple[int, int]) -> None:
    _a_morning(hub)
    page = page_factory(*size)
    _login(page, hub, "/reports?period=day&date=2026-11-23")
    page.wait_for_selector("body[data-loaded]")
    assert page.text_content("#title") == "Báo cáo ngày 23/11/2026"
    assert page.text_content('#totals [data-fact="issued"] dd') == "4"
    assert page.text_content('#totals [data-fact="served"] dd') == "2"
    assert page.text_content('#totals [data-fact="satisfied"] dd') == "100,0%"
    # the charts are the hub's SVG: arrivals heat map cell for Monday 08:00, wait bars per service
    page.wait_for_selector('#chart-heatmap rect[data-weekday="1"][data-hour="8"]')
    assert page.get_attribute('#chart-heatmap rect[data-weekday="1"][data-hour="8"]', "data-value") == "4"
    assert page.locator("#chart-waits rect[data-label='Tư pháp – Hộ tịch']").count() == 2
    assert page.locator("#chart-counts rect").count() > 0
    row = '#detail tr[data-key="ho-tich"]'
    assert page.locator(f"{row} td").nth(0).text_content() == "Tư pháp – Hộ tịch"
    assert page.locator(f"{row} td").nth(1).text_content() == "3"
    page.click('#groups button[data-group="staff"]')
    page.wait_for_selector('#detail tr[data-key="staff1"]')
    assert page.locator('#detail tr[data-key="staff1"] td').nth(2).text_content() == "2"
    page.screenshot(path=str(artifacts_dir / f"reports-{size[0]}x{size[1]}.png"), full_page=True)
    # a month: the picker keeps its state in the URL
    page.select_option("#period", "month")
    page.click("#picker button[type=submit]")
    page.wait_for_function("document.getElementById('title').textContent.includes('tháng 11/2026')")
    assert "period=month" in page.url
    # the xlsx download is a real file
    with page.expect_download() as info:
        page.click('[data-export="xlsx"]')
    assert info.value.suggested_filename == "bao-cao-20261101-20261130.xlsx"


def test_decision_766_page_is_labelled_an_estimate(hub: Any, page_factory: Any, artifacts_dir: Path) -> None:
    _a_morning(hub)
    page = page_factory(1366, 768)
    _login(page, hub, "/reports/766?period=month&date=2026-11-23")
    page.wait_for_selector("body[data-loaded]")
    assert "Ước tính tại Trung tâm" in (page.text_content("#note") or "")
    assert page.locator('#computed tr[data-code="2.1"]').count() == 1
    assert page.locator('#computed tr[data-code="5.4"] td').nth(4).text_content() == "—"   # no dossiers yet
    assert page.locator("#not-computed tr").count() >= 5
    page.screenshot(path=str(artifacts_dir / "reports-766-1366x768.png"), full_page=True)


def test_board_date_picker_shows_a_past_day(hub: Any, page_factory: Any, artifacts_dir: Path) -> None:
    _a_morning(hub)
    hub.clock.set(hub.clock.now() + timedelta(days=2))           # Wednesday (24/11 is a day off): Monday is history
    hub.issue("dat-dai")
    page = page_factory(1366, 768)
    page.goto(f"{hub.url}/manager")
    page.fill("#username", "manager")
    page.fill("#password", hub.password)
    page.click("#login button[type=submit]")
    page.wait_for_selector('#services tr[data-service="dat-dai"] td')
    assert page.input_value("#board-day") == "2026-11-25"
    assert page.is_hidden("#history")
    page.fill("#board-day", "2026-11-23")
    page.dispatch_event("#board-day", "change")
    page.wait_for_selector('#history-services tr[data-service="ho-tich"]')
    assert page.locator('#history-services tr[data-service="ho-tich"] td').nth(1).text_content() == "3"
    assert page.locator('#history-counters tr[data-counter="1"] td').nth(1).text_content() == "2"
    assert page.is_hidden("#services")
    page.screenshot(path=str(artifacts_dir / "manager-board-past-day.png"), full_page=True)
    page.click("#back-today")
    page.wait_for_function("document.getElementById('history').hidden")


def test_board_date_picker_follows_the_hubs_midnight(hub: Any, page_factory: Any) -> None:
    """A board left open overnight: at the hub's midnight the picker that showed today moves to the new today
    (the live cards already show it); one where the manager picked a past day keeps that day."""
    _a_morning(hub)                                               # Monday 23/11/2026
    following, picked = page_factory(1366, 768), page_factory(1366, 768)
    for page in (following, picked):
        page.goto(f"{hub.url}/manager")
        page.fill("#username", "manager")
        page.fill("#password", hub.password)
        page.click("#login button[type=submit]")
        page.wait_for_selector('#services tr[data-service="ho-tich"] td')
        assert page.input_value("#board-day") == "2026-11-23"
    picked.fill("#board-day", "2026-11-20")
    picked.dispatch_event("#board-day", "change")
    picked.wait_for_function("!document.getElementById('history').hidden")

    hub.clock.set(hub.clock.now().replace(hour=23, minute=59, second=50) + timedelta(seconds=20))  # 24/11 00:00:10
    following.wait_for_function("document.getElementById('board-day').value === '2026-11-24'")
    following.wait_for_function("document.getElementById('history').hidden")
    assert following.is_visible("#services")
    picked.wait_for_timeout(2500)                                 # the same ticks went by on the other board
    assert picked.input_value("#board-day") == "2026-11-20"
    assert picked.is_visible("#history") and picked.is_hidden("#services")
