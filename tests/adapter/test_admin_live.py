"""The live admin (issue 12 pt 3) on a real hub (SQLite file, FixedClock): each kind of change applied live with
its config.changed event, or refused with the key named and nothing changed; users and passwords; a restart
keeps the changes; `motcua config export` round-trips; the audit and its CSV."""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import requests
from api_support import EXAMPLE, PASSWORD, login
from werkzeug.security import generate_password_hash

from queue_server.web.common import API_PREFIX

pytestmark = pytest.mark.adapter

A = API_PREFIX


def _events(hub: Any, kind: str = "config.changed") -> list[Any]:
    return [e for e in hub.service.events_after(0, 10000) if e.type == kind]


def _live(client: Any, admin: dict[str, str]) -> dict[str, Any]:
    r = client.get(f"{A}/admin/config", headers=admin)
    assert r.status_code == 200, r.json
    live: dict[str, Any] = r.json["live"]
    return live


def _change(client: Any, admin: dict[str, str], sections: dict[str, Any]) -> Any:
    return client.post(f"{A}/admin/config", headers=admin, json={"sections": sections})


@pytest.fixture
def api(hub: Any) -> Any:
    client = hub.app.test_client()
    return client, login(client, "quantri")


def _refused(hub: Any, client: Any, admin: dict[str, str], sections: dict[str, Any], key: str) -> None:
    before_events = len(_events(hub))
    before = client.get(f"{A}/config").json
    r = _change(client, admin, sections)
    assert r.status_code == 400, r.json
    assert r.json["error"]["code"] == "config_invalid"
    assert r.json["error"]["message"].startswith(key), r.json
    assert client.get(f"{A}/config").json == before          # nothing changed
    assert len(_events(hub)) == before_events                 # nothing recorded


def test_a_service_and_its_counter_are_added_live_and_recorded(hub: Any, api: Any) -> None:
    client, admin = api
    live = _live(client, admin)
    services = live["services"] + [{"code": "moi-truong", "prefix": "MT", "name": "Môi trường", "name_en": "Env",
                                    "number_start": 1, "number_end": 500, "daily_quota": 50,
                                    "stop_issuing_before_close_min": 20, "avg_service_min": 7.5}]
    counters = live["counters"]
    counters[0]["services"] = ["moi-truong", *counters[0]["services"]]      # first in this counter's order
    r = _change(client, admin, {"services": services, "counters": counters})
    assert r.status_code == 200, r.json
    config = client.get(f"{A}/config").json
    assert "moi-truong" in [s["code"] for s in config["services"]]
    assert config["counters"][0]["services"][0] == "moi-truong"
    # the queue issues it at once, no restart
    t = client.post(f"{A}/tickets", json={"service": "moi-truong"})
    assert t.status_code == 201, t.json
    assert t.json["ticket"]["number"] == "MT001"
    [event] = _events(hub)
    assert event.data["by"] == "quantri" and event.data["sections"] == ["services", "counters"]
    assert "moi-truong" not in [s["code"] for s in event.data["before"]["services"]]
    assert "moi-truong" in [s["code"] for s in event.data["after"]["services"]]
    assert any(s["service"] == "moi-truong" for s in client.get(f"{A}/state").json["services"])


def test_invalid_changes_are_refused_with_the_key_named(hub: Any, api: Any) -> None:
    client, admin = api
    live = _live(client, admin)
    dup = [dict(s) for s in live["services"]]
    dup[1]["prefix"] = dup[0]["prefix"]
    _refused(hub, client, admin, {"services": dup}, "services[1].prefix: prefix")
    alone = live["services"] + [{"code": "le", "prefix": "QL", "name": "Lẻ"}]
    _refused(hub, client, admin, {"services": alone}, "services: 'le' is served by no counter")
    bad_counter = [dict(c) for c in live["counters"]]
    bad_counter[2] = {**bad_counter[2], "services": ["khong-co"]}
    _refused(hub, client, admin, {"counters": bad_counter}, "counters[2].services[0]: unknown service")
    _refused(hub, client, admin, {"priorities": [{"code": "cao-tuoi", "label": "Người cao tuổi"}]},
             "priorities[0].legal_basis: missing")
    _refused(hub, client, admin, {"working_hours": [{"days": ["mon"], "sessions": [["25:00", "11:30"]]}]},
             "working_hours[0].sessions[0][0]")
    _refused(hub, client, admin, {"calendar": {"days_off": ["ngày mai"], "makeup_days": []}},
             "calendar.days_off[0]: expected a date")
    _refused(hub, client, admin, {"display": {"notice": 5}}, "display.notice: expected a string")
    _refused(hub, client, admin, {"rating_scale": [{"value": 1, "label": "Tệ"}, {"value": 1, "label": "Tốt"}]},
             "rating_scale: two levels share a value")
    _refused(hub, client, admin, {"http": {"port": 1}}, "http: not a section that can be changed live")


