"""Staff login, bearer tokens and role checks (staff < manager < admin), and kiosk device keys.

Tokens are random (``secrets.token_urlsafe``) with an expiry. With a SessionRepository (the hub's SQLite file,
adapters/session_store.py) only each token's SHA-256 is stored, so a hub restart logs nobody out, a logout or an
admin's revocation deletes the row at once, and a copy of the file logs nobody in. A stored session whose user
is gone from the config, or whose role changed, is refused. Passwords are checked against werkzeug hashes from
the config.

Password checks are bounded (``PasswordGate``): each scrypt check takes ~32 MiB, so at most a few run at once and
a few more wait briefly; the rest are refused with 429 at once, so a burst of logins cannot push the hub's memory
past a fixed ceiling.

Failed logins are throttled twice (``LoginThrottle``): per username (five wrong tries lock that name for five
minutes) and per client address (twenty wrong tries from one machine lock that machine for ten minutes, whatever
usernames it tried). While a lock holds, the password is not even checked, so a 429 says nothing about whether it
was right. The counters live in memory, expire, and are capped, so a flood of made-up usernames cannot grow them.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.security import check_password_hash, generate_password_hash

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ, format_at
from queue_server.app.ports import SessionRepository, StoredSession
from queue_server.config import ROLES
from queue_server.web.common import Body, Field, hub, route

log = logging.getLogger(__name__)

# Checked when the username is unknown, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    """``max_failures`` failed logins within ``window_s`` lock the key for ``lock_s``."""

    max_failures: int
    window_s: float
    lock_s: float


# A staff member who mistypes five times waits five minutes. One machine gets more room (a shared counter PC,
# several staff), but a guesser walking through many usernames from it is stopped after twenty.
PER_USERNAME = ThrottleRule(max_failures=5, window_s=300.0, lock_s=300.0)
PER_ADDRESS = ThrottleRule(max_failures=20, window_s=600.0, lock_s=600.0)
# Keys remembered per kind, for counts and for locks each. A center has tens of staff and machines; past this,
# expired entries go, then the least recently failed (or soonest unlocked), so a flood of random usernames costs
# bounded memory.
MAX_TRACKED = 10_000


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a login is refused before its password is looked at, and for how long."""

    kind: str                        # "username" or "address"
    retry_after_s: int               # whole seconds, at least 1 (the Retry-After header)


class _FailureCounter:
    """Recent failure times and locks for one kind of key; the caller holds the lock."""

    def __init__(self, kind: str, rule: ThrottleRule, cap: int) -> None:
        self.kind = kind
        self.rule = rule
        self.cap = cap
        # key -> times of recent failures, least recently failed first (OrderedDict order = eviction order)
        self.failures: OrderedDict[str, deque[float]] = OrderedDict()
        # key -> monotonic time the lock ends; ordered by when locked, so the soonest to end comes first
        self.locked: OrderedDict[str, float] = OrderedDict()
        self._swept_at = float("-inf")

    def wait_s(self, key: str, now: float) -> float:
        until = self.locked.get(key)
        if until is None:
            return 0.0
        if until <= now:
            del self.locked[key]
            return 0.0
        return until - now

    def note(self, key: str, now: float) -> bool:
        """Count one failure; True when it just locked ``key`` (the caller logs that, once)."""
        if now - self._swept_at >= self.rule.window_s:
            self._expire(now)       # at most once a window: stale keys go even when the table never fills
        times = self.failures.get(key)
        if times is None:
            self._make_room(self.failures, now)
            times = self.failures[key] = deque(maxlen=self.rule.max_failures)
        else:
            self.failures.move_to_end(key)
        while times and now - times[0] >= self.rule.window_s:
            times.popleft()
        times.append(now)
        if len(times) < self.rule.max_failures:
            return False
        del self.failures[key]      # the lock replaces the count: after it ends, the key starts afresh
        self._make_room(self.locked, now)
        self.locked[key] = now + self.rule.lock_s
        return True

    def forget(self, key: str) -> None:
        self.failures.pop(key, None)

    def _make_room(self, table: OrderedDict[str, Any], now: float) -> None:
        if len(table) < self.cap:
            return
        self._expire(now)
        if len(table) < self.cap:
            return
        # Still full: forget the oldest tenth at once, so a flood pays for a sweep once per cap/10 new keys.
        while len(table) > self.cap - self.cap // 10:
            table.popitem(last=False)

    def _expire(self, now: float) -> None:
        self._swept_at = now
        for key in [k for k, t in self.failures.items() if not t or now - t[-1] >= self.rule.window_s]:
            del self.failures[key]
        for key in [k for k, until in self.locked.items() if until <= now]:
            del self.locked[key]

    def __len__(self) -> int:
        return len(self.failures) + len(self.locked)


