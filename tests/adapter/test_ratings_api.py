"""Ratings over HTTP and MQTT-command form, on a real SQLite file: one per ticket, one per dossier code ever."""
from __future__ import annotations

import re
import sqlite3
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ
from queue_server.adapters.ratings_store import RatingsStore
from queue_server.app.ports import FixedClock
from queue_server.app.ratings_service import RatingsService, make_submit_rating_command
from queue_server.domain.model import CounterId, ServiceCode, Ticket, TicketId, TicketNumber, TicketStatus
from queue_server.domain.ratings import DEFAULT_LEVELS, scale_from_levels
from queue_server.web.ratings import make_ratings_blueprint

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]


def OPEN(role: str) -> None:
    """A bare app without the hub's logins: the manager-only aggregates are open here."""

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ)
CODE = "000.00.12.H38-241023-0001"


def done(n: int, counter: str = "5") -> Ticket:
    return Ticket(TicketId(f"20261123-ho-tich-{n}"), date(2026, 11, 23), ServiceCode("ho-tich"),
                  ServiceCode("ho-tich"), TicketNumber("A", n), TicketStatus.DONE, T0 - timedelta(minutes=20),
                  done_at=T0, counter=CounterId(counter), staff="lan")


class Hub:
    """Stands in for QueueService.last_completed: which ticket each counter completed last."""

    def __init__(self) -> None:
        self.last: dict[str, Ticket | None] = {"5": done(23), "6": None}

    def last_completed(self, counter: str) -> Ticket | None:
        if counter not in self.last:
            raise MotcuaError(ErrorCode.UNKNOWN_COUNTER, f"unknown counter {counter!r}")
        return self.last[counter]


@pytest.fixture
def setup(tmp_path: Path):
    hub = Hub()
    clock = FixedClock(T0 + timedelta(minutes=1))
    published: list[tuple[str, dict[str, Any]]] = []
    store = RatingsStore(tmp_path / "motcua.sqlite3")
    service = RatingsService(store, clock, hub.last_completed, lambda t, d: published.append((t, d)), center="q1")
    app = Flask(__name__)
    app.register_blueprint(make_ratings_blueprint(service, require_role=OPEN))
    yield SimpleNamespace(client=app.test_client(), service=service, hub=hub, clock=clock, published=published,
                          store=store)
    store.close()


def test_rating_is_stored_and_published_then_a_second_one_is_refused(setup) -> None:
    client, published, store = setup.client, setup.published, setup.store
    r = client.post("/api/v1/ratings", json={"counter": "5", "level": 3, "dossier_codes": [CODE.lower()]})
    assert r.status_code == 201, r.json
    rating = r.json["rating"]
    assert rating["ticket_id"] == "20261123-ho-tich-23" and rating["level"] == 3 and rating["staff"] == "lan"
    assert rating["dossier_codes"] == [CODE]       # normalised
    assert published == [("rating.submitted", {**rating, "scale": {"lowest": 1, "best": 3}})]
    again = client.post("/api/v1/ratings", json={"counter": "5", "level": 1})
    assert again.status_code == 409
    assert again.json["error"]["code"] == "already_rated"
    assert "A023" in again.json["error"]["message"]
    assert store.count() == 1 and len(published) == 1


def test_a_dossier_code_is_rated_only_once_ever(setup) -> None:
    client, hub, store = setup.client, setup.hub, setup.store
    assert client.post("/api/v1/ratings", json={"counter": "5", "level": 2, "dossier_codes": [CODE]}).status_code == 201
    hub.last["5"] = done(24)                  # the next citizen brings the same dossier back
    r = client.post("/api/v1/ratings", json={"counter": "5", "level": 3, "dossier_codes": [CODE]})
    assert r.status_code == 409 and r.json["error"]["code"] == "already_rated"
    assert CODE in r.json["error"]["message"]
    assert store.count() == 1 and store.for_ticket("20261123-ho-tich-24") is None   # nothing half-written
    # without the dossier code, ticket 24 itself may still be rated
    assert client.post("/api/v1/ratings", json={"counter": "5", "level": 3}).status_code == 201


