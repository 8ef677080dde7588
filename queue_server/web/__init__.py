"""Flask application factory and one blueprint per audience (kiosk, display, counter, manager, admin, auth).

``create_app(settings, service)`` wires nothing else: no broker, no server, no store opening; the caller
(queue_server.wiring) owns those. Every answer that is not a success is JSON ``{"error": {"code", "message"}}``.

The WSGI layers around Flask, outermost first: the trusted proxy (only with ``[http] trust_forwarded_for``:
REMOTE_ADDR becomes the client the center's proxy saw, once, for every guard and log line), the issue fast path
(fast_issue.py), the hub clock header.
"""
from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, jsonify
from werkzeug.exceptions import HTTPException

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import format_at
from queue_server.web.common import API_PREFIX, HubContext

if TYPE_CHECKING:
    from queue_server.app.queue_service import QueueService
    from queue_server.config import HubSettings
    from queue_server.web.sse import Broadcaster

log = logging.getLogger(__name__)

_HTTP_CODES = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED, 401: ErrorCode.UNAUTHENTICATED,
               403: ErrorCode.FORBIDDEN, 429: ErrorCode.RATE_LIMITED}


def _error(code: str, message: str, status: int) -> Any:
    return jsonify(error={"code": code, "message": message}), status


def _user_still_valid(app: Flask) -> Any:
    # read at check time: the live admin swaps the hub's settings (a user disabled or re-roled loses the session)
    def check(username: str, role: str) -> bool:
        user = app.extensions["motcua"].settings.user(username)
        return user is not None and user.role == role and not getattr(user, "disabled", False)
    return check


class _HubClockHeader:
    def __init__(self, inner: Any, clock: Any) -> None:
        self.inner = inner
        self.clock = clock

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        def with_now(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.append(("X-Motcua-Now", format_at(self.clock.now())))
            return start_response(status, headers, exc_info)

        return self.inner(environ, with_now)


class TrustedProxy:
    """Behind the center's own reverse proxy: the client address is the LAST X-Forwarded-For entry (the one the
    proxy appended; whatever a client wrote before it could be anything), if it is an IP address. No header, or
    garbage in it: the peer (the proxy) stays the address, rather than failing the request. The one place the
    header is read; waitress passes it through only when this is on (wiring.Hub.make_server)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        if forwarded:
            try:
                address = ipaddress.ip_address(forwarded)
            except ValueError:
                pass
            else:
                environ["motcua.proxy_addr"] = environ.get("REMOTE_ADDR")
                environ["REMOTE_ADDR"] = str(address)
        return self.inner(environ, start_response)


def create_app(settings: HubSettings, service: QueueService, extra_blueprints: Iterable[Blueprint] = (), *,
               broadcaster: Broadcaster | None = None, mqtt: Any = None, keepalive_s: float = 15.0,
               devices: Any = None, live: Any = None, sessions: Any = None) -> Flask:
    """Build the hub's Flask app. ``broadcaster`` feeds /stream; one is made (and added as a service listener)
    when not given. ``mqtt`` is anything with a ``connected`` attribute, for /health."""
    from queue_server.web import admin, audit, auth, counter, display, fast_issue, kiosk, manager, openapi
    from queue_server.web.guards import TokenStore
    from queue_server.web.sse import Broadcaster

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.http.max_body_bytes
    app.json.ensure_ascii = False          # type: ignore[attr-defined]  # Vietnamese stays readable
    app.json.sort_keys = False             # type: ignore[attr-defined]
    if broadcaster is None:
        broadcaster = Broadcaster()
        service.add_listener(broadcaster.publish)
    app.extensions["motcua"] = HubContext(settings=settings, service=service,
                                          tokens=TokenStore(settings.security.token_ttl_min * 60.0,
                                                            repository=sessions,
                                                            still_valid=_user_still_valid(app)),
                                          broadcaster=broadcaster, mqtt=mqtt, keepalive_s=keepalive_s,
                                          devices=devices, live=live)

    for bp in (kiosk.bp, display.bp, counter.bp, manager.bp, admin.bp, audit.bp, auth.bp, openapi.bp):
        app.register_blueprint(bp, url_prefix=API_PREFIX)
    for bp in extra_blueprints:
        app.register_blueprint(bp)

    # Every answer carries the hub's own clock: screens time their timers by it (a TV stick may have no
    # battery clock, and a demo or a test runs the hub on a clock of its own). The fast path adds it itself.
    app.wsgi_app = _HubClockHeader(app.wsgi_app, service.clock)  # type: ignore[method-assign]
    # POST /tickets (the hot path) answered without Flask's per-request machinery; same bytes, see fast_issue.py
    # JSON-only writes, Content-Length limit before any read, security headers on every answer (edge.py)
    from queue_server.web.edge import BODY_CEILING_BYTES, Edge
    app.wsgi_app = Edge(app.wsgi_app, max(settings.http.max_body_bytes, BODY_CEILING_BYTES))  # type: ignore[method-assign]
    fast_issue.install(app)
    if settings.http.trust_forwarded_for:
        app.wsgi_app = TrustedProxy(app.wsgi_app)  # type: ignore[method-assign]

    @app.errorhandler(MotcuaError)
    def motcua_error(err: MotcuaError) -> Any:
        response = jsonify(err.to_json())
        retry = getattr(err, "retry_after_s", None)      # guards.RateLimited
        if retry is not None:
            response.headers["Retry-After"] = str(retry)
        return response, err.http_status

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Any:
        status = err.code or 400
        if status == 413:
            limit = settings.http.max_body_bytes
            return _error(str(ErrorCode.PAYLOAD_TOO_LARGE), f"body larger than {limit} bytes", 413)
        code = _HTTP_CODES.get(status, ErrorCode.BAD_REQUEST if status < 500 else ErrorCode.INTERNAL)
        return _error(str(code), err.description or err.name, status)

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> Any:
        # a real bug: say so without leaking internals, keep the traceback in the log
        log.exception("unhandled error")
        return _error(str(ErrorCode.INTERNAL), "internal error; see the hub log", 500)

    return app
