"""The kiosk's "Nhắn tin khi sắp đến lượt" presenter without a window: the button only where the hub texts citizens
and the ticket is known to it; the keypad's checks (the hub's rule: 10 digits starting 03/05/07/08/09, or +84); the
flow typing → sending → done → home; the hub's refusals and a dead hub worded in Vietnamese; the typed number
discarded by the idle timeout and never logged."""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pytest
from test_kiosk_presenters import CONFIG, Rig, StandInHub, rig  # noqa: F401 - the rig fixture

from kiosk.hub_client import HubError, HubUnavailable
from kiosk.presenters.catalog import Catalog
from kiosk.presenters.contact import grouped, live_problem, phone_problem

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

PHONE = "0912345678"


class ContactHub(StandInHub):
    def __init__(self) -> None:
        super().__init__()
        self.contacts: dict[str, str] = {}
        self.refusal: HubError | None = None
        self.ahead = 5
        self.offer: dict[str, Any] | None = {"phone": True, "channel": "sms", "turn_near_at": 3}

    def config(self) -> dict[str, Any]:
        self._check("config")
        return {**CONFIG, "notifications": self.offer}

    def attach_contact(self, ticket_id: str, contact: str) -> dict[str, Any]:
        self._check("contact")
        if self.refusal is not None:
            raise self.refusal
        known = self.contacts.get(ticket_id)
        if known is not None and known != contact:
            raise HubError("contact_exists", "other", 409)
        self.contacts[ticket_id] = contact
        number = self.tickets[ticket_id]["number"]
        digits = "0" + contact[3:] if contact.startswith("+84") else contact
        return {"ticket": ticket_id, "number": number, "notify": "sms", "masked": f"{digits[:4]}***{digits[-3:]}",
                "ahead": self.ahead, "turn_near_at": 3, "stored": "unchanged" if known else "created"}


@pytest.fixture
def crig(rig: Rig) -> Rig:  # noqa: F811
    hub = ContactHub()
    rig.kiosk.hub = hub
    rig.kiosk.contact.ctx = replace(rig.kiosk.contact.ctx, hub=hub)
    rig.kiosk.desk.hub = hub  # type: ignore[attr-defined]
    rig.hub = hub
    rig.kiosk.catalog = rig.kiosk.refresh_catalog()       # live, with the hub's notifications offer
    return rig


def printed_ticket(r: Rig) -> None:
    k = r.kiosk
    r.tap(k.home.take_ticket)
    r.tap(k.services.choose, "ho-tich")
    r.tap(k.priority.choose, None)
    assert k.take.state == "printed"


def type_number(r: Rig, keys: str | list[str]) -> None:
    for key in keys:
        r.tap(r.kiosk.contact.press, key)


# --- the rule, as the hub has it ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "problem"), [
    ("0912345678", None), ("0312345678", None), ("0512345678", None), ("0712345678", None), ("0812345678", None),
    ("+84912345678", None), ("", "contact.empty"), ("912345678", "contact.start_zero"),
    ("84912345678", "contact.start_zero"), ("0212345678", "contact.not_mobile"), ("0112345678", "contact.not_mobile"),
    ("091234567", "contact.too_short"), ("+8491234567", "contact.too_short"), ("+84212345678", "contact.not_mobile"),
])
def test_phone_rule_matches_the_hub(text: str, problem: str | None) -> None:
    from queue_server.app.notifications import normalise_phone

    found = phone_problem(text)
    assert (found[0] if found else None) == problem
    # the hub agrees number by number; it also takes 84… without the +, which the keypad (with its +84 key) asks
    # to type with a 0
    assert (normalise_phone(text) is not None) == (problem is None or text.startswith("84"))


def test_live_hints_only_for_certain_mistakes_and_the_number_grouped() -> None:
    assert live_problem("09") is None and live_problem("0912") is None       # not yet "too short" while typing
    assert live_problem("9") == ("contact.start_zero", {}) and live_problem("02") == ("contact.not_mobile", {})
    assert grouped("0912345678") == "0912 345 678" and grouped("+84912345678") == "+84 912 345 678"
    assert grouped("0912") == "0912" and grouped("+84") == "+84"


# --- the button ---------------------------------------------------------------------------------------------------
def test_button_only_after_printing_and_only_where_the_hub_texts(crig: Rig) -> None:
    k = crig.kiosk
    printed_ticket(crig)
    assert k.take.view().notify == "Nhắn tin khi sắp đến lượt" and k.take.view().notify_space
    crig.tap(k.toggle_language)
    assert k.take.view().notify == "Text me when my turn nears"
    crig.tap(k.take.done)
    crig.hub.offer = None                                     # a hub without [notifications] (or no SMS gateway)
    printed_ticket(crig)
    assert k.take.view().notify == "" and not k.take.view().notify_space
    crig.tap(k.take.notify)
    assert k.screen == "ticket"


