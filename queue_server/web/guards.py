"""Guards: who may pass, checked before a view runs. Role checks on bearer tokens (staff < manager < admin),
kiosk device keys, the main system's push signature, failed-login limits and per-client rate limits.

Each guard takes the state it checks explicitly (the token store, the configured keys, a limiter) and raises
MotcuaError, so ``common.route`` applies them the same way on every route and tests can call them directly.
The client address is ``request.remote_addr``: the server resolves a trusted proxy once, before any guard runs
(``web.TrustedProxy``). Must not: log passwords or tokens, import the hub context; the only store it writes is
the SessionRepository it is given.

Tokens are random (``secrets.token_urlsafe``) with an expiry. With a SessionRepository (the hub's SQLite file,
adapters/session_store.py) only each token's SHA-256 is stored, so a hub restart logs nobody out, a logout or an
admin's revocation deletes the row at once, and a copy of the file logs nobody in. A stored session whose user is
gone from the config, or whose role changed, is refused (issue 11).

Password checks are bounded (``PasswordGate``): each scrypt check takes ~32 MiB, so at most two run at once and
eight more wait briefly; the rest are refused with 429 at once, so a burst of logins cannot push the hub's memory
past a fixed ceiling.

Failed logins are throttled twice (``LoginThrottle``): per username (five wrong tries lock that name for five
minutes) and per client address (twenty wrong tries from one machine lock that machine for ten minutes, whatever
usernames it tried). While a lock holds, the password is not even checked, so a 429 says nothing about whether it
was right. The counters live in memory, expire, and are capped, so a flood of made-up usernames cannot grow them.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import g, request

from contracts.errors import ErrorCode, MotcuaError
from queue_server.adapters.main_system import HeaderLookup, verify
from queue_server.app.ports import SessionRepository, StoredSession
from queue_server.config import ROLES
from runtime.settings import PushAuth, RateLimit  # the settings types live in the one settings model


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


@dataclass(frozen=True, slots=True)
class Lock:
    """A lock a failed login just started: ``kind`` "username" or "address", the key and its rule."""

    kind: str
    key: str
    rule: ThrottleRule


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

    def failed(self, username: str, address: str) -> list[Lock]:
        """Count one failed login; the locks it just started (the caller logs each, once)."""
        now = self._monotonic()
        with self._lock:
            user_locked = self._users.note(username, now)
            address_locked = self._addresses.note(address, now)
        return ([Lock("username", username, self._users.rule)] if user_locked else []) + (
            [Lock("address", address, self._addresses.rule)] if address_locked else [])

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
    """Bearer tokens → sessions, thread-safe, with expiry; ``throttle`` holds the failed-login limits, ``gate``
    the concurrent password checks. ``repository`` (optional) keeps token hashes in the hub's store;
    ``still_valid(username, role)`` says whether a stored session's user still exists with that role."""

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

    def revoke_user(self, username: str, keep: str | None = None) -> int:
        """Every session of ``username`` ends but ``keep`` (an admin's revocation; disabled, role or password
        changed); in memory and in the store, so a restart brings none back. Returns how many ended."""
        with self._lock:
            gone = [t for t, s in self._sessions.items() if s.username == username and t != keep]
            for token in gone:
                del self._sessions[token]
        if self.repository is None:
            return len(gone)
        stored = self.repository.delete_user(username, keep=token_hash(keep) if keep else None)
        return max(len(gone), stored)


def role_rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else -1


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_role(tokens: TokenStore, role: str) -> Session:
    """401 without a valid token, 403 when its role is below ``role``; sets ``g.user``."""
    token = bearer_token()
    if token is None:
        raise MotcuaError(ErrorCode.UNAUTHENTICATED, "Cần đăng nhập trước. / Log in first: send Authorization: Bearer <token>.")
    session = tokens.resolve(token)
    if session is None:
        raise MotcuaError(ErrorCode.UNAUTHENTICATED, "Phiên đăng nhập không còn hiệu lực, vui lòng đăng nhập lại. / The token is unknown or has expired: log in again.")
    if role_rank(session.role) < role_rank(role):
        raise MotcuaError(ErrorCode.FORBIDDEN, f"this needs the {role} role; {session.username} is {session.role}")
    g.user = session
    return session


