"""Slot capacities on /admin (issue 16 pt 1) in Debian's Chromium against a real hub with bookings on: the admin
raises a service's places per slot and the booking page /dat-lich then offers the new number of places, without a
restart; a bad value is refused with the key named and nothing changed; a message template is edited and a
template with an unknown field is refused."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapter"))
from api_support import FAST_HASH
from hub_support import HubOptions, TestHub
from test_bookings_day import at, raw_settings

from queue_server.broker import free_port
from queue_server.config import settings_from_dict
from queue_server.mock_gateway import MockGateway

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "bookings"


@pytest.fixture
def gateway() -> Iterator[MockGateway]:
    mock = MockGateway(port=free_port()).start()
    yield mock
    mock.stop()


@pytest.fixture
def hub_options(gateway: MockGateway, voice_dir: Path) -> HubOptions:
    def settings(tmp: Path) -> Any:
        raw = raw_settings(tmp)
        raw["users"].append({"username": "quantri", "role": "admin", "password_hash": FAST_HASH})
        # the booking page books only where one-time codes can be sent
        raw["notifications"] = {"retry_base_s": 0.05, "sms": {"url": gateway.url + "/sms"}}
        return settings_from_dict(raw)

    def displays(s: Any) -> list[Any]:               # /admin lives in the displays blueprint
        from displays.blueprint import DisplaySettings, make_displays_blueprint

        return [make_displays_blueprint(voice_dir, settings=DisplaySettings.from_object(s.display))]

    return HubOptions(settings=settings, at=at(7, 0), serve=True, blueprints=displays)


def test_a_capacity_changed_on_admin_is_offered_on_the_booking_page(hub: TestHub) -> None:
    from playwright.sync_api import expect, sync_playwright

    hub.engagement.bookings.book("ho-tich", at(9, 0), "0911111111")          # one of the 2 places taken
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            citizen = browser.new_page(viewport={"width": 390, "height": 844})
            citizen.goto(hub.url + "/dat-lich")
            expect(citizen.locator("#service option")).to_have_count(3, timeout=10_000)
            citizen.select_option("#service", "ho-tich")
            expect(citizen.locator("#slots button", has_text="09:00")).to_have_attribute("title", "còn 1 chỗ")

            admin = browser.new_page(viewport={"width": 1400, "height": 1000})
            admin.goto(hub.url + "/admin")
            admin.fill("#username", "quantri")
            admin.fill("#password", hub.password)
            admin.click("#login button[type=submit]")
            expect(admin.locator("#sec-bookings")).to_be_visible(timeout=10_000)
            places = admin.locator('#booking-capacity tr[data-service="ho-tich"] input')
            expect(places).to_have_value("2")
            expect(admin.locator("#bk-late_min")).to_have_value("15")
            # a service that takes no bookings is listed with an empty box
            expect(admin.locator('#booking-capacity tr[data-service="y-te"] input')).to_have_value("")

            # a bad value: refused, the key named, nothing changed
            places.fill("nhiều")
            admin.click("#save-bookings")
            expect(admin.locator("#message")).to_contain_text("bookings.capacity.ho-tich")
            expect(admin.locator("#message")).to_contain_text("chưa thay đổi gì")
            assert hub.engagement.bookings.rules.capacity["ho-tich"] == 2

            places.fill("5")
            admin.locator("#bk-late_min").fill("20")
            admin.click("#save-bookings")
            expect(admin.locator("#message")).to_contain_text("Đã lưu")
            assert hub.engagement.bookings.rules.capacity["ho-tich"] == 5
            assert hub.engagement.bookings.rules.late_min == 20
            admin.screenshot(path=str(ARTIFACTS / "admin_bookings.png"), full_page=True)

            # the booking page, reloaded, offers the new number of places (4 of 5 left), no restart
            citizen.reload()
            expect(citizen.locator("#service option")).to_have_count(3, timeout=10_000)
            citizen.select_option("#service", "ho-tich")
            expect(citizen.locator("#slots button", has_text="09:00")).to_have_attribute("title", "còn 4 chỗ")
            expect(citizen.locator("#slots button", has_text="10:00")).to_have_attribute("title", "còn 5 chỗ")

            # a message template, edited on the same page, is what the outbox renders next
            expect(admin.locator("#sec-notifications")).to_be_visible()
            called = admin.locator('textarea[data-template="called"]')
            called.fill("{center}: xin mời số {number} đến ngay {counter}.")
            admin.click("#save-notifications")
            expect(admin.locator("#message")).to_contain_text("Đã lưu")
            outbox = hub.engagement.notifications.outbox
            assert outbox.templates["called"] == "{center}: xin mời số {number} đến ngay {counter}."
            called.fill("{center}: mời số {so_thu_tu}.")
            admin.click("#save-notifications")
            expect(admin.locator("#message")).to_contain_text("notifications.templates.called: unknown field")
            assert "{so_thu_tu}" not in outbox.templates["called"]
        finally:
            browser.close()


def test_the_reports_page_shows_the_days_bookings(hub: TestHub) -> None:
    from playwright.sync_api import expect, sync_playwright

    bookings = hub.engagement.bookings
    came = bookings.book("ho-tich", at(8, 0), "0911111111")[0]
    bookings.book("ho-tich", at(8, 0), "0922222222")                          # never comes
    gone = bookings.book("dat-dai", at(9, 0), "0933333333")[0]
    bookings.cancel(gone.code)
    hub.clock.set(at(7, 50))
    bookings.check_in(came.code)
    hub.clock.set(at(8, 30))
    bookings.sweep()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(hub.url + "/reports?period=day&date=2026-11-23")
            page.fill("#username", "quanly")
            page.fill("#password", hub.password)
            page.click("#login button[type=submit]")
            expect(page.locator("#bookings-section")).to_be_visible(timeout=10_000)
            expect(page.locator('#bookings-facts [data-fact="made"] dd')).to_have_text("3")
            expect(page.locator('#bookings-facts [data-fact="check_in_rate"] dd')).to_have_text("50,0%")
            expect(page.locator('#bookings-facts [data-fact="no_show_rate"] dd')).to_have_text("50,0%")
            row = page.locator('#bookings-days tr[data-day="2026-11-23"] td')
            expect(row).to_have_text(["23/11/2026", "3", "1", "1", "1", "50,0%", "1,7%"])   # 1 of 60 places
            page.screenshot(path=str(ARTIFACTS / "reports_bookings.png"), full_page=True)
        finally:
            browser.close()
