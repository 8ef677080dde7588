"""The backup drill an IT admin should run once a quarter, run here on every build: back up a real hub while citizens
take tickets, restore onto an empty directory (a new PC), start it, and find the same state, the same event sequence
and the same undelivered outbox events — which the restored hub then delivers, each once, when the main system
returns."""
from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port, wait_for_port

from queue_server.backup import extract_store
from queue_server.mock_main_system import MockMainSystem

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("ho-tich", "dat-dai", "thue")
SECRET = "drill-outbox-secret"


def write_config(directory: Path, port: int, main_port: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "deploy" / "center.example.toml").read_text(encoding="utf-8")
    # open all day every day, so the drill does not depend on when it runs
    text = text.replace('days = ["mon", "tue", "wed", "thu", "fri"]\nsessions = [["07:30", "11:30"], ["13:30", "17:00"]]',
                        'days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\nsessions = [["00:00", "23:59"]]')
    text = text.replace("stop_issuing_before_close_min = 30", "stop_issuing_before_close_min = 0")
    text = text.replace("observe_holidays = true", "observe_holidays = false")
    text = text.replace('path = "/var/lib/motcua/hub.sqlite3"', f'path = "{directory / "hub.sqlite3"}"')
    text = text.replace('host = "0.0.0.0"', 'host = "127.0.0.1"').replace("port = 8080", f"port = {port}")
    text = text.replace("[mqtt]\n", "[mqtt]\nenabled = false\n")
    text = text.replace("daily_quota = ", "# daily_quota = ")
    text += (f'\n[integration.main_system]\nbase_url = "http://127.0.0.1:{main_port}"\nauth = "none"\n'
             f'hmac_secret = "{SECRET}"\ntimeout_s = 1.0\n\n[integration.outbox]\nbase_backoff_s = 0.2\n'
             'max_backoff_s = 0.5\n')
    config = directory / "center.toml"
    config.write_text(text, encoding="utf-8")
    return config