def test_no_button_for_a_ticket_issued_offline(crig: Rig) -> None:
    k = crig.kiosk
    assert crig.desk.maintain() == "online"
    crig.hub.down = True
    printed_ticket(crig)
    assert k.take.ticket.offline and k.take.view().notify == ""
    crig.tap(k.take.notify)
    assert k.screen == "ticket" and "contact" not in crig.hub.calls


def test_no_button_when_the_last_catalog_refresh_failed(crig: Rig) -> None:
    k = crig.kiosk
    printed_ticket(crig)
    crig.hub.down = True
    k.set_catalog(k.refresh_catalog())                         # the upkeep found the hub gone meanwhile
    assert not k.catalog.live and k.take.view().notify == ""
    crig.tap(k.take.notify)
    assert k.screen == "ticket"


def test_catalog_reads_the_offer_from_config() -> None:
    assert Catalog.from_config({**CONFIG, "notifications": {"phone": True, "turn_near_at": 3}}).notify_phone
    assert not Catalog.from_config({**CONFIG, "notifications": {"phone": False}}).notify_phone
    assert not Catalog.from_config({**CONFIG, "notifications": None}).notify_phone
    assert not Catalog.from_config(CONFIG).notify_phone                 # an older hub


# --- the flow -----------------------------------------------------------------------------------------------------
def test_type_confirm_and_home(crig: Rig) -> None:
    k = crig.kiosk
    printed_ticket(crig)
    crig.tap(k.take.notify)
    assert k.screen == "contact"
    v = k.contact.view()
    assert v.title == "Nhắn tin khi sắp đến lượt" and "Số A001" in v.subtitle and "không bắt buộc" in v.subtitle
    assert v.number == "" and v.placeholder.startswith("Ví dụ") and not v.can_submit and v.keypad_on
    type_number(crig, PHONE)
    type_number(crig, "9")                                    # an 11th digit is ignored: nothing jumps
    v = k.contact.view()
    assert v.number == "0912 345 678" and v.can_submit and v.message == ""
    crig.tap(k.contact.submit)
    assert crig.hub.contacts == {"20261123-ho-tich-1": PHONE}
    v = k.contact.view()
    assert v.state == "done" and not v.keypad_on and v.title == "Đã ghi nhận"
    assert v.subtitle == ("Quý vị sẽ nhận tin nhắn khi còn 3 người nữa đến lượt, và khi được mời đến quầy "
                          "(số 0912***678).")
    assert v.number == "0912***678" and k.contact.text == ""  # the whole number is the hub's now
    crig.tap(k.contact.finish)
    assert k.screen == "home" and k.contact.ticket_id is None and k.take.ticket is None


def test_international_form_and_editing(crig: Rig) -> None:
    k = crig.kiosk
    printed_ticket(crig)
    crig.tap(k.take.notify)
    type_number(crig, ["+84", "9", "+84"])                    # +84 only starts a number
    assert k.contact.text == "+849"
    crig.tap(k.contact.delete)
    crig.tap(k.contact.delete)                                # "+84" goes in one press, as it came
    assert k.contact.text == ""
    type_number(crig, ["+84", *"912345678", "1"])
    assert k.contact.view().number == "+84 912 345 678"
    crig.tap(k.contact.submit)
    assert crig.hub.contacts["20261123-ho-tich-1"] == "+84912345678" and k.contact.state == "done"


def test_mistakes_are_explained_without_calling_the_hub(crig: Rig) -> None:
    k = crig.kiosk
    printed_ticket(crig)
    crig.tap(k.take.notify)
    type_number(crig, "9")
    v = k.contact.view()
    assert v.is_problem and v.message == "Số di động bắt đầu bằng số 0, ví dụ 0912 345 678."
    crig.tap(k.contact.clear_number)
    assert k.contact.view().message == "" and k.contact.text == ""
    type_number(crig, "02")
    assert "không phải số di động" in k.contact.view().message
    crig.tap(k.contact.clear_number)
    type_number(crig, "0912")
    assert k.contact.view().message == ""
    crig.tap(k.contact.submit)
    v = k.contact.view()
    assert v.is_problem and v.message == "Số di động gồm 10 chữ số; quý vị mới nhập 4 số." and v.state == "typing"
    assert "contact" not in crig.hub.calls
    crig.tap(k.toggle_language)
    assert k.contact.view().message == "A mobile number has 10 digits; you have typed 4."


