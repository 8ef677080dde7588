"""The ticket tracking page (/t/<ticket_id>) in Debian's Chromium against the real hub: it shows the number, the
people ahead, and follows the ticket live until the citizen is called to a counter."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hub_support import HubOptions
from kiosk_support import kiosk_hub_options

from kiosk.tracking_blueprint import create_tracking_blueprint

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "kiosk"


@pytest.fixture
def hub_options() -> HubOptions:
    return kiosk_hub_options(services=2, extra=lambda: [create_tracking_blueprint(poll_s=1)])


@contextmanager
def tracking_page(**options: Any) -> Iterator[Any]:
    """A new page of Debian's Chromium (a browser of its own, closed however the test ends)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(**options)
        finally:
            browser.close()


def issue(hub, service: str = "ho-tich") -> dict:
    resp = requests.post(f"{hub.url}/api/v1/tickets", json={"service": service}, timeout=3)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_page_follows_the_ticket_until_it_is_called(hub) -> None:
    from playwright.sync_api import expect

    issue(hub)
    mine = issue(hub)
    assert mine["tracking_url"] == f"/t/{mine['ticket']['id']}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with tracking_page(viewport={"width": 390, "height": 844}, device_scale_factor=2) as page:
        page.goto(hub.url + mine["tracking_url"])
        expect(page.locator("#number")).to_have_text("A002", timeout=10_000)
        expect(page.locator("#ahead")).to_have_text("Trước quý vị còn 1 người")
        expect(page.locator("#service")).to_have_text("Lĩnh vực: Tư pháp – Hộ tịch")
        # no counter is open yet: no wait is promised
        expect(page.locator("#wait")).to_contain_text("Hiện chưa có quầy nào đang phục vụ lĩnh vực này")
        page.screenshot(path=str(ARTIFACTS / "tracking_waiting.png"))

        service = hub.hub.service
        service.open_counter("1", staff="staff1")
        service.call_next("1")                        # A001 is called: one fewer ahead, without a reload
        expect(page.locator("#ahead")).to_have_text("Quý vị sẽ sớm được gọi", timeout=10_000)
        expect(page.locator("#wait")).to_contain_text("Thời gian chờ dự kiến:")   # a range, e.g. dưới 10 phút
        service.start_service("1")
        service.complete("1")
        service.call_next("1")                        # now mine
        expect(page.locator("#status")).to_have_text("Mời quý vị đến quầy 1", timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "tracking_called.png"))
        page.click("#lang")
        expect(page.locator("#status")).to_have_text("Please go to counter 1")


def test_unknown_ticket_and_bad_ids(hub) -> None:
    from playwright.sync_api import expect

    assert requests.get(f"{hub.url}/t/%3Cscript%3E", timeout=3).status_code == 404
    page_resp = requests.get(f"{hub.url}/t/20261123-ho-tich-99", timeout=3)
    assert page_resp.status_code == 200 and "text/html" in page_resp.headers["Content-Type"]
    assert "no-store" in page_resp.headers["Cache-Control"]
    with tracking_page() as page:
        page.goto(f"{hub.url}/t/20261123-ho-tich-99")
        expect(page.locator("#problem")).to_contain_text("Không tìm thấy số thứ tự này", timeout=10_000)


def test_never_soon_when_no_open_counter_serves_the_ticket(hub) -> None:
    from playwright.sync_api import expect

    mine = issue(hub, "dat-dai")                 # first in line, but every counter is closed
    with tracking_page(viewport={"width": 390, "height": 844}) as page:
        page.goto(hub.url + mine["tracking_url"])
        expect(page.locator("#number")).to_have_text("B001", timeout=10_000)
        expect(page.locator("#wait")).to_contain_text("Hiện chưa có quầy nào đang phục vụ lĩnh vực này")
        expect(page.locator("#ahead")).to_have_text("")
        assert "sớm" not in page.inner_text("body")


