"""A WSGI fast path for the hottest request, ``POST /api/v1/tickets`` (a kiosk issuing a ticket), that skips
Flask's per-request machinery (request/app contexts, URL matching, signals, Response objects: ~130 us of CPU a
request, more than the command itself) and answers with exactly the bytes the Flask route would: the body comes
from the route's own ``kiosk.issue_answer``, the input from the same ``ISSUE`` spec, the device key from the same
guard. Kept only while bench/hub.py shows it pays (docs/hub-internals.md "Speed" has the figures).

It only ever takes the plain success-or-refusal case and hands everything else, untouched, to Flask: other
paths and methods, a missing or oversized Content-Length, chunked bodies, a device key that does not match
(Flask then checks the staff session and answers 401), a body that is not valid JSON or fails the ISSUE
schema (Flask answers the same 400, from the same validator), a debug app (indented JSON), and any app or
blueprint that registered request hooks or signal receivers this path would skip. A refusal from the queue
(MotcuaError) and an unexpected error are answered as the Flask error handlers answer them. Tests compare both
paths byte for byte (tests/adapter/test_fast_issue.py). Must not: change what any request gets back.
"""
from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, signals
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import dumps, format_at
from queue_server.web.common import API_PREFIX, HubContext
from queue_server.web.edge import SECURITY_HEADERS, is_json_write
from queue_server.web.guards import device_key_ok, issue_allowed
from queue_server.web.kiosk import ISSUE, issue_answer

log = logging.getLogger("queue_server.web")     # the logger the Flask error handler writes to

PATH = f"{API_PREFIX}/tickets"
ENDPOINT = "kiosk.issue_ticket"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_SIGNALS = (signals.request_started, signals.request_finished, signals.got_request_exception,
            signals.request_tearing_down, signals.appcontext_pushed, signals.appcontext_popped,
            signals.appcontext_tearing_down, signals.before_render_template, signals.template_rendered,
            signals.message_flashed)


def _status(code: int) -> str:
    # what werkzeug's Response puts on the status line ("201 CREATED")
    return f"{code} {HTTP_STATUS_CODES.get(code, 'UNKNOWN').upper()}"


class IssueFastPath:
    """Wraps ``app.wsgi_app``; see the module docstring for what it takes and what it leaves to Flask."""

    def __init__(self, app: Flask, inner: WsgiApp) -> None:
        self.app = app
        self.inner = inner
        self.enabled = True
        self.served = 0             # requests answered here (tests check the path is really taken)
        self._checked = False

    def _still_safe(self) -> bool:
        """Checked once, at the first request (Flask refuses new hooks and routes after it): nothing this path
        would skip is registered, and the route still is the kiosk's issue view."""
        app = self.app
        for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs,
                      app.url_value_preprocessors, app.teardown_appcontext_funcs):
            items: Any = hooks.values() if isinstance(hooks, dict) else [hooks]
            if any(items_ for items_ in items):
                return False
        if any(bool(s.receivers) for s in _SIGNALS):
            return False
        provider = app.json
        if (type(provider) is not DefaultJSONProvider or provider.ensure_ascii or provider.sort_keys
                or provider.compact is not None or app.response_class is not Response):
            return False
        try:
            adapter = app.url_map.bind("localhost")
            endpoint, _ = adapter.match(PATH, method="POST")
        except HTTPException:       # no route, or the method went elsewhere: leave it all to Flask
            return False
        return bool(endpoint == ENDPOINT)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST" or not self.enabled:
            return self.inner(environ, start_response)
        if not self._checked:
            self._checked = True
            self.enabled = self._still_safe()
            if not self.enabled:
                log.info("issue fast path off: request hooks or signal receivers are registered")
                return self.inner(environ, start_response)
        app = self.app
        ctx: HubContext = app.extensions["motcua"]
        length_text = environ.get("CONTENT_LENGTH") or ""
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if (app.debug or environ.get("HTTP_TRANSFER_ENCODING") or not length_text.isdigit()
                or not is_json_write(environ)
                or (limit is not None and int(length_text) > limit)):
            return self.inner(environ, start_response)
        keys = ctx.settings.security.device_keys
        if keys and not device_key_ok(environ.get("HTTP_X_DEVICE_KEY", ""), keys):
            return self.inner(environ, start_response)      # Flask tries the staff session, else 401
        if issue_allowed(ctx.issue_limiter, environ.get("HTTP_X_DEVICE_KEY", ""), environ.get("REMOTE_ADDR") or "") > 0:
            return self.inner(environ, start_response)      # over the per-device rate: Flask answers the 429
        raw = environ["wsgi.input"].read(int(length_text))
        body = self._parse(raw)
        if body is None:
            # Flask answers the 400 (same reader, same validator) from the body we already read
            environ["wsgi.input"] = io.BytesIO(raw)
            return self.inner(environ, start_response)
        try:
            answer = issue_answer(ctx.service, body, ctx.notifier)      # the Flask route's own answer function
            status = 201
        except MotcuaError as err:
            answer, status = err.to_json(), err.http_status
        except Exception:
            log.exception("unhandled error")
            answer = {"error": {"code": str(ErrorCode.INTERNAL), "message": "internal error; see the hub log"}}
            status = 500
        self.served += 1
        # flask.jsonify: compact JSON, non-ASCII kept, keys in insertion order, then a newline
        payload = (dumps(answer) + "\n").encode("utf-8")
        start_response(_status(status), [("Content-Type", "application/json"),
                                         ("Content-Length", str(len(payload))),
                                         ("X-Motcua-Now", format_at(ctx.service.clock.now())),
                                         *SECURITY_HEADERS])
        return [payload]

    @staticmethod
    def _parse(raw: bytes) -> dict[str, Any] | None:
        """The validated body, or None when Flask must answer (it then says why, exactly as before)."""
        if not raw.strip():
            return None
        try:
            obj = json.loads(raw.decode("utf-8"))
            return ISSUE.check(obj)
        except (ValueError, RecursionError, MotcuaError):     # UnicodeDecodeError is a ValueError
            return None


def install(app: Flask) -> IssueFastPath:
    fast = IssueFastPath(app, app.wsgi_app)
    app.wsgi_app = fast  # type: ignore[method-assign]
    return fast
