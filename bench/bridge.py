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

from contracts.messages import VN_TZ
from firmware_bridge.bridge import Bridge, no_delay
from firmware_bridge.config import BridgeSettings, DeviceBinding
from firmware_bridge.sim.virtual_device import VirtualDevice
from queue_server.adapters.mqtt import MqttAdapter
from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app.ports import FixedClock
from queue_server.app.queue_service import QueueService
from queue_server.config import MqttSettings
from queue_server.domain.model import (
    CenterDef,
    CounterDef,
    CounterId,
    ServiceCode,
    ServiceDef,
    WorkingSession,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    ap.add_argument("--hub-nagle", action="store_true",
                    help="leave the hub's paho socket as hub-edge builds it (Nagle on) instead of TCP_NODELAY")
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
    if not args.hub_nagle:
        adapter.client.on_socket_open = no_delay     # what the bridge does; see docs/bridge.md
    service.add_listener(adapter.on_events)
    adapter.start()
    assert adapter.wait_connected(10)
    keypad = VirtualDevice("staff_keypad", "kp-05", work / "by-id-kp-05").plug()
    led = VirtualDevice("led_display", "led-05", work / "by-id-led-05").plug()
    bridge = Bridge(BridgeSettings(center="bench", mqtt_host="127.0.0.1", mqtt_port=port, devices=(
        DeviceBinding("kp-05", "staff_keypad", str(keypad.stable_path), "5"),
        DeviceBinding("led-05", "led_display", str(led.stable_path), "5"))))
    bridge.start()
    samples: list[float] = []
    try:
        deadline = time.monotonic() + 15
        while not all(link.online for link in bridge.links.values()):
            if time.monotonic() > deadline:
                raise TimeoutError("devices did not come online")
            time.sleep(0.05)
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
        bridge.stop()
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
              "press_to_display_max_ms": round(max(samples), 2), "target_p99_ms": 30, "hub_tcp_nodelay": not args.hub_nagle,
              "path": "keypad fw → pty → bridge → MQTT cmd → hub → event → bridge → pty → LED fw"}
    print(f"keypad press → LED display: p50 {result['press_to_display_p50_ms']} ms, "
          f"p99 {result['press_to_display_p99_ms']} ms over {len(samples)} presses")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
