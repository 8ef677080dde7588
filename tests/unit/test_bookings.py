"""Booking rules: slots follow the working calendar, capacity and anti-hoarding hold under any sequence of requests,
check-in windows and no-show release behave as specified (pure; the clock is an argument)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.messages import VN_TZ
from queue_server.domain.bookings import (
    Booking,
    BookingError,
    BookingRefusal,
    BookingRules,
    BookingStatus,
    cancel,
    check_booking,
    check_in,
    expired,
    new_code,
    parse_code,
    queue_time,
    slots_on,
    taken,
)
from queue_server.domain.working_time import WorkingCalendar

pytestmark = pytest.mark.unit

CAL = WorkingCalendar(days_off=frozenset({date(2026, 8, 31)}), working_days=frozenset({date(2026, 8, 22)}))
RULES = BookingRules(capacity={"ho-tich": 3, "dat-dai": 1})
MONDAY = date(2026, 11, 23)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=VN_TZ)


NOW = at(date(2026, 11, 20), 9)          # a Friday: booking for next week


def book(bookings: list[Booking], service: str, start: datetime, person: str, now: datetime = NOW) -> Booking:
    check_booking(CAL, RULES, bookings, service, start, person, now)
    made = Booking(new_code({b.code for b in bookings}), service, start, person, created_at=now)
    bookings.append(made)
    return made


def test_slots_follow_the_working_calendar() -> None:
    assert [(s.start.time().isoformat("minutes"), s.end.time().isoformat("minutes"))
            for s in slots_on(CAL, RULES, "ho-tich", MONDAY)] == [("07:30", "11:30"), ("13:30", "17:00")]
    assert slots_on(CAL, RULES, "ho-tich", date(2026, 8, 31)) == []           # announced day off
    assert len(slots_on(CAL, RULES, "ho-tich", date(2026, 8, 22))) == 2        # make-up Saturday
    assert slots_on(CAL, RULES, "ho-tich", date(2026, 11, 22)) == []           # Sunday
    assert slots_on(CAL, RULES, "thue", MONDAY) == []                          # takes no bookings
    half_hours = slots_on(CAL, replace(RULES, slot_minutes=30), "ho-tich", MONDAY)
    assert len(half_hours) == 8 + 7 and half_hours[0].end == at(MONDAY, 8)


def test_capacity_person_limits_and_release() -> None:
    bookings: list[Booking] = []
    morning = at(MONDAY, 7, 30)
    a = book(bookings, "dat-dai", morning, "p1")
    with pytest.raises(BookingError) as full:
        book(bookings, "dat-dai", morning, "p2")
    assert full.value.refusal is BookingRefusal.FULL
    with pytest.raises(BookingError) as same:
        book(bookings, "dat-dai", at(MONDAY, 13, 30), "p1")
    assert same.value.refusal is BookingRefusal.PERSON_SERVICE_LIMIT
    book(bookings, "ho-tich", morning, "p1")
    with pytest.raises(BookingError) as day:
        book(bookings, "ho-tich", at(MONDAY, 13, 30), "p1")                   # a third one the same day
    assert day.value.refusal in (BookingRefusal.PERSON_DAY_LIMIT, BookingRefusal.PERSON_SERVICE_LIMIT)
    # a cancelled booking frees its place for someone else
    bookings[bookings.index(a)] = cancel(a)
    book(bookings, "dat-dai", morning, "p2")


@pytest.mark.parametrize(("start", "refusal"), [
    (at(MONDAY, 8), BookingRefusal.NOT_A_SLOT),
    (at(date(2026, 11, 22), 7, 30), BookingRefusal.NOT_A_SLOT),
    (at(date(2026, 11, 20), 7, 30), BookingRefusal.IN_THE_PAST),
    (at(date(2026, 12, 7), 7, 30), BookingRefusal.TOO_FAR_AHEAD),
])
def test_slots_that_cannot_be_booked(start: datetime, refusal: BookingRefusal) -> None:
    with pytest.raises(BookingError) as err:
        check_booking(CAL, RULES, [], "ho-tich", start, "p1", NOW)
    assert err.value.refusal is refusal


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["ho-tich", "dat-dai"]), st.integers(0, 9), st.integers(0, 5),
                          st.sampled_from(["book", "cancel"])), max_size=80))
def test_no_sequence_of_requests_breaks_capacity_or_limits(requests: list[tuple[str, int, int, str]]) -> None:
    starts = [s.start for d in range(4) for s in slots_on(CAL, RULES, "ho-tich", MONDAY + timedelta(days=d))]
    bookings: list[Booking] = []
    for service, slot_index, person, action in requests:
        if action == "cancel":
            mine = [b for b in bookings if b.person == f"p{person}" and b.status is BookingStatus.BOOKED]
            if mine:
                bookings[bookings.index(mine[0])] = cancel(mine[0])
            continue
        try:
            book(bookings, service, starts[slot_index % len(starts)], f"p{person}")
        except BookingError:
            pass
    for service, cap in RULES.capacity.items():
        for start in starts:
            assert taken(bookings, service, start) <= cap
    live = [b for b in bookings if b.holds_a_place]
    for person in {b.person for b in live}:
        for day in {b.slot_start.date() for b in live}:
            mine = [b for b in live if b.person == person and b.slot_start.date() == day]
            assert len(mine) <= RULES.per_person_per_day
            for service in RULES.capacity:
                assert sum(1 for b in mine if b.service == service) <= RULES.per_person_per_service_per_day


def test_check_in_window_early_late_used() -> None:
    b = Booking("ACDEFG", "ho-tich", at(MONDAY, 13, 30), "p1")
    with pytest.raises(BookingError) as early:
        check_in(RULES, b, at(MONDAY, 12, 59))
    assert early.value.refusal is BookingRefusal.TOO_EARLY and "13:00" in str(early.value)
    assert check_in(RULES, b, at(MONDAY, 13, 0)).status is BookingStatus.CHECKED_IN
    assert check_in(RULES, b, at(MONDAY, 13, 45)).status is BookingStatus.CHECKED_IN
    with pytest.raises(BookingError) as late:
        check_in(RULES, b, at(MONDAY, 13, 46))
    assert late.value.refusal is BookingRefusal.TOO_LATE
    with pytest.raises(BookingError) as used:
        check_in(RULES, check_in(RULES, b, at(MONDAY, 13, 10)), at(MONDAY, 13, 11))
    assert used.value.refusal is BookingRefusal.ALREADY_USED
    with pytest.raises(BookingError) as other_day:
        check_in(RULES, replace(b, slot_start=at(MONDAY + timedelta(days=1), 7, 30)), at(MONDAY, 13, 10))
    assert other_day.value.refusal in (BookingRefusal.WRONG_DAY, BookingRefusal.TOO_EARLY)
    with pytest.raises(BookingError) as unknown:
        check_in(RULES, None, at(MONDAY, 13, 10))
    assert unknown.value.refusal is BookingRefusal.UNKNOWN_CODE


def test_unused_bookings_become_no_shows_and_free_their_place() -> None:
    bookings: list[Booking] = []
    b = book(bookings, "dat-dai", at(MONDAY, 7, 30), "p1")
    assert expired(RULES, bookings, at(MONDAY, 7, 45)) == []
    gone = expired(RULES, bookings, at(MONDAY, 7, 46))
    assert [(x.code, x.status) for x in gone] == [(b.code, BookingStatus.NO_SHOW)]
    bookings[0] = gone[0]
    assert taken(bookings, "dat-dai", at(MONDAY, 7, 30)) == 0


def test_a_checked_in_booking_stands_at_its_slot_time() -> None:
    b = Booking("ACDEFG", "ho-tich", at(MONDAY, 13, 30), "p1")
    assert queue_time(RULES, b, at(MONDAY, 13, 40)) == at(MONDAY, 13, 30)
    assert queue_time(RULES, b, at(MONDAY, 13, 10)) == at(MONDAY, 13, 10)   # came early: no jump ahead of time
    assert queue_time(replace(RULES, placement="interleave"), b, at(MONDAY, 13, 40)) == at(MONDAY, 13, 40)


@pytest.mark.parametrize(("raw", "code"), [
    ("acdefg", "ACDEFG"), (" AC-DE FG ", "ACDEFG"), ("MOTCUA-BK:ACDEFG", "ACDEFG"),
    ("https://hcc.example.vn/b/ACDEFG?x=1", "ACDEFG"), ("ACDEF0", None), ("ACDEFGH", None), ("", None),
])
def test_booking_codes_from_keyboard_or_qr(raw: str, code: str | None) -> None:
    assert parse_code(raw) == code