def test_store_constraints_hold_even_without_the_service_checks(tmp_path: Path) -> None:
    store = RatingsStore(tmp_path / "x.sqlite3")
    RatingsStore(tmp_path / "x.sqlite3").close()            # migrations are idempotent
    from queue_server.domain.ratings import new_rating
    store.add(new_rating("a", done(1), "5", 3, T0, dossier_codes=[CODE]))
    with pytest.raises(MotcuaError) as err:
        store.add(new_rating("b", done(1), "5", 2, T0))
    assert err.value.code == ErrorCode.ALREADY_RATED
    with pytest.raises(MotcuaError):
        store.add(new_rating("c", done(2), "5", 2, T0, dossier_codes=[CODE]))
    conn = sqlite3.connect(tmp_path / "x.sqlite3")
    assert conn.execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM rating_dossiers").fetchone()[0] == 1
    store.close()


def test_racing_pads_store_exactly_one_rating(tmp_path: Path) -> None:
    # Eight submitters on their own connections (as a pad via MQTT and a tablet via HTTP would be), all at once.
    hub = Hub()
    clock = FixedClock(T0)
    stores = [RatingsStore(tmp_path / "race.sqlite3") for _ in range(8)]
    services = [RatingsService(s, clock, hub.last_completed) for s in stores]
    barrier = threading.Barrier(len(services))
    results: list[str] = []

    def go(svc: RatingsService) -> None:
        barrier.wait()
        try:
            svc.submit("5", 3)
            results.append("ok")
        except MotcuaError as err:
            results.append(str(err.code))

    threads = [threading.Thread(target=go, args=(s,)) for s in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["already_rated"] * 7 + ["ok"]
    assert stores[0].count() == 1
    for s in stores:
        s.close()


def test_refusals_are_clear(setup) -> None:
    client, clock, published, store = setup.client, setup.clock, setup.published, setup.store
    cases = [
        ({"counter": "6", "level": 3}, 409, "nothing_to_rate"),
        ({"counter": "9", "level": 3}, 404, "unknown_counter"),
        ({"counter": "5", "level": 7}, 400, "bad_request"),
        ({"counter": "5"}, 400, "bad_request"),
        ({"counter": "5", "level": 3, "dossier_codes": ["not a code"]}, 400, "invalid_dossier_code"),
        ({"counter": "5", "level": 3, "dossier_codes": CODE}, 400, "bad_request"),
        ({"counter": "5", "level": 3, "criteria": {"x": 1}}, 400, "bad_request"),
        ({"counter": "5", "level": 3, "extra": 1}, 400, "bad_request"),
    ]
    for body, status, code in cases:
        r = client.post("/api/v1/ratings", json=body)
        assert (r.status_code, r.json["error"]["code"]) == (status, code), body
        assert r.json["error"]["message"]
    r = client.post("/api/v1/ratings", data="nope", content_type="application/json")
    assert r.status_code == 400
    clock.advance(minutes=30)
    r = client.post("/api/v1/ratings", json={"counter": "5", "level": 3})
    assert (r.status_code, r.json["error"]["code"]) == (409, "rating_window_closed")
    assert store.count() == 0 and published == []


def test_pending_aggregates_and_the_mqtt_command(setup) -> None:
    client, service, hub = setup.client, setup.service, setup.hub
    assert client.get("/api/v1/ratings/pending/5").json == {
        "rateable": True, "ticket": "A023", "ticket_id": "20261123-ho-tich-23", "code": None}
    assert client.get("/api/v1/ratings/pending/6").json["code"] == "nothing_to_rate"
    command = make_submit_rating_command(service)
    out = command({"counter": 5, "level": 3, "source": "pad-05"})
    assert out["rating"]["source"] == "pad-05"
    with pytest.raises(MotcuaError) as err:
        command({"counter": "5", "level": 3})
    assert err.value.code == ErrorCode.ALREADY_RATED
    assert client.get("/api/v1/ratings/pending/5").json["code"] == "already_rated"
    hub.last["6"] = done(30, "6")
    assert client.post("/api/v1/ratings", json={"counter": 6, "level": 1}).status_code == 201
    agg = client.get("/api/v1/ratings/aggregates?day=2026-11-23").json
    assert agg["count"] == 2 and agg["levels"] == {"3": 1, "2": 0, "1": 1} and agg["day"] == "2026-11-23"
    assert agg["counters"]["5"]["count"] == 1 and agg["services"]["ho-tich"]["count"] == 2
    assert client.get("/api/v1/ratings/aggregates").json["count"] == 2          # today by the hub's clock
    assert client.get("/api/v1/ratings/aggregates?day=2026-11-22").json["count"] == 0
    assert client.get("/api/v1/ratings/aggregates?day=hôm-qua").status_code == 400
    week = client.get("/api/v1/ratings/aggregates?from=2026-11-17&to=2026-11-23").json
    assert week["count"] == 2 and week["days"]["2026-11-23"]["count"] == 2 and week["from"] == "2026-11-17"
    for bad in ("from=2026-11-23", "from=2026-11-23&to=2026-11-01", "from=2026-01-01&to=2027-12-31"):
        assert client.get(f"/api/v1/ratings/aggregates?{bad}").json["error"]["code"] == "bad_request"
    assert [lv["value"] for lv in client.get("/api/v1/ratings/scale").json["levels"]] == [3, 2, 1]


def test_tablet_page_is_vietnamese_and_self_contained(setup) -> None:
    client = setup.client
    r = client.get("/rate/5")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    for text in ("Rất hài lòng", "Hài lòng", "Không hài lòng", "quầy 5", 'lang="vi"'):
        assert text in page
    assert not re.search(r"(src|href)=[\"']https?://", page)       # no CDN
    # issue 11: the script is a file of the hub's own (CSP: no inline script), still no CDN
    assert '<script src="/rate-page.js"></script>' in page and "<script>" not in page
    assert "/api/v1/ratings" in client.get("/rate-page.js").get_data(as_text=True)


def test_criteria_are_stored_listed_in_the_scale_and_aggregated(tmp_path: Path) -> None:
    hub = Hub()
    store = RatingsStore(tmp_path / "motcua.sqlite3")
    scale = scale_from_levels(DEFAULT_LEVELS, window_min=15,
                              criteria=[("thai-do", "Thái độ phục vụ", "Attitude"),
                                        ("thoi-gian", "Thời gian giải quyết", "Time taken")])
    service = RatingsService(store, FixedClock(T0 + timedelta(minutes=12)), hub.last_completed, scale=scale)
    app = Flask(__name__)
    app.register_blueprint(make_ratings_blueprint(service, require_role=OPEN))
    client = app.test_client()
    try:
        listed = client.get("/api/v1/ratings/scale").json
        assert [c["code"] for c in listed["criteria"]] == ["thai-do", "thoi-gian"] and listed["window_min"] == 15
        page = client.get("/rate/5").get_data(as_text=True)
        assert "Thái độ phục vụ" in page and "Thời gian giải quyết" in page and "Gửi ngay" in page
        # 12 min after completion: inside this center's 15-minute window (the default 10 would refuse it)
        r = client.post("/api/v1/ratings", json={"counter": "5", "level": 2, "criteria": {"thai-do": 3}})
        assert r.status_code == 201, r.json
        assert r.json["rating"]["criteria"] == {"thai-do": 3}
        assert store.for_ticket("20261123-ho-tich-23") is not None
        agg = client.get("/api/v1/ratings/aggregates?day=2026-11-23").json
        assert agg["criteria"]["thai-do"] == {"count": 1, "levels": {"3": 1, "2": 0, "1": 0}, "average": 3.0,
                                              "top_share": 1.0}
        assert agg["criteria"]["thoi-gian"]["count"] == 0
        assert agg["counters"]["5"]["criteria"]["thai-do"]["count"] == 1
    finally:
        store.close()


def test_a_rating_on_a_five_level_scale_is_published_with_its_ends(tmp_path: Path) -> None:
    """The province reads the scale's ends from the event (it has no copy of the hub's config)."""
    hub = Hub()
    store = RatingsStore(tmp_path / "motcua.sqlite3")
    published: list[tuple[str, dict[str, Any]]] = []
    levels = [SimpleNamespace(value=v, label=f"Mức {v}", label_en=f"Level {v}") for v in (5, 4, 3, 2, 1)]
    service = RatingsService(store, FixedClock(T0 + timedelta(minutes=1)), hub.last_completed,
                             lambda t, d: published.append((t, d)), scale=scale_from_levels(levels))
    try:
        service.submit("5", 4)
        assert published[0][0] == "rating.submitted"
        assert published[0][1]["level"] == 4 and published[0][1]["scale"] == {"lowest": 1, "best": 5}
    finally:
        store.close()
