"""Every answer carries the security headers; writes accept JSON only (415); an oversized Content-Length is
refused before the body is read; the issue fast path keeps serving JSON with the same headers (issue 11)."""
from __future__ import annotations

import io
from typing import Any

import pytest
from hub_support import HubOptions

from queue_server.web.edge import BODY_CEILING_BYTES, CSP

pytestmark = pytest.mark.adapter


@pytest.fixture
def hub_options() -> HubOptions:
    return HubOptions(blueprints=None)      # the default blueprints: displays, ratings page, tracking


def _assert_headers(resp: Any, where: str) -> None:
    assert resp.headers.get("Content-Security-Policy") == CSP, where
    assert "script-src 'self'" in CSP and "frame-ancestors 'none'" in CSP and "unsafe-inline" not in \
        CSP.split("script-src")[1].split(";")[0]
    assert resp.headers.get("X-Frame-Options") == "DENY", where
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", where
    assert resp.headers.get("Referrer-Policy") == "no-referrer", where


def test_every_page_and_answer_carries_the_security_headers_and_no_inline_script(hub: Any) -> None:
    client = hub.app.test_client()
    pages = ["/display/hall", "/display/counter/1", "/console", "/manager", "/rate/1", "/rate-page.js",
             "/api/v1/state", "/api/v1/openapi.json", "/api/v1/nope"]
    for path in pages:
        resp = client.get(path)
        _assert_headers(resp, path)
        if resp.mimetype == "text/html":
            html = resp.get_data(as_text=True)
            # every <script> either loads a file or is a JSON data block (never run)
            for tag in html.split("<script")[1:]:
                head = tag.split(">", 1)[0]
                assert "src=" in head or 'type="application/json"' in head, (path, head)
            assert "onclick=" not in html and "javascript:" not in html, path
    # the fast path's answer too
    resp = client.post("/api/v1/tickets", json={"service": "ho-tich"})
    assert resp.status_code in (201, 401), resp.get_json()
    _assert_headers(resp, "POST /api/v1/tickets")


@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/leases", "/api/v1/auth/login", "/api/v1/ratings"])
@pytest.mark.parametrize("kind", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x",
                                  None])
def test_writes_accept_json_only(hub: Any, path: str, kind: str | None) -> None:
    client = hub.app.test_client()
    headers = {"Content-Type": kind} if kind else {}
    before = hub.service.counter_states()
    resp = client.post(path, data=b'{"service": "ho-tich"}', headers=headers)
    if kind is None:      # werkzeug's test client sends no type: a body without one is refused as well
        assert resp.status_code == 415
    assert resp.status_code == 415, (path, kind, resp.status_code)
    assert resp.get_json()["error"]["code"] == "unsupported_media_type"
    assert "JSON" in resp.get_json()["error"]["message"]
    _assert_headers(resp, path)
    assert hub.service.counter_states() == before


@pytest.mark.parametrize("length", [30 * 1024 * 1024, 100 * 1024])
def test_a_body_over_the_limit_is_refused_by_its_length_before_it_is_read(hub: Any, length: int) -> None:
    """30 MB: past the ceiling every route shares (edge.py); 100 KB: past /tickets' own 64 KiB limit."""
    class Unreadable(io.RawIOBase):
        def read(self, n: int = -1) -> bytes:
            raise AssertionError("the body was read")

        def readinto(self, b: Any) -> int:
            raise AssertionError("the body was read")

    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/tickets", "SERVER_NAME": "x", "SERVER_PORT": "80",
               "wsgi.url_scheme": "http", "CONTENT_TYPE": "application/json", "REMOTE_ADDR": "127.0.0.1",
               "CONTENT_LENGTH": str(length), "wsgi.input": Unreadable(), "wsgi.errors": io.StringIO()}
    seen: list[str] = []
    body = b"".join(hub.app.wsgi_app(environ, lambda status, headers, exc=None: seen.append(status)))
    assert seen and seen[0].startswith("413") and b"payload_too_large" in body
    assert length < BODY_CEILING_BYTES or str(BODY_CEILING_BYTES).encode() in body


def test_one_client_address_cannot_hold_every_stream_slot(tmp_path: Any) -> None:
    """Stream slots per client address (issue 11): a fifth stream from one machine is refused; another machine
    still gets one."""
    from api_support import MONDAY_0800, make_settings

    from queue_server.app.ports import FixedClock
    from queue_server.web.display import STREAMS_PER_CLIENT
    from queue_server.wiring import build_hub

    h = build_hub(make_settings(tmp_path, threads=32), clock=FixedClock(MONDAY_0800), extra_blueprints=[],
                  keepalive_s=0.05)
    try:
        hog = h.app.test_client()
        hog.environ_base["REMOTE_ADDR"] = "10.0.0.66"
        screen = h.app.test_client()
        screen.environ_base["REMOTE_ADDR"] = "10.0.0.10"
        streams = [hog.get("/api/v1/stream", buffered=False) for _ in range(STREAMS_PER_CLIENT)]
        assert all(s.status_code == 200 for s in streams)
        refused = hog.get("/api/v1/stream")
        assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
        other = screen.get("/api/v1/stream", buffered=False)
        assert other.status_code == 200
        for s in [*streams, other]:
            s.close()
        assert h.broadcaster.subscribers == 0
    finally:
        h.stop()
