"""Stable error codes shared by the hub, its HTTP API and every client; UIs translate codes, never messages.

A code never changes meaning once released. The hub answers errors as ``{"error": {"code", "message"}}``.
"""
from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # input
    BAD_REQUEST = "bad_request"            # malformed JSON or a missing/invalid field
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    RATE_LIMITED = "rate_limited"
    PAYLOAD_TOO_LARGE = "payload_too_large"  # body over the configured size limit
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # a write whose body is not application/json
    # auth
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    BAD_CREDENTIALS = "bad_credentials"
    # queue
    UNKNOWN_SERVICE = "unknown_service"
    UNKNOWN_COUNTER = "unknown_counter"
    UNKNOWN_TICKET = "unknown_ticket"
    UNKNOWN_PRIORITY = "unknown_priority"
    UNKNOWN_KIOSK = "unknown_kiosk"          # a kiosk id the hub's config does not name (POST /help)
    SERVICE_CLOSED = "service_closed"      # outside working hours or past the stop-issuing time
    QUOTA_REACHED = "quota_reached"        # daily quota or number range exhausted
    NOTHING_TO_CALL = "nothing_to_call"
    COUNTER_BUSY = "counter_busy"          # the counter still has a ticket in hand
    COUNTER_IDLE = "counter_idle"          # the action needs a current ticket and there is none
    COUNTER_NOT_OPEN = "counter_not_open"
    COUNTER_TAKEN = "counter_taken"        # open under another staff member: taking it over needs a confirmation
    INVALID_TRANSITION = "invalid_transition"
    TICKET_TAKEN = "ticket_taken"          # another counter already has it
    TICKET_NOT_WAITING = "ticket_not_waiting"  # called, finished or of another day: too late for that request
    CONTACT_EXISTS = "contact_exists"      # the ticket already has another contact for its messages
    SERVICE_NOT_SERVED = "service_not_served"  # the counter does not serve that ticket's service
    LEASE_CONFLICT = "lease_conflict"
    # just restored from a backup: no new offline block until the kiosks have re-reported theirs; retry later
    LEASES_ON_HOLD = "leases_on_hold"
    TRANSFER_TARGET_UNSERVED = "transfer_target_unserved"   # closed counter / nobody serves it: confirm to insist
    # ratings
    ALREADY_RATED = "already_rated"
    RATING_WINDOW_CLOSED = "rating_window_closed"
    NOTHING_TO_RATE = "nothing_to_rate"
    # dossiers and integration
    INVALID_DOSSIER_CODE = "invalid_dossier_code"
    UNKNOWN_DOSSIER = "unknown_dossier"
    MAIN_SYSTEM_UNAVAILABLE = "main_system_unavailable"

    UNKNOWN_BOOKING = "unknown_booking"
    BOOKING_REFUSED = "booking_refused"    # a booking or check-in the rules refuse (error.reason says which rule)
    # devices
    DEVICE_FAULT = "device_fault"
    PRINTER_OFFLINE = "printer_offline"
    PAPER_OUT = "paper_out"
    # config / internal
    CONFIG_INVALID = "config_invalid"
    STORAGE_FULL = "storage_full"          # the hub's disk is full: nothing was written, retry when space returns
    INTERNAL = "internal"


# HTTP status for each code; anything not listed is 400 (a client mistake) — 500 is kept for real bugs.
HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.UNKNOWN_SERVICE: 404,
    ErrorCode.UNKNOWN_COUNTER: 404,
    ErrorCode.UNKNOWN_KIOSK: 404,
    ErrorCode.UNKNOWN_TICKET: 404,
    ErrorCode.UNKNOWN_DOSSIER: 404,
    ErrorCode.UNKNOWN_BOOKING: 404,
    ErrorCode.BOOKING_REFUSED: 409,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.BAD_CREDENTIALS: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.STORAGE_FULL: 503,
    ErrorCode.LEASES_ON_HOLD: 503,
    ErrorCode.NOTHING_TO_CALL: 409,
    ErrorCode.COUNTER_BUSY: 409,
    ErrorCode.COUNTER_IDLE: 409,
    ErrorCode.COUNTER_NOT_OPEN: 409,
    ErrorCode.COUNTER_TAKEN: 409,
    ErrorCode.INVALID_TRANSITION: 409,
    ErrorCode.TICKET_TAKEN: 409,
    ErrorCode.TICKET_NOT_WAITING: 409,
    ErrorCode.CONTACT_EXISTS: 409,
    ErrorCode.SERVICE_CLOSED: 409,
    ErrorCode.QUOTA_REACHED: 409,
    ErrorCode.LEASE_CONFLICT: 409,
    ErrorCode.TRANSFER_TARGET_UNSERVED: 409,
    ErrorCode.ALREADY_RATED: 409,
    ErrorCode.RATING_WINDOW_CLOSED: 409,
    ErrorCode.NOTHING_TO_RATE: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.MAIN_SYSTEM_UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
}


class MotcuaError(Exception):
    """Root of every error that crosses a boundary: carries a stable code and a human message (English)."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)

    def to_json(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": str(self.code), "message": self.message}}
