"""Benchmark: dossier look-up p50/p99 over a 1,000,000-dossier mirror (in-process and over HTTP), and outbox
delivery rate to the mock main system. Targets: <= 2 ms in-process p99, <= 10 ms HTTP p99, >= 500 events/s.

Usage: .venv/bin/python bench/lookup.py [--rows 1000000] [--lookups 20000] [--http 5000] [--events 5000]
       [--db path]  (an existing mirror at --db with enough rows is reused)
The last line printed is one JSON object with unit-suffixed keys.
"""
from __future__ import annotations

import argparse
import functools
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from flask import Flask

from contracts.messages import VN_TZ, Envelope
from queue_server.adapters.dossier_mirror import DossierMirror
from queue_server.adapters.holidays_source import load_calendar
from queue_server.adapters.outbox import HttpSender, OutboxRelay, OutboxSettings
from queue_server.app.dossier_service import DossierService
from queue_server.app.ports import SystemClock
from queue_server.broker import free_port, wait_for_port
from queue_server.web.dossiers import RateLimit, create_dossiers_blueprint

AGENCIES = ["000.00.12.H38", "000.00.13.H38", "000.00.31.H38", "38.98.H29", "000.A0.01.H26"]
PROCEDURES = ["Đăng ký khai sinh", "Cấp bản sao trích lục hộ tịch", "Chứng thực bản sao từ bản chính",
              "Đăng ký biến động quyền sử dụng đất", "Đăng ký thành lập hộ kinh doanh"]
STATUSES = ["received", "processing", "awaiting_supplement", "result_ready", "returned"]


