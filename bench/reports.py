"""Benchmark: reports over a year of a large center. Generates the events straight into a hub store (not via HTTP,
to keep the run short; bench/year_of_events.py): ≥ 500,000 tickets over the 2026 working days, 40 counters, 60
staff, 12 services, no-shows, cancellations, transfers, counter open/pause/close, ratings and dossiers (mirror +
dossier.updated).
Then: a full rebuild of the read model (events/s), p50/p99 of a month's and a year's report over HTTP (the real
hub under waitress; target ≤ 200 ms p99), and a month's Excel export over HTTP (target ≤ 2 s).

Usage: .venv/bin/python bench/reports.py [--tickets 520000] [--requests 60] [--db-dir DIR]
       (an existing store in --db-dir is reused). The last line printed is one JSON object with unit-suffixed keys.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from werkzeug.security import generate_password_hash

from bench.year_of_events import generate  # the year of events bench/year_old_hub.py shares
from contracts.messages import VN_TZ
from queue_server.app.ports import FixedClock
from queue_server.broker import free_port, wait_for_port
from queue_server.config import settings_from_dict

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password"


def settings_for(folder: Path) -> Any:
    raw = tomllib.loads((ROOT / "deploy" / "center.example.toml").read_text(encoding="utf-8"))
    raw["store"] = {"path": str(folder / "hub.sqlite3")}
    raw["mqtt"] = {"enabled": False}
    raw["integration"] = {"mirror_path": str(folder / "dossiers.sqlite3"), "outbox_path": str(folder / "outbox.sqlite3")}
    raw["users"] = [{"username": "quanly", "role": "manager",
                     "password_hash": generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")}]
    return settings_from_dict(raw)


def timed(session: requests.Session, url: str, headers: dict[str, str], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = session.get(url, headers=headers, timeout=120)
        out.append((time.perf_counter() - t) * 1000)
        assert r.ok, r.text[:300]
    return out


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return round(s[min(len(s) - 1, int(q * len(s)))], 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=520_000)
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--db-dir", type=Path, default=None)
    args = ap.parse_args()
    folder = args.db_dir or Path(tempfile.mkdtemp(prefix="motcua-bench-reports-"))
    folder.mkdir(parents=True, exist_ok=True)
    store_path = folder / "hub.sqlite3"
    t = time.perf_counter()
    if not store_path.exists():
        counts = generate(store_path, folder / "dossiers.sqlite3", args.tickets)
        print(f"generated {counts} in {time.perf_counter() - t:.1f} s", flush=True)
    else:
        conn = sqlite3.connect(store_path)
        counts = {"events": conn.execute("SELECT count(*) FROM events").fetchone()[0],
                  "tickets": conn.execute("SELECT count(*) FROM events WHERE type = 'ticket.issued'").fetchone()[0]}
        conn.close()
        print(f"reusing {store_path}: {counts}", flush=True)
    from queue_server.wiring import build_hub

    (folder / "reports.sqlite3").unlink(missing_ok=True)
    hub = build_hub(settings_for(folder), clock=FixedClock(datetime(2026, 12, 31, 16, 0, tzinfo=VN_TZ)),
                    extra_blueprints=[])
    try:
        rebuild = hub.reports.store.rebuild()
        print(f"rebuild: {rebuild}", flush=True)
        port = hub.serve_in_thread("127.0.0.1", free_port())
        wait_for_port("127.0.0.1", port)
        base = f"http://127.0.0.1:{port}/api/v1"
        s = requests.Session()
        token = s.post(f"{base}/auth/login", json={"username": "quanly", "password": PASSWORD}, timeout=10).json()["token"]
        h = {"Authorization": f"Bearer {token}"}
        month = timed(s, f"{base}/reports/summary?month=2026-06&group=service", h, args.requests)
        month_staff = timed(s, f"{base}/reports/summary?month=2026-06&group=staff", h, args.requests)
        year = timed(s, f"{base}/reports/summary?period=year&date=2026-06-01&group=service", h, args.requests)
        year_counter = timed(s, f"{base}/reports/summary?period=year&date=2026-06-01&group=counter", h, args.requests)
        year_dossiers = timed(s, f"{base}/reports/dossiers?period=year&date=2026-06-01", h, max(5, args.requests // 4))
        xlsx = timed(s, f"{base}/reports/export.xlsx?month=2026-06", h, 5)
        # CPU time per report in-process: what a request costs whatever else the machine is running
        from queue_server.app.report_service import Period

        svc = hub.reports.service
        year_p = Period(date(2026, 1, 1), date(2026, 12, 31))
        month_p = Period(date(2026, 6, 1), date(2026, 6, 30))
        cpu: dict[str, float] = {}
        for name, call in (("month_report_cpu_ms", lambda: svc.summary(month_p, "service")),
                           ("year_report_cpu_ms", lambda: svc.summary(year_p, "service")),
                           ("year_by_counter_cpu_ms", lambda: svc.summary(year_p, "counter")),
                           ("year_dossiers_cpu_ms", lambda: svc.dossiers(year_p))):
            samples = []
            for _ in range(10):
                c0 = time.process_time()
                call()
                samples.append((time.process_time() - c0) * 1000)
            cpu[name] = pct(samples, 0.5)
        sample = s.get(f"{base}/reports/summary?period=year&date=2026-06-01", headers=h, timeout=60).json()["totals"]
        print(f"year totals: issued {sample['issued']}, served {sample['served']}, "
              f"wait p50/p90 {sample['wait_p50_min']}/{sample['wait_p90_min']} min", flush=True)
        size_mb = round((folder / "reports.sqlite3").stat().st_size / 1e6, 1)
    finally:
        hub.stop()
    result = {
        "tickets": counts["tickets"], "events": counts["events"],
        "rebuild_events_per_s": rebuild["events_per_s"], "rebuild_s": rebuild["seconds"],
        "month_report_p50_ms": pct(month, 0.5), "month_report_p99_ms": pct(month, 0.99),
        "month_by_staff_p50_ms": pct(month_staff, 0.5), "month_by_staff_p99_ms": pct(month_staff, 0.99),
        "year_report_p50_ms": pct(year, 0.5), "year_report_p99_ms": pct(year, 0.99),
        "year_by_counter_p50_ms": pct(year_counter, 0.5), "year_by_counter_p99_ms": pct(year_counter, 0.99),
        "year_dossiers_p50_ms": pct(year_dossiers, 0.5), "year_dossiers_p99_ms": pct(year_dossiers, 0.99),
        **cpu,
        "month_xlsx_p50_ms": pct(xlsx, 0.5), "month_xlsx_max_ms": round(max(xlsx), 1),
        "reports_db_mb": size_mb,
    }
    if args.db_dir is None:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
