"""POST /api/v1/tickets answers the same bytes through the WSGI fast path as through the Flask route.

Two hubs on fresh stores with the same fixed clock get the same requests, one with the fast path switched off:
status line, headers and body must be identical, and the fast hub must really have used its fast path.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_api import BAD_ISSUES, DEVICE_KEY, MONDAY_0800, make_settings

from queue_server.app.ports import FixedClock
from queue_server.web.common import API_PREFIX
from queue_server.web.fast_issue import IssueFastPath
from queue_server.wiring import Hub, build_hub

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]

URL = f"{API_PREFIX}/tickets"


class Pair:
    def __init__(self, tmp_path: Path, **security: Any) -> None:
        self.clock = FixedClock(MONDAY_0800)
        self.hubs: list[Hub] = []
        for name in ("fast", "flask"):
            (tmp_path / name).mkdir()
            self.hubs.append(build_hub(make_settings(tmp_path / name, **security), clock=self.clock,
                                       extra_blueprints=[], keepalive_s=0.05))
        self.fast_path: IssueFastPath = self.hubs[0].app.wsgi_app     # type: ignore[assignment]
        assert isinstance(self.fast_path, IssueFastPath)
        slow = self.hubs[1].app.wsgi_app
        assert isinstance(slow, IssueFastPath)
        slow.enabled = False
        self.clients = [h.app.test_client() for h in self.hubs]

    def same(self, **kwargs: Any) -> Any:
        """Send one request to both hubs; the answers must be byte-identical."""
        fast, flask = (c.post(URL, **kwargs) for c in self.clients)
        assert fast.status == flask.status
        assert fast.headers.to_wsgi_list() == flask.headers.to_wsgi_list()
        assert fast.get_data() == flask.get_data()
        return fast

    def close(self) -> None:
        for h in self.hubs:
            h.stop()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    p = Pair(tmp_path)
    yield p
    p.close()


def test_issued_tickets_are_answered_identically(pair: Pair) -> None:
    first = pair.same(json={"service": "ho-tich"})
    assert first.status_code == 201 and first.json["ticket"]["number"]
    pair.same(json={"service": "ho-tich", "priority": "nguoi-cao-tuoi", "kiosk": "Kiốt sảnh 1"})
    pair.same(json={"service": "dat-dai", "priority": None, "kiosk": None})
    pair.same(data=b'{"service":"ho-tich"}', content_type="application/json; charset=utf-8")
    # issue 11: writes accept JSON only, on both paths
    assert pair.same(data=b'{"service":"ho-tich"}', content_type="text/plain").status_code == 415
    assert pair.fast_path.served == 4
    # the commands really ran: the fast hub's queue holds them
    assert len(pair.hubs[0].service.waiting("ho-tich")) == 3


def test_refusals_from_the_queue_are_answered_identically(pair: Pair) -> None:
    pair.same(json={"service": "khong-co"})                                # unknown service
    pair.same(json={"service": "ho-tich", "priority": "khong-co"})         # unknown priority
    pair.clock.set(MONDAY_0800 + timedelta(days=6))                        # Sunday: closed
    closed = pair.same(json={"service": "ho-tich"})
    assert closed.status_code >= 400 and closed.json["error"]["code"] == "service_closed"
    assert pair.fast_path.served == 3


@pytest.mark.parametrize(("name", "kwargs", "status", "code"), BAD_ISSUES, ids=[b[0] for b in BAD_ISSUES])
def test_bad_input_is_left_to_flask(pair: Pair, name: str, kwargs: dict[str, Any], status: int, code: str) -> None:
    resp = pair.same(**kwargs)
    assert resp.status_code == status and resp.json["error"]["code"] == code
    # malformed or invalid bodies go to Flask; well-formed ones the queue refuses are answered here
    assert pair.fast_path.served == (0 if code in ("bad_request", "payload_too_large", "unsupported_media_type") else 1)


def test_oversized_and_empty_bodies_are_left_to_flask(pair: Pair) -> None:
    assert pair.same(json={"service": "ho-tich", "kiosk": "x" * 5000}).status_code == 413
    assert pair.same(data=b"", content_type="application/json").status_code == 400
    assert pair.fast_path.served == 0


def test_unexpected_errors_are_answered_like_the_flask_handler(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug")

    for h in pair.hubs:
        monkeypatch.setattr(h.service, "issue_ticket", broken)
    resp = pair.same(json={"service": "ho-tich"})
    assert resp.status_code == 500 and resp.json["error"]["code"] == "internal"
    assert pair.fast_path.served == 1


def test_device_keys(tmp_path: Path) -> None:
    p = Pair(tmp_path, device_keys=[DEVICE_KEY])
    try:
        assert p.same(json={"service": "ho-tich"}, headers={"X-Device-Key": DEVICE_KEY}).status_code == 201
        assert p.fast_path.served == 1
        assert p.same(json={"service": "ho-tich"}, headers={"X-Device-Key": DEVICE_KEY + "x"}).status_code == 401
        assert p.same(json={"service": "ho-tich"}).status_code == 401
        assert p.fast_path.served == 1
    finally:
        p.close()


def test_a_request_hook_switches_the_fast_path_off(tmp_path: Path) -> None:
    h = build_hub(make_settings(tmp_path), clock=FixedClock(MONDAY_0800), extra_blueprints=[], keepalive_s=0.05)
    try:
        seen: list[str] = []
        h.app.before_request(lambda: seen.append("hook") and None)
        resp = h.app.test_client().post(URL, json={"service": "ho-tich"})
        assert resp.status_code == 201 and seen == ["hook"]
        fast = h.app.wsgi_app
        assert isinstance(fast, IssueFastPath) and not fast.enabled and fast.served == 0
    finally:
        h.stop()