def test_a_number_left_waiting_at_closing_is_not_soon_the_next_morning(hub) -> None:
    """Closing time came before A002's turn; the citizen opens the link (or the QR) the next morning, when the
    numbering has restarted: the page must not say 'you will be called soon'."""
    from playwright.sync_api import expect

    from contracts.messages import VN_TZ

    issue(hub)
    mine = issue(hub)
    service = hub.hub.service
    service.open_counter("1", staff="staff1")
    service.call_next("1")                        # A001 called; A002 next
    with tracking_page(viewport={"width": 390, "height": 844}) as page:
        page.goto(hub.url + mine["tracking_url"])
        expect(page.locator("#ahead")).to_have_text("Quý vị sẽ sớm được gọi", timeout=10_000)

        hub.clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=VN_TZ))    # two days on, 08:00: a working day
        body = requests.get(f"{hub.url}/api/v1/tickets/{mine['ticket']['id']}", timeout=3).json()
        assert body["day_over"] is True and body["ticket"]["status"] == "issued"
        expect(page.locator("#status")).to_have_text(
            "Ngày làm việc của số này đã kết thúc mà chưa đến lượt. Xin quý vị lấy số mới.", timeout=10_000)
        expect(page.locator("#ahead")).to_have_text("")
        expect(page.locator("#wait")).to_have_text("")
        assert "sớm" not in page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / "tracking_day_over.png"))
    today = issue(hub)                             # the morning's first number is A001 again, not day over
    assert today["ticket"]["number"] == "A001"
    assert requests.get(f"{hub.url}/api/v1/tickets/{today['ticket']['id']}", timeout=3).json()["day_over"] is False


def test_lunch_break_and_closing_tell_the_truth(hub) -> None:
    """At 12:00 the page says when the counters resume (13:30 from the config's sessions), not 'sớm'; after the
    last session it says the number is no good tomorrow (numbers restart every day), not 'vẫn được giữ'; a counter
    working on after closing still reaches the citizen, because the page keeps following the ticket."""
    from playwright.sync_api import expect

    from contracts.messages import VN_TZ

    issue(hub)
    mine = issue(hub)
    url = f"{hub.url}/api/v1/tickets/{mine['ticket']['id']}"
    service = hub.hub.service
    service.open_counter("1", staff="staff1")
    service.call_next("1")                        # A001 called; A002 next
    body = requests.get(url, timeout=3).json()
    assert body["hours_over"] is False and body["resumes_at"] is None
    with tracking_page(viewport={"width": 390, "height": 844}) as page:
        page.goto(hub.url + mine["tracking_url"])
        expect(page.locator("#ahead")).to_have_text("Quý vị sẽ sớm được gọi", timeout=10_000)

        hub.clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=VN_TZ))      # the lunch break
        assert requests.get(url, timeout=3).json()["resumes_at"] == "2026-11-23T13:30:00+07:00"
        expect(page.locator("#wait")).to_have_text(
            "Đang nghỉ trưa; các quầy làm việc lại lúc 13:30. Số của quý vị vẫn được giữ.", timeout=10_000)
        expect(page.locator("#ahead")).to_have_text("Quý vị đứng đầu hàng chờ")
        assert "sớm" not in page.inner_text("body")
        page.click("#lang")
        expect(page.locator("#wait")).to_have_text("Lunch break: the counters resume at 13:30. Your number is kept.")
        page.click("#lang")

        hub.clock.set(datetime(2026, 11, 23, 17, 30, tzinfo=VN_TZ))     # after the last session
        body = requests.get(url, timeout=3).json()
        assert body["hours_over"] is True and body["day_over"] is False and body["resumes_at"] is None
        expect(page.locator("#status")).to_have_text(
            "Đã hết giờ làm việc hôm nay; số này không còn giá trị cho ngày mai — vui lòng lấy số mới.",
            timeout=10_000)
        expect(page.locator("#ahead")).to_have_text("")
        expect(page.locator("#wait")).to_have_text("")
        assert "vẫn được giữ" not in page.inner_text("body") and "sớm" not in page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / "tracking_hours_over.png"))

        service.start_service("1")                # the counter works on after closing: A002 is called
        service.complete("1")
        service.call_next("1")
        expect(page.locator("#status")).to_have_text("Mời quý vị đến quầy 1", timeout=10_000)


