"""The real hub (queue_server.wiring.build_hub) with a [province] table: the hub's events reach a real province
service and PostgreSQL through the second outbox sink; the hub's signed replay endpoint re-sends from a seq; the
province's HTTP ingest refuses what it must (bad signature, unknown center, malformed events, database down)."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests
from api_support import MONDAY_0800, login, make_settings

from province.config import config_from_dict
from province.web import ProvinceServer
from queue_server.adapters.main_system import signed_headers
from queue_server.app.ports import FixedClock
from queue_server.broker import free_port
from queue_server.config import ConfigError, settings_from_dict
from queue_server.web.common import API_PREFIX
from queue_server.wiring import build_hub
from tests.province.pgfix import pg_dsn, pg_server  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(90)]

KEY = "khoa-tinh-cua-trung-tam-0123456789"


@pytest.fixture
def province(pg_dsn: str) -> Iterator[ProvinceServer]:
    config = config_from_dict({"province": {"dsn": pg_dsn, "port": free_port(), "threads": 4},
                               "centers": [{"id": "hcc-quang-tri", "key": KEY}]}, environ={})
    server = ProvinceServer(config)
    server.start()
    yield server
    server.stop()


def hub_settings(tmp_path: Path, url: str, **extra: object):  # type: ignore[no-untyped-def]
    base = make_settings(tmp_path)
    from dataclasses import replace

    from queue_server.adapters.province_sink import parse_province
    return replace(base, province=parse_province({"url": url, "key": KEY, **extra}, base.store_path))


def applied(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT applied_seq FROM centers WHERE center = 'hcc-quang-tri'").fetchone()
    return int(row[0]) if row else 0


def test_hub_events_reach_the_province_and_replay_on_request(tmp_path: Path, province: ProvinceServer,
                                                             pg_dsn: str) -> None:
    settings = hub_settings(tmp_path, province.url + "/api/v1/events")
    assert settings.center.id == "hcc-quang-tri"
    hub = build_hub(settings, clock=FixedClock(MONDAY_0800), extra_blueprints=[], keepalive_s=0.05)
    hub.start_background()
    try:
        client = hub.app.test_client()
        staff = login(client, "canbo")
        for _ in range(5):
            assert client.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich"}).status_code == 201
        counter = next(c["id"] for c in client.get(f"{API_PREFIX}/config").json["counters"]
                       if "ho-tich" in c["services"])
        for action in ("open", "call-next", "start", "complete"):
            assert client.post(f"{API_PREFIX}/counters/{counter}/{action}", headers=staff).status_code == 200
        last = hub.service.last_seq
        deadline = time.monotonic() + 20
        while applied(pg_dsn) < last and time.monotonic() < deadline:
            time.sleep(0.05)
        assert applied(pg_dsn) == last
        assert province.store.monthly(MONDAY_0800.date())[0]["served"] == 1

        # the province lost everything after seq 3; an operator asks the hub (signed) to replay from 4
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM events WHERE center = 'hcc-quang-tri' AND seq > 3")
        body = json.dumps({"from_seq": 4}).encode()
        assert client.post(f"{API_PREFIX}/province/replay", data=body,
                           content_type="application/json").status_code == 401      # JSON, but unsigned
        ok = client.post(f"{API_PREFIX}/province/replay", data=body, headers=signed_headers(KEY, body),
                         content_type="application/json")      # as province/replay.py sends it
        assert ok.status_code == 200
        deadline = time.monotonic() + 20
        while len(province.store.events_of("hcc-quang-tri")) < last and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [s for s, _ in province.store.events_of("hcc-quang-tri")] == list(range(1, last + 1))
    finally:
        hub.stop()


def test_province_table_in_the_hub_config(tmp_path: Path) -> None:
    import tomllib

    from api_support import EXAMPLE
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw["province"] = {"url": "https://tinh.example.vn/api/v1/events", "key": KEY, "center_id": "xa-khac"}
    with pytest.raises(ConfigError, match="province.center_id"):
        settings_from_dict(raw)
    raw["province"] = {"url": "https://tinh.example.vn/api/v1/events", "key": "short"}
    with pytest.raises(ConfigError, match="at least 16"):
        settings_from_dict(raw)
    raw["province"] = {"url": "https://tinh.example.vn/api/v1/events", "key": KEY}
    settings = settings_from_dict(raw)
    assert settings.province.key == KEY
    redacted = json.dumps(settings.redacted())
    assert KEY not in redacted and '"province": {"url": "https://tinh.example.vn/api/v1/events", "key": "***"}' \
        in redacted


def test_ingest_refuses_what_it_must(province: ProvinceServer, pg_server) -> None:  # type: ignore[no-untyped-def]
    url = province.url + "/api/v1/events"
    event = {"id": "e1", "seq": 1, "type": "ticket.issued", "center": "hcc-quang-tri", "at": "2026-11-23T08:00:00+07:00",
             "data": {}}

    def post(body: object, center: str = "hcc-quang-tri", key: str = KEY) -> requests.Response:
        raw = json.dumps(body).encode()
        return requests.post(url, data=raw, timeout=10,
                             headers={"X-Motcua-Center": center, **signed_headers(key, raw)})

    assert post({"events": [event]}, center="xa-la").status_code == 403
    assert post({"events": [event]}, key="khoa-sai-0123456789abcdef").status_code == 401
    bad = post({"events": [event, {**event, "seq": 2, "center": "other"}]})
    assert bad.status_code == 422 and "center" in bad.json()["error"]["message"]
    assert province.store.events_of("hcc-quang-tri") == []
    ok = post({"events": [event]})
    assert ok.status_code == 200 and ok.json()["applied_seq"] == 1
    assert post(event).json()["duplicates"] == 1                       # one bare envelope, already stored


def test_a_silent_gap_is_swept_by_asking_the_hub(tmp_path: Path, pg_dsn: str) -> None:
    """The province restored an old backup and the hub has gone quiet: no delivery can carry replay_from, so the
    gap sweep calls the hub's signed replay endpoint (hub_url) and the hub re-sends."""
    port = free_port()
    config = config_from_dict({"province": {"dsn": pg_dsn, "port": port, "threads": 4}, "centers": [
        {"id": "hcc-quang-tri", "key": KEY, "hub_url": "http://127.0.0.1:1"}]}, environ={})
    province = ProvinceServer(config, sweep_every_s=0)
    province.start()
    hub = build_hub(hub_settings(tmp_path, province.url + "/api/v1/events"), clock=FixedClock(MONDAY_0800),
                    extra_blueprints=[], keepalive_s=0.05)
    hub.start_background()
    hub_port = hub.serve_in_thread("127.0.0.1", 0)
    try:
        for _ in range(6):
            hub.service.issue_ticket("ho-tich")
        last = hub.service.last_seq
        deadline = time.monotonic() + 20
        while applied(pg_dsn) < last and time.monotonic() < deadline:
            time.sleep(0.05)
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM events WHERE center = 'hcc-quang-tri' AND seq > 2 AND seq < %s", (last,))
            conn.execute("UPDATE centers SET applied_seq = 2, last_received_at = now() - interval '1 hour' "
                         "WHERE center = 'hcc-quang-tri'")
        assert province.sweep_once() == []                 # hub_url unreachable: logged, nothing asked
        province.config = config_from_dict({"province": {"dsn": pg_dsn, "port": port}, "centers": [
            {"id": "hcc-quang-tri", "key": KEY, "hub_url": f"http://127.0.0.1:{hub_port}"}]}, environ={})
        assert province.sweep_once() == ["hcc-quang-tri"]
        deadline = time.monotonic() + 20
        while applied(pg_dsn) < last and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [s for s, _ in province.store.events_of("hcc-quang-tri")] == list(range(1, last + 1))
    finally:
        hub.stop()
        province.stop()
