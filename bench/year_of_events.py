"""A year of a large center, written straight into a hub store: the generator bench/reports.py and
bench/year_old_hub.py share (not a bench itself; never used by the hub or the tests).

≥ 500,000 tickets over a year's working days, 40 counters, 60 staff, 12 services, no-shows, cancellations,
transfers, counter open/pause/close, ratings and dossiers (mirror + dossier.updated). The rows are the ones the
hub's writer writes: the event log and, with ``projections``, the rows the projector keeps beside it (tickets,
service days, counters) and the ratings table, so a hub started on the file finds what a hub that ran for a year
would find. Not via HTTP, to keep a run to minutes.
"""
from __future__ import annotations

import random
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from contracts.messages import VN_TZ, dumps, event_id, format_at
from queue_server.adapters.dossier_mirror import DossierMirror
from queue_server.adapters.ratings_store import RatingsStore
from queue_server.adapters.sqlite_store import SqliteStore

SERVICES = ["ho-tich", "dat-dai", "dang-ky-kinh-doanh", "xay-dung", "giao-thong", "lao-dong", "y-te", "giao-duc",
            "tai-nguyen", "thue", "noi-vu", "cong-thuong"]
PROCEDURES = ["Đăng ký khai sinh", "Cấp bản sao trích lục hộ tịch", "Chứng thực bản sao từ bản chính",
              "Đăng ký biến động quyền sử dụng đất", "Đăng ký thành lập hộ kinh doanh", "Cấp giấy phép xây dựng"]
COUNTERS = [str(i) for i in range(1, 41)]
STAFF = [f"cb{i:02d}" for i in range(1, 61)]


def working_days(year: int) -> list[date]:
    d, out = date(year, 1, 1), []
    while d.year == year:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def at(day: date, seconds: float) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=VN_TZ) + timedelta(seconds=int(seconds))


def ticket(tid: str, day: date, service: str, origin: str, status: str, issued: datetime, counter: str | None,
           staff: str | None, called: datetime | None = None, serving: datetime | None = None,
           done: datetime | None = None) -> dict[str, Any]:
    f = lambda m: format_at(m) if m else None
    return {"id": tid, "number": tid[-4:], "service": service, "priority": None, "status": status, "counter": counter,
            "issued_at": format_at(issued), "called_at": f(called), "serving_at": f(serving), "done_at": f(done),
            "recalls": 0, "printed": True, "day": day.isoformat(), "origin_service": origin, "staff": staff,
            # the extras the hub's own log carries (it loads today's calls and completions on start)
            "prefix": "A", "seq_number": int(tid.rsplit("-", 1)[1]), "queued_at": format_at(issued),
            "last_called_at": f(called), "target_counter": None, "reactivations": 0, "kiosk": None, "lease_id": None,
            "queue_seq": 0, "request_id": None}


_TICKET_ROW = ("INSERT OR REPLACE INTO tickets(id, day, service, origin_service, number, status, priority, counter, "
               "issued_at, done_at, data) VALUES (?,?,?,?,?,?,?,?,?,?,?)")
_RATING_ROW = ("INSERT OR IGNORE INTO ratings(id, ticket_id, ticket_number, counter, staff, service, day, level, at, "
               "criteria, source) VALUES (?,?,?,?,?,?,?,?,?,?,?)")


