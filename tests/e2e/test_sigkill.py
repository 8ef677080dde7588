"""SIGKILL the hub process in the middle of a burst of ticket issues, restart it on the same SQLite file:
every ticket the hub acknowledged (HTTP 201) is still there, and no number is ever handed out twice."""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("ho-tich", "dat-dai", "thue")


def write_config(tmp_path: Path, port: int) -> Path:
    text = (ROOT / "deploy" / "center.example.toml").read_text(encoding="utf-8")
    # open all day every day, so the test does not depend on when it runs
    text = text.replace('days = ["mon", "tue", "wed", "thu", "fri"]\nsessions = [["07:30", "11:30"], ["13:30", "17:00"]]',
                        'days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\nsessions = [["00:00", "23:59"]]')
    text = text.replace("stop_issuing_before_close_min = 30", "stop_issuing_before_close_min = 0")
    text = text.replace("observe_holidays = true", "observe_holidays = false")   # any date, holidays too
    text = text.replace('path = "/var/lib/motcua/hub.sqlite3"', f'path = "{tmp_path / "hub.sqlite3"}"')
    text = text.replace('host = "0.0.0.0"', 'host = "127.0.0.1"').replace("port = 8080", f"port = {port}")
    text = text.replace("[mqtt]\n", "[mqtt]\nenabled = false\n")
    text = text.replace("daily_quota = ", "# daily_quota = ")
    config = tmp_path / "center.toml"
    config.write_text(text, encoding="utf-8")
    return config


def start_hub(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "queue_server", "hub", "--config", str(config), "--lab"], cwd=ROOT, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)
    wait_for_port(port, timeout=30)
    return proc


def request(conn: http.client.HTTPConnection, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    payload = None if body is None else json.dumps(body)
    conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read() or b"null")


def test_acknowledged_tickets_survive_sigkill_and_numbers_are_never_reused(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, port)
    log = tmp_path / "hub.log"
    hub = start_hub(config, port, log)
    acked: list[dict[str, Any]] = []
    lock = threading.Lock()
    enough = threading.Event()

    def citizen(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        n = 0
        while True:
            try:
                status, body = request(conn, "POST", "/api/v1/tickets", {"service": SERVICES[(i + n) % 3]})
            except (OSError, http.client.HTTPException):
                return                      # the hub died under us: this request was never acknowledged
            n += 1
            if status == 201:
                with lock:
                    acked.append(body["ticket"])
                    if len(acked) >= 150:
                        enough.set()

    threads = [threading.Thread(target=citizen, args=(i,), daemon=True) for i in range(8)]
    try:
        for t in threads:
            t.start()
        assert enough.wait(60), log.read_text(errors="replace")
        hub.send_signal(signal.SIGKILL)     # mid-burst: the citizens are still sending
        hub.wait(10)
        for t in threads:
            t.join(15)
        with lock:
            survivors = list(acked)
        assert len(survivors) >= 150

        hub = start_hub(config, port, log)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for ticket in survivors:
            status, body = request(conn, "GET", f"/api/v1/tickets/{ticket['id']}")
            assert status == 200, (ticket["id"], body)
            assert body["ticket"]["number"] == ticket["number"]
            assert body["ticket"]["service"] == ticket["service"]

        highest: dict[str, int] = defaultdict(int)
        for ticket in survivors:
            highest[ticket["service"]] = max(highest[ticket["service"]], number_of(ticket))
        numbers: dict[str, set[str]] = defaultdict(set)
        for ticket in survivors:
            assert ticket["number"] not in numbers[ticket["service"]], f"{ticket['number']} acknowledged twice"
            numbers[ticket["service"]].add(ticket["number"])
        for service in SERVICES:
            status, body = request(conn, "POST", "/api/v1/tickets", {"service": service})
            assert status == 201, body
            assert number_of(body["ticket"]) > highest[service]
            assert body["ticket"]["number"] not in numbers[service]
    finally:
        if hub.poll() is None:
            hub.send_signal(signal.SIGTERM)
            try:
                hub.wait(15)
            except subprocess.TimeoutExpired:
                hub.kill()
                hub.wait(5)
    assert hub.returncode == 0, log.read_text(errors="replace")[-3000:]


def number_of(ticket: dict[str, Any]) -> int:
    return int(ticket["number"].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
