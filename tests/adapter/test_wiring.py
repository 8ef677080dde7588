"""The whole hub as queue_server.wiring builds it: ratings, dossier lookup and the tracking page are reachable,
their events take real seqs in the one event log, and a restart gives back the same log and state."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from api_support import MONDAY_0800, login, make_settings

from queue_server.adapters.main_system import signed_headers
from queue_server.app.ports import FixedClock
from queue_server.web.common import API_PREFIX
from queue_server.wiring import build_hub

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]

SECRET = "chia-se-bi-mat-0123456789"
CODE = "000.00.12.H38-261118-0007"


def _settings(tmp_path: Path):
    settings = make_settings(tmp_path)
    from dataclasses import replace

    from queue_server.app.integration import PushAuth
    return replace(settings, integration=replace(settings.integration, push=PushAuth(hmac_secret=SECRET)))


def test_ratings_dossiers_and_tracking_share_one_event_log(tmp_path: Path) -> None:
    clock = FixedClock(MONDAY_0800)
    hub = build_hub(_settings(tmp_path), clock=clock, extra_blueprints=None, keepalive_s=0.05)
    client = hub.app.test_client()
    staff, manager = login(client, "canbo"), login(client, "quanly")
    try:
        issued = client.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich"})
        assert issued.status_code == 201
        ticket = issued.json["ticket"]
        # the QR on the ticket opens the tracking page on the hub
        page = client.get(issued.json["tracking_url"])
        assert page.status_code == 200 and "text/html" in page.content_type
        counter = next(c["id"] for c in client.get(f"{API_PREFIX}/config").json["counters"]
                       if "ho-tich" in c["services"])
        for action in ("open", "call-next", "start", "complete"):
            r = client.post(f"{API_PREFIX}/counters/{counter}/{action}", headers=staff)
            assert r.status_code == 200, r.json
        clock.advance(timedelta(minutes=1))

        rated = client.post(f"{API_PREFIX}/ratings", json={"counter": counter, "level": 3})
        assert rated.status_code == 201, rated.json
        again = client.post(f"{API_PREFIX}/ratings", json={"counter": counter, "level": 1})
        assert again.status_code == 409 and again.json["error"]["code"] == "already_rated"
        # aggregates name staff: managers only
        assert client.get(f"{API_PREFIX}/ratings/aggregates").status_code == 401
        assert client.get(f"{API_PREFIX}/ratings/aggregates", headers=staff).status_code == 403
        agg = client.get(f"{API_PREFIX}/ratings/aggregates", headers=manager)
        assert agg.status_code == 200 and agg.json["count"] == 1

        push = json.dumps({"update_id": "u-1", "dossier": {
            "code": CODE, "procedure": "Đăng ký khai sinh", "applicant_name": "Trần Văn Bình",
            "received_at": "2026-11-18T09:00:00+07:00", "due_at": "2026-11-24T09:00:00+07:00",
            "status": "đang xử lý", "updated_at": "2026-11-20T08:00:00+07:00"}}, ensure_ascii=False).encode()
        pushed = client.post(f"{API_PREFIX}/integration/dossiers", data=push,
                             headers=signed_headers(SECRET, push),
                             content_type="application/json")
        assert pushed.status_code == 200, pushed.json
        looked = client.get(f"{API_PREFIX}/dossiers/{CODE.lower()}")
        assert looked.status_code == 200, looked.json
        assert "Trần Văn Bình" not in looked.get_data(as_text=True)      # masked

        events = client.get(f"{API_PREFIX}/events?after=0", headers=manager).json["events"]
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        types = [e["type"] for e in events]
        assert types.count("rating.submitted") == 1
        rating = next(e for e in events if e["type"] == "rating.submitted")
        assert rating["data"]["ticket_id"] == ticket["id"] and rating["data"]["level"] == 3
        assert types[-1] == "dossier.updated"
        assert set(events[-1]["data"]) == {"code", "status"} and events[-1]["data"]["code"] == CODE
        assert "Trần" not in json.dumps(events, ensure_ascii=False)       # no personal data in the log
        before_state = client.get(f"{API_PREFIX}/state").json
    finally:
        hub.stop()

    # restart on the same files: the same log, the same state (rating/dossier events do not disturb replay)
    hub = build_hub(_settings(tmp_path), clock=clock, extra_blueprints=None, keepalive_s=0.05)
    try:
        client = hub.app.test_client()
        manager = login(client, "quanly")
        assert client.get(f"{API_PREFIX}/events?after=0", headers=manager).json["events"] == events
        assert client.get(f"{API_PREFIX}/state").json == before_state
        hub.service.rebuild()
        assert client.get(f"{API_PREFIX}/state").json == before_state
        assert client.post(f"{API_PREFIX}/ratings", json={"counter": counter, "level": 2}).status_code == 409
    finally:
        hub.stop()


def test_the_hub_follows_the_working_calendar(tmp_path: Path) -> None:
    """Built by wiring from the example config: no tickets on Tết 2026 (a public holiday from the `holidays`
    package) nor on 31/08/2026 (an announced day off from the override file); Saturday 22/08/2026 (make-up day)
    issues; with observe_holidays = false a test or demo can run on any date."""
    from dataclasses import replace
    from datetime import datetime

    from contracts.messages import VN_TZ

    settings = make_settings(tmp_path)
    answers = {}
    for day in ((2026, 2, 17), (2026, 8, 31), (2026, 8, 22)):
        hub = build_hub(settings, clock=FixedClock(datetime(*day, 9, 0, tzinfo=VN_TZ)), extra_blueprints=[])
        try:
            r = hub.app.test_client().post(f"{API_PREFIX}/tickets", json={"service": "ho-tich"})
            answers[day] = (r.status_code, r.json.get("error", {}).get("code"))
        finally:
            hub.stop()
    assert answers == {(2026, 2, 17): (409, "service_closed"), (2026, 8, 31): (409, "service_closed"),
                       (2026, 8, 22): (201, None)}
    hub = build_hub(replace(settings, observe_holidays=False),
                    clock=FixedClock(datetime(2026, 2, 17, 9, 0, tzinfo=VN_TZ)), extra_blueprints=[])
    try:
        assert hub.app.test_client().post(f"{API_PREFIX}/tickets", json={"service": "ho-tich"}).status_code == 201
    finally:
        hub.stop()


def test_display_options_reach_the_pages_and_the_hub_speaks_calls(tmp_path: Path) -> None:
    """[display] options are validated and reach the displays blueprint; hub_speaker speaks each call on the hub
    (a simulated sound device here: it records the assembled wav of each play)."""
    import tomllib
    from dataclasses import replace

    from api_support import EXAMPLE

    from queue_server.config import ConfigError, settings_from_dict

    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw["display"] = {**raw.get("display", {}), "hub_speaker": "loudspeaker"}
    with pytest.raises(ConfigError, match="display.hub_speaker"):
        settings_from_dict(raw)
    raw["display"] = {**raw["display"], "hub_speaker": "auto", "volume": 1.5}
    with pytest.raises(ConfigError, match="display.volume"):
        settings_from_dict(raw)

    settings = make_settings(tmp_path)
    settings = replace(settings, display=replace(settings.display, hub_speaker="sim://audio", repeats=2,
                                                 voice_dir=tmp_path / "voice", blink_ms=1234))
    hub = build_hub(settings, clock=FixedClock(MONDAY_0800), extra_blueprints=None)
    try:
        client = hub.app.test_client()
        shown = client.get("/displays/settings.json").json
        assert shown["blink_ms"] == 1234 and shown["repeats"] == 2
        staff = login(client, "canbo")
        number = client.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich"}).json["ticket"]["number"]
        counter = next(c["id"] for c in client.get(f"{API_PREFIX}/config").json["counters"]
                       if "ho-tich" in c["services"])
        client.post(f"{API_PREFIX}/counters/{counter}/open", headers=staff)
        assert client.post(f"{API_PREFIX}/counters/{counter}/call-next", headers=staff).status_code == 200
        played = hub.speaker.sink.wait_for(2, timeout=20)
        assert [p.label for p in played] == [f"{number}#1", f"{number}#2"]
        assert all(p.duration_s > 1.0 for p in played)          # chime + phrase + number + counter, not silence
    finally:
        hub.stop()


def test_issue_with_the_same_request_id_returns_the_same_ticket_even_after_a_restart(tmp_path: Path) -> None:
    """The kiosk's idempotency key: a retry after a lost answer issues nothing new (no phantom ticket), through
    the fast path and the Flask route alike, also after the hub restarted and when issuing has since closed."""
    clock = FixedClock(MONDAY_0800)
    settings = make_settings(tmp_path)
    hub = build_hub(settings, clock=clock, extra_blueprints=[])
    try:
        client = hub.app.test_client()
        first = client.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich", "request_id": "k1-0001"})
        again = client.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich", "request_id": "k1-0001"})
        other = client.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich", "request_id": "k1-0002"})
        assert first.status_code == again.status_code == other.status_code == 201
        assert again.json["ticket"] == first.json["ticket"]
        assert other.json["ticket"]["number"] != first.json["ticket"]["number"]
        misuse = client.post(f"{API_PREFIX}/tickets", json={"service": "dat-dai", "request_id": "k1-0001"})
        assert misuse.status_code == 400 and "k1-0001" in misuse.json["error"]["message"]
        assert client.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich", "request_id": 7}).status_code == 400
    finally:
        hub.stop()
    clock.advance(timedelta(hours=9))      # 17:00: issuing has stopped for the day
    hub = build_hub(settings, clock=clock, extra_blueprints=[])
    try:
        client = hub.app.test_client()
        late = client.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich", "request_id": "k1-0001"})
        assert late.status_code == 201 and late.json["ticket"] == first.json["ticket"]
        assert client.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich"}).json["error"]["code"] == \
            "service_closed"
        events = hub.service.events_after(0)
        assert [e.type for e in events].count("ticket.issued") == 2
    finally:
        hub.stop()


def test_config_tells_kiosks_the_coming_days_off(tmp_path: Path) -> None:
    from datetime import datetime

    from contracts.messages import VN_TZ

    hub = build_hub(make_settings(tmp_path), clock=FixedClock(datetime(2026, 8, 3, 9, 0, tzinfo=VN_TZ)),
                    extra_blueprints=[])
    try:
        config = hub.app.test_client().get(f"{API_PREFIX}/config").json
        assert "2026-08-31" in config["days_off"] and "2026-09-02" in config["days_off"]
        assert "2026-02-17" not in config["days_off"]                    # the past is not sent
        assert config["makeup_days"][0] == "2026-08-22"
    finally:
        hub.stop()


def test_every_answer_carries_the_hubs_clock(tmp_path: Path) -> None:
    """Screens time their timers by the hub's clock (X-Motcua-Now), on the fast issue path and elsewhere."""
    hub = build_hub(make_settings(tmp_path), clock=FixedClock(MONDAY_0800), extra_blueprints=[])
    try:
        client = hub.app.test_client()
        for response in (client.get(f"{API_PREFIX}/state"), client.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich"}),
                         client.get(f"{API_PREFIX}/no-such-route")):
            assert response.headers["X-Motcua-Now"] == "2026-11-23T08:00:00+07:00"
    finally:
        hub.stop()
