"""Dossier blueprint: kiosk look-up by code (rate-limited per client) and the main system's status pushes
(authenticated by HMAC-SHA256 signature or bearer token, idempotent, validated).

Thin: routes declared with ``common.route`` (guards in guards.py), rules in app/dossier_service.py. Errors are
``{"error": {"code", "message", "message_vi"}}``; the kiosk translates ``code``, ``message_vi`` is a fallback.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ
from queue_server.app.dossier_service import MAX_BATCH, DossierService
from queue_server.web.common import Body, Field, Query, require, route
from queue_server.web.guards import RateLimited, RateLimiter, check_push
from queue_server.web.schemas import ref
from runtime.settings import PushAuth, RateLimit

__all__ = ["MAX_PUSH_BYTES", "PushAuth", "RateLimit", "create_dossiers_blueprint"]

_LOOKUP_ERRORS = (ErrorCode.INVALID_DOSSIER_CODE, ErrorCode.UNKNOWN_DOSSIER, ErrorCode.MAIN_SYSTEM_UNAVAILABLE)

log = logging.getLogger(__name__)

MAX_PUSH_BYTES = 2 * 1024 * 1024

_UPDATE = Body({
    "update_id": Field(str, False, "the main system's id of this update (a repeat is a duplicate)", nullable=True,
                       max_len=200),
    "dossier": Field(dict, True, "the dossier as the main system knows it (docs/integration.md)", max_len=100),
})
# One update, or a batch; each dossier's fields are checked by the dossier service, which names them.
PUSH = Body({
    **_UPDATE.fields,
    "dossier": Field(dict, False, _UPDATE.fields["dossier"].description, max_len=100),
    "updates": Field(list, False, "a batch of updates, applied in one transaction", max_len=MAX_BATCH,
                     items=_UPDATE),
}, one_of=("dossier", "updates"))

MESSAGES_VI: dict[str, str] = {
    ErrorCode.INVALID_DOSSIER_CODE: "Mã hồ sơ không đúng định dạng. Vui lòng kiểm tra mã trên phiếu hẹn trả kết quả.",
    ErrorCode.UNKNOWN_DOSSIER: "Không tìm thấy hồ sơ với mã này. Vui lòng kiểm tra lại hoặc hỏi cán bộ tại quầy.",
    ErrorCode.RATE_LIMITED: "Tra cứu quá nhiều lần. Vui lòng thử lại sau ít phút.",
    ErrorCode.UNAUTHENTICATED: "Yêu cầu chưa được xác thực.",
    ErrorCode.FORBIDDEN: "Không được phép.",
    ErrorCode.BAD_REQUEST: "Dữ liệu không hợp lệ.",
}


def _error(err: MotcuaError) -> tuple[Response, int]:
    body: dict[str, dict[str, Any]] = {"error": dict(err.to_json()["error"])}
    body["error"]["message_vi"] = MESSAGES_VI.get(err.code, "Có lỗi xảy ra.")
    if isinstance(err, RateLimited):
        body["error"]["retry_after_s"] = err.retry_after_s
    response = jsonify(body)
    if isinstance(err, RateLimited):
        response.headers["Retry-After"] = str(err.retry_after_s)
    return response, err.http_status


def create_dossiers_blueprint(service: DossierService, *, rate_limit: RateLimit | None = None,
                              push_auth: PushAuth | None = None,
                              monotonic: Callable[[], float] = time.monotonic,
                              metrics: Callable[[], dict[str, Any]] | None = None,
                              require_role: Callable[[str], object] = require) -> Blueprint:
    """Register with ``app.register_blueprint(create_dossiers_blueprint(service, ...))``; routes under /api/v1.

    The look-up limit counts per client address (behind the center's proxy, the address the server resolved:
    ``[http] trust_forwarded_for``). ``metrics``: e.g. ``outbox.metrics``, shown by
    ``GET /api/v1/integration/health``. ``require_role(role)`` raises when the caller lacks the role (by default
    the hub's own token check); it guards the manager-only rates.
    """
    bp = Blueprint("dossiers", __name__, url_prefix="/api/v1")
    limiter = RateLimiter(rate_limit or RateLimit(), monotonic)
    auth = push_auth or PushAuth()

    @bp.errorhandler(MotcuaError)
    def _motcua_error(err: MotcuaError) -> tuple[Response, int]:
        return _error(err)

    def look_up(text: str) -> Response:
        response = jsonify(service.lookup(text))
        response.headers["Cache-Control"] = "no-store"   # personal data: no proxy or browser cache
        return response

    @route(bp, "/dossiers/<path:code>", summary="Look up a dossier's status by its code (kiosk)",
           errors=_LOOKUP_ERRORS, limiter=limiter, limited="dossier look-ups", response=ref("DossierStatus"),
           result="status words vi/en, received and due dates, warnings, masked name, synced_at and age")
    def get_dossier(code: str) -> Response:
        return look_up(code)

    # For raw scanner payloads (QR text may hold a URL with '?' or '#').
    @route(bp, "/dossiers", summary="Look up a dossier from a raw scanned payload (QR text or URL)",
           errors=_LOOKUP_ERRORS, limiter=limiter, limited="dossier look-ups", response=ref("DossierStatus"),
           query=(Query("code", str, "the scanned text; the dossier code is found inside it", required=True,
                        max_len=2000),))
    def get_dossier_by_query(query: dict[str, Any]) -> Response:
        return look_up(query["code"])

    def signed_by_the_main_system() -> None:
        try:
            check_push(auth, request.headers, request.get_data(cache=True))
        except MotcuaError as err:
            log.warning("dossier push refused from %s: %s", request.remote_addr, err.message)
            raise

    @route(bp, "/integration/dossiers", methods=("POST",), signed=True, guard=signed_by_the_main_system,
           max_body_bytes=MAX_PUSH_BYTES, body=PUSH, response=ref("DossierPushResult"),
           summary="Status updates pushed by the main system (HMAC-signed or bearer token; idempotent)",
           errors=(ErrorCode.BAD_CREDENTIALS,), result="how many dossiers were stored, unchanged or older")
    def push_dossiers(body: dict[str, Any]) -> Response:
        return jsonify(service.ingest(body))

    @route(bp, "/integration/health", summary="The main-system link state, mirror size and outbox metrics",
           response=ref("IntegrationHealth"))
    def integration_health() -> Response:
        link = service.link.status()
        body: dict[str, Any] = {"link": link.state, "last_error": link.last_error,
                                "mirror_dossiers": service.mirror.count()}
        for name, value in (("last_ok_at", link.last_ok_at), ("last_error_at", link.last_error_at)):
            body[name] = value.isoformat() if value else None
        if metrics is not None:
            body["outbox"] = metrics()
        return jsonify(body)

    # Not under /dossiers/: that path is the kiosk look-up by code (any text after it is a code).
    @route(bp, "/stats/dossier-rates", role="manager", role_check=require_role,
           summary="On-time and resolution rates of dossiers received in a date range (manager board)",
           query=(Query("from", date, "first day received, YYYY-MM-DD (default: the 1st of this month)"),
                  Query("to", date, "last day received, YYYY-MM-DD, included (default: today)")),
           response=ref("DossierRates"),
           result="{from, to, received, finished, on_time_rate, resolution_rate} (rates 0..1 or null)")
    def dossier_rates(query: dict[str, Any]) -> Response:
        today = service.clock.now().astimezone(VN_TZ).date()
        first: date = query.get("from") or today.replace(day=1)
        last: date = query.get("to") or today
        if first > last:
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"from: {first.isoformat()} is after to: {last.isoformat()}")
        start = datetime.combine(first, dt_time(0, 0), VN_TZ)
        end = datetime.combine(last + timedelta(days=1), dt_time(0, 0), VN_TZ)
        return jsonify({"from": first.isoformat(), "to": last.isoformat(), **service.rates(start, end)})

    return bp
