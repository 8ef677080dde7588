"""Appointments (đặt lịch hẹn): slots, bookings, the limits against hoarding, and check-in at the kiosk.

A slot is one service in one stretch of a working session (the whole session by default, or ``slot_minutes`` long)
with a capacity. A booking takes one place in a slot; a citizen checks in at the kiosk by its code or QR inside a
window around the slot's start and gets a ticket that joins the queue at the slot's place. A booking that is not
checked in by the end of its window is a no-show and its place is free again. Limits follow what provinces do
(Hà Nội: at most two a day per person, one per lĩnh vực): per person per day and per person per service per day.

The person is known by a key the caller derives (a salted hash of the phone or CCCD number), so this module never
sees the number itself. Pure: no I/O, no clock reads — ``now`` is always an argument.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from contracts.messages import VN_TZ
from queue_server.domain.working_time import WorkingCalendar

# no 0/O, 1/I/L, 5/S, 2/Z, 8/B: a code read aloud over a counter or typed on a kiosk is not misread
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 6
QR_PREFIX = "MOTCUA-BK:"


class BookingStatus(StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class BookingRefusal(StrEnum):
    """Why a booking or a check-in is refused; the UI translates (vi first)."""

    NOT_A_SLOT = "not_a_slot"                  # not on the calendar, not a working session, not a slot start
    IN_THE_PAST = "in_the_past"
    TOO_FAR_AHEAD = "too_far_ahead"
    FULL = "full"
    PERSON_DAY_LIMIT = "person_day_limit"
    PERSON_SERVICE_LIMIT = "person_service_limit"
    NOT_BOOKABLE = "not_bookable"             # the service takes no bookings
    UNKNOWN_CODE = "unknown_code"
    CANCELLED = "cancelled"
    ALREADY_USED = "already_used"
    TOO_EARLY = "too_early"
    TOO_LATE = "too_late"
    WRONG_DAY = "wrong_day"


class BookingError(Exception):
    def __init__(self, refusal: BookingRefusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class BookingRules:
    """Config (``[bookings]``): capacities per service, slot length, limits, check-in window, how far ahead."""

    capacity: dict[str, int]                   # service → places per slot; a service not listed takes no bookings
    slot_minutes: int | None = None            # None: one slot per working session
    per_person_per_day: int = 2
    per_person_per_service_per_day: int = 1
    early_min: int = 30                        # check-in opens this long before the slot starts
    late_min: int = 15                         # and closes this long after
    days_ahead: int = 14
    min_notice_min: int = 0                    # a booking must be made at least this long before its slot
    # how a checked-in booking mixes with walk-ins: "slot_time" (queued at its slot's start, so ahead of walk-ins
    # who came after it), "arrival" (queued when it checks in, like a walk-in) or "interleave" (a lane of its own:
    # after every booked ticket at most ``interleave_walk_ins`` walk-ins are called before the next waiting booked
    # one; see queue_policy). Priority citizens keep their precedence over both in every mode.
    placement: str = "slot_time"
    interleave_walk_ins: int = 2


@dataclass(frozen=True, slots=True)
class Slot:
    service: str
    start: datetime
    end: datetime

    @property
    def id(self) -> str:
        return f"{self.service}@{self.start.strftime('%Y%m%dT%H%M')}"


@dataclass(frozen=True, slots=True)
class Booking:
    code: str
    service: str
    slot_start: datetime
    person: str                                # a salted hash, never the number
    status: BookingStatus = BookingStatus.BOOKED
    source: str = "hub"                        # hub | portal | main_system
    created_at: datetime | None = None
    ticket_id: str | None = None
    external_id: str | None = None             # the portal's id, for idempotent pushes

    @property
    def holds_a_place(self) -> bool:
        return self.status in (BookingStatus.BOOKED, BookingStatus.CHECKED_IN)


def slots_on(calendar: WorkingCalendar, rules: BookingRules, service: str, day: date) -> list[Slot]:
    """The bookable slots of a service on a day (none on holidays, none for a service without capacity)."""
    if rules.capacity.get(service, 0) <= 0:
        return []
    out: list[Slot] = []
    for session in calendar.sessions_on(day):
        start = datetime.combine(day, session.start, tzinfo=VN_TZ)
        end = datetime.combine(day, session.end, tzinfo=VN_TZ)
        if rules.slot_minutes is None:
            out.append(Slot(service, start, end))
            continue
        step = timedelta(minutes=rules.slot_minutes)
        at = start
        while at + step <= end:
            out.append(Slot(service, at, at + step))
            at += step
    return out


def find_slot(calendar: WorkingCalendar, rules: BookingRules, service: str, start: datetime) -> Slot | None:
    for slot in slots_on(calendar, rules, service, start.date()):
        if slot.start == start:
            return slot
    return None


def taken(bookings: Iterable[Booking], service: str, start: datetime) -> int:
    return sum(1 for b in bookings if b.service == service and b.slot_start == start and b.holds_a_place)


def new_code(existing: set[str], rng: secrets.SystemRandom | None = None) -> str:
    pick = rng or secrets.SystemRandom()
    while True:
        code = "".join(pick.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in existing:
            return code


def parse_code(raw: str) -> str | None:
    """A booking code from a keyboard (any case, spaces, dashes) or from its QR (``MOTCUA-BK:CODE`` or a URL
    ending in ``/b/CODE``); None when it cannot be one."""
    text = raw.strip()
    if text.upper().startswith(QR_PREFIX):
        text = text[len(QR_PREFIX):]
    elif "/b/" in text:
        text = text.rsplit("/b/", 1)[1].split("?", 1)[0].split("#", 1)[0]
    code = "".join(c for c in text.upper() if c not in " -")
    if len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code):
        return code
    return None


def check_booking(calendar: WorkingCalendar, rules: BookingRules, bookings: Sequence[Booking], service: str,
                  start: datetime, person: str, now: datetime) -> Slot:
    """The slot, if this person may book it now; else ``BookingError`` naming the rule."""
    if rules.capacity.get(service, 0) <= 0:
        raise BookingError(BookingRefusal.NOT_BOOKABLE, f"service {service!r} takes no bookings")
    slot = find_slot(calendar, rules, service, start)
    if slot is None:
        raise BookingError(BookingRefusal.NOT_A_SLOT, f"no slot of {service} starts at {start.isoformat()}")
    if slot.start < now + timedelta(minutes=rules.min_notice_min):
        raise BookingError(BookingRefusal.IN_THE_PAST, "the slot has started or is too close")
    if slot.start.date() > now.date() + timedelta(days=rules.days_ahead):
        raise BookingError(BookingRefusal.TOO_FAR_AHEAD, f"bookings open {rules.days_ahead} days ahead")
    if taken(bookings, service, slot.start) >= rules.capacity[service]:
        raise BookingError(BookingRefusal.FULL, "the slot is full")
    same_day = [b for b in bookings if b.person == person and b.holds_a_place and b.slot_start.date() == start.date()]
    if len(same_day) >= rules.per_person_per_day:
        raise BookingError(BookingRefusal.PERSON_DAY_LIMIT,
                           f"at most {rules.per_person_per_day} bookings a day per person")
    if sum(1 for b in same_day if b.service == service) >= rules.per_person_per_service_per_day:
        raise BookingError(BookingRefusal.PERSON_SERVICE_LIMIT,
                           f"at most {rules.per_person_per_service_per_day} booking(s) a day per person per service")
    return slot


@dataclass(frozen=True, slots=True)
class CheckInWindow:
    opens: datetime
    closes: datetime


def window(rules: BookingRules, booking: Booking) -> CheckInWindow:
    return CheckInWindow(booking.slot_start - timedelta(minutes=rules.early_min),
                         booking.slot_start + timedelta(minutes=rules.late_min))


def check_in(rules: BookingRules, booking: Booking | None, now: datetime) -> Booking:
    """The booking checked in, or ``BookingError``: too early (with when the window opens), too late (the place went
    back), cancelled, used, another day. The caller then issues the ticket and records ``ticket_id``."""
    if booking is None:
        raise BookingError(BookingRefusal.UNKNOWN_CODE, "no booking with this code")
    if booking.status is BookingStatus.CANCELLED:
        raise BookingError(BookingRefusal.CANCELLED, "this booking was cancelled")
    if booking.status is BookingStatus.CHECKED_IN:
        raise BookingError(BookingRefusal.ALREADY_USED, "this booking was already used")
    w = window(rules, booking)
    if booking.status is BookingStatus.NO_SHOW or now > w.closes:
        raise BookingError(BookingRefusal.TOO_LATE, f"check-in closed at {w.closes.strftime('%H:%M')}")
    if now.date() != booking.slot_start.date():
        raise BookingError(BookingRefusal.WRONG_DAY, f"the booking is for {booking.slot_start.strftime('%d/%m/%Y')}")
    if now < w.opens:
        raise BookingError(BookingRefusal.TOO_EARLY, f"check-in opens at {w.opens.strftime('%H:%M')}")
    return replace(booking, status=BookingStatus.CHECKED_IN)


def cancel(booking: Booking | None) -> Booking:
    if booking is None:
        raise BookingError(BookingRefusal.UNKNOWN_CODE, "no booking with this code")
    if booking.status is BookingStatus.CHECKED_IN:
        raise BookingError(BookingRefusal.ALREADY_USED, "a booking already checked in cannot be cancelled")
    return replace(booking, status=BookingStatus.CANCELLED)


def expired(rules: BookingRules, bookings: Iterable[Booking], now: datetime) -> list[Booking]:
    """Bookings whose check-in window has closed unused: they become no-shows and free their place."""
    return [replace(b, status=BookingStatus.NO_SHOW) for b in bookings
            if b.status is BookingStatus.BOOKED and now > window(rules, b).closes]


def queue_time(rules: BookingRules, booking: Booking, checked_in_at: datetime) -> datetime:
    """Where a checked-in booking stands: "slot_time", among walk-ins at its slot's start (ahead of walk-ins who came
    later), never later than the moment the citizen arrived; "arrival", when it checked in, like a walk-in;
    "interleave", when it checked in too, but in the booked lane (FIFO by check-in among booked tickets), whose turns
    against walk-ins the ordering policy gives (queue_policy, ``interleave_walk_ins``)."""
    if rules.placement == "slot_time":
        return min(booking.slot_start, checked_in_at)
    return checked_in_at
