"""'Cần hỗ trợ': a kiosk (with its device key) asks for help, the request is an event every console and the
manager board receive on their stream, and part of the snapshot (GET /state, the stream's first message) until a
member of staff answers it. Real Flask app served by waitress, real SQLite file, hub restarts on the same file."""
from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from api_support import DEVICE_KEY, MONDAY_0800, login, make_settings

from queue_server.app.ports import FixedClock
from queue_server.web.common import API_PREFIX
from queue_server.wiring import build_hub

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]


def test_a_kiosk_asks_for_help_and_staff_answer(tmp_path: Path) -> None:
    h = build_hub(make_settings(tmp_path, device_keys=[DEVICE_KEY]), clock=FixedClock(MONDAY_0800),
                  extra_blueprints=[])
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
        assert events == [("help.requested", {"kiosk": "kiosk-2"}), ("help.answered", {"kiosk": "kiosk-2"})]
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


def _hub(tmp_path: Path, clock: FixedClock) -> Any:
    return build_hub(make_settings(tmp_path, device_keys=[DEVICE_KEY]), clock=clock, extra_blueprints=[],
                     keepalive_s=0.2)


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
        # a second press keeps the first time: how long the citizen has been waiting
        assert requests.post(f"{base}/help", json={"kiosk": "kiosk-2"}, headers=kiosk_key, timeout=5).ok
        clock.advance(minutes=1)
        requests.post(f"{base}/help", json={"kiosk": "kiosk-3"}, headers=kiosk_key, timeout=5).raise_for_status()
        first = asked.json()["help"]
        want = [{"kiosk": "kiosk-2", "seq": first["seq"], "at": "2026-11-23T08:00:00+07:00"},
                {"kiosk": "kiosk-3", "seq": first["seq"] + 2, "at": "2026-11-23T08:03:00+07:00"}]
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