def _projection_rows(events: list[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]],
                                                             dict[str, tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Ticket, service-day, counter and rating rows of one day's events (the last event of a ticket wins)."""
    tickets: dict[str, dict[str, Any]] = {}
    counters: dict[str, tuple[Any, ...]] = {}
    ratings: list[tuple[Any, ...]] = []
    for _seq, _id, kind, moment, data in events:
        if "ticket" in data:
            tickets[data["ticket"]["id"]] = data["ticket"]
        elif kind.startswith("counter."):
            row = {"counter": data["counter"], "status": data["status"], "staff_login": data["staff"],
                   "staff_name": data["staff"], "since": moment, "current_ticket_id": None, "last_done": None}
            counters[data["counter"]] = (data["counter"], data["status"], dumps(row))
        elif kind == "rating.submitted":
            ratings.append((data["id"], data["ticket_id"], data["ticket_number"], data["counter"], data["staff"],
                            data["service"], data["day"], data["level"], data["at"], "{}", data["source"]))
    days: dict[tuple[str, str], list[int]] = {}
    for t in tickets.values():
        for service in {t["origin_service"], t["service"]}:
            nums = days.setdefault((t["day"], service), [0, 0])
            nums[0] = max(nums[0], t["seq_number"] + 1)
            nums[1] += 1 if service == t["origin_service"] else 0
    ticket_rows = [(t["id"], t["day"], t["service"], t["origin_service"], t["seq_number"], t["status"], None,
                    t["counter"], t["issued_at"], t["done_at"], dumps(t)) for t in tickets.values()]
    day_rows = [(d, s, n[0], n[1], 0) for (d, s), n in days.items()]
    return ticket_rows, day_rows, counters, ratings


def generate(store_path: Path, mirror_path: Path, tickets: int, seed: int = 766, *,
             days: Sequence[date] | None = None, until: datetime | None = None,
             projections: bool = True) -> dict[str, int]:
    """Write the events of a year straight into the store's log (the same rows the hub's writer writes).

    ``days``: the working days (default: 2026's weekdays); ``until``: nothing at or after it is written (a hub
    restarted in the middle of the last day); ``projections``: also the tickets, service days, counters and
    ratings rows the hub keeps beside the log."""
    rnd = random.Random(seed)
    SqliteStore(store_path).close()             # schema through the store's own migrations
    RatingsStore(store_path).close()
    conn = sqlite3.connect(store_path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    days = list(days) if days is not None else working_days(2026)
    per_day = -(-tickets // len(days))
    seq = 0
    counts = {"tickets": 0, "events": 0, "ratings": 0, "dossiers": 0}
    mirror = DossierMirror(mirror_path)
    dossier_rows: list[tuple[Any, ...]] = []
    all_counters: dict[str, tuple[Any, ...]] = {}
    for day in days:
        rows: list[tuple[Any, ...]] = []
        raw: list[tuple[Any, ...]] = []

        def emit(kind: str, moment: datetime, data: dict[str, Any], rows: list[tuple[Any, ...]] = rows,
                 raw: list[tuple[Any, ...]] = raw) -> None:
            nonlocal seq
            if until is not None and moment >= until:
                return
            seq += 1
            rows.append((seq, event_id(moment), kind, format_at(moment), dumps(data)))
            raw.append((seq, None, kind, format_at(moment), data))

        staff_of = dict(zip(COUNTERS, rnd.sample(STAFF, len(COUNTERS)), strict=True))
        for c in COUNTERS:
            emit("counter.opened", at(day, 7.5 * 3600), {"counter": c, "status": "open", "staff": staff_of[c]})
            pause = 9.5 * 3600 + rnd.randint(0, 3600)
            emit("counter.paused", at(day, pause), {"counter": c, "status": "paused", "staff": staff_of[c]})
            emit("counter.opened", at(day, pause + 900), {"counter": c, "status": "open", "staff": staff_of[c]})
            emit("counter.closed", at(day, 17 * 3600), {"counter": c, "status": "closed", "staff": None})
        day_events: list[tuple[float, str, dict[str, Any]]] = []
        for n in range(per_day):
            if counts["tickets"] >= tickets:
                break
            service = SERVICES[min(len(SERVICES) - 1, int(rnd.expovariate(0.35)))]
            tid = f"{day:%Y%m%d}-{service}-{n}"
            t0 = rnd.choice((rnd.uniform(7.5, 11.3), rnd.uniform(13.5, 16.8))) * 3600
            issued = at(day, t0)
            if until is None or issued < until:
                counts["tickets"] += 1
            c = rnd.choice(COUNTERS)
            s = staff_of[c]
            day_events.append((t0, "ticket.issued", {"ticket": ticket(tid, day, service, service, "issued", issued,
                                                                       None, None)}))
            r = rnd.random()
            if r < 0.02:
                day_events.append((t0 + 600, "ticket.cancelled", {"ticket": ticket(
                    tid, day, service, service, "cancelled", issued, None, None, done=at(day, t0 + 600))}))
                continue
            t1 = t0 + rnd.expovariate(1 / 900)
            called = at(day, t1)
            data = {"ticket": ticket(tid, day, service, service, "called", issued, c, s, called), "counter": c}
            day_events.append((t1, "ticket.called", data))
            if r < 0.07:
                day_events.append((t1 + 90, "ticket.no_show", {"ticket": ticket(
                    tid, day, service, service, "no_show", issued, c, s, called), "counter": c}))
                continue
            t2 = t1 + 60
            serving = at(day, t2)
            day_events.append((t2, "ticket.serving", {"ticket": ticket(tid, day, service, service, "serving",
                                                                        issued, c, s, called, serving), "counter": c}))
            final = service
            if r < 0.09:
                final = SERVICES[(SERVICES.index(service) + 1) % len(SERVICES)]
                day_events.append((t2 + 120, "ticket.transferred", {"ticket": ticket(
                    tid, day, final, service, "issued", issued, None, s), "counter": c, "from_service": service}))
                t2 += 600
                serving = at(day, t2)
            t3 = t2 + rnd.lognormvariate(6.2, 0.5)
            done = at(day, t3)
            day_events.append((t3, "ticket.done", {"ticket": ticket(tid, day, final, service, "done", issued, c, s,
                                                                     called, serving, done), "counter": c}))
            if rnd.random() < 0.3:
                level = rnd.choices((3, 2, 1), (70, 25, 5))[0]
                if until is None or at(day, t3 + 20) < until:
                    counts["ratings"] += 1
                day_events.append((t3 + 20, "rating.submitted", {
                    "id": f"r-{tid}", "ticket_id": tid, "ticket_number": tid[-4:], "counter": c, "staff": s,
                    "service": final, "day": day.isoformat(), "level": level, "at": format_at(done),
                    "criteria": {}, "dossier_codes": [], "source": "pad"}))
            if rnd.random() < 0.2:
                code = f"000.00.12.H38-{day:%y%m%d}-{counts['dossiers'] + 1:06d}"
                due = done + timedelta(days=rnd.choice((3, 5, 7, 15)))
                finished = done + timedelta(days=rnd.uniform(1, 18))
                fin = finished if finished < datetime(2026, 12, 31, tzinfo=VN_TZ) else None
                if until is None or at(day, t3 + 30) < until:
                    counts["dossiers"] += 1
                    dossier_rows.append((code, rnd.choice(PROCEDURES), "N*** V*** An", format_at(done),
                                         "returned" if fin else "processing", format_at(due), None,
                                         None, "", format_at(fin) if fin else None, "[]", format_at(fin or done),
                                         format_at(fin or done)))
                day_events.append((t3 + 30, "dossier.updated", {"code": code, "status": "received"}))
        day_events.sort(key=lambda e: e[0])
        for t, kind, data in day_events:
            emit(kind, at(day, t), data)
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO events(seq, id, type, at, data) VALUES (?,?,?,?,?)", rows)
        if projections:
            ticket_rows, day_rows, counters, ratings = _projection_rows(raw)
            conn.executemany(_TICKET_ROW, ticket_rows)
            conn.executemany("INSERT OR REPLACE INTO service_days(day, service, next_number, issued, normal_streak) "
                             "VALUES (?,?,?,?,?)", day_rows)
            conn.executemany(_RATING_ROW, ratings)
            all_counters.update(counters)
        conn.execute("COMMIT")
        counts["events"] += len(rows)
    if projections:
        conn.executemany("INSERT OR REPLACE INTO counters(id, status, data) VALUES (?,?,?)", all_counters.values())
    mirror.bulk_load(dossier_rows)
    mirror.close()
    conn.close()
    return counts
