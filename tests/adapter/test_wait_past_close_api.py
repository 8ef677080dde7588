"""A wait expected to end after today's working hours, through the real HTTP API (Flask app, SQLite file,
FixedClock at 16:20 on a Monday): the hub flags it (``wait_past_close``) on the ticket it issues, on the tracking
answer, on the kiosk's service list and on the public state, so every screen can say "có thể quá giờ làm việc"
instead of a range of minutes running past closing."""
from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from api_support import EXAMPLE, FAST_HASH, login
from hub_support import HubOptions

from contracts.messages import VN_TZ
from contracts.wait_text import wait_range_text
from queue_server.config import settings_from_dict
from queue_server.web.common import API_PREFIX

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]


def _settings(tmp: Path) -> Any:
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw["store"] = {"path": str(tmp / "hub.sqlite3")}
    raw["mqtt"] = {"enabled": False}
    raw["users"] = [{"username": "minh", "role": "staff", "display_name": "Nguyễn Văn Minh",
                     "password_hash": FAST_HASH}]
    raw["security"] = {"device_keys": []}
    return settings_from_dict(raw)


@pytest.fixture
def hub_options() -> HubOptions:
    # 40 working minutes left today (17:00), ten minutes before ticket issue stops for the day
    return HubOptions(settings=_settings, at=datetime(2026, 11, 23, 16, 20, tzinfo=VN_TZ))


def test_a_wait_running_past_closing_is_flagged_everywhere(hub: Any) -> None:
    client = hub.app.test_client()
    only = next(c for c in hub.settings.center.counters if list(c.services) == ["ho-tich"])
    assert client.post(f"{API_PREFIX}/counters/{only.id}/open", json={}, headers=login(client, "minh")).status_code == 200
    answers = [client.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich"}) for _ in range(12)]
    assert all(a.status_code == 201 for a in answers), [a.json for a in answers]
    first, last = answers[0].json, answers[-1].json
    # one counter, twelve citizens: the first is called at once, the last only after 17:00
    assert first["wait_past_close"] is False and first["ahead"] == 0
    assert last["wait_past_close"] is True and last["wait_low_min"] is not None
    assert last["ahead"] == 11
    flags = [a.json["wait_past_close"] for a in answers]
    assert flags == sorted(flags), "once past closing, every later citizen is too"
    tracked = client.get(f"{API_PREFIX}/tickets/{last['ticket']['id']}").json
    assert tracked["wait_past_close"] is True
    assert client.get(f"{API_PREFIX}/tickets/{first['ticket']['id']}").json["wait_past_close"] is False
    kiosk_row = next(s for s in client.get(f"{API_PREFIX}/services").json if s["code"] == "ho-tich")
    assert kiosk_row["wait_past_close"] is True                    # the next citizen would be past closing too
    other = next(s for s in client.get(f"{API_PREFIX}/services").json if s["code"] == "dat-dai")
    assert other["wait_past_close"] is False
    state_row = next(s for s in client.get(f"{API_PREFIX}/state").json["services"] if s["service"] == "ho-tich")
    assert state_row["wait_past_close"] is True
    assert wait_range_text(last["wait_low_min"], last["wait_high_min"], last["wait_served"], "vi",
                           last["wait_past_close"]) == "có thể quá giờ làm việc"
