"""Ratings need the tablet paired to the counter (issue 11): with device keys set, no key, a kiosk's key or the
tablet of another counter are refused (401, nothing stored), the paired tablet's key is accepted."""
from __future__ import annotations

from typing import Any

import pytest
from api_support import MONDAY_0800, make_settings

from queue_server.app.ports import FixedClock
from queue_server.wiring import build_hub

pytestmark = pytest.mark.adapter
KIOSK = "kiosk-key-0123456789abc"
TABLET_1 = "tablet-1-key-0123456789"
TABLET_2 = "tablet-2-key-0123456789"


def test_only_the_tablet_paired_to_the_counter_may_rate(tmp_path: Any) -> None:
    settings = make_settings(tmp_path, device_keys=[KIOSK], tablets=[{"counter": "1", "key": TABLET_1},
                                                                     {"counter": "2", "key": TABLET_2}])
    hub = build_hub(settings, clock=FixedClock(MONDAY_0800), extra_blueprints=None, keepalive_s=0.05)
    try:
        svc = hub.service
        svc.open_counter("1", staff="canbo")
        svc.issue_ticket("ho-tich")
        svc.call_next("1")
        svc.start_service("1")
        svc.complete("1")
        client = hub.app.test_client()
        body = {"counter": "1", "level": 3}
        for headers in ({}, {"X-Device-Key": KIOSK}, {"X-Device-Key": TABLET_2}, {"X-Device-Key": "x" * 20}):
            r = client.post("/api/v1/ratings", json=body, headers=headers)
            assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthenticated", headers
        # nothing refused was stored: the paired tablet still gets the first rating (201, not already_rated)
        ok = client.post("/api/v1/ratings", json=body, headers={"X-Device-Key": TABLET_1})
        assert ok.status_code == 201, ok.get_json()
        assert client.post("/api/v1/ratings", json=body, headers={"X-Device-Key": TABLET_1}).status_code == 409
        # the tablet page carries no key itself: it is given once as ?key= and kept on the tablet
        page = client.get("/rate/1?key=" + TABLET_1).get_data(as_text=True)
        assert TABLET_1 not in page
        assert "X-Device-Key" in client.get("/rate-page.js").get_data(as_text=True)
    finally:
        hub.stop()
