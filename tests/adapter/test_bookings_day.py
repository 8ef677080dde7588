"""Bookings in a real hub (build_hub: SQLite files, the Flask app, the FixedClock): a simulated day mixing bookings
and walk-ins. Booked tickets enter at their place, capacity and anti-hoarding hold, early and late arrivals get the
explanation and the walk-in offer, no-shows release their place, a released slot is rebooked, a push twice is
stored once, and the event log carries no personal data."""
from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from api_support import EXAMPLE, FAST_HASH, PASSWORD

from contracts.messages import VN_TZ
from queue_server.app.ports import FixedClock
from queue_server.config import ConfigError, settings_from_dict
from queue_server.wiring import build_hub

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]

DAY = datetime(2026, 11, 23, tzinfo=VN_TZ)          # a Monday
PUSH_TOKEN = "portal-token-for-tests-0123456789"


def at(hh: int, mm: int = 0) -> datetime:
    return DAY.replace(hour=hh, minute=mm)


def raw_settings(tmp: Path, **extra: Any) -> dict[str, Any]:
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw["store"] = {"path": str(tmp / "hub.sqlite3")}
    raw["mqtt"] = {"enabled": False}
    raw["users"] = [{"username": u, "role": r, "password_hash": FAST_HASH}
                    for u, r in (("canbo", "staff"), ("quanly", "manager"))]
    raw["security"] = {"device_keys": []}
    raw["integration"] = {"push_tokens": [PUSH_TOKEN]}
    raw["bookings"] = {"capacity": {"ho-tich": 2, "dat-dai": 1, "thue": 1}, "slot_minutes": 30, "early_min": 30,
                       "late_min": 15, "per_person_per_day": 2, "per_person_per_service_per_day": 1}
    raw.update(extra)
    return raw


@pytest.fixture
def day(tmp_path: Path) -> Iterator[Any]:
    clock = FixedClock(at(7, 0))
    hub = build_hub(settings_from_dict(raw_settings(tmp_path)), clock=clock, extra_blueprints=[])
    hub.clock = clock
    yield hub
    hub.stop()


def book(client: Any, external_id: str, service: str, start: datetime, person: str) -> dict[str, Any]:
    r = client.post("/api/v1/integration/bookings", headers={"Authorization": f"Bearer {PUSH_TOKEN}"},
                    json={"bookings": [{"external_id": external_id, "service": service,
                                        "slot_start": start.isoformat(), "person_id": person}]})
    assert r.status_code == 200, r.json
    result: dict[str, Any] = r.json["results"][0]
    return result


def check_in(client: Any, code: str) -> Any:
    return client.post(f"/api/v1/bookings/{code}/check-in", json={"kiosk": "k1"})


def scan(client: Any, text: str) -> Any:
    return client.post("/api/v1/bookings/check-in", json={"scan": text, "kiosk": "k1"})


def walk_in(client: Any, service: str = "ho-tich") -> str:
    r = client.post("/api/v1/tickets", json={"service": service})
    assert r.status_code == 201, r.json
    return str(r.json["ticket"]["id"])


