"""Password-hash rules every process shares (issue 11): which werkzeug hashes are too weak to accept, and whether
a hash is the demo's well-known password. Pure apart from the hash check itself; imports nothing of ours."""
from __future__ import annotations

import re
from collections.abc import Iterable

# The example config's accounts ship with this public password: `motcua hub` refuses them (unless --lab) and
# `make demo` replaces them with a password made for the run. Never a password anything logs in with for real.
DEMO_PASSWORD = "motcua-demo"
MIN_SCRYPT_N = 16384                 # werkzeug's default is 32768
MIN_PBKDF2_ITERATIONS = 100_000      # werkzeug's default is 1,000,000; OWASP asks 600,000 for sha256

_SCRYPT = re.compile(r"^scrypt:(\d+):(\d+):(\d+)\$")
_PBKDF2 = re.compile(r"^pbkdf2:([a-z0-9]+)(?::(\d+))?\$")


def weak_hash_reason(pw_hash: str) -> str | None:
    """Why a werkzeug hash is refused (too cheap to guess against), or None when it is strong enough."""
    m = _SCRYPT.match(pw_hash)
    if m:
        n = int(m.group(1))
        return None if n >= MIN_SCRYPT_N else f"scrypt N={n} is too weak (at least {MIN_SCRYPT_N})"
    m = _PBKDF2.match(pw_hash)
    if m:
        iterations = int(m.group(2) or 0)
        if iterations < MIN_PBKDF2_ITERATIONS:
            return f"pbkdf2 with {iterations} iterations is too weak (at least {MIN_PBKDF2_ITERATIONS:,})"
        return None
    return "not a werkzeug scrypt or pbkdf2 hash (make one with `motcua user hash-password`)"


def uses_demo_password(pw_hash: str) -> bool:
    """True when the hash is of the demo password (one full hash check: ~0.1 s and 32 MiB for scrypt)."""
    from werkzeug.security import check_password_hash  # here: `config check` loads settings without werkzeug

    try:
        return check_password_hash(pw_hash, DEMO_PASSWORD)
    except (ValueError, TypeError):
        return False


def demo_password_users(users: Iterable[tuple[str, str]]) -> list[str]:
    """The usernames (of ``(username, password_hash)`` pairs, in order) whose hash is of the demo password.
    One scrypt check per distinct hash, not per account: a center may copy one hash to many accounts."""
    verdict: dict[str, bool] = {}
    found: list[str] = []
    for username, pw_hash in users:
        if pw_hash not in verdict:
            verdict[pw_hash] = uses_demo_password(pw_hash)
        if verdict[pw_hash]:
            found.append(username)
    return found
