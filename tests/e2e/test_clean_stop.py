"""A clean stop logs no error: SIGTERM to a real `motcua hub` process while display streams (SSE) are open ends
the streams first, then closes the server; the process exits 0 and its log holds no traceback or ERROR line."""
from __future__ import annotations

import http.client
import signal
from pathlib import Path

import pytest
from conftest import free_port
from test_sigkill import start_hub, write_config

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def open_stream(port: int) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request("GET", "/api/v1/stream", headers={"Accept": "text/event-stream"})
    resp = conn.getresponse()
    assert resp.status == 200
    # the stream is live once its first message (the full state) arrived
    seen = b""
    while b"event: state" not in seen:
        line = resp.fp.readline()
        assert line, "the stream ended before its first state"
        seen += line
    return resp


def test_sigterm_with_open_streams_ends_them_and_logs_no_error(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, port)
    log = tmp_path / "hub.log"
    hub = start_hub(config, port, log)
    try:
        streams = [open_stream(port) for _ in range(3)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/api/v1/tickets", body='{"service": "ho-tich"}',
                     headers={"Content-Type": "application/json"})
        assert conn.getresponse().status == 201
        hub.send_signal(signal.SIGTERM)
        assert hub.wait(timeout=30) == 0
        for resp in streams:
            # each display got the event, then a properly ended stream (the last chunk), not a cut connection;
            # its browser reconnects with Last-Event-ID when the hub is back
            rest = resp.fp.read()
            assert b"event: event" in rest and rest.endswith(b"0\r\n\r\n"), rest[-200:]
    finally:
        if hub.poll() is None:
            hub.kill()
            hub.wait()
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "hub stopped" in text, text
    for bad in ("Traceback", "ERROR", "Bad file descriptor", "Exception"):
        assert bad not in text, text