def test_friday_evening_and_saturday_name_when_numbers_come_back(hub) -> None:
    """A number still waiting at Friday's closing, opened again on Saturday morning (the SMS link, the QR): the page
    says the number is over and when the center issues numbers again — Monday 07:30 — not only 'take a new number'
    on a day the kiosk refuses one; on a working morning it says nothing of the kind (the center is open)."""
    from playwright.sync_api import expect

    from contracts.messages import VN_TZ

    hub.clock.set(datetime(2026, 11, 27, 15, 0, tzinfo=VN_TZ))        # Friday afternoon
    issue(hub)
    mine = issue(hub)
    url = f"{hub.url}/api/v1/tickets/{mine['ticket']['id']}"
    assert requests.get(url, timeout=3).json()["opens_at"] is None
    with tracking_page(viewport={"width": 390, "height": 844}) as page:
        page.goto(hub.url + mine["tracking_url"])
        expect(page.locator("#number")).to_have_text("A002", timeout=10_000)
        expect(page.locator("#opens")).to_have_text("")

        hub.clock.set(datetime(2026, 11, 27, 17, 30, tzinfo=VN_TZ))    # Friday after closing
        body = requests.get(url, timeout=3).json()
        assert body["hours_over"] is True and body["opens_at"] == "2026-11-30T07:30:00+07:00"
        expect(page.locator("#opens")).to_have_text("Trung tâm cấp số lại từ 07:30 Thứ Hai, 30/11/2026.",
                                                    timeout=10_000)

        hub.clock.set(datetime(2026, 11, 28, 8, 0, tzinfo=VN_TZ))      # Saturday morning
        body = requests.get(url, timeout=3).json()
        assert body["day_over"] is True and body["opens_at"] == "2026-11-30T07:30:00+07:00"
        expect(page.locator("#status")).to_have_text(
            "Ngày làm việc của số này đã kết thúc mà chưa đến lượt. Xin quý vị lấy số mới.", timeout=10_000)
        expect(page.locator("#opens")).to_have_text("Trung tâm cấp số lại từ 07:30 Thứ Hai, 30/11/2026.")
        page.screenshot(path=str(ARTIFACTS / "tracking_saturday.png"))
        page.click("#lang")
        expect(page.locator("#opens")).to_have_text("Numbers are issued again from 07:30 on Monday, 30/11/2026.")
    hub.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=VN_TZ))          # Monday, open: nothing to announce
    assert requests.get(url, timeout=3).json()["opens_at"] is None


def test_a_wait_past_closing_is_said_not_counted(hub) -> None:
    """At 16:20 with one counter and eleven citizens ahead, the call is expected after 17:00: the page says so,
    not "khoảng … phút" running past closing."""
    from playwright.sync_api import expect

    hub.clock.advance(hours=7, minutes=20)                 # 09:00 → 16:20, ten minutes before issue stops
    hub.hub.service.open_counter("1", staff="staff1")
    tickets = [issue(hub) for _ in range(12)]
    assert tickets[0]["wait_past_close"] is False and tickets[-1]["wait_past_close"] is True
    with tracking_page(viewport={"width": 390, "height": 844}) as page:
        page.goto(hub.url + tickets[-1]["tracking_url"])
        expect(page.locator("#wait")).to_have_text(
            "Thời gian chờ dự kiến: có thể quá giờ làm việc", timeout=10_000)
        page.goto(hub.url + tickets[0]["tracking_url"])
        expect(page.locator("#wait")).to_contain_text("phút", timeout=10_000)
        page.click("#lang")
        page.goto(hub.url + tickets[-1]["tracking_url"])
        expect(page.locator("#wait")).to_contain_text("past closing time", timeout=10_000)
