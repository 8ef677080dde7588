"""HTTP API through the real Flask app, a real SQLite file and the real QueueService: bad input, roles, flows,
the OpenAPI document and the SSE stream."""
from __future__ import annotations

import dataclasses
import json
import logging
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import DEVICE_KEY, EXAMPLE, FAST_HASH, MONDAY_0800, PASSWORD, login, make_settings
from flask.testing import FlaskClient

from contracts.messages import Envelope
from queue_server.app.ports import FixedClock
from queue_server.config import ConfigError, settings_from_dict
from queue_server.web import auth
from queue_server.web.common import API_PREFIX, ROUTE_DOCS
from queue_server.web.guards import PER_ADDRESS, PER_USERNAME, LoginThrottle, ThrottleRule
from queue_server.web.openapi import build_document
from queue_server.wiring import Hub, build_hub

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]

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
    ("deeply nested", {"data": "[" * 2000 + "]" * 2000, "content_type": "application/json"}, 400, "bad_request"),
    ("duplicate key, last one wrong", {"data": '{"service": "ho-tich", "service": 5}',
                                       "content_type": "application/json"}, 400, "bad_request"),
    ("control character", {"data": '{"service": "ho\u0000tich"}', "content_type": "application/json"}, 400,
     "bad_request"),
    # issue 11: writes accept JSON only
    ("not JSON-typed", {"data": '{"service": "ho-tich"}'}, 415, "unsupported_media_type"),
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


class FakeMonotonic:
    """The throttle's clock: tests move time instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cheap_dummy_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unknown usernames are checked against a dummy hash as dear as a real one; these tests try dozens."""
    monkeypatch.setattr(auth, "_DUMMY_HASH", FAST_HASH)


@pytest.fixture
def clock(hub: Hub, cheap_dummy_hash: None) -> FakeMonotonic:
    fake = FakeMonotonic()
    hub.app.extensions["motcua"].tokens.throttle = LoginThrottle(fake)
    return fake


def try_login(client: FlaskClient, username: str, password: str, ip: str, **headers: str) -> Any:
    return client.post(f"{API_PREFIX}/auth/login", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": ip}, headers=headers)


def lock_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "queue_server.web.auth" and r.levelname == "WARNING"]


def test_one_machine_guessing_many_usernames_is_locked_out(client: FlaskClient, clock: FakeMonotonic,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="queue_server.web.auth")
    guesser = "10.0.0.66"
    for i in range(PER_ADDRESS.max_failures):        # never five for one name: only the address limit applies
        assert_error(try_login(client, f"ten-{i}", "doan-mo", guesser), 401, "bad_credentials")
    # the right password for a real account is refused too, and the 429 does not say it was right
    locked = try_login(client, "canbo", PASSWORD, guesser)
    body = assert_error(locked, 429, "rate_limited")
    assert locked.headers["Retry-After"] == str(int(PER_ADDRESS.lock_s))
    assert "Máy này đã đăng nhập sai quá nhiều lần" in body["error"]["message"]
    assert "wait 600 s" in body["error"]["message"]            # what the console turns into minutes
    assert try_login(client, "canbo", "sai", guesser).json == body
    # another machine in the hall is not affected
    assert try_login(client, "canbo", PASSWORD, "10.0.0.7").status_code == 200
    clock.now += PER_ADDRESS.lock_s - 1
    assert try_login(client, "quanly", PASSWORD, guesser).headers["Retry-After"] == "1"
    clock.now += 1
    assert try_login(client, "quanly", PASSWORD, guesser).status_code == 200
    warnings = lock_warnings(caplog)
    assert len(warnings) == 1 and guesser in warnings[0] and "ten-19" in warnings[0]
    assert "doan-mo" not in caplog.text and PASSWORD not in caplog.text


def test_five_failures_lock_the_username_from_any_machine(client: FlaskClient, clock: FakeMonotonic,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="queue_server.web.auth")
    for i in range(PER_USERNAME.max_failures):
        assert_error(try_login(client, "canbo", "sai-mat-khau", f"10.0.1.{i}"), 401, "bad_credentials")
    clock.now += 10
    locked = try_login(client, "canbo", PASSWORD, "10.0.1.99")
    body = assert_error(locked, 429, "rate_limited")
    assert locked.headers["Retry-After"] == str(int(PER_USERNAME.lock_s) - 10)
    assert "Tài khoản này" in body["error"]["message"]
    assert try_login(client, "canbo", "sai", "10.0.1.99").json == body     # same answer for a wrong password
    assert try_login(client, "quanly", PASSWORD, "10.0.1.99").status_code == 200
    clock.now += PER_USERNAME.lock_s - 10
    assert try_login(client, "canbo", PASSWORD, "10.0.1.99").status_code == 200
    warnings = lock_warnings(caplog)
    assert len(warnings) == 1 and "'canbo'" in warnings[0] and "10.0.1.4" in warnings[0]
    assert "sai-mat-khau" not in caplog.text


