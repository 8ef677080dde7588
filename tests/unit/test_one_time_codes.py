"""One-time codes of the booking page: right once, wrong counted, expired, and at most a few sent per contact."""
from __future__ import annotations

from datetime import datetime

import pytest

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ
from queue_server.app.one_time_codes import OneTimeCodes
from queue_server.app.ports import FixedClock

pytestmark = pytest.mark.unit


def codes() -> tuple[OneTimeCodes, FixedClock]:
    clock = FixedClock(datetime(2026, 11, 23, 8, 0, tzinfo=VN_TZ))
    return OneTimeCodes(clock, ttl_s=300, max_tries=3, per_window=2, window_s=900), clock


def refused(book: OneTimeCodes, contact: str, code: str) -> ErrorCode:
    with pytest.raises(MotcuaError) as err:
        book.verify(contact, code)
    return err.value.code


def test_a_code_works_once() -> None:
    book, _ = codes()
    code = book.issue("sms:0912345678")
    assert len(code) == 6 and code.isdigit()
    assert refused(book, "sms:0987654321", code) is ErrorCode.BAD_CREDENTIALS     # another contact's code
    book.verify("sms:0912345678", f" {code} ")
    assert refused(book, "sms:0912345678", code) is ErrorCode.BAD_CREDENTIALS     # used


def test_wrong_tries_and_expiry_void_the_code() -> None:
    book, clock = codes()
    code = book.issue("sms:0912345678")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        assert refused(book, "sms:0912345678", wrong) is ErrorCode.BAD_CREDENTIALS
    assert refused(book, "sms:0912345678", code) is ErrorCode.BAD_CREDENTIALS     # too many tries: void
    code = book.issue("sms:0912345678")
    clock.advance(seconds=301)
    assert refused(book, "sms:0912345678", code) is ErrorCode.BAD_CREDENTIALS     # expired


def test_only_a_few_codes_per_contact_per_window() -> None:
    book, clock = codes()
    book.issue("email:a@b.vn")
    book.issue("email:a@b.vn")
    with pytest.raises(MotcuaError) as err:
        book.issue("email:a@b.vn")
    assert err.value.code is ErrorCode.RATE_LIMITED
    book.issue("email:c@d.vn")                                                     # someone else is not held up
    clock.advance(seconds=901)
    book.issue("email:a@b.vn")
