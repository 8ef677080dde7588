"""Benchmark: reports over a year of a large center. Generates the events straight into a hub store (not via HTTP,
to keep the run short): ≥ 500,000 tickets over the 2026 working days, 40 counters, 60 staff, 12 services,
no-shows, cancellations, transfers, counter open/pause/close, ratings and dossiers (mirror + dossier.updated).
Then: a full rebuild of the read model (events/s), p50/p99 of a month's and a year's report over HTTP (the real
hub under waitress; target ≤ 200 ms p99), and a month's Excel export over HTTP (target ≤ 2 s).

Usage: .venv/bin/python bench/reports.py [--tickets 520000] [--requests 60] [--db-dir DIR]
       (an existing store in --db-dir is reused). The last line printed is one JSON object with unit-suffixed keys.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from werkzeug.security import generate_password_hash

from contracts.messages import VN_TZ, dumps, format_at
from queue_server.adapters.dossier_mirror import DossierMirror
from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app.ports import FixedClock
from queue_server.broker import free_port, wait_for_port
from queue_server.config import settings_from_dict

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ["ho-tich", "dat-dai", "dang-ky-kinh-doanh", "xay-dung", "giao-thong", "lao-dong", "y-te", "giao-duc",
            "tai-nguyen", "thue", "noi-vu", "cong-thuong"]
PROCEDURES = ["Đăng ký khai sinh", "Cấp bản sao trích lục hộ tịch", "Chứng thực bản sao từ bản chính",
              "Đăng ký biến động quyền sử dụng đất", "Đăng ký thành lập hộ kinh doanh", "Cấp giấy phép xây dựng"]
COUNTERS = [str(i) for i in range(1, 41)]
STAFF = [f"cb{i:02d}" for i in range(1, 61)]
PASSWORD = "bench-password"


def working_days(year: int) -> list[date]:
    d, out = date(year, 1, 1), []
    while d.year == year:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def at(day: date, seconds: float) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=VN_TZ) + timedelta(seconds=int(seconds))


def ticket(tid: str, day: date, service: str, origin: str, status: str, issued: datetime, counter: str | None,
           staff: str | None, called: datetime | None = None, serving: datetime | None = None,
           done: datetime | None = None) -> dict[str, Any]:
    f = lambda m: format_at(m) if m else None
    return {"id": tid, "number": tid[-4:], "service": service, "priority": None, "status": status, "counter": counter,
            "issued_at": format_at(issued), "called_at": f(called), "serving_at": f(serving), "done_at": f(done),
            "recalls": 0, "printed": True, "day": day.isoformat(), "origin_service": origin, "staff": staff,
            # the extras the hub's own log carries (it loads today's calls and completions on start)
            "prefix": "A", "seq_number": int(tid.rsplit("-", 1)[1]), "queued_at": format_at(issued),
            "last_called_at": f(called), "target_counter": None, "reactivations": 0, "kiosk": None, "lease_id": None,
            "queue_seq": 0, "request_id": None}


def generate(store_path: Path, mirror_path: Path, tickets: int, seed: int = 766) -> dict[str, int]:
    """Write the events of a year straight into the store's log (the same rows the hub's writer writes)."""
    rnd = random.Random(seed)
    SqliteStore(store_path).close()             # schema through the store's own migrations
    conn = sqlite3.connect(store_path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    days = working_days(2026)
    per_day = -(-tickets // len(days))
    seq = 0
    counts = {"tickets": 0, "events": 0, "ratings": 0, "dossiers": 0}
    mirror = DossierMirror(mirror_path)
    dossier_rows: list[tuple[Any, ...]] = []
    for day in days:
        rows: list[tuple[Any, ...]] = []

        def emit(kind: str, moment: datetime, data: dict[str, Any], rows: list[tuple[Any, ...]] = rows) -> None:
            nonlocal seq
            seq += 1
            rows.append((seq, f"b{seq}", kind, format_at(moment), dumps(data)))

        staff_of = dict(zip(COUNTERS, rnd.sample(STAFF, len(COUNTERS)), strict=True))
        for c in COUNTERS:
            emit("counter.opened", at(day, 7.5 * 3600), {"counter": c, "status": "open", "staff": staff_of[c]})
            pause = 9.5 * 3600 + rnd.randint(0, 3600)
            emit("counter.paused", at(day, pause), {"counter": c, "status": "paused", "staff": staff_of[c]})
            emit("counter.opened", at(day, pause + 900), {"counter": c, "status": "open", "staff": staff_of[c]})
            emit("counter.closed", at(day, 17 * 3600), {"counter": c, "status": "closed", "staff": None})
        day_events: list[tuple[float, str, dict[str, Any]]] = []
        for n in range(per_day):
            if counts["tickets"] >= tickets:
                break
            counts["tickets"] += 1
            service = SERVICES[min(len(SERVICES) - 1, int(rnd.expovariate(0.35)))]
            tid = f"{day:%Y%m%d}-{service}-{n}"
            t0 = rnd.choice((rnd.uniform(7.5, 11.3), rnd.uniform(13.5, 16.8))) * 3600
            issued = at(day, t0)
            c = rnd.choice(COUNTERS)
            s = staff_of[c]
            day_events.append((t0, "ticket.issued", {"ticket": ticket(tid, day, service, service, "issued", issued,
                                                                       None, None)}))
            r = rnd.random()
            if r < 0.02:
                day_events.append((t0 + 600, "ticket.cancelled", {"ticket": ticket(
                    tid, day, service, service, "cancelled", issued, None, None, done=at(day, t0 + 600))}))
                continue
            t1 = t0 + rnd.expovariate(1 / 900)
            called = at(day, t1)
            data = {"ticket": ticket(tid, day, service, service, "called", issued, c, s, called), "counter": c}
            day_events.append((t1, "ticket.called", data))
            if r < 0.07:
                day_events.append((t1 + 90, "ticket.no_show", {"ticket": ticket(
                    tid, day, service, service, "no_show", issued, c, s, called), "counter": c}))
                continue
            t2 = t1 + 60
            serving = at(day, t2)
            day_events.append((t2, "ticket.serving", {"ticket": ticket(tid, day, service, service, "serving",
                                                                        issued, c, s, called, serving), "counter": c}))
            final = service
            if r < 0.09:
                final = SERVICES[(SERVICES.index(service) + 1) % len(SERVICES)]
                day_events.append((t2 + 120, "ticket.transferred", {"ticket": ticket(
                    tid, day, final, service, "issued", issued, None, s), "counter": c, "from_service": service}))
                t2 += 600
                serving = at(day, t2)
            t3 = t2 + rnd.lognormvariate(6.2, 0.5)
            done = at(day, t3)
            day_events.append((t3, "ticket.done", {"ticket": ticket(tid, day, final, service, "done", issued, c, s,
                                                                     called, serving, done), "counter": c}))
            if rnd.random() < 0.3:
                counts["ratings"] += 1
                level = rnd.choices((3, 2, 1), (70, 25, 5))[0]
                day_events.append((t3 + 20, "rating.submitted", {
                    "id": f"r-{tid}", "ticket_id": tid, "ticket_number": tid[-4:], "counter": c, "staff": s,
                    "service": final, "day": day.isoformat(), "level": level, "at": format_at(done),
                    "criteria": {}, "dossier_codes": [], "source": "pad"}))
            if rnd.random() < 0.2:
                counts["dossiers"] += 1
                code = f"000.00.12.H38-{day:%y%m%d}-{counts['dossiers']:06d}"
                due = done + timedelta(days=rnd.choice((3, 5, 7, 15)))
                finished = done + timedelta(days=rnd.uniform(1, 18))
                fin = finished if finished < datetime(2026, 12, 31, tzinfo=VN_TZ) else None
                dossier_rows.append((code, rnd.choice(PROCEDURES), "N*** V*** An", format_at(done),
                                     "returned" if fin else "processing", format_at(due), None,
                                     None, "", format_at(fin) if fin else None, "[]", format_at(fin or done),
                                     format_at(fin or done)))
                day_events.append((t3 + 30, "dossier.updated", {"code": code, "status": "received"}))
        day_events.sort(key=lambda e: e[0])
        for t, kind, data in day_events:
            emit(kind, at(day, t), data)
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO events(seq, id, type, at, data) VALUES (?,?,?,?,?)", rows)
        conn.execute("COMMIT")
        counts["events"] += len(rows)
    mirror.bulk_load(dossier_rows)
    mirror.close()
    conn.close()
    return counts


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
