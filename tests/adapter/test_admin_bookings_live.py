"""[bookings] and [notifications] changed live from /admin (issue 16 pt 1) on a real hub (SQLite files, FixedClock):
admin role only; a capacity, slot length, limit or window change is applied without a restart (the booking routes
answer with it), recorded as config.changed and kept across a restart and by `motcua config export`; bad values are
refused with the key named and nothing changed; bookings already made are never stranded (capacity below them, a
slot length or day off they no longer fit, a service removed that [bookings] still names: refused, saying why)."""
from __future__ import annotations

import argparse
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import FAST_HASH, login
from test_bookings_day import at, book, raw_settings

from queue_server.app.ports import FixedClock
from queue_server.config import settings_from_dict
from queue_server.wiring import build_hub

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]

A = "/api/v1"


def _raw(tmp: Path, **extra: Any) -> dict[str, Any]:
    raw = raw_settings(tmp, **extra)
    raw["users"].append({"username": "quantri", "role": "admin", "password_hash": FAST_HASH})
    return raw


@pytest.fixture
def day(tmp_path: Path) -> Iterator[Any]:
    clock = FixedClock(at(7, 0))
    hub = build_hub(settings_from_dict(_raw(tmp_path)), clock=clock, extra_blueprints=[])
    hub.clock = clock
    yield hub
    hub.stop()


def _events(hub: Any) -> list[Any]:
    return [e for e in hub.service.events_after(0, 10000) if e.type == "config.changed"]


def _live(client: Any, admin: dict[str, str]) -> dict[str, Any]:
    live: dict[str, Any] = client.get(f"{A}/admin/config", headers=admin).json["live"]
    return live


def _change(client: Any, admin: dict[str, str], sections: dict[str, Any]) -> Any:
    return client.post(f"{A}/admin/config", headers=admin, json={"sections": sections})


def _bookings(client: Any, admin: dict[str, str], **changes: Any) -> dict[str, Any]:
    doc = _live(client, admin)["bookings"]
    for key, value in changes.items():
        if key == "capacity":
            doc["capacity"] = {**doc["capacity"], **value}
        elif value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return {"bookings": doc}


def _refused(hub: Any, client: Any, admin: dict[str, str], sections: dict[str, Any], *needles: str) -> str:
    before_events = len(_events(hub))
    before_rules = hub.engagement.bookings.rules
    before = _live(client, admin)
    r = _change(client, admin, sections)
    assert r.status_code == 400, r.json
    assert r.json["error"]["code"] == "config_invalid"
    message: str = r.json["error"]["message"]
    for needle in needles:
        assert needle in message, message
    assert _live(client, admin) == before                      # nothing changed
    assert hub.engagement.bookings.rules == before_rules
    assert len(_events(hub)) == before_events                  # nothing recorded
    return message


def _slot(client: Any, service: str, hh: int, mm: int = 0) -> dict[str, Any]:
    slots = client.get(f"{A}/bookings/slots?service={service}&day=2026-11-23").json["slots"]
    found: dict[str, Any] = next(s for s in slots if s["start"] == at(hh, mm).isoformat())
    return found


def test_only_an_admin_changes_bookings(day: Any) -> None:
    client = day.app.test_client()
    sections = {"bookings": {"capacity": {"ho-tich": 9}}}
    assert _change(client, {}, sections).status_code == 401
    for user in ("canbo", "quanly"):                           # staff and managers: refused
        r = _change(client, login(client, user), sections)
        assert r.status_code == 403, r.json
        assert client.get(f"{A}/admin/config", headers=login(client, user)).status_code == 403
    assert day.engagement.bookings.rules.capacity["ho-tich"] == 2
    assert _events(day) == []