def test_a_login_elsewhere_does_not_reset_a_machines_count(client: FlaskClient, clock: FakeMonotonic) -> None:
    guesser = "10.0.2.1"
    for i in range(PER_ADDRESS.max_failures - 1):
        assert_error(try_login(client, f"ten-{i}", "sai", guesser), 401, "bad_credentials")
    assert try_login(client, "canbo", PASSWORD, "10.0.2.2").status_code == 200
    assert try_login(client, "quanly", PASSWORD, guesser).status_code == 200    # its own success resets nothing
    assert_error(try_login(client, "ten-x", "sai", guesser), 401, "bad_credentials")
    assert_error(try_login(client, "quantri", PASSWORD, guesser), 429, "rate_limited")
    # failures older than the window are forgotten
    for i in range(PER_ADDRESS.max_failures - 1):
        assert_error(try_login(client, f"ten-{i}", "sai", "10.0.2.3"), 401, "bad_credentials")
    clock.now += PER_ADDRESS.window_s
    assert_error(try_login(client, "ten-y", "sai", "10.0.2.3"), 401, "bad_credentials")
    assert try_login(client, "canbo", PASSWORD, "10.0.2.3").status_code == 200


def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(client: FlaskClient, clock: FakeMonotonic) -> None:
    for i in range(PER_ADDRESS.max_failures):           # a fresh made-up address every try does not help
        assert_error(try_login(client, f"ten-{i}", "sai", "10.0.3.1", **{"X-Forwarded-For": f"192.0.2.{i}"}),
                     401, "bad_credentials")
    assert_error(try_login(client, "canbo", PASSWORD, "10.0.3.1", **{"X-Forwarded-For": "192.0.2.200"}), 429,
                 "rate_limited")


def test_behind_a_trusted_proxy_each_client_is_counted(tmp_path: Path, cheap_dummy_hash: None) -> None:
    settings = make_settings(tmp_path)
    settings = dataclasses.replace(settings, http=dataclasses.replace(settings.http, trust_forwarded_for=True))
    h = build_hub(settings, clock=FixedClock(MONDAY_0800), extra_blueprints=[])
    try:
        h.app.extensions["motcua"].tokens.throttle = LoginThrottle(FakeMonotonic())
        c = h.app.test_client()
        proxy = "10.0.4.1"
        for i in range(PER_ADDRESS.max_failures):
            # the proxy appends the peer it saw; what the client wrote before that is not believed
            xff = f"203.0.113.{i}, 192.0.2.10"
            assert_error(try_login(c, f"ten-{i}", "sai", proxy, **{"X-Forwarded-For": xff}), 401, "bad_credentials")
        assert_error(try_login(c, "canbo", PASSWORD, proxy, **{"X-Forwarded-For": "192.0.2.10"}), 429,
                     "rate_limited")
        assert_error(try_login(c, "canbo", PASSWORD, proxy, **{"X-Forwarded-For": "1.2.3.4,192.0.2.10"}), 429,
                     "rate_limited")
        assert try_login(c, "canbo", PASSWORD, proxy, **{"X-Forwarded-For": "192.0.2.11"}).status_code == 200
        # no header, or garbage in it: the proxy's own address is counted
        assert try_login(c, "quanly", PASSWORD, proxy, **{"X-Forwarded-For": "không-phải-ip"}).status_code == 200
    finally:
        h.stop()


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted-proxy", "untrusted"])
def test_the_real_server_resolves_a_trusted_proxy_once(tmp_path: Path, cheap_dummy_hash: None, trusted: bool) -> None:
    """Through waitress itself (it strips X-Forwarded-For unless told otherwise): behind a trusted proxy each
    client it names is counted apart, else every request counts as the proxy's own address."""
    import requests

    settings = make_settings(tmp_path)
    settings = dataclasses.replace(settings, http=dataclasses.replace(settings.http, trust_forwarded_for=trusted))
    h = build_hub(settings, clock=FixedClock(MONDAY_0800), extra_blueprints=[])
    try:
        h.app.extensions["motcua"].tokens.throttle = LoginThrottle(
            FakeMonotonic(), per_address=ThrottleRule(max_failures=2, window_s=600.0, lock_s=600.0))
        port = h.serve_in_thread("127.0.0.1", 0)

        def attempt(username: str, password: str, client: str) -> int:
            return requests.post(f"http://127.0.0.1:{port}{API_PREFIX}/auth/login", timeout=5,
                                 json={"username": username, "password": password},
                                 headers={"X-Forwarded-For": f"203.0.113.9, {client}"}).status_code

        assert [attempt(f"ten-{i}", "sai", "192.0.2.10") for i in range(2)] == [401, 401]
        assert attempt("canbo", PASSWORD, "192.0.2.10") == 429
        assert attempt("canbo", PASSWORD, "192.0.2.11") == (200 if trusted else 429)
    finally:
        h.stop()


