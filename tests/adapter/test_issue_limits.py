"""Per-device issue rate limit (issue 11): a kiosk key gets a burst of 30 then about one a second; another
kiosk is not slowed by it; the fast path and the Flask route count the same bucket. The limiter's clock is
injected (no test here depends on how fast the machine is)."""
from __future__ import annotations

from typing import Any

import pytest
from api_support import MONDAY_0800, make_settings

from queue_server.app.ports import FixedClock
from queue_server.web.guards import ISSUE_LIMIT, RateLimiter
from queue_server.wiring import build_hub

pytestmark = pytest.mark.adapter
KEYS = ["kiosk-a-key-0123456789", "kiosk-b-key-0123456789"]


def test_a_kiosk_key_is_rate_limited_and_another_kiosk_is_not(tmp_path: Any) -> None:
    hub = build_hub(make_settings(tmp_path, device_keys=KEYS), clock=FixedClock(MONDAY_0800),
                    extra_blueprints=[], keepalive_s=0.05)
    try:
        now = [0.0]
        ctx = hub.app.extensions["motcua"]
        ctx.issue_limiter = RateLimiter(ISSUE_LIMIT, monotonic=lambda: now[0])
        client = hub.app.test_client()
        client.environ_base["REMOTE_ADDR"] = "10.0.0.21"          # a kiosk on the LAN (loopback is not limited)

        def issue(key: str) -> Any:
            return client.post("/api/v1/tickets", json={"service": "ho-tich"}, headers={"X-Device-Key": key})

        answers = [issue(KEYS[0]) for _ in range(ISSUE_LIMIT.burst + 5)]
        assert [a.status_code for a in answers] == [201] * ISSUE_LIMIT.burst + [429] * 5
        assert answers[-1].get_json()["error"]["code"] == "rate_limited"
        assert int(answers[-1].headers["Retry-After"]) >= 1
        assert issue(KEYS[1]).status_code == 201              # the other kiosk is not slowed
        now[0] += 1.0                                          # a second later: one more for kiosk A
        assert [issue(KEYS[0]).status_code for _ in range(2)] == [201, 429]
        issued = len(hub.service.waiting("ho-tich"))
        assert issued == ISSUE_LIMIT.burst + 2                 # nothing refused was written
        # the hub's own machine (demo, benches) is not limited
        local = hub.app.test_client()
        assert all(local.post("/api/v1/tickets", json={"service": "dat-dai"}, headers={"X-Device-Key": KEYS[0]})
                   .status_code == 201 for _ in range(5))
    finally:
        hub.stop()
