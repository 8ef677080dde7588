"""The hub's booking page (/dat-lich, /b/<code>) in Debian's Chromium against a real hub: choose a slot, receive the
one-time code through the notifier (the mock SMS gateway over real HTTP), book, see the code; a wrong code and the
anti-hoarding limit are explained in Vietnamese; the link in the confirmation opens the booking and cancels it."""
from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapter"))
from hub_support import HubOptions, TestHub
from test_bookings_day import at, raw_settings

from queue_server.broker import free_port
from queue_server.config import settings_from_dict
from queue_server.mock_gateway import MockGateway

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "bookings"
PHONE = "0912345678"


@pytest.fixture
def gateway() -> Iterator[MockGateway]:
    mock = MockGateway(port=free_port()).start()
    yield mock
    mock.stop()


@pytest.fixture
def hub_options(gateway: MockGateway, voice_dir: Path) -> HubOptions:
    def settings(tmp: Path) -> Any:
        raw = raw_settings(tmp)
        raw["notifications"] = {"public_base_url": "https://hcc.example.vn", "retry_base_s": 0.05,
                                "sms": {"url": gateway.url + "/sms"}}
        return settings_from_dict(raw)

    def displays(s: Any) -> list[Any]:               # the manager board lives in the displays blueprint
        from displays.blueprint import DisplaySettings, make_displays_blueprint

        return [make_displays_blueprint(voice_dir, settings=DisplaySettings.from_object(s.display))]

    return HubOptions(settings=settings, at=at(7, 0), serve=True, blueprints=displays)


def code_sent(gateway: MockGateway, after: int) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for r in gateway.received[after:]:
            if r.key.startswith("otp:"):
                return re.search(r"\b(\d{6})\b", r.body["text"]).group(1)  # type: ignore[union-attr]
        time.sleep(0.05)
    raise AssertionError("no one-time code reached the gateway")


def test_book_with_a_one_time_code_then_cancel_by_the_link(hub: TestHub, gateway: MockGateway) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
            page.goto(hub.url + "/dat-lich")
            expect(page.locator("#title")).to_have_text("Đặt lịch hẹn")
            expect(page.locator("#service option")).to_have_count(3, timeout=10_000)
            page.select_option("#service", "ho-tich")
            page.select_option("#day", "2026-11-23")
            page.locator("#slots button", has_text="08:00").click()
            page.fill("#contact", "0912 345 678")
            page.fill("#code", "000000")
            page.click("#submit")                                  # no code was sent yet: refused, explained
            expect(page.locator("#problem")).to_have_text("Mã xác thực chưa đúng hoặc đã hết hạn.")
            before = len(gateway.received)
            page.click("#send")
            expect(page.locator("#message")).to_contain_text("Đã gửi mã xác thực")
            page.fill("#code", code_sent(gateway, before))
            page.screenshot(path=str(ARTIFACTS / "booking_form.png"))
            page.click("#submit")
            expect(page.locator("#done-title")).to_have_text("Quý vị đã đặt lịch thành công.", timeout=10_000)
            code = page.locator("#booking-code").inner_text()
            assert re.fullmatch(r"[A-Z0-9]{6}", code)
            expect(page.locator("#booking-detail")).to_have_text("Tư pháp – Hộ tịch, lúc 08:00 ngày 23/11/2026")
            expect(page.locator("#booking-hint")).to_contain_text("từ 07:30 đến 08:15")
            assert page.url.endswith(f"/b/{code}")
            page.screenshot(path=str(ARTIFACTS / "booking_done.png"))
            stored = hub.engagement.bookings.store.get(code)
            assert stored is not None and stored.status == "booked" and PHONE not in stored.person

            # the same phone, the same service, the same day: the anti-hoarding limit, in Vietnamese
            page2 = browser.new_page(viewport={"width": 390, "height": 844})
            page2.goto(hub.url + "/dat-lich")
            expect(page2.locator("#service option")).to_have_count(3, timeout=10_000)
            page2.select_option("#service", "ho-tich")
            page2.locator("#slots button", has_text="09:00").click()
            page2.fill("#contact", PHONE)
            before = len(gateway.received)
            page2.click("#send")
            page2.fill("#code", code_sent(gateway, before))
            page2.click("#submit")
            expect(page2.locator("#problem")).to_have_text("Quý vị đã có lịch cho lĩnh vực này trong ngày.")

            # the confirmation carries the link; it opens the booking, which the citizen cancels
            confirm = next(r for r in gateway.received if r.key == f"booking_confirmed:{code}")
            link = re.search(r"https://hcc\.example\.vn(/b/[A-Z0-9]{6})", confirm.body["text"]).group(1)  # type: ignore[union-attr]
            page3 = browser.new_page(viewport={"width": 390, "height": 844})
            page3.goto(hub.url + link)
            expect(page3.locator("#booking-status")).to_have_text("Đã đặt lịch", timeout=10_000)
            page3.once("dialog", lambda d: d.accept())
            page3.click("#cancel")
            expect(page3.locator("#booking-status")).to_have_text("Đã hủy")
            expect(page3.locator("#message")).to_contain_text("Lịch hẹn đã được hủy")
            page3.click("#lang")
            expect(page3.locator("#booking-status")).to_have_text("Cancelled")
            page3.screenshot(path=str(ARTIFACTS / "booking_cancelled.png"))
            assert hub.engagement.bookings.store.get(code).status == "cancelled"
        finally:
            browser.close()


def test_the_manager_board_shows_todays_bookings(hub: TestHub) -> None:
    from playwright.sync_api import expect, sync_playwright

    bookings = hub.engagement.bookings
    first = bookings.book("ho-tich", at(8, 0), "0911111111")[0]
    bookings.book("ho-tich", at(8, 0), "0922222222")
    bookings.book("dat-dai", at(8, 30), "0933333333")
    hub.clock.set(at(7, 50))
    bookings.check_in(first.code)
    hub.clock.set(at(8, 50))
    bookings.sweep()                                 # the other two never came
    # 1 checked in of 60 places offered that day (15 half-hour slots × (2 + 1 + 1) places)
    assert bookings.stats(at(0).date(), at(0).date())["places_offered"] == 60
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(hub.url + "/manager")
            page.fill("#username", "quanly")
            page.fill("#password", hub.password)
            page.click("#login button[type=submit]")
            expect(page.locator("#bookings-panel")).to_be_visible(timeout=10_000)
            expect(page.locator("#bookings-rates")).to_have_text("đến 33% · vắng 67% · sử dụng 2%")
            row = page.locator('#bookings tr[data-slot="ho-tich@2026-11-23T08:00:00+07:00"]')
            expect(row.locator("td")).to_have_text(["08:00", "Tư pháp – Hộ tịch", "2", "2", "1", "1", "50%"])
            page.screenshot(path=str(ARTIFACTS / "manager_bookings.png"), full_page=True)
        finally:
            browser.close()
