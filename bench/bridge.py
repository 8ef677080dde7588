"""Bench: staff keypad press → LED display frame written, through the real broker, hub and bridge.

Devices run their firmware on CPython in other processes on socat pty pairs; the time runs from writing the
key press into the keypad firmware's control stream to the LED firmware reporting the new number, so it
includes both serial hops, MQTT cmd → hub → reply/event, and the bridge. Between presses the ticket is
completed directly on the hub (not timed). Last line: one JSON object.

    .venv/bin/python bench/bridge.py [--presses 500]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from datetime import time as dtime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contracts import topics
from contracts.messages import VN_TZ
from firmware_bridge.sim.virtual_device import VirtualDevice
from firmware_bridge.sim.watch import TopicWatch
from queue_server.adapters.mqtt import MqttAdapter
from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app.ports import FixedClock
from queue_server.app.queue_service import QueueService
from queue_server.broker import free_port
from queue_server.config import MqttSettings
from queue_server.domain.model import (
    CenterDef,
    CounterDef,
    CounterId,
    ServiceCode,
    ServiceDef,
    WorkingSession,
)


def start_broker(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = workdir / "mosquitto.conf"
    # set_tcp_nodelay: without it Nagle + delayed ACKs add ~40 ms per hop to small MQTT packets.
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n"
                    "max_inflight_messages 0\nmax_queued_messages 100000\n")
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("mosquitto did not start")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presses", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=20)
    args = ap.parse_args()
    total = args.presses + args.warmup
    work = Path(tempfile.mkdtemp(prefix="bench-bridge-"))
    broker, port = start_broker(work)
    svc = ServiceDef(ServiceCode("ho-tich"), "Tư pháp – Hộ tịch", "Civil status", "A", number_end=9999)
    center = CenterDef("bench", "Trung tâm", "Center", (svc,), (CounterDef(CounterId("5"), "Quầy 5", (svc.code,)),),
                       sessions={d: (WorkingSession(dtime(0, 0), dtime(23, 59)),) for d in range(7)})
    clock = FixedClock(datetime(2026, 11, 23, 8, 0, tzinfo=VN_TZ))
    service = QueueService(center, SqliteStore(work / "motcua.sqlite3"), clock)
    adapter = MqttAdapter(MqttSettings(host="127.0.0.1", port=port), "bench", service)
    service.add_listener(adapter.on_events)
    adapter.start()
    assert adapter.wait_connected(10)
    keypad = VirtualDevice("staff_keypad", "kp-05", work / "by-id-kp-05").plug()
    led = VirtualDevice("led_display", "led-05", work / "by-id-led-05").plug()
    # The bridge runs as its own process (`python -m firmware_bridge`), as in production.
    config = work / "bridge.toml"
    config.write_text(
        f'[bridge]\ncenter = "bench"\nmqtt_host = "127.0.0.1"\nmqtt_port = {port}\n'
        f'[[devices]]\nid = "kp-05"\nkind = "staff_keypad"\nport = "{keypad.stable_path}"\ncounter = "5"\n'
        f'[[devices]]\nid = "led-05"\nkind = "led_display"\nport = "{led.stable_path}"\ncounter = "5"\n')
    bridge = subprocess.Popen([sys.executable, "-m", "firmware_bridge", "--config", str(config)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watch = TopicWatch("127.0.0.1", port, [topics.devices_filter("bench", "availability")])
    samples: list[float] = []
    hub_ms: list[float] = []
    call_next = service.call_next

    def timed_call_next(counter_id: str, staff: str | None = None):  # type: ignore[no-untyped-def]
        t = time.monotonic()
        try:
            return call_next(counter_id, staff=staff)
        finally:
            hub_ms.append((time.monotonic() - t) * 1000)

    service.call_next = timed_call_next  # type: ignore[method-assign]
    try:
        for dev in ("kp-05", "led-05"):
            watch.wait_for(topics.device_availability("bench", dev), lambda m: m.text == "online", timeout=15)
        service.open_counter("5")
        for _ in range(total):
            service.issue_ticket("ho-tich")
        for i in range(1, total + 1):
            led.clear()
            t0 = time.monotonic()
            keypad.press("next")
            led.wait_for(f"show A{i:03d}", timeout=10)
            elapsed = (time.monotonic() - t0) * 1000
            if i > args.warmup:
                samples.append(elapsed)
            service.start_service("5")
            service.complete("5")
    finally:
        bridge.terminate()
        bridge.wait(10)
        watch.close()
        keypad.stop()
        led.stop()
        adapter.stop()
        service.close()
        broker.terminate()
        broker.wait(5)
        shutil.rmtree(work, ignore_errors=True)
    result = {"presses": len(samples), "press_to_display_p50_ms": round(statistics.median(samples), 2),
              "press_to_display_p95_ms": round(pct(samples, 95), 2),
              "press_to_display_p99_ms": round(pct(samples, 99), 2),
              "press_to_display_max_ms": round(max(samples), 2), "hub_call_next_p50_ms": round(statistics.median(hub_ms[args.warmup:]), 2),
              "hub_call_next_p99_ms": round(pct(hub_ms[args.warmup:], 99), 2), "target_p99_ms": 30, "loadavg_1m": round(os.getloadavg()[0], 2),
              "path": "keypad fw → pty → bridge process → MQTT cmd → hub → event → bridge → pty → LED fw"}
    print(f"keypad press → LED display: p50 {result['press_to_display_p50_ms']} ms, "
          f"p99 {result['press_to_display_p99_ms']} ms over {len(samples)} presses")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
