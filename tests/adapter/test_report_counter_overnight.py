"""A counter left open overnight, on the real hub (SQLite file, FixedClock, HTTP) and its reports read model.

Staff served at counter 1 on Wednesday and went home without closing it; on Thursday they served at the same
counter (still open) and closed it at 17:00. Duty hours are the denominator of 'served per duty hour': Wednesday
must not be charged the evening up to midnight, and Thursday's service must not come out with no duty at all."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests
from hub_support import HubOptions, TestHub

from contracts.messages import VN_TZ

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]
WEDNESDAY = datetime(2026, 11, 25, 7, 30, tzinfo=VN_TZ)
THURSDAY = datetime(2026, 11, 26, 7, 30, tzinfo=VN_TZ)


@pytest.fixture
def hub_options() -> HubOptions:
    return HubOptions(serve=True, blueprints=None, at=WEDNESDAY)


def serve_one(hub: TestHub, at: datetime) -> None:
    service = hub.hub.service
    hub.clock.set(at)
    hub.issue("ho-tich")
    service.call_next("1")
    hub.clock.set(at + timedelta(minutes=5))
    service.start_service("1")
    hub.clock.set(at + timedelta(minutes=10))
    service.complete("1")


def duty(hub: TestHub, day: str) -> dict[str, float]:
    manager = hub.login("quanly")
    r = requests.get(f"{hub.url}/api/v1/reports/summary", params={"from": day, "to": day, "group": "counter"},
                     headers=manager, timeout=10)
    assert r.status_code == 200, r.text
    row = next((x for x in r.json()["rows"] if x["key"] == "1"), None)
    if row is None:            # nothing at counter 1 that day
        return {"served": 0, "on_duty_h": 0.0, "served_per_duty_hour": None}
    return {k: row[k] for k in ("served", "on_duty_h", "served_per_duty_hour")}


def test_a_counter_left_open_overnight_is_on_duty_from_first_to_last_activity(hub: TestHub) -> None:
    hub.hub.service.open_counter("1", staff="canbo")               # Wednesday 07:30
    serve_one(hub, WEDNESDAY.replace(hour=8, minute=0))
    serve_one(hub, WEDNESDAY.replace(hour=16, minute=20))          # last activity: done at 16:30; never closed

    hub.clock.set(THURSDAY.replace(minute=35))                      # Thursday 07:35, nothing done yet
    assert duty(hub, "2026-11-25")["on_duty_h"] == pytest.approx(16 + 30 / 60 - 7.5, abs=0.02)
    assert duty(hub, "2026-11-26")["on_duty_h"] == 0

    serve_one(hub, THURSDAY.replace(hour=7, minute=40))            # Thursday: the counter is still open
    hub.clock.set(THURSDAY.replace(hour=10, minute=0))
    live = duty(hub, "2026-11-26")                                 # asked while the counter is open
    assert live["served"] == 1
    assert live["on_duty_h"] == pytest.approx(10 - (7 + 40 / 60), abs=0.02)    # 07:40 → now

    serve_one(hub, THURSDAY.replace(hour=14, minute=0))
    hub.clock.set(THURSDAY.replace(hour=17, minute=0))
    hub.hub.service.close_counter("1")

    wednesday, thursday = duty(hub, "2026-11-25"), duty(hub, "2026-11-26")
    assert wednesday["served"] == 2 and thursday["served"] == 2
    assert wednesday["on_duty_h"] == pytest.approx(16 + 30 / 60 - 7.5, abs=0.02)   # 07:30 → 16:30, not midnight
    assert thursday["on_duty_h"] == pytest.approx(17 - (7 + 40 / 60), abs=0.02)    # 07:40 → 17:00, not 0
    assert thursday["served_per_duty_hour"] is not None
