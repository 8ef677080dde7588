"""Limits that hold on a real hub process (issue 11): a burst of logins keeps peak memory under a fixed ceiling
(password checks are gated); a thousand idle sockets do not stop a kiosk from issuing."""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from pathlib import Path

import pytest
from netutil import free_port
from test_sigkill import request, start_hub, write_config

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

MIB = 1024 * 1024
ONE_CHECK_MIB = 32            # werkzeug scrypt N=32768, r=8: 128·N·r bytes
CEILING_MIB = 3 * ONE_CHECK_MIB + 40   # two checks at once, plus headroom for threads and the allocator


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise AssertionError(key)


def test_a_login_burst_keeps_peak_memory_under_the_ceiling(tmp_path: Path) -> None:
    port = free_port()
    proc = start_hub(write_config(tmp_path, port), port, tmp_path / "hub.log")
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        assert request(conn, "POST", "/api/v1/auth/login", {"username": "warm", "password": "x"})[0] == 401
        base_hwm = _status_kib(proc.pid, "VmHWM")
        statuses: list[int] = []
        lock = threading.Lock()

        def attempt(i: int) -> None:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            status, _ = request(c, "POST", "/api/v1/auth/login", {"username": f"made-up-{i}", "password": "x"})
            with lock:
                statuses.append(status)

        burst = [threading.Thread(target=attempt, args=(i,)) for i in range(30)]
        for t in burst:
            t.start()
        for t in burst:
            t.join()
        peak_hwm = _status_kib(proc.pid, "VmHWM")
        grew_mib = (peak_hwm - base_hwm) / 1024
        print(f"login burst: 30 at once, {statuses.count(401)} checked (401), {statuses.count(429)} refused "
              f"(429); peak memory grew {grew_mib:.0f} MiB (ceiling {CEILING_MIB} MiB)")
        assert set(statuses) <= {401, 429} and statuses.count(429) > 0
        assert grew_mib < CEILING_MIB
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_thousand_idle_sockets_do_not_stop_a_kiosk(tmp_path: Path) -> None:
    port = free_port()
    proc = start_hub(write_config(tmp_path, port), port, tmp_path / "hub.log")
    idle: list[socket.socket] = []
    try:
        for _ in range(1000):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        time.sleep(0.5)      # let the hub accept them all: they are held open, saying nothing
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        started = time.perf_counter()
        status, body = request(conn, "POST", "/api/v1/tickets", {"service": "ho-tich"})
        took_ms = (time.perf_counter() - started) * 1000
        assert status == 201, body
        # the idle sockets are still open (the hub did not just drop everyone)
        held = 0
        for s in idle:
            s.setblocking(False)
            try:
                held += s.recv(1) != b""
            except BlockingIOError:
                held += 1
        print(json.dumps({"idle_sockets_held": held, "kiosk_issue_ms": round(took_ms, 1)}))
        assert held == 1000
    finally:
        for s in idle:
            s.close()
        proc.terminate()
        proc.wait(10)
