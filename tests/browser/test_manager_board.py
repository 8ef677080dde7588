"""Manager live board in real Chromium against the real hub: role check, live per-service and per-counter
figures, and the highlighted warning once a wait passes the threshold."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def _login(page: Any, hub: Any, username: str) -> None:
    page.goto(f"{hub.url}/manager?warn_min=30")
    page.fill("#username", username)
    page.fill("#password", hub.password)
    page.click("#login button[type=submit]")


def test_staff_cannot_open_the_board(hub: Any, page_factory: Any) -> None:
    page = page_factory()
    _login(page, hub, "staff1")
    page.wait_for_function("document.getElementById('message').textContent.includes('không có quyền')")
    assert page.is_hidden("#board")


def test_live_figures_and_wait_warning(hub: Any, page_factory: Any, artifacts_dir: Path) -> None:
    for _ in range(3):
        hub.issue("ho-tich")
    hub.issue("dat-dai")
    page = page_factory(1366, 768)
    _login(page, hub, "manager")
    row = 'tr[data-service="ho-tich"]'
    page.wait_for_selector(f"{row} td")
    assert page.is_hidden("#login")
    assert page.locator(f"{row} td").nth(1).text_content() == "3"
    assert page.get_attribute(row, "data-warn") == "0"

    staff = hub.login("staff1")
    hub.post("/counters/1/open", staff)
    hub.post("/counters/1/call-next", staff)             # pushed: the board updates without a reload
    page.wait_for_function(f"document.querySelector('{row} td:nth-child(2)').textContent === '2'")
    counter = 'tr[data-counter="1"]'
    page.wait_for_function(f"document.querySelector('{counter} td:nth-child(4)').textContent === 'A001'")
    assert page.locator(f"{counter} td").nth(2).text_content() == "staff1"
    assert page.locator(f"{counter} td").nth(1).text_content() == "Đang mở"

    hub.clock.advance(minutes=45)                         # A002 and A003 have now waited 45 minutes
    hub.issue("dat-dai")                                  # any event refreshes the board
    page.wait_for_function(f"document.querySelector('{row}').dataset.warn === '1'")
    assert "warn" in (page.get_attribute(row, "class") or "")
    assert page.locator(f"{row} td").nth(2).text_content() == "45 phút"
    page.screenshot(path=str(artifacts_dir / "manager-board-1366x768.png"))