def test_capacity_and_rules_change_live_and_are_recorded(day: Any) -> None:
    client = day.app.test_client()
    admin = login(client, "quantri")
    live = _live(client, admin)
    assert live["bookings"] == {"capacity": {"ho-tich": 2, "dat-dai": 1, "thue": 1}, "slot_minutes": 30,
                                "per_person_per_day": 2, "per_person_per_service_per_day": 1, "early_min": 30,
                                "late_min": 15, "days_ahead": 14, "min_notice_min": 0}
    assert "notifications" not in live                          # off in this file: nothing to edit
    first = book(client, "p-1", "ho-tich", at(9, 0), "0911111111")["code"]
    assert (_slot(client, "ho-tich", 9)["capacity"], _slot(client, "ho-tich", 9)["free"]) == (2, 1)

    r = _change(client, admin, _bookings(client, admin, capacity={"ho-tich": 4, "y-te": 3}, late_min=20,
                                         per_person_per_day=3))
    assert r.status_code == 200, r.json
    # the booking routes answer with the new rules at once: no restart
    assert (_slot(client, "ho-tich", 9)["capacity"], _slot(client, "ho-tich", 9)["free"]) == (4, 3)
    assert _slot(client, "y-te", 9)["free"] == 3                # a service that now takes bookings
    code = book(client, "p-2", "ho-tich", at(8, 0), "0922222222")["code"]
    assert client.get(f"{A}/bookings/{code}").json["check_in_closes"] == at(8, 20).isoformat()
    [event] = _events(day)
    assert event.data["by"] == "quantri" and event.data["sections"] == ["bookings"]
    assert event.data["before"]["bookings"]["capacity"]["ho-tich"] == 2
    assert event.data["after"]["bookings"]["capacity"] == {"ho-tich": 4, "dat-dai": 1, "thue": 1, "y-te": 3}

    # the slot length: 60-minute slots from the session's 07:30 start (once no booking stands on 08:00 or 09:00)
    for c in (first, code):
        assert client.post(f"{A}/bookings/{c}/cancel").status_code == 200
    assert _change(client, admin, _bookings(client, admin, slot_minutes=60)).status_code == 200
    starts = [s["start"][11:16] for s in client.get(f"{A}/bookings/slots?service=dat-dai&day=2026-11-23").json["slots"]]
    assert starts[:2] == ["07:30", "08:30"] and "08:00" not in starts
    # no slot_minutes: one slot per working session
    assert _change(client, admin, _bookings(client, admin, slot_minutes=None)).status_code == 200
    assert len(client.get(f"{A}/bookings/slots?service=dat-dai&day=2026-11-23").json["slots"]) == 2


@pytest.mark.parametrize(("changes", "needle"), [
    ({"capacity": {"ho-tich": -1}}, "bookings.capacity.ho-tich: expected a whole number"),
    ({"capacity": {"ho-tich": "nhiều"}}, "bookings.capacity.ho-tich"),
    ({"capacity": {"khong-co": 2}}, "bookings.capacity.khong-co: no such service"),
    ({"slot_minutes": 3}, "bookings.slot_minutes: must be between 5 and 600"),
    ({"per_person_per_day": 0}, "bookings.per_person_per_day"),
    ({"late_min": "15"}, "bookings.late_min: expected int"),
    ({"path": "/tmp/x.sqlite3"}, "bookings.path: not a key that can be changed live"),
    ({"placement": "arrival"}, "bookings.placement: not a key that can be changed live"),
])
def test_bad_values_are_refused_with_the_key(day: Any, changes: dict[str, Any], needle: str) -> None:
    client = day.app.test_client()
    admin = login(client, "quantri")
    _refused(day, client, admin, _bookings(client, admin, **changes), needle)


def test_bookings_already_made_are_never_stranded(day: Any) -> None:
    client = day.app.test_client()
    admin = login(client, "quantri")
    book(client, "p-1", "ho-tich", at(8, 0), "0911111111")
    book(client, "p-2", "ho-tich", at(8, 0), "0922222222")
    book(client, "p-3", "dat-dai", at(9, 30), "0933333333")
    # capacity below the bookings a slot holds: refused, naming the slot and how many
    _refused(day, client, admin, _bookings(client, admin, capacity={"ho-tich": 1}),
             "bookings.capacity.ho-tich: 1 is below the 2 booking(s) already held for 23/11/2026 08:00",
             "không thể giảm xuống 1")
    # a service that stops taking bookings while some are held
    doc = _bookings(client, admin)
    del doc["bookings"]["capacity"]["dat-dai"]
    _refused(day, client, admin, doc, "bookings.capacity.dat-dai: 1 booking(s) already held for 23/11/2026 09:30")
    # a slot length the 09:30 booking no longer starts
    _refused(day, client, admin, _bookings(client, admin, slot_minutes=60), "would no longer start a slot",
             "ho-tich at 23/11/2026 08:00")
    # an announced day off on a day with bookings
    _refused(day, client, admin, {"calendar": {"days_off": ["2026-11-23"], "makeup_days": []}},
             "would no longer start a slot")
    # down to exactly what is held: accepted, every booking kept
    assert _change(client, admin, _bookings(client, admin, capacity={"ho-tich": 2})).status_code == 200
    # once the 08:00 slot has started its bookings no longer bind a change
    day.clock.set(at(8, 5))
    assert _change(client, admin, _bookings(client, admin, capacity={"ho-tich": 1})).status_code == 200
    assert len(day.engagement.bookings.store.on_day(at(8).date())) == 3


