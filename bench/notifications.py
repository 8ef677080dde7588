"""Benchmark: notifications/s through the durable notification outbox to the mock SMS gateway over real HTTP, and the
enqueue cost the hub pays per message (the hub's side: store the message; the relay thread sends).

Usage: .venv/bin/python bench/notifications.py [--messages 3000] [--recipients 300]
The last line printed is one JSON object with unit-suffixed keys.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queue_server.adapters.notification_outbox import NotificationOutbox, RetryPolicy
from queue_server.adapters.notifiers import SmsHttpGateway, SmsHttpSettings
from queue_server.app.notifications import DEFAULT_TEMPLATES, Notification
from queue_server.mock_gateway import MockGateway


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--recipients", type=int, default=300)
    args = ap.parse_args()
    gateway = MockGateway().start()
    with tempfile.TemporaryDirectory() as tmp:
        outbox = NotificationOutbox(Path(tmp) / "notify.sqlite3",
                                    {"sms": SmsHttpGateway(SmsHttpSettings(url=gateway.url + "/sms"))},
                                    DEFAULT_TEMPLATES, retry=RetryPolicy(base_backoff_s=0.05))
        enqueue_ms = []
        for i in range(args.messages):
            phone = f"09{i % args.recipients:08d}"
            n = Notification(f"turn_near:t{i}", "sms", phone, "turn_near",
                             {"center": "TT HCC", "ahead": 3, "number": f"A{i % 999:03d}", "service": "Hộ tịch",
                              "track_url": f"https://hcc.example/t/{i}"})
            t0 = time.perf_counter()
            outbox.enqueue([n])
            enqueue_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        outbox.start()
        ok = gateway.wait_for(args.messages, timeout=600)
        elapsed = time.perf_counter() - t0
        outbox.close()
    gateway.stop()
    enqueue_ms.sort()
    print(f"{args.messages} messages to {args.recipients} recipients, all delivered: {ok}, "
          f"duplicates at the gateway: {gateway.duplicates}")
    print(json.dumps({"messages": args.messages, "delivered": len(gateway.received),
                      "notifications_per_s": round(args.messages / elapsed, 1),
                      "enqueue_p50_ms": round(statistics.median(enqueue_ms), 3),
                      "enqueue_p99_ms": round(enqueue_ms[int(len(enqueue_ms) * 0.99) - 1], 3)}))


if __name__ == "__main__":
    main()
