"""Benchmark: call-next in the hub's HTTP API → the number appears in the hall display's DOM in real Chromium.

Runs the real hub as `motcua hub` builds it (queue_server.wiring: QueueService on a temp SQLite file, waitress,
SSE, the displays blueprint; MQTT off) on a free loopback port, opens /display/hall in Debian's Chromium (headless, Playwright), then N times:
finish the counter's ticket (not timed), take t0, POST /counters/1/call-next, and read when a MutationObserver in
the page saw #current-number change to that number (and the next animation frame, i.e. painted).
Both clocks are this machine's wall clock (time.time() and performance.timeOrigin + now()).
Last line printed: one JSON object with unit-suffixed keys.

    .venv/bin/python bench/display_latency.py [--calls 300]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from queue_server.broker import free_port

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic", "--autoplay-policy=no-user-gesture-required"]

OBSERVER_JS = """() => {
  window.benchSeen = {};
  const el = document.getElementById('current-number');
  new MutationObserver(() => {
    const n = el.textContent, t = performance.timeOrigin + performance.now();
    if (!(n in window.benchSeen)) {
      window.benchSeen[n] = {dom: t, paint: null};
      requestAnimationFrame(() => { window.benchSeen[n].paint = performance.timeOrigin + performance.now(); });
    }
  }).observe(el, {childList: true, characterData: true, subtree: true});
}"""




def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from playwright.sync_api import sync_playwright
    from werkzeug.security import generate_password_hash

    from contracts.messages import VN_TZ
    from displays.blueprint import make_displays_blueprint
    from queue_server.app.ports import FixedClock
    from queue_server.config import MqttSettings, UserDef, load_settings
    from queue_server.wiring import build_hub

    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-"))
    base = load_settings(ROOT / "deploy" / "center.example.toml", environ={})
    settings = dataclasses.replace(
        base, store_path=tmp / "hub.sqlite3", mqtt=MqttSettings(enabled=False),
        users=(UserDef("bench", "staff", generate_password_hash("bench", method="pbkdf2:sha256:1000"), "bench"),))
    # A fixed working-day morning, so issuing is never refused as "outside working hours".
    hub = build_hub(settings, clock=FixedClock(datetime(2026, 11, 23, 8, 0, tzinfo=VN_TZ)),
                    extra_blueprints=[make_displays_blueprint(tmp / "voice")])
    published: dict[str, float] = {}

    def note_publish(envelopes: Any) -> None:
        # Runs right after the commit, next to the SSE broadcaster: splits hub time from transport + browser time.
        for env in envelopes:
            if env.type == "ticket.called":
                published[env.data["ticket"]["number"]] = time.time() * 1000

    hub.service.add_listener(note_publish)
    port = hub.serve_in_thread("127.0.0.1", free_port())
    url = f"http://127.0.0.1:{port}"

    http = requests.Session()
    token = http.post(f"{url}/api/v1/auth/login", json={"username": "bench", "password": "bench"}).json()["token"]
    http.headers["Authorization"] = f"Bearer {token}"
    for _ in range(args.calls):
        http.post(f"{url}/api/v1/tickets", json={"service": "ho-tich"}).raise_for_status()
    http.post(f"{url}/api/v1/counters/1/open").raise_for_status()

    dom_ms: list[float] = []
    paint_ms: list[float] = []
    api_ms: list[float] = []
    publish_ms: list[float] = []
    to_dom_ms: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(f"{url}/display/hall?sound=off")
        page.wait_for_function("document.getElementById('link').dataset.state === 'online'")
        page.evaluate(OBSERVER_JS)
        for i in range(args.calls):
            if i:
                http.post(f"{url}/api/v1/counters/1/start").raise_for_status()
                http.post(f"{url}/api/v1/counters/1/complete").raise_for_status()
            t0 = time.time() * 1000
            number = http.post(f"{url}/api/v1/counters/1/call-next").json()["ticket"]["number"]
            api_ms.append(time.time() * 1000 - t0)
            page.wait_for_function(f"window.benchSeen[{number!r}] && window.benchSeen[{number!r}].paint",
                                   timeout=10000)
            seen = page.evaluate(f"window.benchSeen[{number!r}]")
            dom_ms.append(seen["dom"] - t0)
            publish_ms.append(published[number] - t0)
            to_dom_ms.append(seen["dom"] - published[number])
            paint_ms.append(seen["paint"] - t0)
        browser.close()
    hub.stop()

    result = {
        "calls": len(dom_ms),
        "call_to_dom_p50_ms": round(statistics.median(dom_ms), 2),
        "call_to_dom_p99_ms": round(percentile(dom_ms, 99), 2),
        "call_to_dom_max_ms": round(max(dom_ms), 2),
        "api_call_next_p50_ms": round(statistics.median(api_ms), 2),
        "api_call_next_p99_ms": round(percentile(api_ms, 99), 2),
        "call_to_commit_published_p50_ms": round(statistics.median(publish_ms), 2),
        "call_to_commit_published_p99_ms": round(percentile(publish_ms, 99), 2),
        "published_to_dom_p50_ms": round(statistics.median(to_dom_ms), 2),
        "published_to_dom_p99_ms": round(percentile(to_dom_ms, 99), 2),
        "call_to_paint_p50_ms": round(statistics.median(paint_ms), 2),
        "call_to_paint_p99_ms": round(percentile(paint_ms, 99), 2),
    }
    load = os.getloadavg()[0]
    result["load_avg_1min"] = round(load, 2)
    print(f"call-next → hall display DOM over {len(dom_ms)} calls (real hub, headless Chromium, sound off); "
          f"machine load average {load:.1f} on {os.cpu_count()} cores")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