def test_a_service_bookings_name_cannot_be_removed_alone(day: Any) -> None:
    client = day.app.test_client()
    admin = login(client, "quantri")
    live = _live(client, admin)
    services = [s for s in live["services"] if s["code"] != "thue"]
    counters = [{**c, "services": [x for x in c["services"] if x != "thue"]} for c in live["counters"]]
    counters = [c for c in counters if c["services"]]
    _refused(day, client, admin, {"services": services, "counters": counters},
             "services: 'thue' cannot be removed: [bookings] capacity still lists it")
    # with [bookings] in the same change (no booking held for it): accepted
    doc = _bookings(client, admin)
    del doc["bookings"]["capacity"]["thue"]
    r = _change(client, admin, {"services": services, "counters": counters, **doc})
    assert r.status_code == 200, r.json
    assert "thue" not in day.engagement.bookings.rules.capacity
    assert client.get(f"{A}/bookings/slots?service=thue&day=2026-11-23").json["slots"] == []


def test_sections_a_file_does_not_turn_on_are_refused(tmp_path: Path) -> None:
    raw = _raw(tmp_path)
    del raw["bookings"]
    hub = build_hub(settings_from_dict(raw), clock=FixedClock(at(7)), extra_blueprints=[])
    try:
        client = hub.app.test_client()
        admin = login(client, "quantri")
        assert "bookings" not in _live(client, admin)
        r = _change(client, admin, {"bookings": {"capacity": {"ho-tich": 2}}})
        assert r.status_code == 400 and r.json["error"]["message"].startswith("bookings: not turned on")
        r = _change(client, admin, {"notifications": {"turn_near_at": 2}})
        assert r.status_code == 400 and r.json["error"]["message"].startswith("notifications: not turned on")
        r = _change(client, admin, {"colours": {}})
        assert r.status_code == 400 and "colours: not a section that can be changed live" in r.json["error"]["message"]
    finally:
        hub.stop()


def test_templates_change_live_and_bad_ones_are_refused(tmp_path: Path) -> None:
    raw = _raw(tmp_path, notifications={"sms": {"url": "http://127.0.0.1:9/sms"}, "turn_near_at": 3})
    hub = build_hub(settings_from_dict(raw), clock=FixedClock(at(7)), extra_blueprints=[])
    try:
        client = hub.app.test_client()
        admin = login(client, "quantri")
        doc = _live(client, admin)["notifications"]
        assert doc["turn_near_at"] == 3 and "{counter}" in doc["templates"]["called"]
        doc["templates"]["called"] = "{center}: xin mời số {number} đến {counter}."
        doc["turn_near_at"] = 5
        assert _change(client, admin, {"notifications": doc}).status_code == 200
        notifications = hub.engagement.notifications
        assert notifications.outbox.templates["called"].startswith("{center}: xin mời")
        assert notifications.rules.turn_near_at == 5
        for bad, needle in ((dict(doc, templates={"called": "{phone}"}), "notifications.templates.called"),
                            (dict(doc, templates={"goodbye": "x"}), "notifications.templates.goodbye"),
                            (dict(doc, turn_near_at=-1), "notifications.turn_near_at"),
                            (dict(doc, sms={"url": "http://x"}), "notifications.sms: not a key")):
            r = _change(client, admin, {"notifications": bad})
            assert r.status_code == 400 and needle in r.json["error"]["message"], r.json
        assert notifications.rules.turn_near_at == 5
    finally:
        hub.stop()


def test_a_restart_and_the_export_keep_the_live_bookings(tmp_path: Path) -> None:
    from api_support import PASSWORD
    from werkzeug.security import generate_password_hash

    from queue_server.__main__ import cmd_config_export
    from queue_server.config import load_settings
    from runtime.settings.edit import dump_toml

    raw = _raw(tmp_path)
    strong = generate_password_hash(PASSWORD)           # a config file is held to config check's hash rules
    raw["users"] = [{**u, "password_hash": strong} for u in raw["users"]]
    path = tmp_path / "center.toml"
    path.write_text(dump_toml(raw), encoding="utf-8")
    clock = FixedClock(at(7))
    hub = build_hub(load_settings(path), clock=clock, extra_blueprints=[])
    client = hub.app.test_client()
    admin = login(client, "quantri")
    assert _change(client, admin, _bookings(client, admin, capacity={"dat-dai": 6}, early_min=45)).status_code == 200
    hub.stop()
    hub = build_hub(load_settings(path), clock=clock, extra_blueprints=[])
    try:
        rules = hub.engagement.bookings.rules
        assert (rules.capacity["dat-dai"], rules.early_min) == (6, 45)
        assert _slot(hub.app.test_client(), "dat-dai", 9)["capacity"] == 6
    finally:
        hub.stop()
    out = tmp_path / "exported.toml"
    assert cmd_config_export(argparse.Namespace(config=path, output=out)) == 0
    exported = tomllib.loads(out.read_text(encoding="utf-8"))
    assert exported["bookings"]["capacity"]["dat-dai"] == 6 and exported["bookings"]["early_min"] == 45
    assert load_settings(out).bookings.rules.capacity["dat-dai"] == 6     # what config check accepts
