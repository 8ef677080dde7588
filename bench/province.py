"""Benchmark of the province tier (not a test). Real parts: Debian's PostgreSQL (a throwaway cluster, fsync off as
in the tests — say so when quoting), the real province ingest, real hubs' outbox relays over HTTP.

1. ingest: 200 simulated centers replay a busy day (province.simulate.busy_day, ~4.7 events per ticket) into
   ProvinceStore.ingest in batches (what the HTTP endpoint calls), from 2 threads: events/s. Target >= 20,000.
2. lag: hubs (real SqliteStore + QueueService + province sink OutboxRelay) post over real HTTP to the province
   service at a realistic rate; hub commit (listener time) -> the row's received_at in PostgreSQL, p99. Target <= 1 s.
4. drain: hubs each holding a busy day of backlog after an outage drain it at once through the real outbox
   relay and signed HTTP: events/s end to end (what a province restart after a long outage sees).
3. reads over a year of 200 centers: daily_stats for 365 days x 200 centers plus today's live tables; the board
   (all sites) and a monthly report (all units, ranked) p99. Targets <= 100 ms / <= 500 ms. The board and reports
   read the rollups and live projections, never the raw events, so the raw year is not generated here.

    python bench/province.py [--centers 200] [--tickets 300] [--lag-hubs 40] [--lag-seconds 15]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg

from contracts.messages import VN_TZ
from province.config import config_from_dict
from province.pgserver import PgServer
from province.simulate import busy_day
from province.store import ProvinceStore
from province.web import ProvinceServer
from queue_server.broker import free_port

DAY = date(2026, 11, 23)


def p99(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * 0.99))]


def bench_ingest(server: PgServer, centers: int, tickets: int, batch: int = 500, threads: int = 2) -> dict:
    dsn = server.create_database("bench_ingest")
    store = ProvinceStore(dsn)
    days = {f"c{i:03d}": list(busy_day(f"c{i:03d}", DAY, tickets=tickets, seed=i)) for i in range(centers)}
    total = sum(len(v) for v in days.values())
    names = sorted(days)

    def worker(part: list[str]) -> None:
        # interleave centers, as deliveries arrive from many hubs at once
        cursors = {c: 0 for c in part}
        while cursors:
            for c in list(cursors):
                i = cursors[c]
                store.ingest(c, days[c][i:i + batch])
                if i + batch >= len(days[c]):
                    del cursors[c]
                else:
                    cursors[c] = i + batch

    started = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(names[k::threads],)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - started
    with psycopg.connect(dsn) as conn:
        stored = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    store.close()
    assert stored == total, (stored, total)
    return {"ingest_events": total, "ingest_s": round(elapsed, 2), "ingest_events_per_s": round(total / elapsed)}


def bench_lag(server: PgServer, hubs: int, seconds: float, per_hub_per_s: float) -> dict:
    from queue_server.adapters.province_sink import ProvinceSinkSettings, build_province_relay
    from queue_server.adapters.sqlite_store import SqliteStore
    from queue_server.app.queue_service import QueueService
    from tests.hub_center import MONDAY_0800, make_center

    dsn = server.create_database("bench_lag")
    key = "khoa-bench-0123456789abcdef"
    config = config_from_dict({"province": {"dsn": dsn, "port": free_port(), "threads": 16},
                               "centers": [{"id": f"h{i:03d}", "key": key} for i in range(hubs)]}, environ={})
    province = ProvinceServer(config, sweep_every_s=0)
    province.start()
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-province-"))

    class Clock:
        def now(self) -> datetime:
            return MONDAY_0800 + timedelta(hours=1)

    commits: dict[tuple[str, int], float] = {}
    running = []
    for i in range(hubs):
        cid = f"h{i:03d}"
        store = SqliteStore(tmp / f"{cid}.sqlite3")
        service = QueueService(replace(make_center(), id=cid), store, Clock())
        relay = build_province_relay(ProvinceSinkSettings(url=province.url + "/api/v1/events", key=key,
                                                          outbox_path=tmp / f"{cid}-out.sqlite3"), cid,
                                     service.events_after)

        def on_events(events: list, cid: str = cid) -> None:
            now = time.time()
            for e in events:
                commits[(cid, e.seq)] = now

        service.add_listener(on_events)
        service.add_listener(relay.wake)
        relay.start()
        running.append((service, relay))
    interval = 1.0 / per_hub_per_s
    stop = time.monotonic() + seconds

    def drive(k: int) -> None:
        service = running[k][0]
        next_at = time.monotonic() + interval * (k / hubs)
        while time.monotonic() < stop:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += interval
            service.issue_ticket("ho-tich")

    drivers = [threading.Thread(target=drive, args=(k,)) for k in range(hubs)]
    for t in drivers:
        t.start()
    for t in drivers:
        t.join()
    time.sleep(3)
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT center, seq, extract(epoch FROM received_at) FROM events").fetchall()
    lags = [float(r[2]) - commits[(r[0], int(r[1]))] for r in rows if (r[0], int(r[1])) in commits]
    for service, relay in running:
        relay.close()
        service.close()
    province.stop()
    return {"lag_hubs": hubs, "lag_events": len(lags), "lag_events_per_s": round(len(lags) / seconds),
            "lag_missing": len(commits) - len(lags),
            "lag_p50_ms": round(statistics.median(lags) * 1000, 1), "lag_p99_ms": round(p99(lags) * 1000, 1)}


def bench_drain(server: PgServer, hubs: int, tickets: int) -> dict:
    """After an outage: every hub has a day of backlog in its province outbox and drains it at once through the
    real relay (SQLite outbox, batches of 200, signed HTTP) into the province service."""
    from contracts.messages import Envelope
    from queue_server.adapters.province_sink import ProvinceSinkSettings, build_province_relay

    dsn = server.create_database("bench_drain")
    key = "khoa-bench-0123456789abcdef"
    config = config_from_dict({"province": {"dsn": dsn, "port": free_port(), "threads": 16},
                               "centers": [{"id": f"d{i:03d}", "key": key} for i in range(hubs)]}, environ={})
    province = ProvinceServer(config, sweep_every_s=0)
    province.start()
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-drain-"))
    logs = {f"d{i:03d}": [Envelope.from_dict(e) for e in busy_day(f"d{i:03d}", DAY, tickets=tickets, seed=i)]
            for i in range(hubs)}
    relays = []
    for cid, log in logs.items():
        relays.append(build_province_relay(
            ProvinceSinkSettings(url=province.url + "/api/v1/events", key=key, outbox_path=tmp / f"{cid}.sqlite3"),
            cid, lambda after, limit, log=log: log[after:after + limit]))
    total = sum(len(v) for v in logs.values())
    started = time.perf_counter()
    for relay in relays:
        relay.start()
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            done = conn.execute("SELECT coalesce(sum(applied_seq), 0) FROM centers").fetchone()[0]
            if done >= total or time.perf_counter() - started > 300:
                break
            time.sleep(0.05)
    elapsed = time.perf_counter() - started
    for relay in relays:
        relay.close()
    province.stop()
    return {"drain_hubs": hubs, "drain_events": total, "drain_applied": int(done),
            "drain_events_per_s": round(int(done) / elapsed)}


def bench_reads(server: PgServer, centers: int, runs: int = 60) -> dict:
    dsn = server.create_database("bench_reads")
    today = date(2026, 11, 23)
    store = ProvinceStore(dsn, now=lambda: datetime(2026, 11, 23, 10, 0, tzinfo=VN_TZ))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO centers (center, name, tier) SELECT 'c' || lpad(i::text, 3, '0'), "
                     "'Đơn vị ' || i, (ARRAY['province','district','commune'])[1 + i %% 3] "
                     "FROM generate_series(0, %s) i", (centers - 1,))
        conn.execute(
            "INSERT INTO daily_stats SELECT c.center, d::date, 300 + (random()*100)::int, 280, 10, 2, "
            "280 * 600 * random(), 3600 * random(), 250, 280 * 400, 160, (random()*10)::int, 120, 40 "
            "FROM centers c, generate_series(%s::date - 364, %s::date, interval '1 day') d", (today, today))
        conn.execute("INSERT INTO live_tickets SELECT c.center, c.center || '-' || n, %s, 'issued', 'ho-tich', "
                     "'A' || n, now() - (n || ' minutes')::interval, NULL FROM centers c, generate_series(1, 40) n",
                     (today,))
        conn.execute("INSERT INTO live_counters SELECT c.center, n::text, 'Quầy ' || n, "
                     "CASE WHEN n % 4 = 0 THEN 'paused' ELSE 'open' END, NULL, now() "
                     "FROM centers c, generate_series(1, 8) n")
        conn.execute("INSERT INTO live_alerts SELECT center, 'printer-1', 'paper_out', 'printer', 'error', "
                     "'Máy in hết giấy', 'Printer out of paper', now() FROM centers WHERE random() < 0.1")
        conn.execute("ANALYZE")
        rows = conn.execute("SELECT count(*) FROM daily_stats").fetchone()[0]
    board, report = [], []
    for k in range(runs):
        t = time.perf_counter()
        sites = store.board()
        board.append(time.perf_counter() - t)
        t = time.perf_counter()
        units = store.monthly(date(2026, 1 + k % 11, 1))
        report.append(time.perf_counter() - t)
    assert len(sites) == centers and len(units) == centers
    store.close()
    return {"reads_daily_rows": rows, "board_p99_ms": round(p99(board) * 1000, 1),
            "report_month_p99_ms": round(p99(report) * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--centers", type=int, default=200)
    parser.add_argument("--tickets", type=int, default=300, help="tickets per center in the busy day")
    parser.add_argument("--lag-hubs", type=int, default=40)
    parser.add_argument("--lag-seconds", type=float, default=15)
    parser.add_argument("--lag-rate", type=float, default=2.0, help="events per second per hub")
    parser.add_argument("--drain-hubs", type=int, default=20, help="hubs draining a day of backlog at once")
    args = parser.parse_args()
    server = PgServer.start()
    try:
        result: dict = {}
        result.update(bench_ingest(server, args.centers, args.tickets))
        print("ingest", result, flush=True)
        result.update(bench_reads(server, args.centers))
        print("reads", result, flush=True)
        result.update(bench_lag(server, args.lag_hubs, args.lag_seconds, args.lag_rate))
        print("lag", result, flush=True)
        result.update(bench_drain(server, args.drain_hubs, args.tickets))
    finally:
        server.stop()
    result["note"] = "2 shared cores, other work running; PostgreSQL with fsync off"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
