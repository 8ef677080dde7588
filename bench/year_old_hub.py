"""Benchmark: a hub whose store holds a year of a large center, against a fresh one — what an IT admin and the staff
feel. Not a test.

The year is bench/year_of_events.py's (the generator bench/reports.py uses): ≥ 500,000 tickets over 2026's working
days, written with the rows the hub keeps beside its log; the last day stops at 15:00, so the hub restarts in the
middle of a busy day. The reports read model is caught up first (a hub that ran all year kept it so).
Then, for the year-old store and for a fresh one, the real `motcua hub` in its own process (its clock shifted to
2026-12-31 15:00 in Vietnam, ticking; a real Mosquitto):
- start-up: from process start to /health answering and /state served (the day's state is loaded before the
  server listens), and the store's own load_state time, in this process;
- GET /state and the first SSE message (the `state` snapshot), issuing a ticket, a counter's call-next (p50/p99);
- RSS of the hub after start and after a busy hour (--busy tickets issued, called and completed); the WAL's size
  then; the sizes of the store, the reports model and the dossier mirror;
- `motcua backup` and `motcua restore` (time; the backup's size on disk, gzipped, and of the stores in it) and the
  start on the restored store.

Usage: .venv/bin/python bench/year_old_hub.py [--tickets 520000] [--samples 200] [--busy 1000] [--db-dir DIR]
       (an existing store in --db-dir is reused and kept; `--tickets 20000 --samples 30 --busy 100` is a quick run of
       about a minute, the full year about ten). The last line printed is one JSON object with unit-suffixed keys: the
       year-old store's figures, then the fresh store's as ``fresh_*``.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.hub import PASSWORD, SERVICES, call, cpu_seconds, pct, write_config
from contracts.messages import VN_TZ
from queue_server.broker import free_port, start_broker

NOW = datetime(2026, 12, 31, 15, 0, tzinfo=VN_TZ)      # a Thursday afternoon, the year's last working day


def serve_shifted(config: str, at: str) -> int:
    """The child: `motcua hub --lab` itself, its SystemClock shifted so that it starts at ``at`` and ticks."""
    from queue_server.__main__ import main as motcua
    from queue_server.app import ports

    offset = datetime.fromisoformat(at) - datetime.now(VN_TZ)
    real = ports.SystemClock.now
    ports.SystemClock.now = lambda self: real(self) + offset  # type: ignore[method-assign]
    return motcua(["hub", "--config", config, "--lab"])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def mib(path: Path) -> float:
    return round(path.stat().st_size / 2**20, 1) if path.exists() else 0.0


def dir_mib(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)


def ms(samples: list[float], q: float) -> float:
    return round(pct(samples, q) * 1e3, 2)


class RunningHub:
    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.port = port
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve-hub", str(config), "--at", NOW.isoformat()],
                                     cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        self.health_s = self.state_s = 0.0
        deadline = time.monotonic() + 600
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the hub exited ({self.proc.returncode}); see {log}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status, _ = call(conn, "GET", "/api/v1/health")
                if status == 200:
                    break
            except OSError:
                time.sleep(0.01)
            if time.monotonic() > deadline:
                raise RuntimeError("the hub did not answer /health in 600 s")
        self.health_s = time.perf_counter() - self.t0
        status, _ = call(conn, "GET", "/api/v1/state")
        assert status == 200
        self.state_s = time.perf_counter() - self.t0
        self.conn = conn

    def stop(self) -> float:
        t = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.perf_counter() - t


def wait_idle(pid: int, timeout_s: float = 300.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < 0.05 * 0.5:
            break
    return time.monotonic() - start


def first_sse(port: int, n: int) -> float:
    """Seconds from opening /stream to the end of its first `state` message. Each from its own loopback address:
    the hub allows 4 streams per client, and notices a closed one only at its next keep-alive."""
    t = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(f"127.0.0.{10 + n}", 0)) as s:
        s.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
        buf = b""
        while b"event: state" not in buf or not buf.split(b"event: state", 1)[1].count(b"\n\n"):
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("stream closed before its snapshot")
            buf += chunk
            if buf.startswith(b"HTTP/1.1 4"):
                raise RuntimeError(buf.decode(errors="replace")[:300])
    return time.perf_counter() - t


def measure(hub: RunningHub, samples: int, busy: int) -> dict[str, Any]:
    conn = hub.conn
    out: dict[str, Any] = {}
    state = []
    for _ in range(samples):
        t = time.perf_counter()
        status, snap = call(conn, "GET", "/api/v1/state")
        state.append(time.perf_counter() - t)
        assert status == 200
    out["state_bytes"] = len(json.dumps(snap, ensure_ascii=False).encode())
    sse = [first_sse(hub.port, n) for n in range(min(20, max(5, samples // 10)))]   # 24 streams at most
    issue = []
    for i in range(samples):
        t = time.perf_counter()
        status, body = call(conn, "POST", "/api/v1/tickets", {"service": SERVICES[i % len(SERVICES)]})
        issue.append(time.perf_counter() - t)
        assert status == 201, body
    status, body = call(conn, "POST", "/api/v1/auth/login", {"username": "canbo1", "password": PASSWORD})
    assert status == 200, body
    auth = {"Authorization": f"Bearer {body['token']}"}
    status, body = call(conn, "POST", "/api/v1/counters/1/open", {"takeover": True}, headers=auth)
    assert status == 200, body
    for _ in range(samples):             # counter 1 serves ho-tich: it never runs dry
        call(conn, "POST", "/api/v1/tickets", {"service": "ho-tich"})
    calls = []
    for _ in range(samples):
        t = time.perf_counter()
        status, body = call(conn, "POST", "/api/v1/counters/1/call-next", headers=auth)
        calls.append(time.perf_counter() - t)
        assert status == 200, body
        call(conn, "POST", "/api/v1/counters/1/start", headers=auth)
        call(conn, "POST", "/api/v1/counters/1/complete", headers=auth)
    out.update({"state_p50_ms": ms(state, 50), "state_p99_ms": ms(state, 99),
                "sse_first_p50_ms": ms(sse, 50), "sse_first_max_ms": round(max(sse) * 1e3, 2),
                "issue_p50_ms": ms(issue, 50), "issue_p99_ms": ms(issue, 99),
                "call_p50_ms": ms(calls, 50), "call_p99_ms": ms(calls, 99)})
    # a busy hour on top: what the WAL and the process grow to
    t = time.perf_counter()
    for i in range(busy):
        call(conn, "POST", "/api/v1/tickets", {"service": "ho-tich" if i % 2 else SERVICES[i % len(SERVICES)]})
    for _ in range(busy // 2):
        call(conn, "POST", "/api/v1/counters/1/call-next", headers=auth)
        call(conn, "POST", "/api/v1/counters/1/start", headers=auth)
        call(conn, "POST", "/api/v1/counters/1/complete", headers=auth)
    out["busy_s"] = round(time.perf_counter() - t, 1)
    return out


def run_store(folder: Path, label: str, samples: int, busy: int, broker_port: int) -> dict[str, Any]:
    port = free_port()
    config = write_config(folder, port, broker_port)
    log = folder / "hub.log"
    result: dict[str, Any] = {}
    starts = []
    for i in range(3):                  # the first start may find a cold page cache; the median is what a restart costs
        hub = RunningHub(config, port, log)
        starts.append(hub.state_s)
        print(f"{label}: start {i + 1}: /health {hub.health_s:.2f} s, /state {hub.state_s:.2f} s", flush=True)
        if i < 2:
            hub.stop()
    result["start_s"] = round(sorted(starts)[1], 2)
    result["start_first_s"] = round(starts[0], 2)
    wait_idle(hub.proc.pid)
    result["rss_mib"] = rss_mib(hub.proc.pid)
    result.update(measure(hub, samples, busy))
    result["rss_busy_mib"] = rss_mib(hub.proc.pid)
    result["wal_mib"] = mib(folder / "hub.sqlite3-wal")
    result["stop_s"] = round(hub.stop(), 2)
    result["db_mib"] = mib(folder / "hub.sqlite3")
    result["reports_db_mib"] = mib(folder / "reports.sqlite3")
    result["mirror_db_mib"] = mib(folder / "dossiers.sqlite3")
    motcua = [sys.executable, "-m", "queue_server"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    backups = folder / "backups"
    t = time.perf_counter()
    done = subprocess.run([*motcua, "backup", "--config", str(config), "--to", str(backups)], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    result["backup_s"] = round(time.perf_counter() - t, 2)
    made = Path(done.stdout.split("OK: ", 1)[1].splitlines()[0].strip())
    result["backup_mib"] = dir_mib(made)            # what the disk holds: the gzipped copies (format 2)
    manifest = json.loads((made / "manifest.json").read_text(encoding="utf-8"))
    result["backup_raw_mib"] = round(sum(int(f["bytes"]) for f in manifest["files"]) / 2**20, 1)
    t = time.perf_counter()
    subprocess.run([*motcua, "restore", str(made), "--config", str(config), "--force"], cwd=ROOT, env=env,
                   capture_output=True, text=True, check=True)
    result["restore_s"] = round(time.perf_counter() - t, 2)
    for aside in folder.glob("*.before-restore-*"):      # what restore moved aside: not kept by the bench
        shutil.rmtree(aside) if aside.is_dir() else aside.unlink()
    hub = RunningHub(config, port, log)
    result["start_after_restore_s"] = round(hub.state_s, 2)
    hub.stop()
    shutil.rmtree(backups, ignore_errors=True)
    print(f"{label}: {json.dumps(result)}", flush=True)
    return result


def load_state_s(folder: Path) -> dict[str, float]:
    """The store's own start-up read, in this process: load_state and its share spent on the estimate's prior."""
    from queue_server.adapters.sqlite_store import SqliteStore
    from queue_server.config import load_settings

    settings = load_settings(folder / "bench.toml")
    store = SqliteStore(folder / "hub.sqlite3")
    try:
        t = time.perf_counter()
        store.load_state(settings.center, NOW.date())
        total = time.perf_counter() - t
        t = time.perf_counter()
        store.occupancy_history(NOW.date())
        store.issue_history(NOW.date())
        store.opening_history(NOW.date())
        prior = time.perf_counter() - t
    finally:
        store.close()
    return {"load_state_s": round(total, 3), "load_state_prior_s": round(prior, 3)}


def prepare_year(folder: Path, tickets: int) -> dict[str, int]:
    from bench.year_of_events import generate

    store = folder / "hub.sqlite3"
    if store.exists():
        import sqlite3

        conn = sqlite3.connect(store)
        counts = {"events": conn.execute("SELECT count(*) FROM events").fetchone()[0],
                  "tickets": conn.execute("SELECT count(*) FROM tickets").fetchone()[0]}
        conn.close()
        print(f"reusing {store}: {counts}", flush=True)
        return counts
    t = time.perf_counter()
    counts = generate(store, folder / "dossiers.sqlite3", tickets, until=NOW)
    print(f"generated {counts} in {time.perf_counter() - t:.0f} s", flush=True)
    # a hub that ran all year kept its reports model caught up: do so once, as the hub's feeder would
    from queue_server.app.ports import FixedClock
    from queue_server.config import load_settings
    from queue_server.wiring import build_hub

    write_config(folder, free_port(), free_port())
    settings = load_settings(folder / "bench.toml")
    t = time.perf_counter()
    hub = build_hub(settings, clock=FixedClock(NOW), extra_blueprints=[])
    try:
        hub.reports.store.rebuild()
    finally:
        hub.stop()
    print(f"reports model caught up in {time.perf_counter() - t:.0f} s", flush=True)
    return counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=520_000)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--busy", type=int, default=1000)
    ap.add_argument("--db-dir", type=Path, default=None)
    ap.add_argument("--skip-fresh", action="store_true")
    ap.add_argument("--serve-hub", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--at", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_hub:
        return serve_shifted(args.serve_hub, args.at)
    year = args.db_dir or Path(tempfile.mkdtemp(prefix="motcua-bench-year-"))
    year.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix="motcua-bench-fresh-"))
    broker = start_broker()
    try:
        counts = prepare_year(year, args.tickets)
        result: dict[str, Any] = {"tickets": counts["tickets"], "events": counts["events"]}
        result.update(run_store(year, "year", args.samples, args.busy, broker.port))
        result.update(load_state_s(year))
        if not args.skip_fresh:
            fresh_result = run_store(fresh, "fresh", args.samples, args.busy, broker.port)
            fresh_result.update(load_state_s(fresh))
            result.update({f"fresh_{k}": v for k, v in fresh_result.items()})
        result["load_avg_1m"] = round(os.getloadavg()[0], 2)
    finally:
        broker.stop()
        shutil.rmtree(fresh, ignore_errors=True)
        if args.db_dir is None:
            shutil.rmtree(year, ignore_errors=True)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
