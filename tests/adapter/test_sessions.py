"""Staff sessions (issue 11): stored hashed in the hub's file, surviving a restart; logout revokes; an admin can
revoke a user's sessions; a stored session of a user whose role changed is refused; the password checks are
gated (at most a few at once, the rest refused with 429)."""
from __future__ import annotations

import sqlite3
import threading
from typing import Any

import pytest
from hub_support import HubOptions

from queue_server.web.guards import PasswordGate, token_hash

pytestmark = pytest.mark.adapter


@pytest.fixture
def hub_options() -> HubOptions:
    return HubOptions(serve=True)


def _me(hub: Any, token: str) -> int:
    return int(hub.app.test_client().get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
               .status_code)


def test_sessions_survive_a_restart_and_logout_revokes(hub: Any) -> None:
    staff = hub.login("canbo")["Authorization"].split()[1]
    other = hub.login("canbo")["Authorization"].split()[1]
    assert _me(hub, staff) == 200
    # only the hash is in the file
    rows = sqlite3.connect(hub.store_path).execute("SELECT token_sha256, username FROM staff_sessions").fetchall()
    assert (token_hash(staff), "canbo") in rows and not any(staff in r[0] for r in rows)
    hub.restart()
    assert _me(hub, staff) == 200 and _me(hub, other) == 200
    client = hub.app.test_client()
    assert client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {staff}"}).status_code == 200
    assert _me(hub, staff) == 401
    hub.restart()
    assert _me(hub, staff) == 401 and _me(hub, other) == 200


def test_an_admin_revokes_every_session_of_a_user(hub: Any) -> None:
    tokens = [hub.login("canbo")["Authorization"].split()[1] for _ in range(3)]
    admin = hub.login("quantri")
    staff_cannot = hub.app.test_client().post("/api/v1/admin/users/canbo/revoke-sessions", json={},
                                              headers={"Authorization": f"Bearer {tokens[0]}"})
    assert staff_cannot.status_code == 403
    resp = hub.app.test_client().post("/api/v1/admin/users/canbo/revoke-sessions", json={}, headers=admin)
    assert resp.status_code == 200 and resp.get_json() == {"username": "canbo", "revoked": 3}
    hub.restart()
    assert [_me(hub, t) for t in tokens] == [401, 401, 401]
    assert _me(hub, admin["Authorization"].split()[1]) == 200
    missing = hub.app.test_client().post("/api/v1/admin/users/nobody/revoke-sessions", json={}, headers=admin)
    assert missing.status_code == 404


def test_the_password_gate_bounds_concurrent_checks() -> None:
    gate = PasswordGate(running=2, waiting=1, wait_s=0.2)
    assert gate.acquire() and gate.acquire()
    results: list[bool] = []
    waiter = threading.Thread(target=lambda: results.append(gate.acquire()))
    waiter.start()
    assert not gate.acquire()        # the 4th: refused (at once, or after wait_s if it got the queue place)
    waiter.join()
    assert results == [False] and gate.refused == 2   # the waiter gave up after wait_s
    gate.release()
    assert gate.acquire()