def test_already_near_its_turn_says_the_text_comes_now(crig: Rig) -> None:
    k = crig.kiosk
    crig.hub.ahead = 2
    printed_ticket(crig)
    crig.tap(k.take.notify)
    type_number(crig, PHONE)
    crig.tap(k.contact.submit)
    assert k.contact.view().subtitle.startswith("Quý vị sắp đến lượt: tin nhắn được gửi ngay đến số 0912***678")


@pytest.mark.parametrize(("error", "expected"), [
    (HubError("ticket_not_waiting", "x", 409), "Số A001 đã được gọi hoặc không còn chờ"),
    (HubError("contact_exists", "x", 409), "Số A001 đã có số điện thoại nhận tin nhắn."),
    (HubError("bad_request", "contact: …", 400), "Số điện thoại chưa đúng."),
    (HubError("rate_limited", "slow down", 429), "Xin chờ một phút"),
    (HubUnavailable("timeout"), "Không kết nối được máy chủ nên chưa ghi nhận được số điện thoại."),
])
def test_refusals_and_a_dead_hub_are_worded_and_the_number_kept_for_a_retry(crig: Rig, error: Exception,
                                                                             expected: str) -> None:
    k = crig.kiosk
    printed_ticket(crig)
    crig.tap(k.take.notify)
    type_number(crig, PHONE)
    crig.hub.refusal = error  # type: ignore[assignment]
    crig.tap(k.contact.submit)
    v = k.contact.view()
    assert v.state == "typing" and v.is_problem and expected in v.message, v.message
    assert v.number == "0912 345 678" and v.keypad_on
    crig.hub.refusal = None
    crig.tap(k.contact.submit)                                # the retry is safe: the hub's route is idempotent
    assert k.contact.state == "done"


def test_back_returns_to_the_ticket_and_forgets_the_digits(crig: Rig) -> None:
    k = crig.kiosk
    printed_ticket(crig)
    crig.tap(k.take.notify)
    type_number(crig, "0912")
    crig.tap(k.contact.back)
    assert k.screen == "ticket" and k.contact.text == "" and k.take.view().number == "A001"


def test_first_key_right_after_the_button_is_a_double_tap_not_a_digit(crig: Rig) -> None:
    k = crig.kiosk
    printed_ticket(crig)
    crig.tap(k.take.notify)
    crig.clock.advance(0.1)
    k.contact.press("0")                                       # the second half of the tap that opened the screen
    assert k.contact.text == ""


# --- idle: the number goes with the citizen -----------------------------------------------------------------------
def test_idle_timeout_goes_home_and_discards_the_typed_number(crig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    k = crig.kiosk
    caplog.set_level(logging.DEBUG)
    printed_ticket(crig)
    crig.tap(k.take.notify)
    type_number(crig, "091234")
    crig.clock.advance(k.behaviour.idle_timeout_s - 5)
    k.tick()
    assert k.screen == "contact" and k.contact.text == "091234"   # typing slowly is not leaving
    crig.clock.advance(10)
    k.tick()
    assert k.screen == "home" and k.contact.text == "" and k.contact.ticket_id is None
    assert k.contact.view().number == ""
    assert "091234" not in caplog.text


def test_confirmation_goes_home_sooner_but_never_while_sending(crig: Rig) -> None:
    k = crig.kiosk
    printed_ticket(crig)
    crig.tap(k.take.notify)
    type_number(crig, PHONE)
    k.contact.state = "sending"                               # the hub has not answered yet
    crig.clock.advance(k.behaviour.idle_timeout_s + 30)
    assert k.tick() is None and k.screen == "contact"
    k.contact.state = "typing"
    crig.tap(k.contact.submit)
    assert k.contact.state == "done"
    crig.clock.advance(k.behaviour.ticket_screen_s + 1)
    k.tick()
    assert k.screen == "home" and k.contact.answer == {}


def test_nothing_of_the_number_in_the_log_when_the_hub_fails(crig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    k = crig.kiosk
    caplog.set_level(logging.DEBUG)
    printed_ticket(crig)
    crig.tap(k.take.notify)
    type_number(crig, PHONE)
    crig.hub.refusal = RuntimeError(f"boom {PHONE}")  # type: ignore[assignment]
    crig.tap(k.contact.submit)
    assert k.contact.view().message.startswith("Có lỗi xảy ra")
    assert PHONE not in caplog.text and "attaching a contact failed: RuntimeError" in caplog.text
