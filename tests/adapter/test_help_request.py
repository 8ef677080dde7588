"""'Cần hỗ trợ': a kiosk (with its device key) asks for help, the request is an event every console and the
manager board receive on their stream, and part of the snapshot (GET /state, the stream's first message) until a
member of staff answers it. Real Flask app served by waitress, real SQLite file, hub restarts on the same file."""
from __future__ import annotations

import dataclasses
import http.client
import json
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from api_support import DEVICE_KEY, MONDAY_0800, login, make_settings

from queue_server.app.ports import FixedClock
from queue_server.mqtt_access import BrokerClient
from queue_server.web.common import API_PREFIX
from queue_server.web.guards import HELP_LIMIT, ISSUE_LIMIT, RateLimiter
from queue_server.wiring import build_hub

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]
STAFF_NAME = "Nguyễn Thị Hoa"


def _settings(tmp_path: Path, **http: Any) -> Any:
    """The example center with three kiosks in its [broker] inventory (kiosk-1 as shipped; kiosk-2 as a broker user;
    kiosk-3 named by its printer only, as a kiosk whose broker user is not its id), and canbo's display name."""
    settings = make_settings(tmp_path, device_keys=[DEVICE_KEY])
    inventory = settings.broker
    kiosks = (BrokerClient("kiosk-2", "kiosk", ("kiosk-2-printer",)), BrokerClient("sanh-b", "kiosk", ("kiosk-3-printer",)))
    users = tuple(dataclasses.replace(u, display_name=STAFF_NAME) if u.username == "canbo" else u for u in settings.users)
    return dataclasses.replace(settings, broker=dataclasses.replace(inventory, clients=(*inventory.clients, *kiosks)),
                               users=users, http=dataclasses.replace(settings.http, **http))


def test_a_kiosk_asks_for_help_and_staff_answer(tmp_path: Path) -> None:
    h = build_hub(_settings(tmp_path), clock=FixedClock(MONDAY_0800), extra_blueprints=[])
    try:
        c = h.app.test_client()
        assert c.post(f"{API_PREFIX}/help", json={"kiosk": "kiosk-2"}).status_code == 401      # a kiosk's write
        r = c.post(f"{API_PREFIX}/help", json={"kiosk": "kiosk-2"}, headers={"X-Device-Key": DEVICE_KEY})
        assert r.status_code == 201 and r.json["help"]["kiosk"] == "kiosk-2"
        assert c.post(f"{API_PREFIX}/help", json={}, headers={"X-Device-Key": DEVICE_KEY}).status_code == 400
        assert c.post(f"{API_PREFIX}/help/answer", json={"kiosk": "kiosk-2"}).status_code == 401
        answered = c.post(f"{API_PREFIX}/help/answer", json={"kiosk": "kiosk-2"}, headers=login(c, "canbo"))
        assert answered.status_code == 200
        events = [(e.type, e.data) for e in h.service.events_after(0)]
        # the log keeps who answered: the logged-in member of staff (messages.py: help.answered carries data.staff)
        assert events == [("help.requested", {"kiosk": "kiosk-2"}),
                          ("help.answered", {"kiosk": "kiosk-2", "staff": "canbo", "staff_name": STAFF_NAME})]
    finally:
        h.stop()


