"""Staff login, bearer tokens and role checks (staff < manager < admin), and kiosk device keys.

Tokens are random (``secrets.token_urlsafe``) and live in memory with an expiry. Why in memory: one hub process
serves one center; a restart (rare, and it already drops SSE streams) just asks staff to log in again, no
secret has to be stored on disk or signed with a key to rotate, and logout or a role change takes effect at
once. Passwords are checked against werkzeug hashes from the config; nothing here writes to the store.
"""
from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, g, jsonify, request
from werkzeug.security import check_password_hash, generate_password_hash

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ, format_at
from queue_server.config import ROLES
from queue_server.web.common import Body, Field, hub, route

# Checked when the username is unknown, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")
MAX_FAILURES = 5
FAILURE_WINDOW_S = 300.0


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    username: str
    role: str
    display_name: str
    expires_at: float               # time.time()


class TokenStore:
    """Bearer tokens → sessions, thread-safe, with expiry and a per-username failed-login limit."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def issue(self, username: str, role: str, display_name: str) -> Session:
        now = self._clock()
        session = Session(secrets.token_urlsafe(32), username, role, display_name, now + self._ttl_s)
        with self._lock:
            for token in [t for t, s in self._sessions.items() if s.expires_at <= now]:
                del self._sessions[token]
            self._sessions[session.token] = session
            self._failures.pop(username, None)
        return session

    def resolve(self, token: str) -> Session | None:
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if session.expires_at <= self._clock():
                del self._sessions[token]
                return None
            return session

    def revoke(self, token: str) -> bool:
        with self._lock:
            return self._sessions.pop(token, None) is not None

    def note_failure(self, username: str) -> None:
        now = self._clock()
        with self._lock:
            recent = [t for t in self._failures.get(username, []) if now - t < FAILURE_WINDOW_S]
            recent.append(now)
            self._failures[username] = recent

    def locked_out(self, username: str) -> bool:
        now = self._clock()
        with self._lock:
            recent = [t for t in self._failures.get(username, []) if now - t < FAILURE_WINDOW_S]
            return len(recent) >= MAX_FAILURES


def role_rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else -1


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def current_session() -> Session | None:
    token = _bearer()
    return None if token is None else hub().tokens.resolve(token)


def require(role: str) -> Session:
    """Abort with 401 without a valid token, 403 when the role is too low; sets ``g.user``."""
    token = _bearer()
    if token is None:
        raise MotcuaError(ErrorCode.UNAUTHENTICATED, "log in first: send Authorization: Bearer <token>")
    session = hub().tokens.resolve(token)
    if session is None:
        raise MotcuaError(ErrorCode.UNAUTHENTICATED, "the token is unknown or has expired: log in again")
    if role_rank(session.role) < role_rank(role):
        raise MotcuaError(ErrorCode.FORBIDDEN, f"this needs the {role} role; {session.username} is {session.role}")
    g.user = session
    return session


def check_device_key() -> None:
    """Kiosk writes: when ``[security] device_keys`` is set, require X-Device-Key (or a staff login)."""
    keys = hub().settings.security.device_keys
    if not keys:
        return
    given = request.headers.get("X-Device-Key", "")
    if given and any(hmac.compare_digest(given.encode(), k.encode()) for k in keys):
        return
    if current_session() is not None:
        return
    raise MotcuaError(ErrorCode.UNAUTHENTICATED, "this kiosk must send a valid X-Device-Key")


bp = Blueprint("auth", __name__)

LOGIN = Body({
    "username": Field(str, True, "staff username from the config", max_len=64),
    "password": Field(str, True, "password", max_len=200),
})


@route(bp, "/auth/login", methods=("POST",), summary="Log in; returns a bearer token", body=LOGIN,
       result="{token, role, username, display_name, expires_at}",
       errors=(ErrorCode.BAD_CREDENTIALS, ErrorCode.RATE_LIMITED))
def login(body: dict[str, str]):  # type: ignore[no-untyped-def]
    ctx = hub()
    username, password = body["username"], body["password"]
    if ctx.tokens.locked_out(username):
        raise MotcuaError(ErrorCode.RATE_LIMITED, "too many failed logins: wait five minutes")
    user = ctx.settings.user(username)
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok:
        ctx.tokens.note_failure(username)
        raise MotcuaError(ErrorCode.BAD_CREDENTIALS, "wrong username or password")
    session = ctx.tokens.issue(user.username, user.role, user.display_name)
    expires = format_at(datetime.fromtimestamp(session.expires_at, VN_TZ))
    return jsonify(token=session.token, role=session.role, username=session.username,
                   display_name=session.display_name, expires_at=expires)


@route(bp, "/auth/logout", methods=("POST",), summary="Revoke the current token", role="staff", body=Body(),
       result='{"ok": true}')
def logout(body: dict[str, str]):  # type: ignore[no-untyped-def]
    token = _bearer()
    if token:
        hub().tokens.revoke(token)
    return jsonify(ok=True)


@route(bp, "/auth/me", summary="Who the token belongs to", role="staff",
       result="{username, role, display_name, expires_at}")
def me():  # type: ignore[no-untyped-def]
    session: Session = g.user
    return jsonify(username=session.username, role=session.role, display_name=session.display_name,
                   expires_at=format_at(datetime.fromtimestamp(session.expires_at, VN_TZ)))
