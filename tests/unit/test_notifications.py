"""Notification rules and templates: which message, to whom, under which key (pure, no gateway)."""
from __future__ import annotations

import pytest

from contracts.messages import Envelope
from queue_server.app.notifications import (
    DEFAULT_TEMPLATES,
    Contact,
    NotificationRules,
    Position,
    TemplateError,
    check_templates,
    normalise_address,
    normalise_phone,
    render,
    strip_diacritics,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("raw", "expected"), [
    ("0912345678", "0912345678"), ("0912 345 678", "0912345678"), ("+84912345678", "0912345678"),
    ("84912345678", "0912345678"), ("+84 (91) 234-5678", "0912345678"), ("0312345678", "0312345678"),
    ("091234567", None), ("01234567890", None), ("0212345678", None), ("+1 212 555 0100", None), ("", None),
    ("abc", None),
])
def test_vietnamese_mobile_numbers(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


def test_addresses_per_channel() -> None:
    assert normalise_address("email", " Hoa@Example.VN ") == "hoa@example.vn"
    assert normalise_address("email", "not-an-address") is None
    assert normalise_address("zalo", "0987654321") == "0987654321"
    assert normalise_address("fax", "0987654321") is None


def test_strip_diacritics_for_gsm7_sms() -> None:
    assert strip_diacritics("Mời quý vị có số A023 đến Quầy 5 — Đăng ký") == "Moi quy vi co so A023 den Quay 5 — Dang ky"


def test_templates_can_be_replaced_but_not_broken() -> None:
    merged = check_templates({"called": "Số {number}: mời đến {counter}."})
    assert render(merged, "called", {"number": "A023", "counter": "Quầy 5", "center": "x"}) == \
        "Số A023: mời đến Quầy 5."
    assert merged["turn_near"] == DEFAULT_TEMPLATES["turn_near"]
    with pytest.raises(TemplateError, match=r"templates.called: unknown field \{phone\}"):
        check_templates({"called": "{phone}"})
    with pytest.raises(TemplateError, match="templates.hello: unknown message"):
        check_templates({"hello": "xin chào"})
    with pytest.raises(TemplateError, match="templates.called"):
        check_templates({"called": "{number"})


def test_every_default_template_renders_with_its_fields() -> None:
    from queue_server.app.notifications import TEMPLATE_FIELDS

    for name, fields in TEMPLATE_FIELDS.items():
        text = render(DEFAULT_TEMPLATES, name, dict.fromkeys(fields, "X"))
        assert "{" not in text and text.strip()


class Book:
    def __init__(self, contacts: dict[str, Contact]) -> None:
        self.contacts = contacts

    def contact_for(self, ticket_id: str) -> Contact | None:
        return self.contacts.get(ticket_id)

    def waiting_with_contacts(self) -> list[str]:
        return list(self.contacts)


class Queue:
    def __init__(self, positions: dict[str, Position]) -> None:
        self.positions = positions

    def position(self, ticket_id: str) -> Position | None:
        return self.positions.get(ticket_id)


def env(kind: str, data: dict) -> Envelope:
    return Envelope(id=f"e-{kind}", seq=1, type=kind, center="c", at="2026-11-23T08:00:00+07:00", data=data)


RULES = NotificationRules("TT HCC Quảng Trị", turn_near_at=3, track_url=lambda t: f"https://hcc.example/t/{t}")
SMS = Contact("sms", "0912345678")


def test_a_call_tells_the_ticket_holder_where_to_go() -> None:
    called = env("ticket.called", {"ticket": {"id": "20261123-ho-tich-23", "number": "A023"}, "counter": "5",
                                   "counter_name": "Quầy 5"})
    plan = RULES.plan([called], Book({"20261123-ho-tich-23": SMS}), Queue({}))
    assert [(n.key, n.address, n.template) for n in plan] == [("called:20261123-ho-tich-23", "0912345678", "called")]
    assert plan[0].params["counter"] == "Quầy 5"
    # no contact, no message
    assert RULES.plan([called], Book({}), Queue({})) == []


def test_turn_near_only_within_n_and_only_after_the_queue_moved() -> None:
    book = Book({"t1": SMS, "t2": Contact("email", "a@b.vn")})
    queue = Queue({"t1": Position(3, "A030", "Hộ tịch"), "t2": Position(4, "A031", "Hộ tịch")})
    moved = env("ticket.done", {"ticket": {"id": "t0"}})
    plan = RULES.plan([moved], book, queue)
    assert [(n.key, n.params["ahead"], n.params["track_url"]) for n in plan] == [
        ("turn_near:t1", 3, "https://hcc.example/t/t1")]
    # a rating or a device event moves no queue
    assert RULES.plan([env("rating.submitted", {})], book, queue) == []
    # a ticket no longer waiting is not told
    assert RULES.plan([moved], book, Queue({})) == []
    # turned off
    off = NotificationRules("x", turn_near_at=0)
    assert off.plan([moved], book, queue) == []