def test_priorities_hours_calendar_notice_and_scale_change_live(hub: Any, api: Any) -> None:
    client, admin = api
    live = _live(client, admin)
    prios = live["priorities"] + [{"code": "mang-thai", "label": "Phụ nữ mang thai", "label_en": "Pregnant",
                                   "legal_basis": "Nghị định 61/2018/NĐ-CP"}]
    assert _change(client, admin, {"priorities": prios}).status_code == 200
    assert "mang-thai" in [p["code"] for p in client.get(f"{A}/config").json["priorities"]]
    assert client.post(f"{A}/tickets", json={"service": live["services"][0]["code"],
                                             "priority": "mang-thai"}).status_code == 201
    hours = [{"days": ["mon", "tue", "wed", "thu", "fri"], "sessions": [["07:00", "11:00"], ["13:00", "17:30"]]}]
    assert _change(client, admin, {"working_hours": hours}).status_code == 200
    assert client.get(f"{A}/config").json["working_hours"]["mon"] == [["07:00", "11:00"], ["13:00", "17:30"]]
    # dossier deadlines count in the new hours too, without a restart
    dossier_days = hub.integration.service.calendar
    monday = hub.clock.now().date()
    assert [(s.start.isoformat("minutes"), s.end.isoformat("minutes")) for s in dossier_days.sessions_on(monday)] \
        == [("07:00", "11:00"), ("13:00", "17:30")]
    assert _change(client, admin, {"display": {"notice": "Hôm nay nghỉ lúc 16:00"}}).status_code == 200
    assert client.get(f"{A}/config").json["display"]["notice"] == "Hôm nay nghỉ lúc 16:00"
    scale = [{"value": 1, "label": "Không hài lòng"}, {"value": 2, "label": "Hài lòng"}]
    assert _change(client, admin, {"rating_scale": scale}).status_code == 200
    assert [r["label"] for r in client.get(f"{A}/config").json["rating_scale"]] == ["Không hài lòng", "Hài lòng"]
    # today (the FixedClock's Monday) announced as a day off: the kiosk stops issuing at once
    today = hub.clock.now().date().isoformat()
    assert _change(client, admin, {"calendar": {"days_off": [today], "makeup_days": []}}).status_code == 200
    assert today in client.get(f"{A}/config").json["days_off"]
    assert hub.integration.service.calendar.sessions_on(monday) == ()     # and no dossier time counts today
    r = client.post(f"{A}/tickets", json={"service": live["services"][0]["code"]})
    assert r.status_code != 201 and r.json["error"]["code"] == "service_closed", r.json
    assert len(_events(hub)) == 5


def test_only_an_admin_changes_the_center(hub: Any) -> None:
    client = hub.app.test_client()
    for user in ("canbo", "quanly"):
        r = _change(client, login(client, user), {"display": {"notice": "x"}})
        assert r.status_code == 403
    assert client.post(f"{A}/admin/config", json={"sections": {}}).status_code == 401


def _no_secret(hub: Any) -> None:
    text = json.dumps([e.data for e in hub.service.events_after(0, 10000)], ensure_ascii=False)
    assert "pbkdf2" not in text and "scrypt" not in text and "password_hash" not in text


