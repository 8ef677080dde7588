"""Live admin changes: how long one change takes (validate with config check's rules, swap through the single
writer, commit its config.changed event), how long issuing waits while changes land, and how long a restart's
replay of N recorded changes adds. In-process (Flask test client on a real hub: SQLite file, FixedClock); the
shared machine makes the figures noisy. The last printed line is one JSON object.

    PYTHONPATH=. .venv/bin/python bench/admin.py [--changes 200]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def p(values: list[float], q: float) -> float:
    return round(sorted(values)[min(len(values) - 1, int(q * len(values)))], 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=200)
    args = parser.parse_args()
    from api_support import MONDAY_0800, login, make_settings

    from queue_server.app.ports import FixedClock
    from queue_server.wiring import build_hub

    tmp = Path(tempfile.mkdtemp())
    settings = make_settings(tmp)
    hub = build_hub(settings, clock=FixedClock(MONDAY_0800), extra_blueprints=[])
    client = hub.app.test_client()
    admin = login(client, "quantri")
    code = settings.center.services[0].code
    issue_ms: list[float] = []
    stop = threading.Event()

    def issuer() -> None:
        c = hub.app.test_client()
        while not stop.is_set():
            t = time.perf_counter()
            c.post("/api/v1/tickets", json={"service": code})
            issue_ms.append((time.perf_counter() - t) * 1000)

    worker = threading.Thread(target=issuer)
    worker.start()
    change_ms: list[float] = []
    for i in range(args.changes):
        t = time.perf_counter()
        r = client.post("/api/v1/admin/config", headers=admin, json={"sections": {"display": {"notice": f"n{i}"}}})
        change_ms.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.json
    stop.set()
    worker.join()
    hub.stop()
    t = time.perf_counter()
    again = build_hub(settings, clock=FixedClock(MONDAY_0800), extra_blueprints=[])
    restart_ms = (time.perf_counter() - t) * 1000
    assert again.settings.display.notice == f"n{args.changes - 1}"
    again.stop()
    print(json.dumps({"changes_count": args.changes, "change_p50_ms": p(change_ms, 0.5), "change_p99_ms": p(change_ms, 0.99),
                      "issued_meanwhile_count": len(issue_ms), "issue_p50_ms": p(issue_ms, 0.5),
                      "issue_p99_ms": p(issue_ms, 0.99), "restart_with_replay_ms": round(restart_ms, 1),
                      "issue_mean_ms": round(statistics.mean(issue_ms), 2)}))


if __name__ == "__main__":
    main()