def motcua(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "queue_server", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def start_hub(config: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (config.parent / "hub.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "queue_server", "hub", "--config", str(config), "--lab"], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, timeout=30)
    return proc


def stop_hub(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def get(port: int, path: str) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    resp = conn.getresponse()
    assert resp.status == 200, path
    return json.loads(resp.read())


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


EVENTS = "SELECT seq, id, type, data FROM events ORDER BY seq"
PENDING = "SELECT key, seq, kind, payload FROM outbox_items WHERE status = 'pending' ORDER BY id"


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    # the snapshot is the state itself; only the hub's own start time may differ
    return {k: v for k, v in state.items() if k not in ("now", "started_at")}


def test_backup_while_issuing_then_restore_on_a_new_pc(tmp_path: Path) -> None:
    port, main_port = free_port(), free_port()          # nothing listens on main_port yet: the main system is down
    config = write_config(tmp_path / "hub-a", port, main_port)
    hub = start_hub(config, port)
    acked: list[dict[str, Any]] = []
    stop = threading.Event()

    def citizen(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        n = 0
        while not stop.is_set():
            conn.request("POST", "/api/v1/tickets", body=json.dumps({"service": SERVICES[(i + n) % 3]}),
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            body = json.loads(resp.read())
            if resp.status == 201:
                acked.append(body["ticket"])
            n += 1

    threads = [threading.Thread(target=citizen, args=(i,), daemon=True) for i in range(3)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(acked) < 30 and time.monotonic() < deadline:
            time.sleep(0.02)
        during = motcua("backup", "--config", str(config), "--to", str(tmp_path / "backups"))
        assert during.returncode == 0, during.stderr
        stop.set()
        for t in threads:
            t.join(timeout=15)
        assert len(acked) >= 30
        # quiet now: wait until the outbox has taken in every event (it cannot deliver: the main system is down)
        store_a = tmp_path / "hub-a" / "hub.sqlite3"
        outbox_a = tmp_path / "hub-a" / "outbox.sqlite3"
        last = rows(store_a, "SELECT MAX(seq) FROM events")[0][0]
        deadline = time.monotonic() + 30
        while rows(outbox_a, "SELECT MAX(seq) FROM outbox_items")[0][0] != last:
            assert time.monotonic() < deadline, "the outbox never caught up with the event log"
            time.sleep(0.1)
        time.sleep(0.5)
        quiet = motcua("backup", "--config", str(config), "--to", str(tmp_path / "backups"))
        assert quiet.returncode == 0, quiet.stderr
        state_a = get(port, "/api/v1/state")
    finally:
        stop.set()
        stop_hub(hub)
    events_a = rows(store_a, EVENTS)
    pending_a = rows(outbox_a, PENDING)
    # nothing delivered: every event (and the day's rating aggregate) waits in the outbox
    assert [row[1] for row in pending_a if row[1] is not None] == list(range(1, last + 1)) == [e[0] for e in events_a]
    backups = sorted(p for p in (tmp_path / "backups").iterdir() if p.name.startswith("motcua-"))
    assert len(backups) == 2
    mid, after = backups

    # the backup taken mid-burst is a consistent prefix of the log
    mid_manifest = json.loads((mid / "manifest.json").read_text(encoding="utf-8"))
    mid_seq = next(f for f in mid_manifest["files"] if f["role"] == "hub")["last_seq"]
    assert 0 < mid_seq <= last
    assert rows(extract_store(mid, "hub", tmp_path / "mid-hub.sqlite3"), EVENTS) == events_a[:mid_seq]
    assert {f["role"] for f in mid_manifest["files"]} >= {"hub", "outbox", "mirror"}

    # restore the quiet backup onto an empty directory (a new PC) and start it
    port_b = free_port()
    config_b = write_config(tmp_path / "hub-b", port_b, main_port)
    restored = motcua("restore", str(after), "--config", str(config_b))
    assert restored.returncode == 0, restored.stderr
    assert rows(tmp_path / "hub-b" / "hub.sqlite3", EVENTS) == events_a
    assert rows(tmp_path / "hub-b" / "outbox.sqlite3", PENDING) == pending_a
    # restoring over a hub that now exists is refused
    again = motcua("restore", str(after), "--config", str(config_b))
    assert again.returncode == 1 and "--force" in again.stderr and "Traceback" not in again.stderr

    hub_b = start_hub(config_b, port_b)
    main = MockMainSystem(port=main_port, secret=SECRET, dossiers=[])
    try:
        assert comparable(get(port_b, "/api/v1/state")) == comparable(state_a)
        # the main system comes back: the restored hub delivers the waiting events, each once, in order
        main.start()
        assert main.wait_for_events(len(pending_a), timeout=60), f"{len(main.received)} of {len(pending_a)} delivered"
        time.sleep(0.5)
        assert [e.seq for e in main.received if e.seq is not None] == list(range(1, last + 1))
        assert sorted(e.key for e in main.received) == sorted(row[0] for row in pending_a)
    finally:
        main.stop()
        stop_hub(hub_b)


def test_the_command_gzips_by_default_keeps_plain_copies_on_request_and_restores_both(tmp_path: Path) -> None:
    """`motcua backup` (gzip, format 2) and `motcua backup --no-compress` (plain, format 1, what an older release
    restores) of the same store; `motcua restore` of each gives the same events; a damaged .gz is one sentence."""
    config = write_config(tmp_path / "hub-a", free_port(), free_port())
    store = tmp_path / "hub-a" / "hub.sqlite3"
    conn = sqlite3.connect(store)
    conn.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT, type TEXT, data TEXT)")
    conn.executemany("INSERT INTO events (id, type, data) VALUES (?, 'ticket.issued', ?)",
                     [(f"e{i}", json.dumps({"number": i, "service": SERVICES[i % 3]})) for i in range(3000)])
    conn.commit()
    conn.close()
    packed = motcua("backup", "--config", str(config), "--to", str(tmp_path / "gz"))
    plain = motcua("backup", "--config", str(config), "--to", str(tmp_path / "plain"), "--no-compress")
    assert packed.returncode == 0 and plain.returncode == 0, packed.stderr + plain.stderr
    assert " B gzip, integrity ok)" in packed.stdout and " B, integrity ok)" in plain.stdout
    (gz_backup,) = (tmp_path / "gz").iterdir()
    (plain_backup,) = (tmp_path / "plain").iterdir()
    gz_manifest = json.loads((gz_backup / "manifest.json").read_text(encoding="utf-8"))
    plain_manifest = json.loads((plain_backup / "manifest.json").read_text(encoding="utf-8"))
    assert (gz_manifest["format"], plain_manifest["format"]) == (2, 1)
    assert sorted(p.name for p in plain_backup.iterdir()) == ["hub.sqlite3", "manifest.json"]
    assert sorted(p.name for p in gz_backup.iterdir()) == ["hub.sqlite3.gz", "manifest.json"]
    assert (gz_backup / "hub.sqlite3.gz").stat().st_size * 2 < (plain_backup / "hub.sqlite3").stat().st_size
    events = rows(store, EVENTS)
    for name, backup in (("b", gz_backup), ("c", plain_backup)):
        config_new = write_config(tmp_path / f"hub-{name}", free_port(), free_port())
        done = motcua("restore", str(backup), "--config", str(config_new))
        assert done.returncode == 0, done.stderr
        assert rows(tmp_path / f"hub-{name}" / "hub.sqlite3", EVENTS) == events

    data = bytearray((gz_backup / "hub.sqlite3.gz").read_bytes())
    data[len(data) // 2] ^= 0x01
    (gz_backup / "hub.sqlite3.gz").write_bytes(bytes(data))
    before = (tmp_path / "hub-b" / "hub.sqlite3").read_bytes()
    refused = motcua("restore", str(gz_backup), "--config", str(tmp_path / "hub-b" / "center.toml"), "--force")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("khôi phục thất bại / restore failed: ") and "damaged copy" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert (tmp_path / "hub-b" / "hub.sqlite3").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "hub-b").iterdir()) == ["center.toml", "hub.sqlite3"]