def device_key_ok(given: str, keys: Iterable[str]) -> bool:
    """Constant-time match of an X-Device-Key against the configured keys (the fast issue path shares it)."""
    return bool(given) and any(hmac.compare_digest(given.encode(), k.encode()) for k in keys)


def check_device_key(keys: tuple[str, ...] | list[str], tokens: TokenStore) -> None:
    """Kiosk writes: when ``[security] device_keys`` is set, require X-Device-Key (or a staff login)."""
    if not keys or device_key_ok(request.headers.get("X-Device-Key", ""), keys):
        return
    token = bearer_token()
    if token is not None and tokens.resolve(token) is not None:
        return
    raise MotcuaError(ErrorCode.UNAUTHENTICATED, "Máy này chưa gửi khoá thiết bị hợp lệ (X-Device-Key). / This kiosk must send a valid X-Device-Key.")


# ------------------------------------------------------------------------------------ per-client rate limit

# Issuing, per device (issue 11): a kiosk with a queue in front of it issues a few a minute; a script with a
# stolen key or none would otherwise empty a service's daily quota in a tenth of a second.
ISSUE_LIMIT = RateLimit(per_minute=60.0, burst=30)
# "Cần hỗ trợ", per device: a citizen presses it a few times at most; a stuck button or a script is refused after
# that (its own bucket, so it never costs the kiosk its tickets).
HELP_LIMIT = RateLimit(per_minute=6.0, burst=5)


def issuer_key(device_key: str, address: str) -> str | None:
    """Who an issue is counted against: the device key (hashed, never kept in clear), else the client address;
    None for the hub's own machine (loopback: the demo, benches, a kiosk on the hub's box), which is not limited."""
    if address.startswith("127.") or address == "::1":
        return None
    if device_key:
        return "key:" + hashlib.sha256(device_key.encode("utf-8")).hexdigest()[:16]
    return "addr:" + address


def issue_allowed(limiter: RateLimiter, device_key: str, address: str) -> float:
    """0 when this issue may go ahead, else seconds to wait."""
    key = issuer_key(device_key, address)
    return 0.0 if key is None else limiter.take(key)


class RateLimited(MotcuaError):
    """429 with how long to wait; the route adds ``Retry-After``."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(ErrorCode.RATE_LIMITED, message)
        self.retry_after_s = retry_after_s


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

    def check(self, what: str, key: str | None = None) -> None:
        """Take one token for ``key`` (default the requesting client's address), or raise RateLimited naming
        ``what`` was limited."""
        wait = self.take(key if key is not None else request.remote_addr or "unknown")
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise RateLimited(f"too many {what} from this client; retry in {retry} s", retry)


# ------------------------------------------------------------------------------ the main system's pushes

def check_push(auth: PushAuth, headers: HeaderLookup, raw: bytes) -> None:
    """The push is signed with the shared secret (X-Motcua-Signature) or carries a configured bearer token."""
    if not auth.hmac_secret and not auth.tokens:
        raise MotcuaError(ErrorCode.FORBIDDEN, "dossier pushes are not configured on this hub")
    if auth.hmac_secret and headers.get("X-Motcua-Signature"):
        reason = verify(auth.hmac_secret, headers, raw, tolerance_s=auth.tolerance_s)
        if reason is not None:
            raise MotcuaError(ErrorCode.UNAUTHENTICATED, f"bad signature: {reason}")
        return
    header = headers.get("Authorization") or ""
    if auth.tokens and header.startswith("Bearer "):
        given = header.removeprefix("Bearer ").strip().encode()
        if any(hmac.compare_digest(given, t.encode()) for t in auth.tokens):
            return
        raise MotcuaError(ErrorCode.BAD_CREDENTIALS, "bad bearer token")
    wanted = "an X-Motcua-Signature" if auth.hmac_secret else "an Authorization: Bearer token"
    raise MotcuaError(ErrorCode.UNAUTHENTICATED, f"Thiếu xác thực cho dữ liệu hồ sơ gửi vào. / Dossier pushes need {wanted}.")
