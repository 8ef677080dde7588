"""A booked ticket's tracking page and its booking's page link to each other (issue 16 point 4), in Debian's Chromium
against a real hub — directly on the hub and through a relay that serves the hub under a path prefix, as a province
does for [notifications] public_base_url — and over plain HTTP: the public answers carry no phone, CCCD or the
person's hash."""
from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapter"))
from hub_support import HubOptions, TestHub
from test_bookings_day import PUSH_TOKEN, at, raw_settings

from kiosk.tracking_blueprint import create_tracking_blueprint
from queue_server.broker import free_port
from queue_server.config import settings_from_dict

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "bookings"
PHONE, CCCD = "0912345678", "001099012345"
PREFIX = "/motcua/hcc-01"


class Relay:
    """A minimal reverse proxy on loopback: ``PREFIX/<path>`` → the hub's ``/<path>`` (what the province runs)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.target = ""
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                if not self.path.startswith(PREFIX + "/"):
                    self.send_error(404)
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
                r = requests.request(self.command, relay.target + self.path[len(PREFIX):], data=body or None,
                                     headers=headers, timeout=10, allow_redirects=False)
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            do_GET = do_POST = _forward

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}"


@pytest.fixture
def relay() -> Iterator[Relay]:
    r = Relay()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def hub_options(relay: Relay) -> HubOptions:
    def settings(tmp: Path) -> Any:
        raw = raw_settings(tmp)
        raw["notifications"] = {"public_base_url": relay.base, "retry_base_s": 0.05,
                                "sms": {"url": "http://127.0.0.1:9/sms"}}   # nothing is sent in this test
        return settings_from_dict(raw)

    return HubOptions(settings=settings, at=at(7, 0), serve=True,
                      blueprints=lambda s: [create_tracking_blueprint(poll_s=1)])


@pytest.fixture
def booked(hub: TestHub, relay: Relay) -> dict[str, Any]:
    """A portal booking for 08:00 (phone as its person, CCCD unused), a walk-in, then the check-in at 07:45."""
    relay.target = hub.url
    r = requests.post(f"{hub.url}/api/v1/integration/bookings", headers={"Authorization": f"Bearer {PUSH_TOKEN}"},
                      json={"bookings": [{"external_id": "p-1", "service": "ho-tich", "contact": PHONE,
                                          "slot_start": at(8, 0).isoformat(), "person_id": PHONE}]}, timeout=5)
    code = r.json()["results"][0]["code"]
    hub.clock.set(at(7, 40))
    walk_in = requests.post(f"{hub.url}/api/v1/tickets", json={"service": "ho-tich"}, timeout=5)
    assert walk_in.status_code == 201
    hub.clock.set(at(7, 45))
    r = requests.post(f"{hub.url}/api/v1/bookings/check-in", json={"scan": code, "kiosk": "k1"}, timeout=5)
    assert r.status_code == 201, r.text
    return {"code": code, "walk_in": walk_in.json()["ticket"], **r.json()}


def test_the_public_answers_link_ticket_and_booking_and_carry_no_personal_data(hub: TestHub, relay: Relay,
                                                                               booked: dict[str, Any]) -> None:
    code, ticket_id = booked["code"], booked["ticket"]["id"]
    assert booked["public_tracking_url"] == f"{relay.base}/t/{ticket_id}"      # the QR on the booked ticket
    person = hub.engagement.bookings.store.get(code).person
    for base in (hub.url, relay.base):
        ticket = requests.get(f"{base}/api/v1/tickets/{ticket_id}", timeout=5)
        booking = requests.get(f"{base}/api/v1/bookings/{code}", timeout=5)
        assert ticket.json()["ticket"]["booking"] == code
        assert booking.json()["booking"] == {"code": code, "service": "ho-tich", "slot_start": at(8, 0).isoformat(),
                                             "status": "checked_in", "source": "portal", "ticket_id": ticket_id}
        pages = [requests.get(f"{base}/t/{ticket_id}", timeout=5), requests.get(f"{base}/b/{code}", timeout=5)]
        for r in [ticket, booking, *pages]:
            assert r.status_code == 200
            for secret in (PHONE, PHONE[1:], CCCD, person):
                assert secret not in r.text


def test_tracking_page_shows_the_booking_and_the_two_pages_link_through_the_relay(hub: TestHub, relay: Relay,
                                                                                   booked: dict[str, Any]) -> None:
    from playwright.sync_api import expect, sync_playwright

    code, ticket_id, number = booked["code"], booked["ticket"]["id"], booked["ticket"]["number"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
            for base in (hub.url, relay.base):                 # on the LAN, and from anywhere through the relay
                page.goto(f"{base}/t/{ticket_id}")
                expect(page.locator("#number")).to_have_text(number, timeout=10_000)
                expect(page.locator("#ahead")).to_have_text("Trước quý vị còn 1 người")
                expect(page.locator("#booking")).to_be_visible()
                expect(page.locator("#booking-title")).to_have_text("Số này được lấy từ lịch hẹn")
                expect(page.locator("#booking-code-label")).to_have_text("Mã đặt lịch")
                expect(page.locator("#booking-code")).to_have_text(code)
                expect(page.locator("#booking-detail")).to_have_text(
                    "Tư pháp – Hộ tịch, hẹn lúc 08:00 ngày 23/11/2026", timeout=10_000)
                expect(page.locator("#booking-status")).to_have_text("Đã xác nhận tại kiosk")
                if base == relay.base:
                    page.screenshot(path=str(ARTIFACTS / "tracking_booked.png"), full_page=True)
                page.click("#booking-link")                    # → the booking's page, under the same base
                page.wait_for_url(f"{base}/b/{code}")
                expect(page.locator("#booking-code")).to_have_text(code, timeout=10_000)
                expect(page.locator("#booking-status")).to_have_text("Đã lấy số")
                expect(page.locator("#cancel")).to_be_hidden()  # a booking already used cannot be cancelled
                page.click("#ticket-link")                     # and back to the ticket it became
                page.wait_for_url(f"{base}/t/{ticket_id}")
                expect(page.locator("#booking-code")).to_have_text(code, timeout=10_000)
            page.click("#lang")
            expect(page.locator("#booking-title")).to_have_text("This number comes from a booking")
            expect(page.locator("#booking-code-label")).to_have_text("Booking code")
            expect(page.locator("#booking-detail")).to_have_text("Justice – Civil status, booked for 08:00 on 23/11/2026")
            expect(page.locator("#booking-status")).to_have_text("Checked in at the kiosk")
            expect(page.locator("#booking-link")).to_have_text("See the booking")

            # a walk-in's page shows no booking block
            page.goto(f"{relay.base}/t/{booked['walk_in']['id']}")
            expect(page.locator("#number")).to_have_text(booked["walk_in"]["number"], timeout=10_000)
            expect(page.locator("#status")).to_have_text("Waiting to be called")
            expect(page.locator("#booking")).to_be_hidden()
        finally:
            browser.close()
