"""A busy day of a center as the hub's event log would hold it (for benches and tests that need many events
fast; tests of the real path drive a real QueueService instead). Shapes match queue_service's envelopes."""
from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from contracts.messages import VN_TZ, format_at


def _ticket(tid: str, number: str, service: str, day: date, status: str, issued: datetime,
            called: datetime | None = None, serving: datetime | None = None, done: datetime | None = None,
            counter: str | None = None) -> dict[str, Any]:
    return {"id": tid, "number": number, "service": service, "priority": None, "status": status,
            "counter": counter, "issued_at": format_at(issued), "called_at": format_at(called) if called else None,
            "serving_at": format_at(serving) if serving else None, "done_at": format_at(done) if done else None,
            "recalls": 0, "printed": True, "day": day.isoformat(), "origin_service": service, "prefix": number[0],
            "seq_number": int(number[1:]), "queued_at": format_at(issued),
            "last_called_at": format_at(called) if called else None, "target_counter": None, "reactivations": 0,
            "kiosk": "kiosk-1", "staff": None, "lease_id": None}


def busy_day(center: str, day: date, tickets: int = 400, counters: int = 6, seed: int = 0,
             start_seq: int = 1) -> Iterator[dict[str, Any]]:
    """Envelopes (dicts) of one day in seq order: counters open, tickets issued/called/served/done, ratings, a
    device alert raised and cleared, counters closed. About 4.5 events per ticket."""
    rng = random.Random(f"{center}-{day}-{seed}")
    seq = start_seq
    t0 = datetime.combine(day, time(7, 30), VN_TZ)
    timeline: list[tuple[datetime, str, dict[str, Any]]] = []
    for c in range(1, counters + 1):
        timeline.append((t0, "counter.opened", {"counter": str(c), "name": f"Quầy {c}", "status": "open",
                                                "staff": f"cb{c}", "since": format_at(t0)}))
    free = [t0] * counters
    for n in range(1, tickets + 1):
        service = rng.choice(("ho-tich", "dat-dai", "dau-tu"))
        issued = t0 + timedelta(seconds=n * 8 * 3600 / tickets * rng.uniform(0.8, 1.0))
        tid, number = f"{day:%Y%m%d}-{service}-{n}", f"{'ABC'[n % 3]}{n:03d}"
        k = min(range(counters), key=lambda i: free[i])
        called = max(issued + timedelta(seconds=30), free[k])
        serving = called + timedelta(seconds=rng.uniform(20, 60))
        done = serving + timedelta(minutes=rng.uniform(3, 12))
        free[k] = done
        counter = str(k + 1)
        timeline.append((issued, "ticket.issued", {"ticket": _ticket(tid, number, service, day, "issued", issued)}))
        if rng.random() < 0.05:
            timeline.append((called + timedelta(minutes=2), "ticket.no_show", {"ticket": _ticket(
                tid, number, service, day, "no_show", issued, called, counter=counter)}))
            free[k] = called + timedelta(minutes=2)
            continue
        timeline.append((called, "ticket.called", {"ticket": _ticket(tid, number, service, day, "called", issued,
                                                                     called, counter=counter)}))
        timeline.append((serving, "ticket.serving", {"ticket": _ticket(tid, number, service, day, "serving", issued,
                                                                       called, serving, counter=counter)}))
        timeline.append((done, "ticket.done", {"ticket": _ticket(tid, number, service, day, "done", issued, called,
                                                                 serving, done, counter=counter)}))
        if rng.random() < 0.6:
            level = rng.choices((3, 2, 1), (0.8, 0.15, 0.05))[0]
            timeline.append((done + timedelta(seconds=20), "rating.submitted", {
                "id": str(uuid.UUID(int=rng.getrandbits(128))), "ticket_id": tid, "ticket_number": number,
                "counter": counter, "staff": None, "service": service, "day": day.isoformat(), "level": level,
                "at": format_at(done + timedelta(seconds=20)), "criteria": {}, "dossier_codes": [], "source": "pad"}))
    noon = datetime.combine(day, time(11, 0), VN_TZ)
    alert = {"device": "printer-1", "kind": "printer", "code": "paper_out", "severity": "error",
             "message_vi": "Máy in hết giấy", "message_en": "Printer out of paper"}
    timeline.append((noon, "device.fault", {**alert, "active": True}))
    timeline.append((noon + timedelta(minutes=7), "device.fault", {**alert, "active": False}))
    end = datetime.combine(day, time(17, 0), VN_TZ)
    for c in range(1, counters + 1):
        timeline.append((end, "counter.closed", {"counter": str(c), "name": f"Quầy {c}", "status": "closed",
                                                 "staff": None, "since": format_at(end)}))
    timeline.sort(key=lambda x: x[0])
    for at, typ, data in timeline:
        yield {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "seq": seq, "type": typ, "center": center,
               "at": format_at(at), "data": data}
        seq += 1
