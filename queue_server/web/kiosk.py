"""Public routes for kiosks and the tracking page: center config, services, issuing tickets, print results,
ticket lookup, and offline number leases. No login (closed LAN); writes need X-Device-Key when configured."""
from __future__ import annotations

import math
from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from flask import Blueprint, jsonify, request

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import format_at
from queue_server.app.views import ticket_to_json, wait_to_json
from queue_server.config import working_hours_json
from queue_server.web.common import (
    Body,
    Field,
    bad_request,
    current_display_name,
    current_username,
    hub,
    route,
)
from queue_server.web.guards import RateLimited, issue_allowed
from queue_server.web.schemas import arr, obj, ref

if TYPE_CHECKING:
    from queue_server.app.queue_service import QueueService

bp = Blueprint("kiosk", __name__)

ISSUE = Body({
    "service": Field(str, True, "service code, e.g. ho-tich", max_len=64),
    "priority": Field(str, False, "priority category code from GET /config", nullable=True, max_len=64),
    "kiosk": Field(str, False, "kiosk id, for the log and reports", nullable=True, max_len=64),
    "request_id": Field(str, False, "idempotency key chosen by the kiosk: the same key again today returns the "
                                    "same ticket (a retry after a lost answer issues nothing new)",
                        nullable=True, max_len=64),
    "contact": Field(str, False, "optional: a mobile number or e-mail to be told when the turn nears and when "
                                 "called (kept only in the notification contact book, purged with the day)",
                     nullable=True, max_len=254),
})
PRINT_RESULT = Body({
    "printed": Field(bool, True, "false when the printer failed: the ticket is not a phantom"),
    "fault": Field(str, False, "printer fault, e.g. paper_out", nullable=True, max_len=200),
})
LEASE = Body({
    "kiosk": Field(str, True, "kiosk id", max_len=64),
    "service": Field(str, True, "service code", max_len=64),
    "size": Field(int, True, "how many numbers to reserve (issue 11: at most 100 a lease, half the offline region a kiosk a day)",
                  minimum=1, maximum=100),
})
LEASED_TICKET = Body({
    "number": Field(int, True, "a number inside the lease", minimum=0, maximum=9999),
    "issued_at": Field(str, True, "ISO 8601 with +07:00", max_len=40),
    "priority": Field(str, False, "priority category code", nullable=True, max_len=64),
})
MERGE = Body({"tickets": Field(list, True, "tickets the kiosk issued offline", max_len=1000, items=LEASED_TICKET),
              "kiosk": Field(str, False, "the kiosk holding the lease: a hub restored from an earlier backup that "
                                         "no longer knows this lease of today adopts it back", max_len=64)})


def _calendar_ahead() -> dict[str, list[str]]:
    center = hub().service.center          # the calendar-aware center (holidays applied at start)
    today = hub().service.clock.now().date()
    until = today + timedelta(days=366)
    return {key: sorted(d.isoformat() for d in days if today <= d <= until)
            for key, days in (("days_off", center.days_off), ("makeup_days", center.makeup_days))}


def center_config() -> dict[str, Any]:
    settings = hub().settings
    c = settings.center
    return {
        "center": {"id": c.id, "name": c.name, "name_en": c.name_en},
        "services": [{"code": s.code, "name": s.name, "name_en": s.name_en, "prefix": s.prefix,
                      "procedures": list(s.procedures)} for s in c.services],
        "counters": [{"id": q.id, "name": q.name, "services": list(q.services)} for q in c.counters],
        "priorities": [{"code": p.code, "label": p.label, "label_en": p.label_en, "legal_basis": p.legal_basis}
                       for p in c.priorities],
        "working_hours": working_hours_json(c),
        # the coming year's calendar, so a kiosk cut off from the hub still knows Tết from a Tuesday
        **_calendar_ahead(),
        "rating_scale": [asdict(r) for r in settings.rating_scale],
        # what screens may show; the hub's own folders and sound device are not the public's business
        "display": {k: v for k, v in asdict(settings.display).items()
                    if k not in ("voice_dir", "recorded_voice_dir", "hub_speaker")},
        "policy": {"kind": str(c.policy.kind), "interleave_normal": c.policy.interleave_normal,
                   "priority_bonus_min": c.policy.priority_bonus_min,
                   "priority_across_services": c.policy.priority_across_services},
        # the center takes bookings (issue 16): kiosks offer "Có lịch hẹn"
        "bookings": getattr(settings, "bookings", None) is not None,
        # and tells citizens by SMS/Zalo: kiosks offer "Nhắn tin khi sắp đến lượt" after printing
        "notifications": hub().notifier.kiosk_offer() if hub().notifier is not None else None,
    }


@route(bp, "/config", summary="Center, services, counters, priority categories, working hours, rating scale",
       result="see docs/api.md GET /config",
       response=ref("CenterConfig"))
def get_config():  # type: ignore[no-untyped-def]
    return jsonify(center_config())


@route(bp, "/services", summary="Services with waiting counts and estimates (the kiosk's first screen)",
       result="[{code,name,name_en,prefix,waiting,estimated_wait_min,wait_low_min,wait_high_min,wait_served,"
              "wait_past_close,accepting,reason}]",
       response=arr(ref("ServiceSummary")))