def test_users_added_disabled_and_reset_without_secrets_in_the_log(hub: Any, api: Any) -> None:
    client, admin = api
    weak = client.post(f"{A}/admin/users", headers=admin,
                       json={"username": "canbo2", "role": "staff", "password": "12345678"})
    assert weak.status_code == 400 and weak.json["error"]["message"].startswith("password:")
    r = client.post(f"{A}/admin/users", headers=admin, json={"username": "canbo2", "role": "staff",
                                                             "display_name": "Nguyễn Văn B", "password": "MotCua2026x"})
    assert r.status_code == 201, r.json
    ok = client.post(f"{A}/auth/login", json={"username": "canbo2", "password": "MotCua2026x"})
    assert ok.status_code == 200 and ok.json["display_name"] == "Nguyễn Văn B"
    token = {"Authorization": f"Bearer {ok.json['token']}"}
    dup = client.post(f"{A}/admin/users", headers=admin, json={"username": "canbo2", "role": "staff",
                                                               "password": "MotCua2026x"})
    assert dup.status_code == 400 and "canbo2" in dup.json["error"]["message"]
    # disabled: cannot log in, and the session it had ends
    assert client.post(f"{A}/admin/users/canbo2", headers=admin, json={"disabled": True}).status_code == 200
    assert client.get(f"{A}/auth/me", headers=token).status_code == 401
    assert client.post(f"{A}/auth/login", json={"username": "canbo2", "password": "MotCua2026x"}).status_code == 401
    assert client.post(f"{A}/admin/users/canbo2", headers=admin, json={"disabled": False}).status_code == 200
    # reset by the admin: the old password stops working
    assert client.post(f"{A}/admin/users/canbo2/password", headers=admin,
                       json={"password": "DatLai2026y"}).status_code == 200
    assert client.post(f"{A}/auth/login", json={"username": "canbo2", "password": "MotCua2026x"}).status_code == 401
    assert client.post(f"{A}/auth/login", json={"username": "canbo2", "password": "DatLai2026y"}).status_code == 200
    users = client.get(f"{A}/admin/users", headers=admin).json["users"]
    assert {"username": "canbo2", "role": "staff", "display_name": "Nguyễn Văn B", "disabled": False} in users
    assert client.post(f"{A}/admin/users/quantri", headers=admin, json={"disabled": True}).status_code == 400
    assert client.post(f"{A}/admin/config", headers=admin, json={"sections": {"users": []}}).status_code == 400
    _no_secret(hub)


@pytest.mark.parametrize("user", ["canbo", "quanly", "quantri"])
def test_every_user_changes_their_own_password(hub: Any, user: str) -> None:
    client = hub.app.test_client()
    me = login(client, user)
    other = login(client, user)
    wrong = client.post(f"{A}/auth/password", headers=me, json={"old_password": "sai-mat-khau",
                                                                "new_password": "MatKhauMoi2026"})
    assert wrong.status_code == 401
    weak = client.post(f"{A}/auth/password", headers=me, json={"old_password": PASSWORD, "new_password": "abc"})
    assert weak.status_code == 400 and weak.json["error"]["message"].startswith("new_password:")
    assert client.post(f"{A}/auth/password", headers=me, json={"old_password": PASSWORD,
                                                               "new_password": "MatKhauMoi2026"}).status_code == 200
    assert client.get(f"{A}/auth/me", headers=me).status_code == 200        # this session goes on
    assert client.get(f"{A}/auth/me", headers=other).status_code == 401     # the others end
    assert client.post(f"{A}/auth/login", json={"username": user, "password": PASSWORD}).status_code == 401
    assert client.post(f"{A}/auth/login", json={"username": user, "password": "MatKhauMoi2026"}).status_code == 200
    [event] = _events(hub)
    assert event.data["by"] == user and event.data["password_changed"] is True
    _no_secret(hub)


def test_a_restart_replays_the_changes(hub: Any, api: Any) -> None:
    client, admin = api
    live = _live(client, admin)
    services = live["services"] + [{"code": "moi", "prefix": "NM", "name": "Dịch vụ mới"}]
    counters = live["counters"]
    counters[1]["services"].append("moi")
    assert _change(client, admin, {"services": services, "counters": counters,
                                   "display": {"notice": "Thông báo sau khởi động lại"}}).status_code == 200
    assert client.post(f"{A}/admin/users", headers=admin, json={"username": "moi1", "role": "manager",
                                                                "password": "MoiMoi2026z"}).status_code == 201
    hub.restart()
    client = hub.app.test_client()
    config = client.get(f"{A}/config").json
    assert "moi" in [s["code"] for s in config["services"]]
    assert config["display"]["notice"] == "Thông báo sau khởi động lại"
    assert client.post(f"{A}/auth/login", json={"username": "moi1", "password": "MoiMoi2026z"}).status_code == 200
    assert client.post(f"{A}/tickets", json={"service": "moi"}).json["ticket"]["number"] == "NM001"


