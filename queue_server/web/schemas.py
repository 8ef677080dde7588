"""JSON Schemas of what the hub's routes answer: the ``components/schemas`` of the served OpenAPI document and
the ``response=`` of every ``common.route``.

Written by hand (the bodies are dicts built by the views and services, not one class each), and kept honest by a
test that validates real answers of the main routes against them (tests/adapter/test_openapi_responses.py).
Every key a body always carries is ``required``; objects stay open (``additionalProperties`` unset), so a client
built on this document keeps working when a field is added. Must not: import Flask or any service.
"""
from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props: dict[str, Schema], optional: tuple[str, ...] = (), description: str = "") -> Schema:
    """An object whose keys are all present except ``optional`` ones."""
    out: Schema = {"type": "object", "properties": props,
                   "required": [k for k in props if k not in optional]}
    if description:
        out["description"] = description
    return out


def arr(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def dict_of(values: Schema) -> Schema:
    """An object keyed by codes (service codes, counter ids, days …)."""
    return {"type": "object", "additionalProperties": values}


def null(s: Schema) -> Schema:
    """``s`` or null."""
    if "type" in s and isinstance(s["type"], str) and "$ref" not in s:
        return {**s, "type": [s["type"], "null"]}
    return {"anyOf": [s, {"type": "null"}]}


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
AT: Schema = {"type": "string", "format": "date-time", "description": "ISO 8601 with +07:00"}
DAY: Schema = {"type": "string", "format": "date"}
ANY_OBJECT: Schema = {"type": "object"}

TICKET_STATUS = ["issued", "called", "serving", "done", "no_show", "transferred", "cancelled"]

TICKET = obj({
    "id": {"type": "string", "examples": ["20261123-ho-tich-23"]},
    "number": {"type": "string", "examples": ["A023"]},
    "service": STR, "priority": null(STR), "status": {"enum": TICKET_STATUS}, "counter": null(STR),
    "issued_at": AT, "called_at": null(AT), "serving_at": null(AT), "done_at": null(AT), "recalls": INT,
    "printed": null(BOOL), "day": DAY, "origin_service": STR,
    # the event log's extras (clients may ignore them)
    "prefix": STR, "seq_number": INT, "queued_at": null(AT), "last_called_at": null(AT),
    "target_counter": null(STR), "reactivations": INT, "kiosk": null(STR), "staff": null(STR),
    "lease_id": null(STR), "queue_seq": INT, "request_id": null(STR),
    # the booking code a checked-in booking's ticket came from (GET /bookings/<code> shows the booking)
    "booking": null(STR),
}, optional=("prefix", "seq_number", "queued_at", "last_called_at", "target_counter", "reactivations", "kiosk",
             "staff", "lease_id", "queue_seq", "request_id", "booking"))

COUNTER_STATE = obj({
    "seq": INT, "counter": STR, "name": STR, "status": {"enum": ["closed", "open", "paused"]},
    "pause_reason": null(STR), "staff": null(STR), "current_ticket": null(STR), "current_ticket_id": null(STR),
    "current_status": null({"enum": ["called", "serving"]}), "since": null(AT),
    "held_over": {"type": "boolean", "description": "the ticket in hand is from an earlier working day: screens do "
                  "not show its number (today's same number is another citizen)"},
}, optional=("held_over",),
   description="Same shape as the retained MQTT state/counters/<id> message; staff is the display name")

SERVICE_STATE = obj({
    "seq": INT, "service": STR, "name": STR, "waiting": INT, "estimated_wait_min": INT,
    "last_called": null(STR), "accepting": BOOL, "wait_low_min": null(INT), "wait_high_min": null(INT),
    "served_now": BOOL, "wait_past_close": BOOL,
}, description="Same shape as the retained MQTT state/services/<code> message")

CALL_INFO = obj({"ticket_id": STR, "number": STR, "service": STR, "counter": STR, "counter_name": STR, "at": AT,
                 "recall": INT})

ENVELOPE = obj({"id": STR, "seq": INT, "type": {"type": "string", "examples": ["ticket.called"]}, "center": STR,
                "at": AT, "data": ANY_OBJECT})

LABELLED = obj({"code": STR, "label": STR, "label_en": STR})
LEVEL = obj({"value": INT, "label": STR, "label_en": STR})
SESSIONS = arr({"type": "array", "items": STR, "minItems": 2, "maxItems": 2})

CENTER_CONFIG = obj({
    "center": obj({"id": STR, "name": STR, "name_en": STR}),
    "services": arr(obj({"code": STR, "name": STR, "name_en": STR, "prefix": STR, "procedures": arr(STR)})),
    "counters": arr(obj({"id": STR, "name": STR, "services": arr(STR)})),
    "priorities": arr(obj({"code": STR, "label": STR, "label_en": STR, "legal_basis": STR})),
    "working_hours": dict_of(SESSIONS),
    "days_off": arr(DAY), "makeup_days": arr(DAY),
    "rating_scale": arr(LEVEL),
    "display": ANY_OBJECT,
    "policy": obj({"kind": STR, "interleave_normal": INT, "priority_bonus_min": NUM,
                   "priority_across_services": BOOL}),
    "bookings": BOOL,
    # null: no [notifications]; phone: a kiosk may offer "Nhắn tin khi sắp đến lượt" (the phone channel has a gateway)
    "notifications": null(obj({"phone": BOOL, "channel": {"enum": ["sms", "zalo"]}, "turn_near_at": INT})),
})

# the wait a citizen is told: the range ("khoảng 20–30 phút"); null when not waiting; wait_served false: no open or
# paused counter serves it now (nothing is promised); wait_past_close: the expected call falls after today's working
# hours (screens say so, not the range). estimated_wait_min stays for older clients.
WAIT_RANGE = {"wait_low_min": null(INT), "wait_high_min": null(INT), "wait_served": null(BOOL),
              "wait_past_close": null(BOOL)}

SERVICE_SUMMARY = obj({"code": STR, "name": STR, "name_en": STR, "prefix": STR, "waiting": INT,
                       "estimated_wait_min": INT, **WAIT_RANGE, "accepting": BOOL, "reason": null(STR)})

TICKET_ISSUED = obj({"ticket": ref("Ticket"), "ahead": INT, "estimated_wait_min": INT, **WAIT_RANGE,
                     "tracking_url": {"type": "string", "examples": ["/t/20261123-ho-tich-23"]},
                     "notify": STR, "public_tracking_url": STR}, optional=("notify", "public_tracking_url"))
TICKET_VIEW = obj({"ticket": ref("Ticket"), "ahead": INT, "estimated_wait_min": INT, **WAIT_RANGE, "day_over": {
    "type": "boolean", "description": "the ticket's working day is over (one still waiting was never reached)"},
    "hours_over": {"type": "boolean", "description": "today's last working session has ended and the ticket still "
                   "waits: numbers do not carry over to tomorrow"},
    "resumes_at": {**null(STR), "description": "the lunch break: when the counters work again (the ticket waits)"},
    "opens_at": {**null(STR), "description": "day_over or hours_over with the ticket still waiting: when the next "
                 "working session starts (numbers are issued again; Monday 07:30 on a Saturday)"}})
TICKET_CONTACT = obj({
    "ticket": STR, "number": {"type": "string", "examples": ["A023"]},
    "notify": {"enum": ["sms", "zalo", "email"]},
    "masked": {"type": "string", "examples": ["0912***678"], "description": "never the whole address"},
    "ahead": INT, "turn_near_at": {"type": "integer", "description": "told when this many or fewer are ahead"},
    "stored": {"enum": ["created", "unchanged"], "description": "unchanged: the same contact was attached before"},
})
HELP_REQUEST = obj({"help": obj({"kiosk": STR, "seq": INT, "at": AT})})
TICKET_RESULT = obj({"ticket": ref("Ticket")})
LEASE = obj({"lease": obj({"id": STR, "service": STR, "day": DAY, "first": INT, "last": INT})})

STATE = obj({"seq": INT, "calls": arr(ref("CallInfo")), "counters": arr(ref("CounterState")),
             "services": arr(ref("ServiceState")), "center": obj({"id": STR, "name": STR, "name_en": STR}),
             "help": {**arr(obj({"kiosk": STR, "seq": INT, "at": AT})),
                      "description": "today's unanswered \"Cần hỗ trợ\" requests, oldest first"}})
HEALTH = obj({"status": {"const": "ok"}, "seq": INT, "mqtt": {"enum": ["connected", "disconnected", "disabled"]},
              "boot": STR})

COUNTER_LISTED = {"allOf": [ref("CounterState"), obj({"silent": {
    "type": "boolean", "description": "open, but no console or keypad activity for [display] silent_counter_min"}})]}
COUNTER_DETAIL = {"allOf": [ref("CounterListed"), obj({
    "services": arr(STR), "waiting": arr(ref("Ticket")), "mine": BOOL, "current": null(ref("Ticket")),
    "no_shows": arr(ref("Ticket"))})]}
HEARTBEAT = obj({"silent": BOOL})

STATS_TODAY = obj({
    "day": DAY, "seq": INT,
    "services": dict_of(obj({"name": STR, "waiting": INT, "issued": INT, "longest_wait_min": NUM,
                             "avg_wait_min": NUM, "avg_service_min": NUM, "served": INT, "no_show": INT,
                             "cancelled": INT, "not_printed": INT})),
    "counters": dict_of(ANY_OBJECT),
})
DEVICES = obj({"devices": arr(ANY_OBJECT), "alerts": arr(ANY_OBJECT)})
DEVICE_ALERTS = obj({"alerts": arr(ANY_OBJECT)})

LOGIN_RESULT = obj({"token": STR, "role": {"enum": ["staff", "manager", "admin"]}, "username": STR,
                    "display_name": STR, "expires_at": AT})
ME = obj({"username": STR, "role": {"enum": ["staff", "manager", "admin"]}, "display_name": STR, "expires_at": AT})
OK = obj({"ok": {"const": True}})
ADMIN_CONFIG = obj({"settings": ANY_OBJECT, "center": ref("CenterConfig"), "live": ref("LiveConfig")})
USER = obj({"username": STR, "role": {"enum": ["staff", "manager", "admin"]}, "display_name": STR,
            "disabled": BOOL}, optional=("disabled",), description="never a password or its hash")
USERS = obj({"users": arr(USER)})
_SECTIONS = ("services", "counters", "priorities", "users", "working_hours", "calendar", "rating_scale", "display")
LIVE_CONFIG = obj({
    "services": arr(obj({"code": STR, "prefix": STR, "name": STR, "name_en": STR, "number_start": INT,
                         "number_end": INT, "daily_quota": INT, "stop_issuing_before_close_min": INT,
                         "avg_service_min": NUM, "offline_from": INT, "procedures": arr(STR)},
                        optional=("daily_quota", "offline_from", "procedures"))),
    "counters": arr(obj({"id": STR, "name": STR, "services": arr(STR)})),
    "priorities": arr(obj({"code": STR, "label": STR, "label_en": STR, "legal_basis": STR})),
    "users": arr(USER),
    "working_hours": arr(obj({"days": arr({"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}),
                              "sessions": arr(arr(STR))})),
    "calendar": obj({"days_off": arr(DAY), "makeup_days": arr(DAY)}),
    "rating_scale": arr(obj({"value": INT, "label": STR, "label_en": STR})),
    "display": obj({"notice": STR, "wait_warning_min": INT, "calls_shown": INT}),
}, description="the sections an admin changes live, as the config file writes them (no password hashes)")
CONFIG_CHANGED = obj({"by": STR, "sections": arr({"enum": list(_SECTIONS)}),
                      "before": ANY_OBJECT, "after": ANY_OBJECT, "seq": INT},
                     description="the config.changed event's data (and its seq)")
AUDIT_ROW = obj({"seq": INT, "at": AT, "kind": STR, "user": null(STR), "counter": null(STR),
                 "ticket": null(STR), "detail": STR})
AUDIT = obj({"rows": arr(AUDIT_ROW), "kinds": arr(STR), "truncated": BOOL})

REVOKED = obj({"username": STR, "revoked": {"type": "integer", "minimum": 0}})
OPENAPI = obj({"openapi": STR, "info": ANY_OBJECT, "paths": ANY_OBJECT, "components": ANY_OBJECT})

RATING = obj({"id": STR, "ticket_id": STR, "ticket_number": STR, "counter": STR, "staff": null(STR),
              "service": STR, "day": DAY, "level": INT, "at": AT, "criteria": dict_of(INT),
              "dossier_codes": arr(STR), "source": STR})
RATING_PENDING = obj({"rateable": BOOL, "ticket": null(STR), "ticket_id": null(STR), "code": null(STR)})
RATING_SCALE = obj({"levels": arr(LEVEL), "criteria": arr(LABELLED), "window_min": INT})
_RATING_COUNTS = obj({"count": INT, "levels": dict_of(INT), "average": null(NUM), "top_share": null(NUM),
                      "criteria": ANY_OBJECT})
RATING_AGGREGATES = {"allOf": [_RATING_COUNTS, obj({
    "center": STR, "counters": dict_of(_RATING_COUNTS), "staff": dict_of(_RATING_COUNTS),
    "services": dict_of(_RATING_COUNTS), "days": dict_of(_RATING_COUNTS), "scale": arr(LEVEL),
    "criteria_scale": arr(LABELLED), "day": DAY, "from": DAY, "to": DAY,
}, optional=("day", "from", "to"))], "description": "one day (`day`) or a range (`from`, `to`)"}

DOSSIER_STATUS = obj({
    "dossier": obj({
        "code": STR, "procedure": STR, "applicant": {"type": "string", "description": "masked: N*** T*** Trang"},
        "received_at": AT, "status": STR, "display_status": STR, "status_vi": STR, "status_en": STR,
        "due_at": null(AT), "appointment_at": null(AT), "working_minutes_left": null(INT),
        "finished_at": null(AT),
        "apology": null(obj({"original_due_at": AT, "new_due_at": null(AT), "reason": null(STR),
                             "counts_as_late": BOOL})),
        "steps": arr(obj({"name": STR, "unit": null(STR), "started_at": null(AT), "due_at": null(AT),
                          "done_at": null(AT)})),
    }),
    "warnings": arr(obj({"code": STR, "vi": STR, "en": STR})),
    "freshness": obj({"source": {"enum": ["mirror", "main_system"]}, "synced_at": AT, "age_s": INT,
                      "stale": BOOL, "link": STR, "note_vi": STR, "note_en": STR}),
})
PUSH_RESULT = obj({"results": arr(obj({"update_id": null(STR), "code": STR, "result": STR})),
                   "counts": dict_of(INT)})
INTEGRATION_HEALTH = obj({"link": {"enum": ["up", "down", "unknown", "not_configured"]}, "last_error": null(STR),
                          "mirror_dossiers": INT, "last_ok_at": null(AT), "last_error_at": null(AT),
                          "outbox": ANY_OBJECT}, optional=("outbox",))
DOSSIER_RATES = obj({"from": DAY, "to": DAY, "received": INT, "finished": INT,
                     "on_time_rate": null({"type": "number", "minimum": 0, "maximum": 1}),
                     "resolution_rate": null({"type": "number", "minimum": 0, "maximum": 1})})

# The named components; routes answer ``ref(name)`` of one of these (or an array of them).
COMPONENTS: dict[str, Schema] = {
    "Ticket": TICKET, "CounterState": COUNTER_STATE, "ServiceState": SERVICE_STATE, "CallInfo": CALL_INFO,
    "Envelope": ENVELOPE, "CenterConfig": CENTER_CONFIG, "ServiceSummary": SERVICE_SUMMARY,
    "TicketIssued": TICKET_ISSUED, "TicketView": TICKET_VIEW, "TicketResult": TICKET_RESULT, "Lease": LEASE,
    "State": STATE, "Health": HEALTH, "CounterDetail": COUNTER_DETAIL, "CounterListed": COUNTER_LISTED,
    "Heartbeat": HEARTBEAT, "DeviceAlerts": DEVICE_ALERTS, "StatsToday": STATS_TODAY,
    "Devices": DEVICES, "LoginResult": LOGIN_RESULT, "Me": ME, "Ok": OK, "AdminConfig": ADMIN_CONFIG,
    "Users": USERS, "LiveConfig": LIVE_CONFIG, "ConfigChanged": CONFIG_CHANGED, "Audit": AUDIT, "RevokedSessions": REVOKED,
    "OpenApiDocument": OPENAPI, "Rating": RATING, "RatingPending": RATING_PENDING,
    "RatingScale": RATING_SCALE, "RatingAggregates": RATING_AGGREGATES, "DossierStatus": DOSSIER_STATUS,
    "DossierPushResult": PUSH_RESULT, "IntegrationHealth": INTEGRATION_HEALTH, "DossierRates": DOSSIER_RATES,
    "HelpRequest": HELP_REQUEST, "TicketContact": TICKET_CONTACT,
}
