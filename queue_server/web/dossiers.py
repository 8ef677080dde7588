"""Dossier blueprint: kiosk look-up by code (rate-limited per client) and the main system's status pushes
(authenticated by HMAC-SHA256 signature or bearer token, idempotent, validated).

Thin: parsing, auth and rate limiting here; rules in app/dossier_service.py. Errors are
``{"error": {"code", "message", "message_vi"}}``; the kiosk translates ``code``, ``message_vi`` is a fallback.
"""
from __future__ import annotations

import hmac
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ
from queue_server.adapters.main_system import verify
from queue_server.app.dossier_service import DossierService
from queue_server.web.common import ROUTE_DOCS, Query, RouteDoc
from runtime.settings import PushAuth, RateLimit  # the settings types live in the one settings model

_LOOKUP_ERRORS = (ErrorCode.INVALID_DOSSIER_CODE, ErrorCode.UNKNOWN_DOSSIER, ErrorCode.RATE_LIMITED,
                  ErrorCode.MAIN_SYSTEM_UNAVAILABLE)
# Documented in the hub's OpenAPI document like every other /api/v1 route (see docs/integration.md for bodies).
ROUTE_DOCS.update({
    "dossiers.get_dossier": RouteDoc(
        "Look up a dossier's status by its code (kiosk)", "dossiers", errors=_LOOKUP_ERRORS,
        result="status words vi/en, received and due dates, warnings, masked name, synced_at and age"),
    "dossiers.get_dossier_by_query": RouteDoc(
        "Look up a dossier from a raw scanned payload (QR text or URL)", "dossiers", errors=_LOOKUP_ERRORS,
        query=(Query("code", str, "the scanned text; the dossier code is found inside it"),)),
    "dossiers.push_dossiers": RouteDoc(
        "Status updates pushed by the main system (HMAC-signed or bearer token; idempotent)", "integration",
        errors=(ErrorCode.UNAUTHENTICATED,), result="how many dossiers were stored, unchanged or older"),
    "dossiers.integration_health": RouteDoc(
        "The main-system link state, mirror size and outbox metrics", "integration"),
    "dossiers.dossier_rates": RouteDoc(
        "On-time and resolution rates of dossiers received in a date range (manager board)", "dossiers",
        role="manager", errors=(ErrorCode.BAD_REQUEST,),
        query=(Query("from", str, "first day received, YYYY-MM-DD (default: the 1st of this month)"),
               Query("to", str, "last day received, YYYY-MM-DD, included (default: today)")),
        result="{from, to, received, finished, on_time_rate, resolution_rate} (rates 0..1 or null)"),
})

log = logging.getLogger(__name__)

MAX_PUSH_BYTES = 2 * 1024 * 1024

MESSAGES_VI: dict[str, str] = {
    ErrorCode.INVALID_DOSSIER_CODE: "Mã hồ sơ không đúng định dạng. Vui lòng kiểm tra mã trên phiếu hẹn trả kết quả.",
    ErrorCode.UNKNOWN_DOSSIER: "Không tìm thấy hồ sơ với mã này. Vui lòng kiểm tra lại hoặc hỏi cán bộ tại quầy.",
    ErrorCode.RATE_LIMITED: "Tra cứu quá nhiều lần. Vui lòng thử lại sau ít phút.",
    ErrorCode.UNAUTHENTICATED: "Yêu cầu chưa được xác thực.",
    ErrorCode.FORBIDDEN: "Không được phép.",
    ErrorCode.BAD_REQUEST: "Dữ liệu không hợp lệ.",
}


class RateLimiter:
    """Thread-safe token buckets keyed by client; idle buckets are dropped so memory stays bounded."""

    def __init__(self, limit: RateLimit, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._now = monotonic
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}   # key -> (tokens, last refill)

    def take(self, key: str) -> float:
        """0 when allowed; otherwise seconds until the next request would be allowed."""
        rate = self.limit.per_minute / 60.0
        now = self._now()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.limit.burst), now))
            tokens = min(float(self.limit.burst), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / rate if rate > 0 else 3600.0
            if len(self._buckets) > 10_000:
                full = self.limit.burst / rate if rate > 0 else 3600.0
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full}
        return wait


def _error(err: MotcuaError, extra: dict[str, Any] | None = None) -> tuple[Response, int]:
    body = err.to_json()
    body["error"]["message_vi"] = MESSAGES_VI.get(err.code, "Có lỗi xảy ra.")
    if extra:
        body["error"].update(extra)
    return jsonify(body), err.http_status