def test_a_day_of_bookings_and_walk_ins(day: Any) -> None:
    client = day.app.test_client()
    # --- before opening: bookings arrive from the portal
    a = book(client, "p-1", "ho-tich", at(8, 0), "0912 345 678")
    b = book(client, "p-2", "ho-tich", at(8, 0), "001099012345")         # a CCCD number
    assert a["stored"] == b["stored"] == "created"
    full = book(client, "p-3", "ho-tich", at(8, 0), "0987654321")
    assert (full["stored"], full["reason"]) == ("refused", "full")
    # anti-hoarding: one per service a day, two a day
    assert book(client, "p-4", "ho-tich", at(9, 0), "+84912345678")["reason"] == "person_service_limit"
    assert book(client, "p-5", "dat-dai", at(9, 0), "0912345678")["stored"] == "created"
    assert book(client, "p-6", "thue", at(9, 0), "0912345678")["reason"] == "person_day_limit"
    # a push retried is stored once, with the same code
    again = book(client, "p-1", "ho-tich", at(8, 0), "0912 345 678")
    assert (again["stored"], again["code"]) == ("duplicate", a["code"])
    late_one = book(client, "p-7", "ho-tich", at(8, 30), "0900000007")
    # a slot that is not a slot, a service without bookings
    assert book(client, "p-8", "ho-tich", at(8, 10), "0900000008")["reason"] == "not_a_slot"
    assert book(client, "p-9", "y-te", at(8, 0), "0900000009")["reason"] == "not_bookable"

    slots = client.get("/api/v1/bookings/slots?service=ho-tich&day=2026-11-23").json["slots"]
    eight = next(s for s in slots if s["start"] == at(8, 0).isoformat())
    assert (eight["taken"], eight["free"]) == (2, 0)

    # --- too early: explained, with the walk-in offer
    day.clock.set(at(7, 20))
    r = check_in(client, a["code"])
    assert r.status_code == 409
    err = r.json["error"]
    assert err["reason"] == "too_early" and err["walk_in_offered"] is True and err["service"] == "ho-tich"
    assert "07:30" in err["message_vi"] and "sớm" in err["message_vi"]
    assert check_in(client, "ACDEFG").status_code == 404                   # unknown code: a clear 404

    # --- walk-ins and check-ins
    day.clock.set(at(7, 40))
    w1 = walk_in(client)
    day.clock.set(at(7, 50))
    w2 = walk_in(client)
    day.clock.set(at(7, 55))
    ra = scan(client, f"MOTCUA-BK:{a['code']}")                              # scanned QR
    assert ra.status_code == 201, ra.json
    ta = ra.json["ticket"]["id"]
    assert check_in(client, a["code"]).json["error"]["reason"] == "already_used"
    day.clock.set(at(8, 5))
    w3 = walk_in(client)
    day.clock.set(at(8, 10))
    rb = scan(client, "https://hcc.example.vn/b/" + b["code"].lower())      # the link's QR, in lower case
    assert rb.status_code == 201, rb.json
    tb = rb.json["ticket"]["id"]
    assert rb.json["ticket"]["queued_at"].startswith("2026-11-23T08:00")   # its slot's place, not 08:10
    order = [str(t.id) for t in day.service.waiting("ho-tich")]
    assert order == [w1, w2, ta, tb, w3]                                     # B ahead of the later walk-in

    # --- the 08:30 booking never comes: no-show at 08:46, too late to check in, the place is free again
    day.clock.set(at(8, 46))
    assert [x.code for x in day.engagement.bookings.sweep()] == [late_one["code"]]
    late = check_in(client, late_one["code"]).json["error"]
    assert late["reason"] == "too_late" and late["walk_in_offered"] is True and "08:45" in late["message_vi"]

    # --- a cancelled place is booked again
    day.clock.set(at(9, 0))
    later = book(client, "p-10", "thue", at(10, 0), "0900000010")
    assert book(client, "p-11", "thue", at(10, 0), "0900000011")["reason"] == "full"
    assert client.post(f"/api/v1/bookings/{later['code']}/cancel").status_code == 200
    assert book(client, "p-11b", "thue", at(10, 0), "0900000011")["stored"] == "created"

    # --- the figures
    token = client.post("/api/v1/auth/login", json={"username": "quanly", "password": PASSWORD}).json
    stats = client.get("/api/v1/stats/bookings?from=2026-11-23",
                       headers={"Authorization": f"Bearer {token['token']}"}).json
    assert stats["totals"] == {"booked": 2, "checked_in": 2, "no_show": 1, "cancelled": 1}
    assert stats["no_show_rate"] == round(1 / 3, 3)
    assert client.get("/api/v1/stats/bookings").status_code == 401          # managers only

    # --- no personal data in the event log
    log = json.dumps([e.data for e in day.service.events_after(0)], ensure_ascii=False)
    for secret in ("912345678", "001099012345", "0900000007"):
        assert secret not in log
    kinds = [e.type for e in day.service.events_after(0) if e.type.startswith("booking.")]
    assert kinds.count("booking.created") == 6 and "booking.no_show" in kinds and "booking.checked_in" in kinds


