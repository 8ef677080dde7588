"""Staff login, logout and "who am I" over bearer tokens; the login route applies the failed-login limits.

The guards themselves (token store, role checks, the throttle) live in guards.py; this module is the login
audience's blueprint. Passwords are checked against werkzeug hashes from the config; nothing here writes to the
store. Each lock a failed login starts is logged once, here, at WARNING (a username is logged with %r, never a
password).
"""
from __future__ import annotations

import logging
import math
from datetime import datetime

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.security import check_password_hash, generate_password_hash

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ, format_at
from queue_server.web.common import Body, Field, hub, route
from queue_server.web.guards import Lock, Refusal, Session, bearer_token
from queue_server.web.schemas import ref

log = logging.getLogger(__name__)

# Checked when the username is unknown, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


bp = Blueprint("auth", __name__)

LOGIN = Body({
    "username": Field(str, True, "staff username from the config", max_len=64),
    "password": Field(str, True, "password", max_len=200),
})


@route(bp, "/auth/login", methods=("POST",), summary="Log in; returns a bearer token", body=LOGIN,
       result="{token, role, username, display_name, expires_at}",
       errors=(ErrorCode.BAD_CREDENTIALS, ErrorCode.RATE_LIMITED), response=ref("LoginResult"))
def login(body: dict[str, str]):  # type: ignore[no-untyped-def]
    ctx = hub()
    username, password = body["username"], body["password"]
    address = request.remote_addr or "unknown"     # the proxy's client when trusted (web.TrustedProxy)
    refusal = ctx.tokens.throttle.check(username, address)
    if refusal is not None:
        return _rate_limited(refusal)
    user = ctx.settings.user(username)
    if not ctx.tokens.gate.acquire():
        # too many password checks at once (each costs ~32 MiB): refuse rather than grow past the ceiling
        response = jsonify(MotcuaError(ErrorCode.RATE_LIMITED, "Hệ thống đang bận kiểm tra đăng nhập; vui lòng "
                                       "thử lại sau ít giây. / Too many logins at once; try again in a few "
                                       "seconds.").to_json())
        response.headers["Retry-After"] = "2"
        return response, 429
    try:
        ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    finally:
        ctx.tokens.gate.release()
    if user is None or not ok or user.disabled:
        for lock in ctx.tokens.throttle.failed(username, address):
            _log_lock(lock, username, address)
        raise MotcuaError(ErrorCode.BAD_CREDENTIALS, "wrong username or password")
    ctx.tokens.throttle.succeeded(user.username)
    session = ctx.tokens.issue(user.username, user.role, user.display_name)
    expires = format_at(datetime.fromtimestamp(session.expires_at, VN_TZ))
    return jsonify(token=session.token, role=session.role, username=session.username,
                   display_name=session.display_name, expires_at=expires)


def _log_lock(lock: Lock, username: str, address: str) -> None:
    # %r: a username is whatever the client typed; repr keeps a newline in it from forging log lines
    if lock.kind == "username":
        log.warning("login: username %r locked for %d s after %d failed logins (the last from %s)", username,
                    lock.rule.lock_s, lock.rule.max_failures, address)
    else:
        log.warning("login: client %s locked for %d s after %d failed logins (the last for username %r)",
                    address, lock.rule.lock_s, lock.rule.max_failures, username)


def _rate_limited(refusal: Refusal) -> tuple[Response, int]:
    minutes = max(1, math.ceil(refusal.retry_after_s / 60))
    if refusal.kind == "address":
        text = (f"Máy này đã đăng nhập sai quá nhiều lần; vui lòng thử lại sau {minutes} phút. / "
                f"Too many failed logins from this computer; wait {refusal.retry_after_s} s.")
    else:
        text = (f"Tài khoản này đã đăng nhập sai quá nhiều lần; vui lòng thử lại sau {minutes} phút. / "
                f"Too many failed logins for this username; wait {refusal.retry_after_s} s.")
    response = jsonify(MotcuaError(ErrorCode.RATE_LIMITED, text).to_json())
    response.headers["Retry-After"] = str(refusal.retry_after_s)
    return response, 429


@route(bp, "/auth/logout", methods=("POST",), summary="Revoke the current token", role="staff", body=Body(),
       result='{"ok": true}', response=ref("Ok"))
def logout(body: dict[str, str]):  # type: ignore[no-untyped-def]
    token = bearer_token()
    if token:
        hub().tokens.revoke(token)
    return jsonify(ok=True)


PASSWORD = Body({
    "old_password": Field(str, True, "the current password", max_len=200),
    "new_password": Field(str, True, "the new password (8+ characters, letters and digits)", max_len=200),
})


@route(bp, "/auth/password", methods=("POST",), summary="Change one's own password (any role)", role="staff",
       body=PASSWORD, result='{"ok": true}; other sessions of this user end',
       errors=(ErrorCode.BAD_CREDENTIALS,), response=ref("Ok"))
def change_own_password(body: dict[str, str]):  # type: ignore[no-untyped-def]
    from queue_server.app.live_config import password_problem
    from queue_server.web.admin import live

    ctx = hub()
    session: Session = g.user
    user = ctx.settings.user(session.username)
    if user is None or not check_password_hash(user.password_hash, body["old_password"]):
        raise MotcuaError(ErrorCode.BAD_CREDENTIALS, "Mật khẩu hiện tại không đúng / the current password is wrong")
    problem = password_problem(user.username, body["new_password"])
    if problem is not None:
        raise MotcuaError(ErrorCode.BAD_REQUEST, f"new_password: {problem}")
    if body["new_password"] == body["old_password"]:
        raise MotcuaError(ErrorCode.BAD_REQUEST, "new_password: giống mật khẩu cũ / same as the old one")
    live().change(user.username, {"users": live().users_doc()},
                  credential=(user.username, generate_password_hash(body["new_password"])),
                  note={"user": user.username, "password_changed": True})
    ctx.tokens.revoke_user(user.username, keep=session.token)
    return jsonify(ok=True)


@route(bp, "/auth/me", summary="Who the token belongs to", role="staff",
       result="{username, role, display_name, expires_at}", response=ref("Me"))
def me():  # type: ignore[no-untyped-def]
    session: Session = g.user
    return jsonify(username=session.username, role=session.role, display_name=session.display_name,
                   expires_at=format_at(datetime.fromtimestamp(session.expires_at, VN_TZ)))
