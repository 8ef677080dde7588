"""Bench: QueueService.issue_ticket in-process on a durable SQLite file (WAL, synchronous=FULL), no HTTP.

Shows what the core (pure transition + group-committed store) costs on its own, so bench/hub.py's HTTP figures
can be read against it. Concurrency 1 and 8 (threads), then sustained tickets/s with 8 threads. Every ticket is
acknowledged only after its commit. Last line: one JSON object with unit-suffixed keys.

    .venv/bin/python bench/queue_core.py [--tickets 2000]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import time as dtime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app.ports import SystemClock
from queue_server.app.queue_service import QueueService
from queue_server.domain.model import (
    CenterDef,
    CounterDef,
    CounterId,
    ServiceCode,
    ServiceDef,
    WorkingSession,
)


def center() -> CenterDef:
    services = tuple(ServiceDef(ServiceCode(f"s{i}"), f"Lĩnh vực {i}", f"Service {i}", chr(65 + i),
                                number_end=99_999, stop_issuing_before_close_min=0) for i in range(10))
    counters = tuple(CounterDef(CounterId(str(i + 1)), f"Quầy {i + 1}", (services[i % 10].code,)) for i in range(12))
    always = (WorkingSession(dtime(0, 0), dtime(23, 59, 59)),)
    return CenterDef("bench", "Trung tâm", "Center", services, counters, sessions={d: always for d in range(7)})


def run(svc: QueueService, threads: int, per_thread: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    codes = [s.code for s in svc.center.services]

    def worker(n: int) -> None:
        mine = []
        for i in range(per_thread):
            t0 = time.perf_counter()
            svc.issue_ticket(codes[(n + i) % len(codes)])
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sorted(latencies), time.perf_counter() - start


def pct(values: list[float], p: float) -> float:
    return round(values[min(len(values) - 1, int(len(values) * p))] * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        svc = QueueService(replace(center()), SqliteStore(Path(tmp) / "hub.db"), SystemClock())
        run(svc, 1, 100)                                   # warm-up
        c1, _ = run(svc, 1, args.tickets // 2)
        c8, elapsed = run(svc, 8, args.tickets // 8)
        sustained_n = args.tickets * 2
        _, sustained_s = run(svc, 8, sustained_n // 8)
        svc.close()
    result = {
        "issue_c1_p50_ms": pct(c1, 0.50), "issue_c1_p99_ms": pct(c1, 0.99),
        "issue_c8_p50_ms": pct(c8, 0.50), "issue_c8_p99_ms": pct(c8, 0.99),
        "sustained_tickets_per_s": round(sustained_n / sustained_s),
    }
    print(f"{len(c1)} tickets at concurrency 1, {len(c8)} at 8 in {elapsed:.2f} s, {sustained_n} sustained")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