def list_services():  # type: ignore[no-untyped-def]
    ctx = hub()
    out = []
    for s in ctx.settings.center.services:
        st = ctx.service.service_state(s.code)
        out.append({"code": s.code, "name": s.name, "name_en": s.name_en, "prefix": s.prefix,
                    "waiting": st.waiting, "estimated_wait_min": st.estimated_wait_min,
                    "wait_low_min": st.wait_low_min, "wait_high_min": st.wait_high_min, "wait_served": st.served_now,
                    "wait_past_close": st.wait_past_close,
                    "accepting": st.accepting, "reason": None if st.accepting else "service_closed"})
    return jsonify(out)


@route(bp, "/tickets", methods=("POST",), summary="Issue a ticket (kiosk)", device_key=True, body=ISSUE, ok=201,
       result="{ticket, ahead, estimated_wait_min, wait_low_min, wait_high_min, wait_served, wait_past_close, "
              "tracking_url}",
       errors=(ErrorCode.UNKNOWN_SERVICE, ErrorCode.UNKNOWN_PRIORITY, ErrorCode.SERVICE_CLOSED,
               ErrorCode.QUOTA_REACHED),
       response=ref("TicketIssued"))
def issue_ticket(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    ctx = hub()
    _limit(ctx.issue_limiter, "cấp số", "tickets")
    return jsonify(issue_answer(ctx.service, body, ctx.notifier)), 201


def _limit(limiter: Any, what_vi: str, what_en: str) -> None:
    """Refuse (429, Retry-After) a device key past its bucket in ``limiter``."""
    wait = issue_allowed(limiter, request.headers.get("X-Device-Key", ""), request.remote_addr or "")
    if wait > 0:
        retry = max(1, math.ceil(wait))
        raise RateLimited(f"Thiết bị này {what_vi} quá nhanh; thử lại sau {retry} giây. / Too many {what_en} from "
                          f"this device; retry in {retry} s.", retry)


def issue_answer(service: QueueService, body: dict[str, Any], notifier: Any = None) -> dict[str, Any]:
    """The body of a 201 to POST /tickets, from an ISSUE-validated body; the fast path answers with it too.

    A ``contact`` is checked before anything is issued (a bad number is a 400 and no ticket); it goes to the
    notifier's contact book only, never into the event log."""
    contact = None
    if body.get("contact"):
        if notifier is None:
            raise bad_request("contact: notifications are not enabled at this center")
        contact = notifier.contact(body["contact"])
    result = service.issue_ticket(body["service"], priority=body.get("priority"), kiosk=body.get("kiosk"),
                                  request_id=body.get("request_id"))
    ticket = ticket_to_json(result.ticket)
    answer = {"ticket": ticket, "ahead": result.ahead, "estimated_wait_min": result.estimated_wait_min,
              **wait_to_json(result.wait), "tracking_url": f"/t/{ticket['id']}"}
    if contact is not None:
        notifier.add_ticket_contact(str(result.ticket.id), contact, result.ticket.day.isoformat())
        answer["notify"] = contact.channel
    base = getattr(notifier, "public_base_url", "")
    if base:
        # the QR on the ticket points where a phone outside the center's network can reach (a province relay)
        answer["public_tracking_url"] = f"{base}/t/{ticket['id']}"
    return answer


CONTACT = Body({
    "contact": Field(str, True, "a Vietnamese mobile number (0912345678, +84912345678) or an e-mail, to be told "
                                "when the turn nears and when called (kept only in the notification contact book, "
                                "purged with the day; never in the event log)", max_len=254),
    "kiosk": Field(str, False, "the kiosk asking (its configured id)", nullable=True, max_len=64),
})


@route(bp, "/tickets/<ticket_id>/contact", methods=("POST",), device_key=True, body=CONTACT,
       summary="Attach a phone number (or e-mail) to a ticket still waiting: \"còn N người nữa\" and \"mời quý vị "
               "đến quầy\" messages (kiosk, after printing; idempotent)",
       result="{ticket, number, notify, masked, ahead, turn_near_at, stored}",
       errors=(ErrorCode.UNKNOWN_TICKET, ErrorCode.TICKET_NOT_WAITING, ErrorCode.CONTACT_EXISTS,
               ErrorCode.FORBIDDEN, ErrorCode.RATE_LIMITED),
       response=ref("TicketContact"))
def attach_contact(ticket_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    ctx = hub()
    # the same bucket as issuing: each contact is up to two paid messages, so a script with a kiosk's key must not
    # get more of them than tickets
    wait = issue_allowed(ctx.issue_limiter, request.headers.get("X-Device-Key", ""), request.remote_addr or "")
    if wait > 0:
        retry = max(1, math.ceil(wait))
        raise RateLimited(f"Thiết bị này gửi quá nhanh; thử lại sau {retry} giây. / Too many requests from this "
                          f"device; retry in {retry} s.", retry)
    if ctx.notifier is None:
        raise MotcuaError(ErrorCode.FORBIDDEN, "Trung tâm chưa bật nhắn tin. / Notifications are not enabled at "
                                               "this center.")
    return jsonify(ctx.notifier.attach_contact(ticket_id, body["contact"]).to_json())


HELP = Body({"kiosk": Field(str, True, "the kiosk asking (its configured id)", max_len=64)})


@route(bp, "/help", methods=("POST",), summary="A citizen asks for help at a kiosk (Cần hỗ trợ)", device_key=True,
       body=HELP, ok=201, result="{help: {kiosk, seq, at}} (200 with the first press while it is still unanswered)",
       errors=(ErrorCode.UNKNOWN_KIOSK, ErrorCode.RATE_LIMITED), response=ref("HelpRequest"))
def ask_help(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    # an event in the log like any other: consoles and the manager board see it on their live stream, and until it
    # is answered it is in GET /state (and the stream's first snapshot) for a screen opened later, even after a restart
    ctx = hub()
    _limit(ctx.help_limiter, "gửi yêu cầu hỗ trợ", "help requests")
    kiosk = body["kiosk"]
    # the kiosks the center's [broker] inventory names; a hub whose inventory names none (a lab broker, kiosks
    # without MQTT) has no list to check against, and the rate limit and one open request per kiosk bound it
    known = ctx.settings.broker.kiosk_ids() if ctx.settings.broker is not None else frozenset()
    if known and kiosk not in known:
        raise MotcuaError(ErrorCode.UNKNOWN_KIOSK, f"Kiosk «{kiosk}» không có trong cấu hình của trung tâm. / Kiosk "
                                                   f"{kiosk!r} is not one of this center's configured kiosks.")
    request_, new = ctx.service.ask_help(kiosk)
    return jsonify(help=request_.to_json()), 201 if new else 200


@route(bp, "/help/answer", methods=("POST",), summary="Staff are on their way to the kiosk that asked for help",
       role="staff", body=HELP, result="{help: {kiosk, seq, at}}", response=ref("HelpRequest"))
def answer_help(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    # clears the request on every screen and from GET /state (a console opened later no longer shows it); the log
    # keeps who went (the logged-in member of staff: their username, and the name screens show)
    envelope = hub().service.record_event("help.answered", {"kiosk": body["kiosk"], "staff": current_username(),
                                                            "staff_name": current_display_name()})
    return jsonify(help={"kiosk": body["kiosk"], "seq": envelope.seq, "at": envelope.at})


@route(bp, "/tickets/<ticket_id>/print-result", methods=("POST",), summary="Record whether the ticket printed",
       device_key=True, body=PRINT_RESULT, result="{ticket}", errors=(ErrorCode.UNKNOWN_TICKET,),
       response=ref("TicketResult"))
def print_result(ticket_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    ticket = hub().service.record_print_result(ticket_id, body["printed"], body.get("fault"))
    return jsonify(ticket=ticket_to_json(ticket))


@route(bp, "/tickets/<ticket_id>", summary="One ticket with its place in the queue (tracking page)",
       result="{ticket, ahead, estimated_wait_min, wait_low_min, wait_high_min, wait_served, wait_past_close, "
              "day_over, hours_over, resumes_at, opens_at}",
       errors=(ErrorCode.UNKNOWN_TICKET,), response=ref("TicketView"))
def get_ticket(ticket_id: str):  # type: ignore[no-untyped-def]
    view = hub().service.get_ticket(ticket_id)
    return jsonify(ticket=ticket_to_json(view.ticket), ahead=view.ahead, estimated_wait_min=view.estimated_wait_min,
                   **wait_to_json(view.wait), day_over=view.day_over, hours_over=view.hours_over,
                   resumes_at=format_at(view.resumes_at) if view.resumes_at is not None else None,
                   opens_at=format_at(view.opens_at) if view.opens_at is not None else None)


def lease_json(lease: Any) -> dict[str, Any]:
    return {"id": lease.id, "service": lease.service, "day": lease.day.isoformat(), "first": lease.first,
            "last": lease.last}


@route(bp, "/leases", methods=("POST",), summary="Reserve a block of numbers for a kiosk to issue offline",
       device_key=True, body=LEASE, ok=201, result="{lease: {id, service, day, first, last}}",
       # leases_on_hold (503, Retry-After): for a minute after `motcua restore`, while kiosks re-report their blocks
       errors=(ErrorCode.UNKNOWN_SERVICE, ErrorCode.QUOTA_REACHED, ErrorCode.LEASES_ON_HOLD),
       response=ref("Lease"))
def create_lease(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    lease = hub().service.lease_numbers(body["kiosk"], body["service"], body["size"])
    return jsonify(lease=lease_json(lease)), 201


@route(bp, "/leases/<lease_id>/tickets", methods=("POST",), summary="Merge tickets issued offline (idempotent)",
       device_key=True, body=MERGE, result="{tickets: [Ticket]}", errors=(ErrorCode.LEASE_CONFLICT,),
       response=obj({"tickets": arr(ref("Ticket"))}))
def merge_leased(lease_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    tickets = hub().service.merge_leased(lease_id, body["tickets"], body.get("kiosk"))
    return jsonify(tickets=[ticket_to_json(t) for t in tickets])
