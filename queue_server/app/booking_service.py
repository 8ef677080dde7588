"""Bookings as use cases: book (from the hub's page or a portal push), cancel, check in at the kiosk, sweep no-shows,
and the day's figures for the board.

Each change is stored in the booking store (``BookingRepository``), then recorded in the hub's event log as
``booking.created`` / ``booking.cancelled`` / ``booking.checked_in`` / ``booking.no_show`` with the code, service, slot,
status and source only — no phone, no CCCD, not even their hash. A check-in issues a ticket through the queue's own
command with ``queue_at`` (bookings.queue_time) so the ticket stands at its slot's place, and with its ``booking``
code, which puts it in the booked lane (queue_policy: interleaved with walk-ins when placement = "interleave"). The contact a citizen left
goes to the notifier's contact book (``booking:<code>``), never to this store or the log.

Must not: read the wall clock (``clock``), know HTTP or SQL, or send messages itself (the notifier does, outside
the writer).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ
from queue_server.app.notifications import Contact
from queue_server.app.ports import Clock
from queue_server.domain import bookings as bk
from queue_server.domain.bookings import Booking, BookingError, BookingRefusal, BookingRules, BookingStatus
from queue_server.domain.working_time import WorkingCalendar

log = logging.getLogger(__name__)

# What a citizen reads at the kiosk or on the booking page (vi first, en second); {detail} is the rule's figure.
REFUSAL_TEXT: Mapping[BookingRefusal, tuple[str, str]] = {
    BookingRefusal.NOT_A_SLOT: ("Khung giờ này không nhận đặt lịch.", "This time slot does not take bookings."),
    BookingRefusal.IN_THE_PAST: ("Khung giờ này đã qua hoặc quá gần, xin chọn khung giờ khác.",
                                 "This slot has passed or is too close; please choose another."),
    BookingRefusal.TOO_FAR_AHEAD: ("Chỉ đặt lịch trước tối đa {days} ngày.", "Bookings open {days} days ahead."),
    BookingRefusal.FULL: ("Khung giờ này đã hết chỗ, xin chọn khung giờ khác.",
                          "This slot is full; please choose another."),
    BookingRefusal.PERSON_DAY_LIMIT: ("Mỗi người chỉ được đặt tối đa {per_day} lịch trong một ngày.",
                                      "At most {per_day} bookings a day per person."),
    BookingRefusal.PERSON_SERVICE_LIMIT: ("Mỗi người chỉ được đặt {per_service} lịch cho một dịch vụ trong ngày.",
                                          "At most {per_service} booking(s) per service a day per person."),
    BookingRefusal.NOT_BOOKABLE: ("Dịch vụ này không nhận đặt lịch hẹn.", "This service takes no bookings."),
    BookingRefusal.UNKNOWN_CODE: ("Không tìm thấy lịch hẹn với mã này. Xin kiểm tra lại mã.",
                                  "No booking has this code. Please check it."),
    BookingRefusal.CANCELLED: ("Lịch hẹn này đã bị hủy.", "This booking was cancelled."),
    BookingRefusal.ALREADY_USED: ("Lịch hẹn này đã được dùng để lấy số.", "This booking was already used."),
    BookingRefusal.TOO_EARLY: (("Quý vị đến sớm. Lịch hẹn lúc {slot}; có thể xác nhận từ {opens}. "
                               "Quý vị có thể lấy số thường ngay bây giờ."),
                               ("You are early. Your booking is at {slot}; check-in opens at {opens}. "
                               "You may take a walk-in ticket now.")),
    BookingRefusal.TOO_LATE: (("Quý vị đến muộn: lịch hẹn lúc {slot} chỉ giữ chỗ đến {closes}. "
                              "Quý vị có thể lấy số thường."),
                              ("You are late: the {slot} booking was held until {closes}. "
                              "You may take a walk-in ticket.")),
    BookingRefusal.WRONG_DAY: ("Lịch hẹn này là ngày {day}, không phải hôm nay.",
                               "This booking is for {day}, not today."),
}
# refusals after which the kiosk offers a walk-in ticket for the same service
WALK_IN_OFFERED = frozenset({BookingRefusal.TOO_EARLY, BookingRefusal.TOO_LATE, BookingRefusal.WRONG_DAY,
                             BookingRefusal.ALREADY_USED, BookingRefusal.CANCELLED})


class BookingRepository(Protocol):
    def get(self, code: str) -> Booking | None: ...

    def on_day(self, day: date) -> list[Booking]: ...

    def open_before(self, moment: datetime) -> list[Booking]: ...

    def insert_checked(self, day: date, make: Callable[[list[Booking], set[str]], Booking],
                       external_id: str | None = None) -> tuple[Booking, bool]:
        """Runs ``make`` (the rules) and the insert in one transaction; a stored ``external_id`` wins."""
        ...

    def between(self, first: date, last: date) -> list[Booking]: ...

    def update(self, booking: Booking, *, expect: BookingStatus, checked_in_at: datetime | None = None) -> bool: ...

    def close(self) -> None: ...


class BookingNotifier(Protocol):
    """What bookings need of the notifier: keep a contact and queue the booking's messages (never send inline)."""

    def booking_created(self, booking: Booking, contact: Contact | None, service_name: str) -> None: ...