def _first_state(port: int) -> dict[str, Any]:
    """The snapshot a console or board gets when its live stream (re)connects: the stream's first `state` message."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", f"{API_PREFIX}/stream")
        resp = conn.getresponse()
        assert resp.status == 200
        fields: dict[str, str] = {}
        for raw in iter(resp.fp.readline, b""):
            line = raw.decode("utf-8").rstrip("\r\n")
            if not line and "data" in fields:
                break
            if line.startswith((":", "retry:")) or not line or line.isalnum():
                continue          # comments, the retry hint, chunk sizes of the chunked encoding
            key, _, value = line.partition(": ")
            fields[key] = value
        assert fields.get("event") == "state", fields
        state: dict[str, Any] = json.loads(fields["data"])
        return state
    finally:
        conn.close()


def _hub(tmp_path: Path, clock: FixedClock, **http: Any) -> Any:
    return build_hub(_settings(tmp_path, **http), clock=clock, extra_blueprints=[], keepalive_s=0.2)


def test_a_screen_opened_after_the_request_sees_it_until_answered_even_across_restarts(tmp_path: Path) -> None:
    """A console or board opened (or reconnected) after a kiosk asked for help must show the request, with where and
    when; once one member of staff answers, it is gone from every snapshot; a hub restart neither drops an unanswered
    request nor brings back an answered one (the event log is the record)."""
    clock = FixedClock(MONDAY_0800)
    kiosk_key = {"X-Device-Key": DEVICE_KEY}
    h = _hub(tmp_path, clock)
    port = h.serve_in_thread("127.0.0.1", 0)
    base = f"http://127.0.0.1:{port}{API_PREFIX}"
    try:
        asked = requests.post(f"{base}/help", json={"kiosk": "kiosk-2"}, headers=kiosk_key, timeout=5)
        assert asked.status_code == 201
        clock.advance(minutes=2)
        # a second press keeps the first time (how long the citizen has been waiting) and writes nothing
        again = requests.post(f"{base}/help", json={"kiosk": "kiosk-2"}, headers=kiosk_key, timeout=5)
        assert again.status_code == 200 and again.json() == asked.json()
        clock.advance(minutes=1)
        requests.post(f"{base}/help", json={"kiosk": "kiosk-3"}, headers=kiosk_key, timeout=5).raise_for_status()
        first = asked.json()["help"]
        want = [{"kiosk": "kiosk-2", "seq": first["seq"], "at": "2026-11-23T08:00:00+07:00"},
                {"kiosk": "kiosk-3", "seq": first["seq"] + 1, "at": "2026-11-23T08:03:00+07:00"}]
        # the screens open only now: both the stream's first snapshot and GET /state carry the requests
        assert _first_state(port)["help"] == want
        assert requests.get(f"{base}/state", timeout=5).json()["help"] == want
    finally:
        h.stop()

    h = _hub(tmp_path, clock)                      # the hub restarts: kiosk-2 and kiosk-3 still wait for someone
    port = h.serve_in_thread("127.0.0.1", 0)
    base = f"http://127.0.0.1:{port}{API_PREFIX}"
    try:
        assert _first_state(port)["help"] == want
        c = h.app.test_client()
        assert c.post(f"{API_PREFIX}/help/answer", json={"kiosk": "kiosk-2"}, headers=login(c, "canbo")).status_code == 200
        assert _first_state(port)["help"] == want[1:]
        assert requests.get(f"{base}/state", timeout=5).json()["help"] == want[1:]
    finally:
        h.stop()

    h = _hub(tmp_path, clock)                      # and again: the answered one does not come back
    try:
        assert h.app.test_client().get(f"{API_PREFIX}/state").json["help"] == want[1:]
    finally:
        h.stop()


def test_a_request_left_unanswered_is_not_carried_into_the_next_day(tmp_path: Path) -> None:
    clock = FixedClock(MONDAY_0800)
    h = _hub(tmp_path, clock)
    try:
        c = h.app.test_client()
        assert c.post(f"{API_PREFIX}/help", json={"kiosk": "kiosk-1"},
                      headers={"X-Device-Key": DEVICE_KEY}).status_code == 201
        clock.advance(hours=9)                                        # 17:00, still Monday
        assert [r["kiosk"] for r in c.get(f"{API_PREFIX}/state").json["help"]] == ["kiosk-1"]
        clock.advance(hours=15)                                       # Tuesday 08:00: that citizen has long gone
        assert c.get(f"{API_PREFIX}/state").json["help"] == []
    finally:
        h.stop()
    h = _hub(tmp_path, clock)                                         # nor after a restart on Tuesday
    try:
        assert h.app.test_client().get(f"{API_PREFIX}/state").json["help"] == []
    finally:
        h.stop()


def _help_events(h: Any) -> list[tuple[str, str]]:
    return [(e.type, e.data["kiosk"]) for e in h.service.events_after(0) if e.type.startswith("help.")]


def test_one_open_request_per_kiosk_even_when_pressed_at_once(tmp_path: Path) -> None:
    """A stuck button or a citizen tapping ten times: one help.requested until someone answers (twelve presses at
    the same instant over real HTTP, decided in the writer's batches); after the answer the next press is new."""
    clock = FixedClock(MONDAY_0800)
    h = _hub(tmp_path, clock)
    port = h.serve_in_thread("127.0.0.1", 0)
    base = f"http://127.0.0.1:{port}{API_PREFIX}"
    answers: list[requests.Response] = []
    start = threading.Barrier(12)

    def press() -> None:
        start.wait()
        answers.append(requests.post(f"{base}/help", json={"kiosk": "kiosk-2"},
                                     headers={"X-Device-Key": DEVICE_KEY}, timeout=10))
    try:
        pressers = [threading.Thread(target=press) for _ in range(12)]
        for t in pressers:
            t.start()
        for t in pressers:
            t.join()
        assert sorted(a.status_code for a in answers) == [200] * 11 + [201]
        assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1      # all told the one request
        assert _help_events(h) == [("help.requested", "kiosk-2")]
        c = h.app.test_client()
        assert c.post(f"{API_PREFIX}/help/answer", json={"kiosk": "kiosk-2"}, headers=login(c, "canbo")).status_code == 200
        clock.advance(minutes=5)
        again = requests.post(f"{base}/help", json={"kiosk": "kiosk-2"}, headers={"X-Device-Key": DEVICE_KEY},
                              timeout=5)
        assert again.status_code == 201 and again.json()["help"]["at"] == "2026-11-23T08:05:00+07:00"
        assert _help_events(h) == [("help.requested", "kiosk-2"), ("help.answered", "kiosk-2"),
                                   ("help.requested", "kiosk-2")]
    finally:
        h.stop()


def test_a_kiosk_the_center_does_not_configure_is_refused(tmp_path: Path) -> None:
    """Only the kiosks the center's [broker] inventory names may ask (404 unknown_kiosk, Vietnamese first, nothing
    written); a kiosk named by its printer's id counts. A lab hub whose inventory names no kiosk cannot check."""
    h = _hub(tmp_path, FixedClock(MONDAY_0800))
    port = h.serve_in_thread("127.0.0.1", 0)
    base = f"http://127.0.0.1:{port}{API_PREFIX}"
    try:
        r = requests.post(f"{base}/help", json={"kiosk": "kiosk-99"}, headers={"X-Device-Key": DEVICE_KEY}, timeout=5)
        assert r.status_code == 404
        error = r.json()["error"]
        assert error["code"] == "unknown_kiosk"
        assert error["message"].startswith("Kiosk «kiosk-99» không có trong cấu hình của trung tâm. / ")
        assert "not one of this center's configured kiosks" in error["message"]
        assert _help_events(h) == []
        assert requests.get(f"{base}/state", timeout=5).json()["help"] == []
        for kiosk in ("kiosk-1", "kiosk-3"):            # shipped as a broker user; named by its printer only
            assert requests.post(f"{base}/help", json={"kiosk": kiosk}, headers={"X-Device-Key": DEVICE_KEY},
                                 timeout=5).status_code == 201
        assert requests.post(f"{base}/help", json={"kiosk": "sanh-b"}, headers={"X-Device-Key": DEVICE_KEY},
                             timeout=5).status_code == 201   # that kiosk's broker user names it too
    finally:
        h.stop()
    lab = make_settings(tmp_path / "lab", device_keys=[DEVICE_KEY])
    h = build_hub(dataclasses.replace(lab, broker=None), clock=FixedClock(MONDAY_0800), extra_blueprints=[])
    try:
        assert h.app.test_client().post(f"{API_PREFIX}/help", json={"kiosk": "kiosk-99"},
                                        headers={"X-Device-Key": DEVICE_KEY}).status_code == 201
    finally:
        h.stop()


def test_help_presses_are_rate_limited_per_device_apart_from_tickets(tmp_path: Path) -> None:
    """A kiosk on the LAN (behind the center's trusted proxy, so real HTTP from 127.0.0.1 stands for 10.0.0.21):
    a burst of presses, then 429 with Retry-After and a bilingual sentence; the limit has its own bucket (the
    kiosk still issues tickets) and refills with time (the limiter's clock is injected)."""
    h = _hub(tmp_path, FixedClock(MONDAY_0800), trust_forwarded_for=True)
    now = [0.0]
    ctx = h.app.extensions["motcua"]
    ctx.help_limiter = RateLimiter(HELP_LIMIT, monotonic=lambda: now[0])
    ctx.issue_limiter = RateLimiter(ISSUE_LIMIT, monotonic=lambda: now[0])
    port = h.serve_in_thread("127.0.0.1", 0)
    base = f"http://127.0.0.1:{port}{API_PREFIX}"
    lan = {"X-Device-Key": DEVICE_KEY, "X-Forwarded-For": "10.0.0.21"}

    def press(kiosk: str = "kiosk-2") -> requests.Response:
        return requests.post(f"{base}/help", json={"kiosk": kiosk}, headers=lan, timeout=5)
    try:
        answers = [press() for _ in range(HELP_LIMIT.burst + 3)]
        assert [a.status_code for a in answers] == [201] + [200] * (HELP_LIMIT.burst - 1) + [429] * 3
        refused = answers[-1]
        assert refused.json()["error"]["code"] == "rate_limited" and int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["error"]["message"].startswith("Thiết bị này gửi yêu cầu hỗ trợ quá nhanh; thử lại sau ")
        assert "/ Too many help requests from this device" in refused.json()["error"]["message"]
        assert press("kiosk-99").status_code == 429        # counted before the kiosk id is even looked at
        assert requests.post(f"{base}/tickets", json={"service": "ho-tich"}, headers=lan, timeout=5).status_code == 201
        now[0] += 60.0 / HELP_LIMIT.per_minute              # one press more a while later
        assert [press("kiosk-3").status_code, press("kiosk-3").status_code] == [201, 429]
        assert _help_events(h) == [("help.requested", "kiosk-2"), ("help.requested", "kiosk-3")]
        # the hub's own machine (a kiosk on the hub's box, the demo) is not limited, like issuing
        assert all(requests.post(f"{base}/help", json={"kiosk": "kiosk-1"}, headers={"X-Device-Key": DEVICE_KEY},
                                 timeout=5).ok for _ in range(HELP_LIMIT.burst + 2))
    finally:
        h.stop()