def _write_config(tmp: Path) -> Path:
    from runtime.settings.edit import dump_toml

    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw["store"] = {"path": "var/hub.sqlite3"}       # relative: next to the config file
    raw["mqtt"] = {"enabled": False}
    # a file on disk must pass config check, which refuses cheap hashes: a real (scrypt) one here
    strong = generate_password_hash(PASSWORD)
    raw["users"] = [{"username": u, "role": r, "password_hash": strong}
                    for u, r in (("canbo", "staff"), ("quantri", "admin"))]
    path = tmp / "center.toml"
    path.write_text(dump_toml(raw), encoding="utf-8")
    return path


def _motcua(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "queue_server", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_export_round_trips(tmp_path: Path) -> None:
    from dataclasses import replace

    from queue_server.app.ports import FixedClock
    from queue_server.config import load_settings
    from queue_server.wiring import build_hub

    path = _write_config(tmp_path)
    settings = load_settings(path)
    from api_support import MONDAY_0800

    h = build_hub(settings, clock=FixedClock(MONDAY_0800), extra_blueprints=[])
    try:
        client = h.app.test_client()
        admin = login(client, "quantri")
        live = _live(client, admin)
        services = live["services"] + [{"code": "xuat", "prefix": "XK", "name": "Xuất khẩu \"đặc biệt\""}]
        counters = live["counters"]
        counters[0]["services"].append("xuat")
        assert _change(client, admin, {"services": services, "counters": counters,
                                       "display": {"notice": "Dòng thông báo"},
                                       "calendar": {"days_off": ["2026-12-24"], "makeup_days": []}}).status_code == 200
        center = h.service.center
    finally:
        h.stop()
    out = tmp_path / "exported.toml"
    r = _motcua("config", "export", "--config", str(path), "-o", str(out))
    assert r.returncode == 0, r.stderr
    check = _motcua("config", "check", "--lab", str(out))     # this bench's source has no device keys
    assert check.returncode == 0, check.stdout + check.stderr
    exported = load_settings(out)
    assert exported.display.notice == "Dòng thông báo"
    # a new hub from the exported file (its own empty store) runs the same center
    fresh = replace(exported, store_path=tmp_path / "new" / "hub.sqlite3")
    h2 = build_hub(fresh, clock=FixedClock(MONDAY_0800), extra_blueprints=[])
    try:
        assert replace(h2.service.center, days_off=frozenset(), makeup_days=frozenset()) == \
            replace(center, days_off=frozenset(), makeup_days=frozenset())
        assert h2.service.center.days_off == center.days_off
    finally:
        h2.stop()


def test_the_audit_lists_staff_actions_and_admin_changes(hub: Any, api: Any) -> None:
    client, admin = api
    staff = login(client, "canbo")
    service = client.get(f"{A}/config").json["services"][0]["code"]
    client.post(f"{A}/tickets", json={"service": service})
    counter = client.get(f"{A}/config").json["counters"][0]["id"]
    assert client.post(f"{A}/counters/{counter}/open", headers=staff, json={}).status_code == 200
    assert client.post(f"{A}/counters/{counter}/call-next", headers=staff, json={}).status_code == 200
    assert _change(client, admin, {"display": {"notice": "Kiểm tra nhật ký"}}).status_code == 200
    rows = client.get(f"{A}/admin/audit", headers=admin).json["rows"]
    kinds = [r["kind"] for r in rows]
    assert "ticket.called" in kinds and "config.changed" in kinds and "ticket.issued" not in kinds
    called = next(r for r in rows if r["kind"] == "ticket.called")
    assert called["user"] == "canbo" and called["counter"] == counter and called["ticket"]
    only = client.get(f"{A}/admin/audit?user=quantri", headers=admin).json["rows"]
    assert [r["kind"] for r in only] == ["config.changed"] and "màn hình" in only[0]["detail"]
    assert client.get(f"{A}/admin/audit?kind=counter.", headers=admin).json["rows"][0]["kind"] == "counter.opened"
    assert client.get(f"{A}/admin/audit?day=2026-01-01", headers=admin).json["rows"] == []
    assert client.get(f"{A}/admin/audit?day=hôm-nay", headers=admin).status_code == 400
    assert client.get(f"{A}/admin/audit", headers=staff).status_code == 403
    csv = client.get(f"{A}/admin/audit.csv", headers=admin)
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert csv.data.startswith("\ufeff".encode())
    text = csv.data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("STT / Seq,Thời điểm / Time,Loại / Kind")
    assert "Gọi số" in text and "canbo" in text


def test_a_live_change_reaches_mqtt_retained_state(tmp_path: Path, mosquitto: Any) -> None:
    from hub_support import HubOptions, launch_hub
    from test_mqtt import Subscriber

    from contracts import topics

    h = launch_hub(tmp_path, HubOptions(mqtt=True, unique_center=True), broker=mosquitto)
    try:
        client = h.app.test_client()
        admin = login(client, "quantri")
        live = _live(client, admin)
        services = live["services"] + [{"code": "moi-mqtt", "prefix": "QM", "name": "Dịch vụ qua MQTT"}]
        counters = live["counters"]
        counters[0]["services"].append("moi-mqtt")
        assert _change(client, admin, {"services": services, "counters": counters}).status_code == 200
        center = h.service.center.id
        # a display connecting now renders the new service from retained state alone, and saw the event
        late = Subscriber(mosquitto.host, mosquitto.port, topics.state_service(center, "moi-mqtt"))
        try:
            late.wait_until(lambda latest: topics.state_service(center, "moi-mqtt") in latest)
            state = json.loads(late.latest[topics.state_service(center, "moi-mqtt")])
            assert state["service"] == "moi-mqtt" and state["waiting"] == 0
        finally:
            late.close()
    finally:
        h.stop()


def test_the_public_stream_says_only_which_sections_changed(tmp_path: Path) -> None:
    from hub_support import HubOptions, launch_hub

    h = launch_hub(tmp_path, HubOptions(serve=True))
    try:
        admin = h.login("quantri")
        r = requests.post(f"{h.url}{A}/admin/users", headers=admin, timeout=5,
                          json={"username": "bimat", "role": "staff", "password": "KhongLo2026x"})
        assert r.status_code == 201, r.text
        with requests.get(f"{h.url}{A}/stream?last_event_id=0", stream=True, timeout=10) as s:
            for line in s.iter_lines(decode_unicode=True):
                if line and line.startswith("data:") and "config.changed" in line:
                    data = json.loads(line[5:])["data"]
                    break
        assert data == {"sections": ["users"]}           # no who, no user list on a public screen
    finally:
        h.stop()


def test_counters_come_and_go_but_not_from_under_citizens_or_staff(hub: Any, api: Any) -> None:
    client, admin = api
    staff = login(client, "canbo")
    live = _live(client, admin)
    first = live["services"][0]["code"]
    counters = live["counters"] + [{"id": "99", "name": "Quầy lưu động", "services": [first]}]
    assert _change(client, admin, {"counters": counters}).status_code == 200
    assert client.post(f"{A}/counters/99/open", headers=staff, json={}).status_code == 200   # no restart
    assert any(c["counter"] == "99" for c in client.get(f"{A}/state").json["counters"])
    # an open counter cannot be removed; a service with people waiting cannot either
    _refused(hub, client, admin, {"counters": live["counters"]}, "counters: '99' cannot be removed while it is open")
    assert client.post(f"{A}/tickets", json={"service": first}).status_code == 201
    others = [s for s in live["services"] if s["code"] != first]
    without = [{**c, "services": [x for x in c["services"] if x != first] or [others[0]["code"]]}
               for c in counters]
    _refused(hub, client, admin, {"services": others, "counters": without},
             f"services: '{first}' cannot be removed: 1 ticket(s) still waiting")
    assert client.post(f"{A}/counters/99/close", headers=staff, json={}).status_code == 200
    assert _change(client, admin, {"counters": live["counters"]}).status_code == 200
    assert "99" not in [c["id"] for c in client.get(f"{A}/config").json["counters"]]


def test_a_counter_a_citizen_was_sent_to_is_not_removed_from_under_them(hub: Any, api: Any) -> None:
    """A001 is transferred to the (closed) mobile counter 99; removing counter 99 then would leave A001 waiting
    for a counter that no longer exists, which no other counter may call: refused until 99 has served it."""
    client, admin = api
    staff = login(client, "canbo")
    live = _live(client, admin)
    first = live["services"][0]["code"]
    home = next(c["id"] for c in live["counters"] if first in c["services"])
    counters = live["counters"] + [{"id": "99", "name": "Quầy lưu động", "services": [first]}]
    assert _change(client, admin, {"counters": counters}).status_code == 200
    assert client.post(f"{A}/tickets", json={"service": first}).status_code == 201
    assert client.post(f"{A}/counters/{home}/open", headers=staff, json={}).status_code == 200
    called = client.post(f"{A}/counters/{home}/call-next", headers=staff, json={}).json["ticket"]
    sent = client.post(f"{A}/counters/{home}/transfer", headers=staff, json={"counter": "99", "confirm": True})
    assert sent.status_code == 200, sent.json
    _refused(hub, client, admin, {"counters": live["counters"]}, "counters: quầy '99' còn 1 người được chuyển đến")
    assert client.post(f"{A}/counters/{home}/close", headers=staff, json={}).status_code == 200
    assert client.post(f"{A}/counters/99/open", headers=staff, json={}).status_code == 200
    again = client.post(f"{A}/counters/99/call-next", headers=staff, json={}).json["ticket"]
    assert again["id"] == called["id"]
    for step in ("start", "complete", "close"):
        assert client.post(f"{A}/counters/99/{step}", headers=staff, json={}).status_code == 200, step
    assert _change(client, admin, {"counters": live["counters"]}).status_code == 200


def test_a_day_off_announced_mid_morning_tells_the_citizens_still_waiting(hub: Any, api: Any) -> None:
    """A storm: at 10:00 the admin makes today a day off. A citizen still waiting is told, as after closing, that
    the number is over and when numbers are issued again (the tracking page's hours_over and opens_at), not 'about
    0–30 minutes'; the kiosk refuses new numbers."""
    client, admin = api
    hub.clock.set(hub.clock.now().replace(hour=10))
    today = hub.clock.now().date()
    first = _live(client, admin)["services"][0]["code"]
    waiting = client.post(f"{A}/tickets", json={"service": first}).json["ticket"]
    before = client.get(f"{A}/tickets/{waiting['id']}").json
    assert before["hours_over"] is False and before["opens_at"] is None
    assert _change(client, admin, {"calendar": {"days_off": [today.isoformat()], "makeup_days": []}}).status_code == 200
    after = client.get(f"{A}/tickets/{waiting['id']}").json
    assert after["ticket"]["status"] == "issued" and after["hours_over"] is True, after
    assert after["opens_at"] is not None and after["opens_at"] > f"{today.isoformat()}T23:59", after
    refused = client.post(f"{A}/tickets", json={"service": first})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "service_closed"


def test_nothing_but_the_admin_path_writes_a_config_change(hub: Any) -> None:
    from contracts.errors import MotcuaError

    with pytest.raises(MotcuaError, match="decided by the queue itself"):
        hub.service.record_event("config.changed", {"after": {"display": {"notice": "giả mạo"}}})
    hub.restart()
    assert hub.app.test_client().get(f"{A}/config").json["display"]["notice"] != "giả mạo"


def test_reports_name_what_the_admin_renamed_or_added_live(hub: Any, api: Any) -> None:
    # the reports' names were read once at start: a user added on /admin showed as a login, a renamed service
    # under its old name, until the hub restarted
    client, admin = api
    live = _live(client, admin)
    service = live["counters"][0]["services"][0]
    cid = live["counters"][0]["id"]
    for s in live["services"]:
        if s["code"] == service:
            s["name"] = "Tư pháp – Hộ tịch (mới)"
    assert _change(client, admin, {"services": live["services"]}).status_code == 200
    r = client.post(f"{A}/admin/users", headers=admin, json={"username": "canbo3", "role": "staff",
                                                             "display_name": "Lê Văn Ba", "password": "MotCua2026x"})
    assert r.status_code == 201, r.json
    ok = client.post(f"{A}/auth/login", json={"username": "canbo3", "password": "MotCua2026x"})
    staff = {"Authorization": f"Bearer {ok.json['token']}"}
    assert client.post(f"{A}/tickets", json={"service": service}).status_code == 201
    for action in ("open", "call-next", "start", "complete"):
        done = client.post(f"{A}/counters/{cid}/{action}", headers=staff, json={})
        assert done.status_code == 200, (action, done.json)
    day = hub.service.clock.now().date().isoformat()
    boss = login(client, "quanly")
    by_staff = client.get(f"{A}/reports/summary?group=staff&date={day}", headers=boss).json
    assert {row["key"]: row["name"] for row in by_staff["rows"]}["canbo3"] == "Lê Văn Ba"
    by_service = client.get(f"{A}/reports/summary?group=service&date={day}", headers=boss).json
    assert {row["key"]: row["name"] for row in by_service["rows"]}[service] == "Tư pháp – Hộ tịch (mới)"