class Refused(MotcuaError):
    """A booking or check-in the rules refuse: ``reason`` the rule, vi/en text for the citizen, whether the kiosk
    should offer a walk-in ticket instead."""

    def __init__(self, booking: Booking | None, err: BookingError, text_vi: str, text_en: str) -> None:
        code = ErrorCode.UNKNOWN_BOOKING if err.refusal is BookingRefusal.UNKNOWN_CODE else ErrorCode.BOOKING_REFUSED
        super().__init__(code, text_en)
        self.booking = booking
        self.reason = err.refusal
        self.message_vi = text_vi
        self.walk_in = err.refusal in WALK_IN_OFFERED and booking is not None
        self.fields: dict[str, str] = {}       # slot, opens, closes, day: a kiosk words the sentence itself

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": str(self.code), "message": self.message, "reason": str(self.reason),
                                "message_vi": self.message_vi, "walk_in_offered": self.walk_in}
        if self.booking is not None and self.walk_in:
            body["service"] = self.booking.service
        body.update(self.fields)
        return {"error": body}


def person_key(salt: str, raw_id: str) -> str:
    """The salted hash a person is known by (the digits of a phone or CCCD number, or a lower-cased e-mail)."""
    text = raw_id.strip().lower()
    digits = "".join(c for c in text if c.isdigit())
    norm = text if "@" in text else digits
    if digits.startswith("84") and len(digits) == 11:
        norm = "0" + digits[2:]
    if not norm:
        raise MotcuaError(ErrorCode.BAD_REQUEST, "a phone, CCCD number or e-mail is needed to book")
    return hmac.new(salt.encode(), norm.encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class CheckedIn:
    booking: Booking
    issued: Any              # the queue's Issued (ticket, ahead, estimated_wait_min)


class BookingService:
    def __init__(self, store: BookingRepository, calendar: WorkingCalendar, rules: BookingRules, clock: Clock,
                 queue: Any, *, salt: str, notifier: BookingNotifier | None = None,
                 service_names: Mapping[str, str] | None = None,
                 service_names_en: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.calendar = calendar
        self.rules = rules
        self.clock = clock
        self.queue = queue                  # QueueService: issue_ticket, record_event
        self.salt = salt
        self.notifier = notifier
        self.service_names = dict(service_names or {})
        self.service_names_en = dict(service_names_en or {})
        self._checkin_lock = threading.Lock()
        # held while a booking is decided and stored under the current rules, and by an admin's live change from
        # its held-bookings check until the new rules are in (engagement_live): no booking slips in between
        self.rules_lock = threading.RLock()

    # ---- texts ---------------------------------------------------------------------------------------------
    def refused(self, booking: Booking | None, err: BookingError) -> Refused:
        vi, en = REFUSAL_TEXT[err.refusal]
        fields: dict[str, Any] = {"days": self.rules.days_ahead, "per_day": self.rules.per_person_per_day,
                                  "per_service": self.rules.per_person_per_service_per_day}
        if booking is not None:
            w = bk.window(self.rules, booking)
            fields |= {"slot": booking.slot_start.strftime("%H:%M"), "opens": w.opens.strftime("%H:%M"),
                       "closes": w.closes.strftime("%H:%M"), "day": booking.slot_start.strftime("%d/%m/%Y")}
        refused = Refused(booking, err, vi.format(**fields), en.format(**fields))
        refused.fields = {k: v for k, v in fields.items() if k in ("slot", "opens", "closes", "day")}
        return refused

    def now(self) -> datetime:
        return self.clock.now().astimezone(VN_TZ)

    # ---- slots ---------------------------------------------------------------------------------------------
    def slots(self, service: str, day: date) -> list[dict[str, Any]]:
        """The day's slots of a service with places left (for the booking page and the board)."""
        held = self.store.on_day(day)
        cap = self.rules.capacity.get(service, 0)
        now = self.now()
        out = []
        for slot in bk.slots_on(self.calendar, self.rules, service, day):
            used = bk.taken(held, service, slot.start)
            out.append({"service": service, "start": slot.start.isoformat(), "end": slot.end.isoformat(),
                        "capacity": cap, "taken": used, "free": max(0, cap - used),
                        "open": slot.start >= now and day <= now.date() + timedelta(days=self.rules.days_ahead)})
        return out

    # ---- book / cancel -------------------------------------------------------------------------------------
    def book(self, service: str, slot_start: datetime, person_id: str, *, contact: Contact | None = None,
             source: str = "hub", external_id: str | None = None) -> tuple[Booking, bool]:
        """A new booking (or, for a push already stored under ``external_id``, the stored one with False)."""
        person = person_key(self.salt, person_id)
        now = self.now()
        start = slot_start.astimezone(VN_TZ)

        def make(existing: list[Booking], codes: set[str]) -> Booking:
            bk.check_booking(self.calendar, self.rules, existing, service, start, person, now)
            return Booking(bk.new_code(codes), service, start, person, source=source, created_at=now,
                           external_id=external_id)

        try:
            # a retried push finds its first copy by external id before any rule runs (not "limit reached")
            with self.rules_lock:
                booking, created = self.store.insert_checked(start.date(), make, external_id)
        except BookingError as err:
            raise self.refused(None, err) from err
        if created:
            self.queue.record_event("booking.created", self._event(booking))
            if self.notifier is not None:
                self.notifier.booking_created(booking, contact, self.service_names.get(service, service))
        return booking, created

    def cancel(self, raw_code: str) -> Booking:
        code = bk.parse_code(raw_code)
        booking = self.store.get(code) if code else None
        try:
            cancelled = bk.cancel(booking)
        except BookingError as err:
            raise self.refused(booking, err) from err
        if booking is not None and booking.status is BookingStatus.CANCELLED:
            return booking          # cancelling twice is harmless
        assert booking is not None
        if not self.store.update(cancelled, expect=booking.status):
            return self.cancel(raw_code)        # it changed under us: decide again on what is stored
        self.queue.record_event("booking.cancelled", self._event(cancelled))
        return cancelled

    def get(self, raw_code: str) -> Booking:
        code = bk.parse_code(raw_code)
        booking = self.store.get(code) if code else None
        if booking is None:
            raise self.refused(None, BookingError(BookingRefusal.UNKNOWN_CODE, "no booking with this code"))
        return booking

    # ---- check in ------------------------------------------------------------------------------------------
    def check_in(self, raw_code: str, kiosk: str | None = None) -> CheckedIn:
        """Scan or typed code → a ticket at the slot's place; ``Refused`` (with the walk-in offer) otherwise.
        Serialised: one code checked in once even when two kiosks scan it at the same moment."""
        code = bk.parse_code(raw_code)
        with self._checkin_lock:
            booking = self.store.get(code) if code else None
            now = self.now()
            try:
                checked = bk.check_in(self.rules, booking, now)
            except BookingError as err:
                raise self.refused(booking, err) from err
            assert booking is not None
            issued = self.queue.issue_ticket(booking.service, kiosk=kiosk, request_id=f"booking-{booking.code}",
                                             queue_at=bk.queue_time(self.rules, booking, now), booking=booking.code)
            checked = replace(checked, ticket_id=str(issued.ticket.id))
            self.store.update(checked, expect=BookingStatus.BOOKED, checked_in_at=now)
        self.queue.record_event("booking.checked_in", {**self._event(checked), "ticket": str(issued.ticket.id)})
        return CheckedIn(checked, issued)

    # ---- no-shows ------------------------------------------------------------------------------------------
    def sweep(self) -> list[Booking]:
        """Bookings whose window closed unused become no-shows (their place is free again); run periodically."""
        now = self.now()
        gone = []
        for b in bk.expired(self.rules, self.store.open_before(now), now):
            if self.store.update(b, expect=BookingStatus.BOOKED):
                self.queue.record_event("booking.no_show", self._event(b))
                gone.append(b)
        return gone

    # ---- figures -------------------------------------------------------------------------------------------
    def stats(self, first: date, last: date) -> dict[str, Any]:
        """Bookings per day and slot, check-in and no-show rates, slot utilisation (places used / offered)."""
        rows = self.store.between(first, last)
        days: dict[str, dict[str, Any]] = {}
        for b in rows:
            d = days.setdefault(b.slot_start.date().isoformat(), {"slots": {}, "booked": 0, "checked_in": 0,
                                                                  "no_show": 0, "cancelled": 0})
            key = f"{b.service}@{b.slot_start.strftime('%H:%M')}"
            s = d["slots"].setdefault(key, {"service": b.service, "start": b.slot_start.isoformat(),
                                            "capacity": self.rules.capacity.get(b.service, 0), "booked": 0,
                                            "checked_in": 0, "no_show": 0, "cancelled": 0})
            field = {"booked": "booked", "checked_in": "checked_in", "no_show": "no_show",
                     "cancelled": "cancelled"}[str(b.status)]
            s[field] += 1
            d[field] += 1
        total = {"booked": 0, "checked_in": 0, "no_show": 0, "cancelled": 0}
        used = 0
        # utilisation counts every place the calendar offered in the range, booked or not
        places = sum(self.places_offered(first, last).values())
        for d in days.values():
            for k in total:
                total[k] += d[k]
            for s in d["slots"].values():
                used += s["checked_in"]
                s["utilisation"] = round(s["checked_in"] / s["capacity"], 3) if s["capacity"] else None
            d["slots"] = sorted(d["slots"].values(), key=lambda s: (s["start"], s["service"]))
        decided = total["checked_in"] + total["no_show"]
        return {"from": first.isoformat(), "to": last.isoformat(), "totals": total,
                "check_in_rate": round(total["checked_in"] / decided, 3) if decided else None,
                "no_show_rate": round(total["no_show"] / decided, 3) if decided else None,
                "slot_utilisation": round(used / places, 3) if places else None, "places_offered": places,
                "days": [{"day": k, **v} for k, v in sorted(days.items())]}

    def places_offered(self, first: date, last: date) -> dict[tuple[str, str], int]:
        """(service, slot start ISO) → places, for every slot the calendar opens in [first, last] (the reports'
        utilisation counts them all, booked or not)."""
        rules, calendar = self.rules, self.calendar        # one consistent pair while an admin changes them
        out: dict[tuple[str, str], int] = {}
        for i in range((last - first).days + 1):
            for svc, cap in rules.capacity.items():
                for slot in bk.slots_on(calendar, rules, svc, first + timedelta(days=i)):
                    out[(svc, slot.start.isoformat())] = cap
        return out

    @staticmethod
    def _event(b: Booking) -> dict[str, Any]:
        # no personal data in the log: not the phone, not the CCCD, not their hash
        return {"code": b.code, "service": b.service, "slot": b.slot_start.isoformat(), "status": str(b.status),
                "source": b.source}