class LoginThrottle:
    """Failed-login limits per username and per client address, thread-safe, on a monotonic clock.

    ``check`` before looking at the password; ``failed`` after a wrong one; ``succeeded`` after a right one
    (it clears that username's count only: another address's count, or this address's, stays).
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic, *, per_username: ThrottleRule = PER_USERNAME,
                 per_address: ThrottleRule = PER_ADDRESS, cap: int = MAX_TRACKED) -> None:
        if cap < 10:
            raise ValueError("cap: at least 10 keys")
        self._monotonic = monotonic
        self._users = _FailureCounter("username", per_username, cap)
        self._addresses = _FailureCounter("address", per_address, cap)
        self._lock = threading.Lock()

    def check(self, username: str, address: str) -> Refusal | None:
        now = self._monotonic()
        with self._lock:
            # the address first: a guessing machine learns nothing about which usernames are locked
            for counter, key in ((self._addresses, address), (self._users, username)):
                wait = counter.wait_s(key, now)
                if wait > 0:
                    return Refusal(counter.kind, max(1, math.ceil(wait)))
        return None

    def failed(self, username: str, address: str) -> None:
        now = self._monotonic()
        with self._lock:
            user_locked = self._users.note(username, now)
            address_locked = self._addresses.note(address, now)
        # %r: a username is whatever the client typed; repr keeps a newline in it from forging log lines
        if user_locked:
            log.warning("login: username %r locked for %d s after %d failed logins (the last from %s)", username,
                        self._users.rule.lock_s, self._users.rule.max_failures, address)
        if address_locked:
            log.warning("login: client %s locked for %d s after %d failed logins (the last for username %r)",
                        address, self._addresses.rule.lock_s, self._addresses.rule.max_failures, username)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._users.forget(username)

    def tracked(self) -> int:
        """How many keys are remembered (failure counts and locks of both kinds): bounded by 2 × 2 × cap."""
        with self._lock:
            return len(self._users) + len(self._addresses)


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    username: str
    role: str
    display_name: str
    expires_at: float               # time.time()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class PasswordGate:
    """At most ``running`` password checks at once, ``waiting`` more queued for up to ``wait_s``; the rest are
    refused at once (the caller answers 429). Memory then stays under (running × one check) plus the base."""

    def __init__(self, running: int = 2, waiting: int = 8, wait_s: float = 5.0) -> None:
        self._slots = threading.BoundedSemaphore(running)
        self._admitted = threading.BoundedSemaphore(running + waiting)
        self.wait_s = wait_s
        self.refused = 0

    def acquire(self) -> bool:
        if not self._admitted.acquire(blocking=False):
            self.refused += 1
            return False
        if not self._slots.acquire(timeout=self.wait_s):
            self._admitted.release()
            self.refused += 1
            return False
        return True

    def release(self) -> None:
        self._slots.release()
        self._admitted.release()


class TokenStore:
    """Bearer tokens → sessions, thread-safe, with expiry; ``throttle`` holds the failed-login limits.
    ``repository`` (optional) keeps token hashes in the hub's store; ``still_valid(username, role)`` says whether
    a stored session's user still exists with that role."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.time,
                 throttle: LoginThrottle | None = None, repository: SessionRepository | None = None,
                 still_valid: Callable[[str, str], bool] | None = None) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self.throttle = throttle or LoginThrottle()
        self.repository = repository
        self._still_valid = still_valid
        self.gate = PasswordGate()

    def issue(self, username: str, role: str, display_name: str) -> Session:
        now = self._clock()
        session = Session(secrets.token_urlsafe(32), username, role, display_name, now + self._ttl_s)
        if self.repository is not None:
            self.repository.add(StoredSession(token_hash(session.token), username, role, display_name,
                                              session.expires_at), now)
        with self._lock:
            for token in [t for t, s in self._sessions.items() if s.expires_at <= now]:
                del self._sessions[token]
            self._sessions[session.token] = session
        return session

    def resolve(self, token: str) -> Session | None:
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and session.expires_at <= now:
                del self._sessions[token]
                return None
        if session is None and self.repository is not None:
            stored = self.repository.get(token_hash(token))
            if stored is None or stored.expires_at <= now:
                return None
            if self._still_valid is not None and not self._still_valid(stored.username, stored.role):
                self.repository.delete(stored.token_sha256)
                return None
            session = Session(token, stored.username, stored.role, stored.display_name, stored.expires_at)
            with self._lock:
                self._sessions[token] = session
        return session

    def revoke(self, token: str) -> bool:
        with self._lock:
            found = self._sessions.pop(token, None) is not None
        if self.repository is not None:
            found = self.repository.delete(token_hash(token)) or found
        return found

    def revoke_user(self, username: str) -> int:
        """Every session of ``username`` ends (an admin's revocation); returns how many."""
        with self._lock:
            mine = [t for t, s in self._sessions.items() if s.username == username]
            for t in mine:
                del self._sessions[t]
        if self.repository is not None:
            return max(len(mine), self.repository.delete_user(username))
        return len(mine)


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
    address = client_address(ctx.settings.http.trust_forwarded_for)
    refusal = ctx.tokens.throttle.check(username, address)
    if refusal is not None:
        return _rate_limited(refusal)
    user = ctx.settings.user(username)
    gate = ctx.tokens.gate
    if not gate.acquire():
        # too many password checks at once (each costs ~32 MiB): refuse rather than grow past the ceiling
        response = jsonify(MotcuaError(ErrorCode.RATE_LIMITED, "Hệ thống đang bận kiểm tra đăng nhập; vui lòng "
                                       "thử lại sau ít giây. / Too many logins at once; try again in a few "
                                       "seconds.").to_json())
        response.headers["Retry-After"] = "2"
        return response, 429
    try:
        ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    finally:
        gate.release()
    if user is None or not ok:
        ctx.tokens.throttle.failed(username, address)
        raise MotcuaError(ErrorCode.BAD_CREDENTIALS, "wrong username or password")
    ctx.tokens.throttle.succeeded(user.username)
    session = ctx.tokens.issue(user.username, user.role, user.display_name)
    expires = format_at(datetime.fromtimestamp(session.expires_at, VN_TZ))
    return jsonify(token=session.token, role=session.role, username=session.username,
                   display_name=session.display_name, expires_at=expires)


def client_address(trust_forwarded_for: bool) -> str:
    """The address the throttle counts: the TCP peer, or behind the center's own proxy the client it saw.

    The proxy appends the address it saw to X-Forwarded-For, so the last entry is the one it vouches for;
    earlier entries come from the client and could be anything.
    """
    if trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass                     # no header or garbage: fall back to the peer (the proxy) rather than fail
    return request.remote_addr or "unknown"


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
