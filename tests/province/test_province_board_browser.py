"""The province board in Debian's Chromium over a real PostgreSQL: the province admin sees every site live and
ranked, a center's manager only their own (page, JSON and Excel); no account, no board."""
from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
import requests
from openpyxl import load_workbook
from werkzeug.security import generate_password_hash

from contracts.messages import VN_TZ
from province.config import config_from_dict
from province.simulate import busy_day
from province.store import ProvinceStore
from province.web import ProvinceServer
from queue_server.broker import free_port
from tests.province.pgfix import pg_dsn, pg_server  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

CHROMIUM = "/usr/bin/chromium"
DAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 11, 3, tzinfo=VN_TZ)     # the printer is out of paper 11:00-11:07
CENTERS = [("tt-hcc", "Trung tâm Phục vụ hành chính công tỉnh", "province"),
           ("huyen-a", "Bộ phận Một cửa huyện A", "district"),
           ("xa-b", "UBND xã B", "commune")]


@pytest.fixture
def province(pg_dsn: str) -> Iterator[ProvinceServer]:
    config = config_from_dict({
        "province": {"dsn": pg_dsn, "port": free_port(), "threads": 4},
        "centers": [{"id": c, "name": n, "tier": t, "key": f"khoa-{c}-0123456789abcdef"} for c, n, t in CENTERS],
        "users": [{"username": "so-noi-vu", "password_hash": generate_password_hash("mk-tinh"),
                   "role": "province_admin"},
                  {"username": "ql-xa-b", "password_hash": generate_password_hash("mk-xa"),
                   "role": "center_manager", "center": "xa-b"}],
    }, environ={})
    store = ProvinceStore(pg_dsn, now=lambda: NOW)
    for i, (center, _, _) in enumerate(CENTERS):
        events = [e for e in busy_day(center, DAY, tickets=150 + 100 * i, counters=3 + i)
                  if datetime.fromisoformat(e["at"]) <= NOW]
        if center == "huyen-a":              # a site whose events 101..105 never arrived: a gap on the board
            events = events[:100] + events[105:]
        store.ingest(center, events)
    server = ProvinceServer(config, store)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


def open_board(browser: Any, url: str, user: str, password: str) -> Any:
    ctx = browser.new_context(http_credentials={"username": user, "password": password}, locale="vi-VN")
    page = ctx.new_page()
    page.goto(url + "/board")
    page.wait_for_selector("#live tbody tr")
    page.wait_for_selector("#ranking tbody tr")
    return page


def test_admin_sees_every_site_live_and_ranked(province: ProvinceServer, browser: Any) -> None:
    page = open_board(browser, province.url, "so-noi-vu", "mk-tinh")
    expected = province.store.board()
    rows = page.locator("#live tbody tr")
    assert rows.count() == 3
    for site in expected:
        row = page.locator(f'#live tbody tr[data-center="{site["center"]}"]')
        cells = row.locator("td").all_inner_texts()
        assert cells[0] == site["name"]
        assert int(cells[1]) == site["waiting"] and float(cells[2]) == site["longest_wait_min"]
        assert int(cells[3]) == site["open_counters"]
        assert ("hết giấy" in cells[6]) == (not site["gap"])      # a gap holds back what follows it
    link = page.locator('#live tbody tr[data-center="huyen-a"] td').all_inner_texts()[7]
    assert "thiếu sự kiện từ seq 101" in link
    assert page.locator('#live tbody tr[data-center="huyen-a"]').get_attribute("class") == "bad"
    assert page.locator("#t-waiting").inner_text() == str(sum(s["waiting"] for s in expected))
    ranked = page.locator("#ranking tbody tr").evaluate_all("rows => rows.map(r => r.dataset.center)")
    assert ranked == [u["center"] for u in province.store.monthly(DAY)]
    assert "Ước tính" in page.content()
    page.context.close()


def test_center_manager_sees_only_their_center(province: ProvinceServer, browser: Any) -> None:
    page = open_board(browser, province.url, "ql-xa-b", "mk-xa")
    assert page.locator("#live tbody tr").evaluate_all("rows => rows.map(r => r.dataset.center)") == ["xa-b"]
    assert page.locator("#ranking tbody tr").count() == 1
    page.context.close()
    api = requests.get(province.url + "/api/v1/board", auth=("ql-xa-b", "mk-xa"), timeout=10).json()
    assert [s["center"] for s in api["sites"]] == ["xa-b"]
    xlsx = requests.get(province.url + "/report.xlsx?month=2026-11", auth=("ql-xa-b", "mk-xa"), timeout=10)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [row[1] for row in sheet.iter_rows(min_row=3, values_only=True)] == ["xa-b"]


def test_no_account_no_board(province: ProvinceServer) -> None:
    assert requests.get(province.url + "/board", timeout=10).status_code == 401
    assert requests.get(province.url + "/api/v1/board", auth=("so-noi-vu", "sai"), timeout=10).status_code == 401
    bad = requests.get(province.url + "/api/v1/report?month=11-2026", auth=("so-noi-vu", "mk-tinh"), timeout=10)
    assert bad.status_code == 400 and "YYYY-MM" in bad.json()["error"]["message"]
