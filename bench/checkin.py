"""Check-in benchmark: a booking's QR scanned at the kiosk → the ticket's bytes at the printer.

The hub runs in this process on loopback (real QueueService, SQLite store and booking store, waitress) with
[bookings] on; the kiosk is the real presenter tree with its real adapters (HubClient over HTTP, the simulated
ESC/POS printer) driven without a window: ``kiosk.scanned("MOTCUA-BK:<code>")`` until the printer's transport
receives the ticket. Each scan is a different booking (each check-in issues one ticket). Times are wall-clock on a
shared machine: read them with that in mind. The last printed line is one JSON object.

    .venv/bin/python bench/checkin.py [--scans 200]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scans", type=int, default=200)
    args = parser.parse_args()

    from hub_support import TestHub
    from kiosk_support import MONDAY_9AM, kiosk_hub_options

    from kiosk.config import settings_from_dict
    from queue_server.domain.bookings import BookingRules
    from queue_server.engagement_config import BookingSettings

    tmp = Path(tempfile.mkdtemp(prefix="checkin-bench-"))
    options = kiosk_hub_options(services=3)
    base = options.settings

    def settings(path: Path):  # type: ignore[no-untyped-def]
        rules = BookingRules(capacity={"ho-tich": 10_000}, slot_minutes=30, per_person_per_day=1)
        return replace(base(path), bookings=BookingSettings(rules, path / "bookings.sqlite3"))

    hub = TestHub(tmp, replace(options, settings=settings, prepare=None)).start()
    try:
        book = hub.engagement.bookings.book
        codes = [book("ho-tich", MONDAY_9AM + timedelta(minutes=30), f"09{i:08d}")[0].code
                 for i in range(args.scans)]
        ksettings = settings_from_dict({"hub": {"url": hub.url}, "behaviour": {"tap_guard_s": 0.0},
                                        "offline": {"journal": str(tmp / "journal.sqlite")}}, env={})
        ksettings = replace(ksettings, devices=replace(ksettings.devices, printer="sim://printer"))
        from kiosk.__main__ import build_kiosk

        kiosk, printer = build_kiosk(ksettings, ticket_dir=None)     # InlineRunner: the scan returns when printed
        transport = printer.printer.transport
        written: list[float] = []
        original_write = transport.write

        def timed_write(data: bytes) -> None:
            if not written:
                written.append(time.perf_counter())
            original_write(data)

        transport.write = timed_write
        scan_ms: list[float] = []
        for code in codes:
            kiosk.reset()
            written.clear()
            started = time.perf_counter()
            kiosk.scanned(f"MOTCUA-BK:{code}")
            assert kiosk.take.state == "printed", (kiosk.screen, kiosk.take.state, kiosk.booking.view().message)
            scan_ms.append((written[0] - started) * 1000)
        waiting = len(hub.service.waiting("ho-tich"))
    finally:
        hub.stop()
    print(f"{len(scan_ms)} check-ins, {waiting} tickets waiting; scan → first ticket byte at the printer "
          f"p50 {statistics.median(scan_ms):.1f} ms (shared 2-core machine, 8 sessions running)")
    print(json.dumps({"scans": len(scan_ms), "checkin_p50_ms": round(statistics.median(scan_ms), 2),
                      "checkin_p99_ms": round(_pct(scan_ms, 0.99), 2), "checkin_max_ms": round(max(scan_ms), 2)}))


if __name__ == "__main__":
    main()
