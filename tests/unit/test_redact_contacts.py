"""redact_contacts (queue_server.app.notifications): a gateway's error text may be logged and stored only once every
phone number and e-mail address in it is gone — in the ways Vietnamese numbers are written, and the message's own
recipient however the gateway spaced it — while the rest of the text (codes, keys, dates) stays readable."""
from __future__ import annotations

import pytest

from queue_server.app.notifications import redact_contacts

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("written", [
    "0912345678", "84912345678", "+84912345678", "+84 912 345 678", "(+84) 912 345 678", "(84)912345678",
    "0912 345 678", "0912.345.678", "0912-345-678", "091 234 5678", "84-912-345-678", "+84-91-234-5678",
    "0987654321", "0233 3856 789", "02333856789",       # another mobile; a landline (0 + 10 digits)
])
def test_every_common_way_of_writing_a_number_is_taken_out(written: str) -> None:
    out = redact_contacts(f"Thuê bao {written} không hợp lệ (invalid number {written}).")
    assert out == "Thuê bao [phone] không hợp lệ (invalid number [phone])."


@pytest.mark.parametrize("written", ["hoa@example.vn", "Nguyen.Van-A+hcc@mail.quangtri.gov.vn", "hoa%40example.vn",
                                     "người.dùng@ví-dụ.vn"])
def test_every_e_mail_address_is_taken_out(written: str) -> None:
    assert redact_contacts(f"550 5.1.1 <{written}>: no such user") == "550 5.1.1 <[email]>: no such user"


def test_the_recipient_itself_goes_however_it_was_spaced_or_cased() -> None:
    assert redact_contacts("subscriber 912 345 678 unknown", "0912345678") == "subscriber [phone] unknown"
    assert redact_contacts("subscriber 912-345678 unknown", "0912345678") == "subscriber [phone] unknown"
    assert redact_contacts("mailbox HOA@EXAMPLE.VN full", "hoa@example.vn") == "mailbox [email] full"


def test_the_message_text_echoed_goes_too() -> None:
    text = "Mã xác thực của quý vị: 482913 (hiệu lực 5 phút)."
    assert redact_contacts(f"rejected: {text}", "0912345678", text) == "rejected: [message text]"
    assert redact_contacts("rejected: Ma xac thuc cua quy vi: 482913 (hieu luc 5 phut).", "", text) == \
        "rejected: [message text]"


@pytest.mark.parametrize("kept", [
    "SMS gateway answered 503: gateway busy", "HTTP 429 retry after 30 s", "key called:20261122-ho-tich-1",
    "error -124 at 2026-11-22T08:00:00+07:00", "seq 1234567", "request id 84a1b2c3", "batch 0 of 120",
])
def test_what_is_not_a_contact_stays(kept: str) -> None:
    assert redact_contacts(kept, "0912345678") == kept
