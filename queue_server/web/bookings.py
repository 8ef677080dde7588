"""Booking routes (issue 16): slots, check-in at the kiosk, pushes from the province's portal, cancel, look-up,
and the figures for the manager board. Under /api/v1.

- ``GET  /bookings/slots?service=&day=``        public: the day's slots with places left
- ``POST /bookings/<code>/check-in``, ``POST /bookings/check-in {scan}``   kiosk (X-Device-Key): a ticket at the slot's place, or a 409 whose
  ``error`` carries ``reason``, ``message_vi`` and ``walk_in_offered``
- ``POST /integration/bookings``                the main system / portal, signed like dossier pushes (HMAC or bearer);
  idempotent by ``external_id``
- ``GET  /bookings/<code>``, ``POST /bookings/<code>/cancel``   public, by code (the code is the secret; limited)
- ``GET  /stats/bookings?from=&to=``            manager: per day and slot, check-in and no-show rates, utilisation

Must not: accept a write without a credential (device key, signature, or the code itself for the holder's own
booking), or return personal data (a booking answers with code, service, slot and status only).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ
from queue_server.app.booking_service import BookingService, Refused
from queue_server.app.one_time_codes import OneTimeCodes
from queue_server.app.views import ticket_to_json
from queue_server.domain.bookings import Booking
from queue_server.web.common import Body, Field, Query, route
from queue_server.web.guards import RateLimiter, check_push
from queue_server.web.schemas import AT, BOOL, DAY, INT, NUM, STR, arr, null, obj, ref
from runtime.settings.integration import PushAuth, RateLimit

log = logging.getLogger(__name__)

CHECK_IN = Body({"kiosk": Field(str, False, "kiosk id, for the log", nullable=True, max_len=64)})
SCAN = Body({"scan": Field(str, True, "what the scanner read or the citizen typed (code, MOTCUA-BK:CODE, a /b/ URL)",
                           max_len=2000),
             "kiosk": Field(str, False, "kiosk id, for the log", nullable=True, max_len=64)})
PUSHED = Body({
    "external_id": Field(str, True, "the portal's booking id: the same id pushed again is stored once", max_len=128),
    "service": Field(str, True, "service code", max_len=64),
    "slot_start": Field(str, True, "ISO 8601 with +07:00, a slot's start", max_len=40),
    "person_id": Field(str, True, "phone or CCCD number (only its salted hash is kept)", max_len=64),
    "contact": Field(str, False, "mobile number or e-mail for the confirmation and reminder", nullable=True,
                     max_len=254),
})
PUSH = Body({"bookings": Field(list, True, "bookings made on the portal", max_len=500, items=PUSHED)})
OTP = Body({"contact": Field(str, True, "mobile number or e-mail the one-time code is sent to", max_len=254)})
BOOK = Body({
    "service": Field(str, True, "service code", max_len=64),
    "slot_start": Field(str, True, "ISO 8601 with +07:00, a slot's start (GET /bookings/slots)", max_len=40),
    "contact": Field(str, True, "the mobile number or e-mail the code was sent to", max_len=254),
    "code": Field(str, True, "the one-time code received", max_len=12),
    "person_id": Field(str, False, "CCCD number (optional): the limits then count per person, not per phone",
                       nullable=True, max_len=20),
})


BOOKING = obj({"code": {"type": "string", "examples": ["K7M3QX"]}, "service": STR, "slot_start": AT,
               "status": {"enum": ["booked", "checked_in", "cancelled", "no_show"]}, "source": STR,
               "ticket_id": null(STR)})
SLOT = obj({"service": STR, "start": AT, "end": AT, "capacity": INT, "taken": INT, "free": INT, "open": BOOL})
CHECKED_IN = obj({"booking": BOOKING, "ticket": ref("Ticket"), "ahead": INT, "estimated_wait_min": INT,
                  "tracking_url": STR, "public_tracking_url": STR}, optional=("public_tracking_url",))
SLOT_FIGURES = obj({"service": STR, "start": AT, "capacity": INT, "booked": INT, "checked_in": INT, "no_show": INT,
                    "cancelled": INT, "utilisation": null(NUM)})
COUNTS = {"booked": INT, "checked_in": INT, "no_show": INT, "cancelled": INT}
STATS = obj({"from": DAY, "to": DAY, "totals": obj(COUNTS), "check_in_rate": null(NUM), "no_show_rate": null(NUM),
             "slot_utilisation": null(NUM), "places_offered": INT,
             "days": arr(obj({"day": DAY, **COUNTS, "slots": arr(SLOT_FIGURES)}))})


def booking_json(b: Booking) -> dict[str, Any]:
    return {"code": b.code, "service": b.service, "slot_start": b.slot_start.isoformat(), "status": str(b.status),
            "source": b.source, "ticket_id": b.ticket_id}


def _at(text: str, key: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise MotcuaError(ErrorCode.BAD_REQUEST, f"{key}: expected ISO 8601 like 2026-12-07T08:00:00+07:00") from err
    if moment.tzinfo is None:
        raise MotcuaError(ErrorCode.BAD_REQUEST, f"{key}: needs a UTC offset (+07:00)")
    return moment.astimezone(VN_TZ)


def create_bookings_blueprint(service: BookingService, *, notifier: Any = None, push_auth: PushAuth | None = None,
                              rate_limit: RateLimit | None = None, codes: OneTimeCodes | None = None,
                              monotonic: Callable[[], float] = time.monotonic) -> Blueprint:
    bp = Blueprint("bookings", __name__, url_prefix="/api/v1")
    limiter = RateLimiter(rate_limit or RateLimit(), monotonic)
    # codes sent from one address: a phone's page asks once or twice; a script trying numbers is stopped here
    otp_limiter = RateLimiter(RateLimit(per_minute=3, burst=5), monotonic)
    book_limiter = RateLimiter(RateLimit(per_minute=10, burst=10), monotonic)
    auth = push_auth or PushAuth()
    otp = codes or OneTimeCodes(service.clock)

    @bp.errorhandler(Refused)
    def _refused(err: Refused) -> tuple[Response, int]:
        return jsonify(err.to_json()), err.http_status

    @route(bp, "/bookings/slots", summary="A service's bookable slots on a day with places left",
           query=(Query("service", str, "service code", required=True, max_len=64),
                  Query("day", date, "YYYY-MM-DD (default: today)")),
           result="{slots: [{service, start, end, capacity, taken, free, open}]}", response=obj({"slots": arr(SLOT)}))
    def slots(query: dict[str, Any]) -> Response:
        day = query.get("day") or service.now().date()
        return jsonify(slots=service.slots(query["service"], day))

    @route(bp, "/bookings/services", summary="Services that take bookings and the days open for booking (the page)",
           result="{services: [{code, name, name_en}], days: [YYYY-MM-DD], self_service: bool, center}",
           response=obj({"services": arr(obj({"code": STR, "name": STR, "name_en": STR})), "days": arr(DAY),
                         "self_service": BOOL, "center": STR}))
    def bookable() -> Response:
        names = service.service_names
        today = service.now().date()
        days = [today + timedelta(days=i) for i in range(service.rules.days_ahead + 1)]
        return jsonify(services=[{"code": c, "name": names.get(c, c), "name_en": service.service_names_en.get(c, "")}
                                 for c, n in service.rules.capacity.items() if n > 0],
                       days=[d.isoformat() for d in days if service.calendar.sessions_on(d)],
                       self_service=notifier is not None, center=getattr(notifier, "rules", None)
                       and notifier.rules.center_name or "")

    def page_contact(raw: str) -> Any:
        if notifier is None:
            raise MotcuaError(ErrorCode.FORBIDDEN, "booking on this page needs [notifications] (one-time codes)")
        return notifier.contact(raw)

    @route(bp, "/bookings/otp", methods=("POST",), body=OTP, limiter=otp_limiter, limited="one-time codes",
           ok=202, summary="Send a one-time code to the phone or e-mail a citizen books with (booking page)",
           errors=(ErrorCode.RATE_LIMITED,), result="{expires_in_s}", response=obj({"expires_in_s": INT}))
    def send_code(body: dict[str, Any]) -> tuple[Response, int]:
        contact = page_contact(body["contact"])
        code = otp.issue(f"{contact.channel}:{contact.address}")
        notifier.send_code(contact, code, otp.ttl_s // 60)
        return jsonify(expires_in_s=otp.ttl_s), 202

    @route(bp, "/bookings", methods=("POST",), body=BOOK, limiter=book_limiter, limited="bookings", ok=201,
           summary="Book a slot on the hub's page, proven by the one-time code; the confirmation is sent",
           errors=(ErrorCode.BAD_CREDENTIALS, ErrorCode.BOOKING_REFUSED),
           result="{booking, cancel_url}", response=obj({"booking": BOOKING, "cancel_url": STR}))
    def book_here(body: dict[str, Any]) -> tuple[Response, int]:
        contact = page_contact(body["contact"])
        otp.verify(f"{contact.channel}:{contact.address}", body["code"])
        person = body.get("person_id") or contact.address
        booking, _ = service.book(body["service"], _at(body["slot_start"], "slot_start"), person, contact=contact,
                                  source="hub")
        return jsonify(booking=booking_json(booking), cancel_url=f"/b/{booking.code}"), 201

    @route(bp, "/bookings/<code>/check-in", methods=("POST",), device_key=True, body=CHECK_IN,
           summary="Check a booking in at the kiosk: a ticket at its slot's place (scan or typed code)",
           errors=(ErrorCode.UNKNOWN_BOOKING, ErrorCode.BOOKING_REFUSED, ErrorCode.SERVICE_CLOSED), ok=201,
           result="{booking, ticket, ahead, estimated_wait_min, tracking_url}", response=CHECKED_IN)
    def check_in(code: str, body: dict[str, Any]) -> tuple[Response, int]:
        return checked_in(code, body.get("kiosk"))

    # for raw scanner payloads: a QR may hold a URL (slashes, '?', '#') that cannot ride in the path
    @route(bp, "/bookings/check-in", methods=("POST",), device_key=True, body=SCAN,
           summary="Check a booking in from a raw scan or typed text (the kiosk's \"Có lịch hẹn\" screen)",
           errors=(ErrorCode.UNKNOWN_BOOKING, ErrorCode.BOOKING_REFUSED, ErrorCode.SERVICE_CLOSED), ok=201,
           result="{booking, ticket, ahead, estimated_wait_min, tracking_url}", response=CHECKED_IN)
    def check_in_scan(body: dict[str, Any]) -> tuple[Response, int]:
        return checked_in(body["scan"], body.get("kiosk"))

    def checked_in(raw: str, kiosk: str | None) -> tuple[Response, int]:
        done = service.check_in(raw, kiosk=kiosk)
        ticket = ticket_to_json(done.issued.ticket)
        answer = {"booking": booking_json(done.booking), "ticket": ticket, "ahead": done.issued.ahead,
                  "estimated_wait_min": done.issued.estimated_wait_min, "tracking_url": f"/t/{ticket['id']}"}
        base = getattr(notifier, "public_base_url", "")
        if base:    # the QR the kiosk prints on the booked ticket opens from anywhere, like a walk-in's
            answer["public_tracking_url"] = f"{base}/t/{ticket['id']}"
        return jsonify(answer), 201

    def signed_by_the_main_system() -> None:
        try:
            check_push(auth, request.headers, request.get_data(cache=True))
        except MotcuaError as err:
            log.warning("booking push refused from %s: %s", request.remote_addr, err.message)
            raise

    @route(bp, "/integration/bookings", methods=("POST",), signed=True, guard=signed_by_the_main_system,
           body=PUSH, summary="Bookings made on the province's portal (HMAC-signed or bearer; idempotent)",
           errors=(ErrorCode.BAD_CREDENTIALS,),
           result="{results: [{external_id, stored: created|duplicate|refused, code?, reason?}]}",
           response=obj({"results": arr(obj({"external_id": STR, "stored": {"enum": ["created", "duplicate", "refused"]},
                                             "code": STR, "reason": STR, "message": STR},
                                            optional=("code", "reason", "message")))}))
    def push(body: dict[str, Any]) -> Response:
        out = []
        for item in body["bookings"]:
            try:
                contact = notifier.contact(item["contact"]) if item.get("contact") and notifier else None
                booking, created = service.book(item["service"], _at(item["slot_start"], "slot_start"),
                                                item["person_id"], contact=contact, source="portal",
                                                external_id=item["external_id"])
            except MotcuaError as err:
                reason = str(err.reason) if isinstance(err, Refused) else str(err.code)
                out.append({"external_id": item["external_id"], "stored": "refused", "reason": reason,
                            "message": err.message})
                continue
            out.append({"external_id": item["external_id"], "stored": "created" if created else "duplicate",
                        "code": booking.code})
        return jsonify(results=out)

    @route(bp, "/bookings/<code>", summary="A booking by its code (tracking page, kiosk)", limiter=limiter,
           limited="booking look-ups", errors=(ErrorCode.UNKNOWN_BOOKING,),
           result="{booking, check_in_opens, check_in_closes}",
           response=obj({"booking": BOOKING, "check_in_opens": AT, "check_in_closes": AT}))
    def get_booking(code: str) -> Response:
        b = service.get(code)
        w_open = b.slot_start - timedelta(minutes=service.rules.early_min)
        w_close = b.slot_start + timedelta(minutes=service.rules.late_min)
        response = jsonify(booking=booking_json(b), check_in_opens=w_open.isoformat(),
                           check_in_closes=w_close.isoformat())
        response.headers["Cache-Control"] = "no-store"
        return response

    @route(bp, "/bookings/<code>/cancel", methods=("POST",), limiter=limiter, limited="booking look-ups",
           summary="Cancel a booking by its code (the link in the confirmation message)",
           errors=(ErrorCode.UNKNOWN_BOOKING, ErrorCode.BOOKING_REFUSED), result="{booking}",
           response=obj({"booking": BOOKING}))
    def cancel(code: str) -> Response:
        return jsonify(booking=booking_json(service.cancel(code)))

    @route(bp, "/stats/bookings", role="manager",
           summary="Bookings per day and slot, check-in and no-show rates, slot utilisation (manager board)",
           query=(Query("from", date, "first day, YYYY-MM-DD (default: today)"),
                  Query("to", date, "last day, included (default: from)")),
           result="{from, to, totals, check_in_rate, no_show_rate, slot_utilisation, days: [...]}", response=STATS)
    def stats(query: dict[str, Any]) -> Response:
        first = query.get("from") or service.now().date()
        last = query.get("to") or first
        if last < first or (last - first).days > 366:
            raise MotcuaError(ErrorCode.BAD_REQUEST, "to: must be on or after from, at most a year later")
        return jsonify(service.stats(first, last))

    return bp
