"""HTTP API through the real Flask app, a real SQLite file and the real QueueService: bad input, roles, flows,
the OpenAPI document and the SSE stream."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import DEVICE_KEY, MONDAY_0800, PASSWORD, login, make_settings
from flask.testing import FlaskClient

from contracts.messages import Envelope
from queue_server.app.ports import FixedClock
from queue_server.web.common import API_PREFIX, ROUTE_DOCS
from queue_server.web.openapi import build_document
from queue_server.wiring import Hub, build_hub

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]

@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = build_hub(make_settings(tmp_path), clock=FixedClock(MONDAY_0800), extra_blueprints=[], keepalive_s=0.05)
    yield h
    h.stop()


@pytest.fixture
def client(hub: Hub) -> FlaskClient:
    return hub.app.test_client()


def assert_error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.is_json
    body = resp.json
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    return body


# ------------------------------------------------------------------------------------------ bad input

BAD_ISSUES = [
    ("malformed json", {"data": '{"service": "ho-tich"', "content_type": "application/json"}, 400, "bad_request"),
    ("not an object", {"json": ["ho-tich"]}, 400, "bad_request"),
    ("not utf-8", {"data": b'{"service": "\xff"}', "content_type": "application/json"}, 400, "bad_request"),
    ("wrong type", {"json": {"service": 5}}, 400, "bad_request"),
    ("boolean", {"json": {"service": True}}, 400, "bad_request"),
    ("missing service", {"json": {"priority": "nguoi-cao-tuoi"}}, 400, "bad_request"),
    ("empty service", {"json": {"service": "  "}}, 400, "bad_request"),
    ("unknown field", {"json": {"service": "ho-tich", "servcie": "x"}}, 400, "bad_request"),
    ("null service", {"json": {"service": None}}, 400, "bad_request"),
    ("unknown service", {"json": {"service": "dat-dai2"}}, 404, "unknown_service"),
    ("unknown priority", {"json": {"service": "ho-tich", "priority": "vip"}}, 400, "unknown_priority"),
    ("oversized", {"json": {"service": "ho-tich", "kiosk": "k" * 5000}}, 413, "payload_too_large"),
    ("empty body", {"data": b""}, 400, "bad_request"),
    ("deeply nested", {"data": "[" * 2000 + "]" * 2000}, 400, "bad_request"),
    ("duplicate key, last one wrong", {"data": '{"service": "ho-tich", "service": 5}'}, 400, "bad_request"),
    ("control character", {"data": '{"service": "ho\u0000tich"}'}, 400, "bad_request"),
]


@pytest.mark.parametrize(("why", "kwargs", "status", "code"), BAD_ISSUES, ids=[b[0] for b in BAD_ISSUES])
def test_bad_ticket_requests_get_json_errors_and_write_nothing(hub: Hub, client: FlaskClient, why: str,
                                                                kwargs: dict[str, Any], status: int, code: str) -> None:
    before = hub.service.last_seq
    assert_error(client.post(f"{API_PREFIX}/tickets", **kwargs), status, code)
    assert hub.service.last_seq == before
    assert hub.service.events_after(before) == []


def test_unknown_routes_methods_and_query_are_json_errors(client: FlaskClient) -> None:
    assert_error(client.get(f"{API_PREFIX}/nope"), 404, "not_found")
    assert_error(client.get("/favicon.ico"), 404, "not_found")
    assert_error(client.delete(f"{API_PREFIX}/tickets"), 405, "method_not_allowed")
    assert_error(client.get(f"{API_PREFIX}/tickets/20261123-ho-tich-999"), 404, "unknown_ticket")
    assert_error(client.get(f"{API_PREFIX}/stream?last_event_id=abc"), 400, "bad_request")
    assert_error(client.get(f"{API_PREFIX}/stream", headers={"Last-Event-ID": "x"}), 400, "bad_request")


def test_bad_counter_requests_write_nothing(hub: Hub, client: FlaskClient) -> None:
    staff = login(client, "canbo")
    client.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich"})
    before = hub.service.last_seq
    cases = [
        (client.post(f"{API_PREFIX}/counters/99/open", headers=staff), 404, "unknown_counter"),
        (client.post(f"{API_PREFIX}/counters/1/call-next", headers=staff), 409, "counter_not_open"),
        (client.post(f"{API_PREFIX}/counters/1/open", headers=staff, json={"x": 1}), 400, "bad_request"),
        (client.post(f"{API_PREFIX}/counters/1/pause", headers=staff, json={}), 400, "bad_request"),
        (client.post(f"{API_PREFIX}/counters/1/pause", headers=staff, json={"reason": 3}), 400, "bad_request"),
        (client.post(f"{API_PREFIX}/counters/1/transfer", headers=staff,
                     json={"service": "dat-dai", "counter": "3"}), 400, "bad_request"),
        (client.post(f"{API_PREFIX}/counters/1/call", headers=staff, json={}), 400, "bad_request"),
        (client.get(f"{API_PREFIX}/queue?service=nope", headers=staff), 404, "unknown_service"),
        (client.post(f"{API_PREFIX}/tickets/nope/cancel", headers=staff), 404, "unknown_ticket"),
    ]
    for resp, status, code in cases:
        assert_error(resp, status, code)
    assert hub.service.last_seq == before


# ------------------------------------------------------------------------------------------ roles

def test_roles(client: FlaskClient) -> None:
    assert_error(client.get(f"{API_PREFIX}/counters"), 401, "unauthenticated")
    assert_error(client.get(f"{API_PREFIX}/counters", headers={"Authorization": "Bearer nope"}), 401,
                 "unauthenticated")
    assert_error(client.post(f"{API_PREFIX}/counters/1/call-next"), 401, "unauthenticated")
    staff, manager, admin = login(client, "canbo"), login(client, "quanly"), login(client, "quantri")
    assert client.get(f"{API_PREFIX}/counters", headers=staff).status_code == 200
    assert_error(client.get(f"{API_PREFIX}/stats/today", headers=staff), 403, "forbidden")
    assert_error(client.get(f"{API_PREFIX}/events", headers=staff), 403, "forbidden")
    assert_error(client.get(f"{API_PREFIX}/admin/config", headers=staff), 403, "forbidden")
    assert client.get(f"{API_PREFIX}/stats/today", headers=manager).status_code == 200
    assert client.get(f"{API_PREFIX}/counters", headers=manager).status_code == 200
    assert_error(client.get(f"{API_PREFIX}/admin/config", headers=manager), 403, "forbidden")
    cfg = client.get(f"{API_PREFIX}/admin/config", headers=admin)
    assert cfg.status_code == 200 and "pbkdf2" not in cfg.get_data(as_text=True)
    # logout revokes the token at once
    assert client.post(f"{API_PREFIX}/auth/logout", headers=staff).status_code == 200
    assert_error(client.get(f"{API_PREFIX}/counters", headers=staff), 401, "unauthenticated")


def test_login_failures_and_lockout(client: FlaskClient) -> None:
    assert_error(client.post(f"{API_PREFIX}/auth/login", json={"username": "canbo", "password": "sai"}), 401,
                 "bad_credentials")
    assert_error(client.post(f"{API_PREFIX}/auth/login", json={"username": "ai-do", "password": "sai"}), 401,
                 "bad_credentials")
    assert_error(client.post(f"{API_PREFIX}/auth/login", json={"username": "canbo"}), 400, "bad_request")
    for _ in range(4):
        client.post(f"{API_PREFIX}/auth/login", json={"username": "canbo", "password": "sai"})
    assert_error(client.post(f"{API_PREFIX}/auth/login", json={"username": "canbo", "password": PASSWORD}), 429,
                 "rate_limited")
    assert client.post(f"{API_PREFIX}/auth/login", json={"username": "quanly", "password": PASSWORD}).status_code == 200


def test_device_keys_guard_kiosk_writes(tmp_path: Path) -> None:
    h = build_hub(make_settings(tmp_path, device_keys=[DEVICE_KEY]), clock=FixedClock(MONDAY_0800),
                  extra_blueprints=[])
    try:
        c = h.app.test_client()
        assert_error(c.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich"}), 401, "unauthenticated")
        assert_error(c.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich"},
                            headers={"X-Device-Key": DEVICE_KEY + "x"}), 401, "unauthenticated")
        assert h.service.last_seq == 0
        ok = c.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich"}, headers={"X-Device-Key": DEVICE_KEY})
        assert ok.status_code == 201
        assert c.get(f"{API_PREFIX}/services").status_code == 200      # reads stay open
    finally:
        h.stop()


# ------------------------------------------------------------------------------------------ flows

def test_a_citizen_from_kiosk_to_counter(hub: Hub, client: FlaskClient) -> None:
    cfg = client.get(f"{API_PREFIX}/config").json
    assert cfg["center"]["name"].startswith("Trung tâm") and cfg["working_hours"]["mon"] == [["07:30", "11:30"],
                                                                                          ["13:30", "17:00"]]
    r = client.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich", "priority": "nguoi-cao-tuoi", "kiosk": "k1"})
    assert r.status_code == 201
    ticket = r.json["ticket"]
    assert ticket["number"] == "A001" and ticket["status"] == "issued" and r.json["tracking_url"] == f"/t/{ticket['id']}"
    assert client.post(f"{API_PREFIX}/tickets/{ticket['id']}/print-result", json={"printed": True}).json["ticket"][
        "printed"] is True
    staff = login(client, "canbo")
    opened = client.post(f"{API_PREFIX}/counters/1/open", headers=staff).json
    assert opened["status"] == "open" and opened["staff"] == "canbo"
    called = client.post(f"{API_PREFIX}/counters/1/call-next", headers=staff)
    assert called.status_code == 200 and called.json["ticket"]["status"] == "called"
    assert_error(client.post(f"{API_PREFIX}/counters/1/call-next", headers=staff), 409, "counter_busy")
    state = client.get(f"{API_PREFIX}/state").json
    assert state["calls"][0]["number"] == "A001" and state["calls"][0]["counter"] == "1"
    assert client.post(f"{API_PREFIX}/counters/1/start", headers=staff).json["ticket"]["status"] == "serving"
    assert client.post(f"{API_PREFIX}/counters/1/complete", headers=staff).json["ticket"]["status"] == "done"
    assert_error(client.post(f"{API_PREFIX}/counters/1/call-next", headers=staff), 409, "nothing_to_call")
    detail = client.get(f"{API_PREFIX}/counters/1", headers=staff).json
    assert detail["counter"] == "1" and detail["waiting"] == []
    events = client.get(f"{API_PREFIX}/events?after=0", headers=login(client, "quanly")).json["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events][-3:] == ["ticket.called", "ticket.serving", "ticket.done"]
    assert client.get(f"{API_PREFIX}/health").json == {"status": "ok", "seq": len(events), "mqtt": "disabled"}


def test_openapi_describes_every_route(hub: Hub, client: FlaskClient) -> None:
    doc = client.get(f"{API_PREFIX}/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    rules = [r for r in hub.app.url_map.iter_rules() if r.rule.startswith(API_PREFIX)]
    assert len(rules) >= 30
    for rule in rules:
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(API_PREFIX):])
        assert path in doc["paths"], path
        assert rule.endpoint in ROUTE_DOCS, rule.endpoint
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            op = doc["paths"][path][method.lower()]
            assert op["summary"] and op["responses"]
    issue = doc["paths"]["/tickets"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert issue["required"] == ["service"] and issue["additionalProperties"] is False
    assert doc["paths"]["/counters/{counter_id}/call-next"]["post"]["security"] == [{"bearer": []}]
    assert build_document(hub.app) == doc


# ------------------------------------------------------------------------------------------ SSE

def read_events(chunks: Iterator[bytes], count: int) -> list[tuple[str, str | None, str]]:
    """(event, id, data) of the next ``count`` SSE messages, skipping comments and retry lines."""
    out: list[tuple[str, str | None, str]] = []
    buf = ""
    while len(out) < count:
        buf += next(chunks).decode("utf-8")
        while "\n\n" in buf:
            block, buf = buf.split("\n\n", 1)
            fields: dict[str, str] = {}
            for line in block.split("\n"):
                if line.startswith(":") or not line:
                    continue
                key, _, value = line.partition(": ")
                fields[key] = value
            if "data" in fields:
                out.append((fields.get("event", "message"), fields.get("id"), fields["data"]))
    return out


def test_stream_starts_with_state_then_every_event(hub: Hub, client: FlaskClient) -> None:
    client.post(f"{API_PREFIX}/tickets", json={"service": "dat-dai"})
    resp = client.get(f"{API_PREFIX}/stream", buffered=False)
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    chunks = iter(resp.response)
    [(kind, sid, data)] = read_events(chunks, 1)
    assert kind == "state" and sid == "1" and json.loads(data)["seq"] == 1
    client.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich"})
    client.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich"})
    got = read_events(chunks, 2)
    envs = [Envelope.from_json(d) for _, _, d in got]
    assert [(k, i) for k, i, _ in got] == [("event", "2"), ("event", "3")]
    assert [e.seq for e in envs] == [2, 3] and envs[0].type == "ticket.issued"
    assert envs[1].data["ticket"]["number"] == "A002"
    resp.close()


def test_stream_resumes_from_last_event_id(hub: Hub, client: FlaskClient) -> None:
    for service in ("ho-tich", "dat-dai", "ho-tich"):
        client.post(f"{API_PREFIX}/tickets", json={"service": service})
    resp = client.get(f"{API_PREFIX}/stream", headers={"Last-Event-ID": "1"}, buffered=False)
    got = read_events(iter(resp.response), 2)
    assert [(k, i) for k, i, _ in got] == [("event", "2"), ("event", "3")]
    resp.close()
    assert hub.broadcaster.subscribers == 0


def test_stream_through_the_real_server_and_clean_stop(tmp_path: Path) -> None:
    """waitress must flush each SSE message as it is produced, and stopping the hub must end open streams."""
    import http.client

    h = build_hub(make_settings(tmp_path), clock=FixedClock(MONDAY_0800), extra_blueprints=[], keepalive_s=0.2)
    port = h.serve_in_thread("127.0.0.1", 0)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", f"{API_PREFIX}/stream")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Content-Type", "").startswith("text/event-stream")
        lines = iter(resp.fp.readline, b"")

        def next_message() -> dict[str, str]:
            fields: dict[str, str] = {}
            for raw in lines:
                line = raw.decode("utf-8").rstrip("\r\n")
                if not line:
                    if "data" in fields:
                        return fields
                    continue
                if line.startswith((":", "retry:")) or line.isalnum():
                    continue          # comments, the retry hint, chunk sizes of the chunked encoding
                key, _, value = line.partition(": ")
                fields[key] = value
            raise AssertionError("stream ended")

        assert next_message()["event"] == "state"
        other = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        other.request("POST", f"{API_PREFIX}/tickets", body=json.dumps({"service": "y-te"}),
                      headers={"Content-Type": "application/json"})
        assert other.getresponse().status == 201
        msg = next_message()
        assert msg["event"] == "event" and msg["id"] == "1"
        assert Envelope.from_json(msg["data"]).data["ticket"]["number"] == "H001"
    finally:
        h.stop()
    assert h.broadcaster.subscribers == 0


def test_event_streams_are_capped_so_displays_cannot_starve_kiosks(tmp_path: Path) -> None:
    from queue_server.web.display import RESERVED_THREADS

    h = build_hub(make_settings(tmp_path, threads=RESERVED_THREADS + 2), clock=FixedClock(MONDAY_0800),
                  extra_blueprints=[], keepalive_s=0.05)
    try:
        c = h.app.test_client()
        streams = [c.get(f"{API_PREFIX}/stream", buffered=False) for _ in range(2)]
        assert h.broadcaster.subscribers == 2
        assert_error(c.get(f"{API_PREFIX}/stream"), 429, "rate_limited")
        assert c.post(f"{API_PREFIX}/tickets", json={"service": "ho-tich"}).status_code == 201
        for s in streams:
            s.close()
        assert h.broadcaster.subscribers == 0
    finally:
        h.stop()

