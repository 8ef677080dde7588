"""One-time codes that prove a citizen holds the phone (or e-mail) they book with on the hub's booking page.

A code is 6 digits, valid ``ttl_s`` (5 minutes), tried at most ``max_tries`` times, and only ``per_window`` codes
are sent to one contact per ``window_s`` (so the page cannot be used to flood someone's phone). Only a salted hash
of the code is kept, in memory: a restart of the hub voids codes in flight (the citizen asks for a new one).

Must not: send anything (the caller queues the message through the notifier), read the wall clock (``clock``),
log a code or a contact.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from contracts.errors import ErrorCode, MotcuaError
from queue_server.app.ports import Clock


@dataclass
class _Pending:
    digest: bytes
    expires: datetime
    tries: int = 0


@dataclass
class OneTimeCodes:
    clock: Clock
    ttl_s: int = 300
    max_tries: int = 5
    per_window: int = 3
    window_s: int = 900
    _salt: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    _pending: dict[str, _Pending] = field(default_factory=dict)
    _sent: dict[str, list[datetime]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _digest(self, contact: str, code: str) -> bytes:
        return hmac.new(self._salt, f"{contact}|{code}".encode(), hashlib.sha256).digest()

    def issue(self, contact: str) -> str:
        """A new code for ``contact`` (replacing an older one); ``rate_limited`` past the per-contact limit."""
        now = self.clock.now()
        with self._lock:
            recent = [t for t in self._sent.get(contact, []) if now - t < timedelta(seconds=self.window_s)]
            if len(recent) >= self.per_window:
                raise MotcuaError(ErrorCode.RATE_LIMITED, "too many codes sent to this contact; try again later")
            code = f"{secrets.randbelow(1_000_000):06d}"
            self._pending[contact] = _Pending(self._digest(contact, code), now + timedelta(seconds=self.ttl_s))
            self._sent[contact] = [*recent, now]
            self._forget_old(now)
        return code

    def verify(self, contact: str, code: str) -> None:
        """Consumes the code when right; ``bad_credentials`` when wrong, expired, or tried too often."""
        now = self.clock.now()
        with self._lock:
            pending = self._pending.get(contact)
            if pending is None or now > pending.expires or pending.tries >= self.max_tries:
                self._pending.pop(contact, None)
                raise MotcuaError(ErrorCode.BAD_CREDENTIALS, "the one-time code has expired; ask for a new one")
            if not hmac.compare_digest(pending.digest, self._digest(contact, code.strip())):
                pending.tries += 1
                raise MotcuaError(ErrorCode.BAD_CREDENTIALS, "the one-time code is not right")
            del self._pending[contact]

    def _forget_old(self, now: datetime) -> None:
        for key in [k for k, p in self._pending.items() if now > p.expires]:
            del self._pending[key]
        for key in [k for k, ts in self._sent.items() if all(now - t >= timedelta(seconds=self.window_s) for t in ts)]:
            del self._sent[key]
