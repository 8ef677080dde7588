"""Counter sessions through the real HTTP API (Flask app, SQLite file, FixedClock): display names instead of
logins, takeover only with the flag and recorded, staff may change only their own counter while a manager may
pause or close any, and a silent counter flagged on the board and left out of the wait estimate."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from api_support import EXAMPLE, FAST_HASH, login
from flask.testing import FlaskClient
from hub_support import HubOptions

from queue_server.config import settings_from_dict
from queue_server.web.common import API_PREFIX

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]

STAFF = (("minh", "staff", "Nguyễn Văn Minh"), ("hoa", "staff", "Trần Thị Hoa"), ("quanly", "manager", "Phạm Quản Lý"))


def _settings(tmp: Path) -> Any:
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw["store"] = {"path": str(tmp / "hub.sqlite3")}
    raw["mqtt"] = {"enabled": False}
    raw["users"] = [{"username": u, "role": r, "display_name": d, "password_hash": FAST_HASH} for u, r, d in STAFF]
    raw["security"] = {"device_keys": []}
    raw["display"]["silent_counter_min"] = 20
    return settings_from_dict(raw)


@pytest.fixture
def hub_options() -> HubOptions:
    return HubOptions(settings=_settings)


@pytest.fixture
def client(hub: Any) -> FlaskClient:
    return hub.app.test_client()


def post(client: FlaskClient, path: str, who: dict[str, str], body: dict[str, Any] | None = None) -> Any:
    return client.post(f"{API_PREFIX}{path}", json=body or {}, headers=who)


def counter_id(hub: Any) -> str:
    return str(hub.settings.center.counters[0].id)


def test_display_names_not_logins_in_public_state(hub: Any, client: FlaskClient) -> None:
    minh = login(client, "minh")
    cid = counter_id(hub)
    assert post(client, f"/counters/{cid}/open", minh).status_code == 200
    public = client.get(f"{API_PREFIX}/state").json
    row = next(c for c in public["counters"] if c["counter"] == cid)
    assert row["staff"] == "Nguyễn Văn Minh"
    assert "minh" not in [c.get("staff") for c in public["counters"]]
    mine = client.get(f"{API_PREFIX}/counters/{cid}", headers=minh).json
    assert mine["mine"] is True and mine["staff"] == "Nguyễn Văn Minh"


def test_takeover_needs_the_flag_and_is_recorded(hub: Any, client: FlaskClient) -> None:
    minh, hoa = login(client, "minh"), login(client, "hoa")
    cid = counter_id(hub)
    post(client, f"/counters/{cid}/open", minh)
    seq = hub.service.last_seq
    refused = post(client, f"/counters/{cid}/open", hoa)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "counter_taken"
    assert "Nguyễn Văn Minh" in refused.json["error"]["message"]
    assert hub.service.last_seq == seq, "a refused takeover writes nothing"
    assert client.get(f"{API_PREFIX}/counters/{cid}", headers=hoa).json["mine"] is False
    taken = post(client, f"/counters/{cid}/open", hoa, {"takeover": True})
    assert taken.status_code == 200 and taken.json["staff"] == "Trần Thị Hoa"
    [event] = hub.service.events_after(seq)
    assert event.type == "counter.taken_over"
    assert (event.data["from_staff"], event.data["from_staff_name"], event.data["staff_login"]) == (
        "minh", "Nguyễn Văn Minh", "hoa")
    bad = post(client, f"/counters/{cid}/open", hoa, {"takeover": "yes"})
    assert bad.status_code == 400


def test_staff_change_only_their_own_counter_manager_any(hub: Any, client: FlaskClient) -> None:
    minh, hoa, boss = login(client, "minh"), login(client, "hoa"), login(client, "quanly")
    cid = counter_id(hub)
    post(client, f"/counters/{cid}/open", minh)
    for action, body in (("pause", {"reason": "họp"}), ("close", None)):
        r = post(client, f"/counters/{cid}/{action}", hoa, body)
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    assert post(client, f"/counters/{cid}/pause", boss, {"reason": "Họp giao ban"}).json["status"] == "paused"
    assert post(client, f"/counters/{cid}/close", boss).json["status"] == "closed"
    # closed: anyone may open it again, no confirmation
    assert post(client, f"/counters/{cid}/open", hoa).json["staff"] == "Trần Thị Hoa"


def test_close_with_a_ticket_in_hand_is_refused(hub: Any, client: FlaskClient) -> None:
    minh = login(client, "minh")
    cid = counter_id(hub)
    post(client, f"/counters/{cid}/open", minh)
    service = hub.settings.center.counters[0].services[0]
    assert client.post(f"{API_PREFIX}/tickets", json={"service": service}).status_code == 201
    assert post(client, f"/counters/{cid}/call-next", minh).status_code == 200
    r = post(client, f"/counters/{cid}/close", minh)
    assert r.status_code == 409 and r.json["error"]["code"] == "counter_busy"


def test_silent_counter_flagged_and_out_of_the_estimate(hub: Any, client: FlaskClient) -> None:
    center = hub.settings.center
    service = center.counters[0].services[0]
    serving = [c for c in center.counters if service in c.services]
    assert len(serving) >= 2, "the example center has two counters for its first service"
    minh, hoa, boss = login(client, "minh"), login(client, "hoa"), login(client, "quanly")
    a, b = str(serving[0].id), str(serving[1].id)
    post(client, f"/counters/{a}/open", minh)
    post(client, f"/counters/{b}/open", hoa)
    for _ in range(6):
        client.post(f"{API_PREFIX}/tickets", json={"service": service})

    def wait_now() -> int:
        row = next(s for s in client.get(f"{API_PREFIX}/state").json["services"] if s["service"] == service)
        return int(row["estimated_wait_min"])

    both = wait_now()
    hub.clock.advance(minutes=15)
    assert post(client, f"/counters/{a}/heartbeat", minh).json == {"silent": False}
    hub.clock.advance(minutes=10)          # b: 25 min without a sign; a: 10 min since its heartbeat
    stats = client.get(f"{API_PREFIX}/stats/today", headers=boss).json
    assert stats["counters"][b]["silent"] is True and stats["counters"][a]["silent"] is False
    assert [c["counter"] for c in client.get(f"{API_PREFIX}/counters", headers=boss).json if c["silent"]] == [b]
    assert wait_now() > both, "one counter fewer serves the queue"
    # hoa comes back: any action at the counter clears the flag
    assert post(client, f"/counters/{b}/heartbeat", hoa).json == {"silent": False}
    assert client.get(f"{API_PREFIX}/stats/today", headers=boss).json["counters"][b]["silent"] is False
    assert post(client, f"/counters/{a}/heartbeat", {}).status_code == 401
    assert post(client, "/counters/nope/heartbeat", hoa).status_code == 404


def test_public_event_stream_carries_no_logins(hub: Any, client: FlaskClient) -> None:
    from queue_server.web.display import public_json

    minh, hoa = login(client, "minh"), login(client, "hoa")
    cid = counter_id(hub)
    post(client, f"/counters/{cid}/open", minh)
    service = hub.settings.center.counters[0].services[0]
    client.post(f"{API_PREFIX}/tickets", json={"service": service})
    post(client, f"/counters/{cid}/call-next", minh)
    post(client, f"/counters/{cid}/open", hoa, {"takeover": True})
    events = hub.service.events_after(0)
    texts = [public_json(e) for e in events]
    assert all('"minh"' not in t and '"hoa"' not in t for t in texts), texts
    assert any("Trần Thị Hoa" in t for t in texts)
    # the log itself keeps them (reports, replay)
    assert any(e.data.get("staff_login") == "hoa" for e in events)


def test_after_a_takeover_the_old_console_is_locked_out(hub: Any, client: FlaskClient) -> None:
    minh, hoa, boss = login(client, "minh"), login(client, "hoa"), login(client, "quanly")
    cid = counter_id(hub)
    service = hub.settings.center.counters[0].services[0]
    for _ in range(2):
        client.post(f"{API_PREFIX}/tickets", json={"service": service})
    post(client, f"/counters/{cid}/open", minh)
    post(client, f"/counters/{cid}/open", hoa, {"takeover": True})
    seq = hub.service.last_seq
    for action in ("call-next", "heartbeat", "recall", "complete"):
        r = post(client, f"/counters/{cid}/{action}", minh)
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden", action
    assert hub.service.last_seq == seq
    assert post(client, f"/counters/{cid}/call-next", hoa).status_code == 200
    assert post(client, f"/counters/{cid}/recall", boss).status_code in (200, 409)   # a manager is not locked out


def test_a_handover_splits_duty_hours_between_the_two_staff(hub: Any, client: FlaskClient) -> None:
    """Minh opens at 08:00 and starts serving A001; Hoa takes the counter over at 10:00 with A001 in hand, finishes
    it, the rating pad rates it, and Hoa closes at 11:00. The staff report gives Minh two hours on duty and Hoa
    one, each under their own login (as served tickets and ratings are), named by display name; the citizen Hoa
    finished with is served by her and the counter's pad rates her, not Minh who has left."""
    minh, hoa, boss = login(client, "minh"), login(client, "hoa"), login(client, "quanly")
    cid = counter_id(hub)
    service = hub.settings.center.counters[0].services[0]
    client.post(f"{API_PREFIX}/tickets", json={"service": service})
    post(client, f"/counters/{cid}/open", minh)
    assert post(client, f"/counters/{cid}/call-next", minh).status_code == 200
    assert post(client, f"/counters/{cid}/start", minh).status_code == 200
    hub.clock.advance(hours=2)
    assert post(client, f"/counters/{cid}/open", hoa, {"takeover": True}).json["current_status"] == "serving"
    hub.clock.advance(minutes=5)
    done = post(client, f"/counters/{cid}/complete", hoa)
    assert done.status_code == 200, done.json
    assert done.json["ticket"]["staff"] == "hoa"          # finished by Hoa: served by her, rated for her
    rated = client.post("/api/v1/ratings", json={"counter": cid, "level": 1})
    assert rated.status_code == 201 and rated.json["rating"]["ticket_id"] == done.json["ticket"]["id"], rated.json
    assert rated.json["rating"]["staff"] == "hoa"
    hub.clock.advance(minutes=55)
    assert post(client, f"/counters/{cid}/close", hoa).status_code == 200

    r = client.get(f"{API_PREFIX}/reports/summary?group=staff&date=2026-11-23", headers=boss)
    assert r.status_code == 200, r.json
    rows = {row["key"]: row for row in r.json["rows"]}
    assert set(rows) == {"minh", "hoa"}, rows
    assert (rows["minh"]["on_duty_h"], rows["hoa"]["on_duty_h"]) == (2.0, 1.0), rows
    assert (rows["minh"]["name"], rows["hoa"]["name"]) == ("Nguyễn Văn Minh", "Trần Thị Hoa")
    assert (rows["minh"]["served"], rows["hoa"]["served"]) == (0, 1)
    assert r.json["totals"]["on_duty_h"] == 3.0