def test_the_older_integration_key_trusts_the_proxy_for_every_route(tmp_path: Path, cheap_dummy_hash: None) -> None:
    """[integration] trust_forwarded_for (the dossier look-up's own key before the proxy was resolved at the
    server) still means "behind the center's proxy", now for the whole hub."""
    settings = make_settings(tmp_path)
    settings = dataclasses.replace(settings, integration=dataclasses.replace(settings.integration,
                                                                             trust_forwarded_for=True))
    h = build_hub(settings, clock=FixedClock(MONDAY_0800), extra_blueprints=[])
    try:
        assert h.settings.http.trust_forwarded_for is True
        h.app.extensions["motcua"].tokens.throttle = LoginThrottle(
            FakeMonotonic(), per_address=ThrottleRule(max_failures=2, window_s=600.0, lock_s=600.0))
        c = h.app.test_client()
        for i in range(2):
            try_login(c, f"ten-{i}", "sai", "10.0.4.1", **{"X-Forwarded-For": "192.0.2.10"})
        assert_error(try_login(c, "canbo", PASSWORD, "10.0.4.1", **{"X-Forwarded-For": "192.0.2.10"}), 429,
                     "rate_limited")
        assert try_login(c, "canbo", PASSWORD, "10.0.4.1", **{"X-Forwarded-For": "192.0.2.11"}).status_code == 200
    finally:
        h.stop()


def test_trust_forwarded_for_is_validated_and_off_by_default(tmp_path: Path) -> None:
    assert make_settings(tmp_path).http.trust_forwarded_for is False
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw["http"]["trust_forwarded_for"] = "yes"
    with pytest.raises(ConfigError, match=r"http\.trust_forwarded_for: expected true or false"):
        settings_from_dict(raw)


def test_a_flood_of_made_up_usernames_costs_bounded_memory() -> None:
    clock = FakeMonotonic()
    throttle = LoginThrottle(clock, cap=100)
    throttle.failed("canbo", "10.0.5.1")
    for _ in range(PER_USERNAME.max_failures):
        throttle.failed("quanly", "10.0.5.2")
    for i in range(20_000):
        throttle.failed(f"ten-{i}", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
        assert throttle.tracked() <= 4 * 100
    # counts are forgotten first, locks are kept apart: the flood did not lift the lock taken before it
    refusal = throttle.check("quanly", "10.0.5.3")
    assert refusal is not None and refusal.kind == "username"
    # once the windows and locks pass, the next failure sweeps the stale entries away
    clock.now += max(PER_USERNAME.window_s, PER_ADDRESS.window_s, PER_USERNAME.lock_s, PER_ADDRESS.lock_s)
    throttle.failed("canbo", "10.0.5.1")
    assert throttle.tracked() == 2
    assert throttle.check("quanly", "10.0.5.3") is None


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
    health = client.get(f"{API_PREFIX}/health").json
    boot = health.pop("boot")
    assert health == {"status": "ok", "seq": len(events), "mqtt": "disabled"}
    assert isinstance(boot, str) and len(boot) == 16 and client.get(f"{API_PREFIX}/health").json["boot"] == boot


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
            # a typed success body: a named schema or a described shape, never just "object or array"
            (ok,) = [content for status, r in op["responses"].items() if status.startswith("2")
                     for content in [r["content"]]]
            if "application/json" not in ok:     # an event stream, or a file (reports: xlsx, PDF, CSV, SVG)
                continue
            schema = ok["application/json"]["schema"]
            assert schema != {"type": ["object", "array"]}, (method, path)
            assert {"$ref", "properties", "items", "allOf"} & set(schema), (method, path, schema)
            for name in re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schema)):
                assert name in doc["components"]["schemas"], name
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