def create_dossiers_blueprint(service: DossierService, *, rate_limit: RateLimit | None = None,
                              push_auth: PushAuth | None = None, trust_forwarded_for: bool = False,
                              monotonic: Callable[[], float] = time.monotonic,
                              metrics: Callable[[], dict[str, Any]] | None = None,
                              require_role: Callable[[str], object] | None = None) -> Blueprint:
    """Register with ``app.register_blueprint(create_dossiers_blueprint(service, ...))``; routes under /api/v1.

    ``trust_forwarded_for``: only behind a reverse proxy the center controls (else clients could pick their key).
    ``metrics``: e.g. ``outbox.metrics``, shown by ``GET /api/v1/integration/health``.
    ``require_role(role)`` raises when the caller lacks the role (the hub passes its auth check); it guards the
    manager-only rates. Without it (a bare test app) the rates are open, as the ratings blueprint does.
    """
    bp = Blueprint("dossiers", __name__, url_prefix="/api/v1")
    limiter = RateLimiter(rate_limit or RateLimit(), monotonic)
    auth = push_auth or PushAuth()

    @bp.errorhandler(MotcuaError)
    def _motcua_error(err: MotcuaError) -> tuple[Response, int]:
        return _error(err)

    def client_key() -> str:
        if trust_forwarded_for:
            forwarded = request.headers.get("X-Forwarded-For", "")
            if forwarded.strip():
                # the LAST entry is the one our proxy added; a client can write anything before it
                return forwarded.split(",")[-1].strip()
        return request.remote_addr or "unknown"

    def look_up(text: str) -> tuple[Response, int] | Response:
        wait = limiter.take(client_key())
        if wait > 0:
            retry = max(1, math.ceil(wait))
            response, status = _error(MotcuaError(ErrorCode.RATE_LIMITED,
                                                  f"too many dossier look-ups from this client; retry in {retry} s"),
                                      {"retry_after_s": retry})
            response.headers["Retry-After"] = str(retry)
            return response, status
        answer = service.lookup(text)
        response = jsonify(answer)
        response.headers["Cache-Control"] = "no-store"   # personal data: no proxy or browser cache
        return response

    @bp.get("/dossiers/<path:code>")
    def get_dossier(code: str) -> tuple[Response, int] | Response:
        return look_up(code)

    @bp.get("/dossiers")
    def get_dossier_by_query() -> tuple[Response, int] | Response:
        # For raw scanner payloads (QR text may hold a URL with '?' or '#').
        text = request.args.get("code", "")
        if not text.strip():
            raise MotcuaError(ErrorCode.BAD_REQUEST, "code: missing (GET /api/v1/dossiers?code=...)")
        return look_up(text)

    @bp.post("/integration/dossiers")
    def push_dossiers() -> tuple[Response, int] | Response:
        if request.content_length is not None and request.content_length > MAX_PUSH_BYTES:
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"body: larger than {MAX_PUSH_BYTES} bytes")
        raw = request.get_data(cache=False)
        if len(raw) > MAX_PUSH_BYTES:
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"body: larger than {MAX_PUSH_BYTES} bytes")
        _authenticate(auth, raw)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as err:
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"body: not valid JSON ({err})") from err
        return jsonify(service.ingest(body))

    @bp.get("/integration/health")
    def integration_health() -> Response:
        link = service.link.status()
        body: dict[str, Any] = {"link": link.state, "last_error": link.last_error,
                                "mirror_dossiers": service.mirror.count()}
        for name, value in (("last_ok_at", link.last_ok_at), ("last_error_at", link.last_error_at)):
            body[name] = value.isoformat() if value else None
        if metrics is not None:
            body["outbox"] = metrics()
        return jsonify(body)

    @bp.get("/stats/dossier-rates")
    def dossier_rates() -> Response:
        # Not under /dossiers/: that path is the kiosk look-up by code (any text after it is a code).
        if require_role is not None:
            require_role("manager")
        today = service.clock.now().astimezone(VN_TZ).date()
        first = _query_day("from") or today.replace(day=1)
        last = _query_day("to") or today
        if first > last:
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"from: {first.isoformat()} is after to: {last.isoformat()}")
        start = datetime.combine(first, dt_time(0, 0), VN_TZ)
        end = datetime.combine(last + timedelta(days=1), dt_time(0, 0), VN_TZ)
        body = {"from": first.isoformat(), "to": last.isoformat(), **service.rates(start, end)}
        return jsonify(body)

    return bp


def _query_day(name: str) -> date | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as err:
        raise MotcuaError(ErrorCode.BAD_REQUEST, f"{name}: {raw!r} is not a date YYYY-MM-DD") from err


def _authenticate(auth: PushAuth, raw: bytes) -> None:
    if not auth.hmac_secret and not auth.tokens:
        raise MotcuaError(ErrorCode.FORBIDDEN, "dossier pushes are not configured on this hub")
    if auth.hmac_secret and request.headers.get("X-Motcua-Signature"):
        reason = verify(auth.hmac_secret, request.headers, raw, tolerance_s=auth.tolerance_s)
        if reason is not None:
            log.warning("dossier push refused from %s: %s", request.remote_addr, reason)
            raise MotcuaError(ErrorCode.UNAUTHENTICATED, f"bad signature: {reason}")
        return
    header = request.headers.get("Authorization", "")
    if auth.tokens and header.startswith("Bearer "):
        given = header.removeprefix("Bearer ").strip().encode()
        if any(hmac.compare_digest(given, t.encode()) for t in auth.tokens):
            return
        raise MotcuaError(ErrorCode.BAD_CREDENTIALS, "bad bearer token")
    wanted = "an X-Motcua-Signature" if auth.hmac_secret else "an Authorization: Bearer token"
    raise MotcuaError(ErrorCode.UNAUTHENTICATED, f"dossier pushes need {wanted}")
