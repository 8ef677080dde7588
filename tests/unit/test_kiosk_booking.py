"""The kiosk's "Có lịch hẹn" presenter without a window: typed code and scanned QR check in and print at the slot's
place; too early / too late explained in Vietnamese with the walk-in offer; unknown code; hub down; the home button
only where the center takes bookings."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from test_kiosk_presenters import CONFIG, Rig, StandInHub, rig  # noqa: F401 - the rig fixture

from kiosk.hub_client import HubError
from kiosk.presenters.catalog import Catalog

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


class BookingHub(StandInHub):
    def __init__(self) -> None:
        super().__init__()
        self.bookings: dict[str, str] = {"K7M3QX": "ho-tich"}
        self.refusal: dict[str, Any] | None = None
        self.scans: list[str] = []

    def check_in_booking(self, scan: str) -> dict[str, Any]:
        self._check("check-in")
        self.scans.append(scan)
        if self.refusal is not None:
            raise HubError(self.refusal["code"], "refused", 409, self.refusal)
        code = scan.rsplit(":", 1)[-1].rsplit("/", 1)[-1].upper()
        if code not in self.bookings:
            raise HubError("unknown_booking", "no booking", 404, {"code": "unknown_booking",
                                                                  "reason": "unknown_code"})
        answer = self._new_ticket(self.bookings.pop(code), None)
        return answer


@pytest.fixture
def booking_rig(rig: Rig) -> Rig:  # noqa: F811
    hub = BookingHub()
    rig.kiosk.hub = hub
    rig.kiosk.booking.ctx = replace(rig.kiosk.booking.ctx, hub=hub)
    rig.kiosk.desk.hub = hub  # type: ignore[attr-defined]
    rig.hub = hub
    rig.kiosk.catalog = replace(Catalog.from_config({**CONFIG, "bookings": True}))
    return rig


def type_code(r: Rig, code: str) -> None:
    for ch in code:
        r.tap(r.kiosk.booking.press, ch)


def test_typed_code_checks_in_and_prints(booking_rig: Rig) -> None:
    k = booking_rig.kiosk
    assert k.home.view().booking == "Có lịch hẹn"
    booking_rig.tap(k.home.booking)
    assert k.screen == "booking"
    v = k.booking.view()
    assert v.title == "Xác nhận lịch hẹn" and not v.can_submit
    type_code(booking_rig, "k7m3qxZ")                   # lower case accepted, the 7th key ignored
    assert k.booking.code == "K7M3QX" and k.booking.view().can_submit
    booking_rig.tap(k.booking.submit)
    assert k.screen == "ticket" and k.take.state == "printed"
    assert k.take.ticket.number == "A001"
    assert booking_rig.printer.jobs[-1].ticket.id == "20261123-ho-tich-1"
    assert booking_rig.hub.print_results == [("20261123-ho-tich-1", True, None)]


def test_a_scanned_booking_qr_from_the_home_screen(booking_rig: Rig) -> None:
    k = booking_rig.kiosk
    k.scanned("MOTCUA-BK:K7M3QX")
    assert booking_rig.hub.scans == ["MOTCUA-BK:K7M3QX"]
    assert k.screen == "ticket" and k.take.state == "printed"


def test_too_early_is_explained_with_a_walk_in_offer(booking_rig: Rig) -> None:
    k = booking_rig.kiosk
    booking_rig.hub.refusal = {"code": "booking_refused", "reason": "too_early", "walk_in_offered": True,
                               "service": "dat-dai", "slot": "09:00", "opens": "08:30", "closes": "09:15",
                               "day": "23/11/2026"}
    booking_rig.tap(k.home.booking)
    type_code(booking_rig, "K7M3QX")
    booking_rig.tap(k.booking.submit)
    v = k.booking.view()
    assert k.screen == "booking" and v.is_problem
    assert v.message.startswith("Quý vị đến sớm. Lịch hẹn lúc 09:00; có thể xác nhận từ 08:30.")
    assert v.walk_in == "Lấy số thường"
    booking_rig.tap(k.toggle_language)
    assert "check-in opens at 08:30" in k.booking.view().message
    booking_rig.tap(k.booking.take_walk_in)
    assert k.screen == "ticket" and k.take.ticket.number == "B001"       # a walk-in ticket for the same service


def test_too_late_unknown_and_hub_down(booking_rig: Rig) -> None:
    k = booking_rig.kiosk
    booking_rig.hub.refusal = {"code": "booking_refused", "reason": "too_late", "walk_in_offered": True,
                               "service": "ho-tich", "slot": "08:00", "opens": "07:30", "closes": "08:15",
                               "day": "23/11/2026"}
    booking_rig.tap(k.home.booking)
    type_code(booking_rig, "K7M3QX")
    booking_rig.tap(k.booking.submit)
    assert "chỉ giữ chỗ đến 08:15" in k.booking.view().message
    booking_rig.hub.refusal = None
    booking_rig.tap(k.booking.clear_code)
    type_code(booking_rig, "AAAAAA")
    booking_rig.tap(k.booking.submit)
    v = k.booking.view()
    assert v.message.startswith("Không tìm thấy lịch hẹn") and v.walk_in == ""
    booking_rig.hub.down = True
    booking_rig.tap(k.booking.submit)
    assert k.booking.view().message.startswith("Máy chưa kết nối được hệ thống")
    booking_rig.tap(k.booking.clear_code)
    type_code(booking_rig, "AAA")
    booking_rig.tap(k.booking.submit)
    assert k.booking.view().message.startswith("Mã đặt lịch gồm 6 chữ và số")


def test_no_booking_button_where_the_center_takes_none(rig: Rig) -> None:  # noqa: F811
    k = rig.kiosk
    assert k.home.view().booking == ""
    rig.tap(k.home.booking)
    assert k.screen == "home"


def test_reset_forgets_the_typed_code(booking_rig: Rig) -> None:
    k = booking_rig.kiosk
    booking_rig.tap(k.home.booking)
    type_code(booking_rig, "K7M")
    k.reset()
    assert k.booking.code == "" and k.screen == "home"



def test_the_ticket_qr_uses_the_hubs_public_url_when_it_has_one() -> None:
    from kiosk.offline import IssuedTicket

    body = {"ticket": {"id": "t1", "number": "A001", "service": "ho-tich"}, "tracking_url": "/t/t1"}
    assert IssuedTicket.from_hub(body).tracking_url == "/t/t1"
    public = IssuedTicket.from_hub({**body, "public_tracking_url": "https://hcc.example.vn/t/t1"})
    assert public.tracking_url == "https://hcc.example.vn/t/t1"