def test_unsigned_pushes_are_refused(day: Any) -> None:
    client = day.app.test_client()
    body = {"bookings": [{"external_id": "x", "service": "ho-tich", "slot_start": at(8).isoformat(),
                          "person_id": "0912345678"}]}
    assert client.post("/api/v1/integration/bookings", json=body).status_code == 401
    r = client.post("/api/v1/integration/bookings", json=body, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert day.engagement.bookings.store.by_external_id("x") is None


def test_bookings_survive_a_restart(tmp_path: Path) -> None:
    clock = FixedClock(at(7, 0))
    settings = settings_from_dict(raw_settings(tmp_path))
    hub = build_hub(settings, clock=clock, extra_blueprints=[])
    code = book(hub.app.test_client(), "p-1", "ho-tich", at(8, 0), "0912345678")["code"]
    hub.stop()
    hub = build_hub(settings, clock=clock, extra_blueprints=[])
    try:
        client = hub.app.test_client()
        assert book(client, "p-1", "ho-tich", at(8, 0), "0912345678")["stored"] == "duplicate"
        clock.set(at(7, 45))
        assert check_in(client, code).status_code == 201
    finally:
        hub.stop()


@pytest.mark.parametrize(("section", "message"), [
    ({"bookings": {"capacity": {"nope": 1}}}, "bookings.capacity.nope"),
    ({"bookings": {"slot_minutes": 2}}, "bookings.slot_minutes"),
    ({"bookings": {"placement": "random"}}, "bookings.placement"),
    ({"bookings": {"colour": 1}}, "bookings.colour: unknown key"),
    ({"notifications": {}}, "no gateway configured"),
    ({"notifications": {"sms": {"url": "ftp://x"}}}, "notifications.sms.url"),
    ({"notifications": {"sms": {"url": "http://127.0.0.1:9/sms"}, "templates": {"called": "{phone}"}}},
     "notifications.templates.called"),
    ({"notifications": {"sms": {"url": "http://127.0.0.1:9/sms", "auth": "bearer"}}}, "notifications.sms.token"),
])
def test_bad_settings_are_named(tmp_path: Path, section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        settings_from_dict(raw_settings(tmp_path, **section))


def test_without_the_sections_nothing_changes(tmp_path: Path) -> None:
    raw = raw_settings(tmp_path)
    del raw["bookings"]
    hub = build_hub(settings_from_dict(raw), clock=FixedClock(at(8)), extra_blueprints=[])
    try:
        client = hub.app.test_client()
        assert hub.engagement is None
        assert client.post("/api/v1/bookings/ACDEFG/check-in", json={}).status_code == 404
        r = client.post("/api/v1/tickets", json={"service": "ho-tich", "contact": "0912345678"})
        assert r.status_code == 400 and "notifications are not enabled" in r.json["error"]["message"]
    finally:
        hub.stop()


def test_openapi_types_every_booking_route(day: Any) -> None:
    import re

    from queue_server.web.common import ROUTE_DOCS

    doc = day.app.test_client().get("/api/v1/openapi.json").json
    rules = [r for r in day.app.url_map.iter_rules() if r.endpoint.startswith("bookings.")]
    assert len(rules) == 10
    for rule in rules:
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len("/api/v1"):])
        assert rule.endpoint in ROUTE_DOCS
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            op = doc["paths"][path][method.lower()]
            (ok,) = [r["content"] for status, r in op["responses"].items() if status.startswith("2")]
            assert {"$ref", "properties", "items", "allOf"} & set(ok["application/json"]["schema"]), path
