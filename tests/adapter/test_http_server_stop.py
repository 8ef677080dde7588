"""The hub's HTTP server stops cleanly even when its I/O loop closed its trigger before the stop's last step (a
race CI met once: EBADF writing to the trigger's pipe made the whole stop fail half-way)."""
from __future__ import annotations

import time

import pytest
import requests
from flask import Flask

from queue_server.web.server import HttpServer

pytestmark = pytest.mark.adapter


def test_stop_goes_on_when_the_loop_trigger_is_already_closed() -> None:
    app = Flask(__name__)
    app.add_url_rule("/ping", "ping", lambda: "pong")
    server = HttpServer(app, "127.0.0.1", 0, 2)
    port = server.serve_in_thread()
    assert requests.get(f"http://127.0.0.1:{port}/ping", timeout=5).text == "pong"
    trigger = server._server.trigger
    trigger.pull_trigger(trigger.close)          # the loop closes its own trigger, as in the race
    deadline = time.monotonic() + 5
    while trigger.connected and time.monotonic() < deadline:
        time.sleep(0.01)
    server.stop(grace_s=1.0)                     # raised OSError (EBADF) before
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/ping", timeout=2)