def code_for(i: int) -> str:
    day = date(2025, 1, 1) + timedelta(days=(i // 2000) % 700)
    return f"{AGENCIES[i % len(AGENCIES)]}-{day:%y%m%d}-{i % 2000 + 1000:04d}{i // 1_400_000}"


def rows(n: int) -> Iterator[tuple[Any, ...]]:
    synced = "2026-11-23T08:00:00+07:00"
    for i in range(n):
        received = datetime(2025, 1, 1, 8, 0, tzinfo=VN_TZ) + timedelta(days=(i // 2000) % 700)
        rec = received.isoformat()
        due = (received + timedelta(days=7)).isoformat()
        yield (code_for(i), PROCEDURES[i % 5], "N*** V*** An", rec, STATUSES[i % 5], due, None, None, "",
               None, "[]", rec, synced)


def percentiles(samples: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return round(q[49] * 1000, 3), round(q[98] * 1000, 3)


def window(events: list[Envelope], after: int, limit: int) -> list[Envelope]:
    return events[after:after + limit]






def serve(db: Path, port: int) -> None:
    """The HTTP side of the bench: the dossier blueprint over the mirror, in waitress."""
    import waitress  # type: ignore[import-untyped]
    service = DossierService(DossierMirror(db), load_calendar([2025, 2026, 2027]), SystemClock())
    app = Flask("bench")
    app.register_blueprint(create_dossiers_blueprint(service, rate_limit=RateLimit(per_minute=1e9, burst=10**9)))
    waitress.serve(app, host="127.0.0.1", port=port, threads=4, _quiet=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--http", type=int, default=5_000)
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.port)
        return

    work = Path(tempfile.mkdtemp(prefix="motcua-bench-"))
    db = args.db or work / "dossiers.sqlite3"
    mirror = DossierMirror(db)
    build_s = 0.0
    if mirror.count() < args.rows:
        t0 = time.perf_counter()
        mirror.bulk_load(rows(args.rows))
        build_s = time.perf_counter() - t0
        print(f"built {args.rows} dossiers in {build_s:.1f} s at {db}", flush=True)
    total = mirror.count()
    rng = random.Random(7)
    codes = [code_for(rng.randrange(args.rows)) for _ in range(max(args.lookups, args.http))]

    service = DossierService(mirror, load_calendar([2025, 2026, 2027]), SystemClock())
    for c in codes[:200]:                      # warm the page cache a little, as a running hub would be
        service.lookup(c)
    samples = []
    for c in codes[:args.lookups]:
        t0 = time.perf_counter()
        service.lookup(c)
        samples.append(time.perf_counter() - t0)
    in_p50, in_p99 = percentiles(samples)
    print(f"in-process lookup: p50 {in_p50} ms, p99 {in_p99} ms over {len(samples)}", flush=True)

    # HTTP: the blueprint in waitress (the hub's production server) in its own process, as in production;
    # one kept-alive client like a kiosk.
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(db), "--port", str(port)])
    http = requests.Session()
    base = f"http://127.0.0.1:{port}/api/v1/dossiers/"
    try:
        wait_for_port("127.0.0.1", port, 30.0)
        for c in codes[:100]:
            http.get(base + c).raise_for_status()
        samples = []
        for c in codes[:args.http]:
            t0 = time.perf_counter()
            r = http.get(base + c)
            samples.append(time.perf_counter() - t0)
            if r.status_code != 200:
                raise SystemExit(f"HTTP lookup failed: {r.status_code} {r.text[:200]}")
    finally:
        server.terminate()
        server.wait(10)
    http_p50, http_p99 = percentiles(samples)
    print(f"HTTP lookup: p50 {http_p50} ms, p99 {http_p99} ms over {len(samples)}", flush=True)

    # Outbox: deliver N events to the mock main system, which checks each signature and deduplicates.
    mock_port = free_port()
    script = f"from queue_server.mock_main_system import run; run('127.0.0.1', {mock_port}, secret='bench-secret')"
    mock_proc = subprocess.Popen([sys.executable, "-c", script],
                                 cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL)
    wait_for_port("127.0.0.1", mock_port, 30.0)
    mock_url = f"http://127.0.0.1:{mock_port}"

    def received() -> int:
        return int(requests.get(mock_url + "/admin/state", timeout=5).json()["received"])

    rates = {}
    for mode, batch in (("single", 1), ("batch50", 50)):
        at = datetime.now(VN_TZ)
        events = [Envelope.new(i, "ticket.issued", "tt-hcc", at, {"ticket": {"number": f"A{i:03d}"}})
                  for i in range(1, args.events + 1)]
        settings = OutboxSettings(events_url=mock_url + "/api/motcua/events", hmac_secret="bench-secret",
                                  deliver_per_pass=args.events, batch_size=batch)
        before = received()
        relay = OutboxRelay(work / f"outbox-{mode}.sqlite3", "tt-hcc", functools.partial(window, events),
                            HttpSender(settings), settings)
        t0 = time.perf_counter()
        delivered = 0
        while delivered < args.events:
            step = relay.run_once()
            if step == 0:
                raise SystemExit(f"outbox stalled: {relay.metrics()}")
            delivered += step
        outbox_s = time.perf_counter() - t0
        rates[mode] = round(args.events / outbox_s, 1)
        if received() - before != args.events:
            raise SystemExit("the mock did not receive every event")
        print(f"outbox ({mode}): {args.events} events in {outbox_s:.2f} s = {rates[mode]} events/s", flush=True)
        relay.close()
    mock_proc.terminate()
    mock_proc.wait(10)
    mirror.close()
    shutil.rmtree(work, ignore_errors=True)      # a 1M-row mirror is ~250 MB; --db keeps one to reuse

    print(json.dumps({"mirror_rows": total, "build_s": round(build_s, 1), "lookup_inproc_p50_ms": in_p50,
                      "lookup_inproc_p99_ms": in_p99, "lookup_http_p50_ms": http_p50,
                      "lookup_http_p99_ms": http_p99, "outbox_events_per_s": rates["single"],
                      "outbox_batched_events_per_s": rates["batch50"]}))


if __name__ == "__main__":
    main()
