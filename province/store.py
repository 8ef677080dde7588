"""ProvinceStore: the province's PostgreSQL. Ingests hub events idempotently and in order per center, keeps the
live projections and daily rollups the board and reports read, and answers those reads.

Idempotent: events are keyed by (center, seq) — (center, seq, at) in the table, since a partitioned table's key
must hold the partition column, and a hub's event for a seq never changes its ``at`` — and inserted with
``ON CONFLICT DO NOTHING``, so a retried or replayed batch changes nothing.
In order: projections (live tickets/counters/alerts, daily_stats) are applied only up to the highest seq below
which every event is stored (``centers.applied_seq``), each seq exactly once, in the same transaction that moves
``applied_seq``; events above a gap are stored and wait. The row lock on the center's ``centers`` row serialises
two deliveries of one center. A gap that a delivery did not close is answered with ``replay_from``.

Must not: import anything of the hub, or trust a body without the caller having checked its signature.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from contracts.messages import VN_TZ, dumps
from province.schema import migrate, partition_sql

log = logging.getLogger(__name__)
TERMINAL = frozenset({"done", "no_show", "cancelled", "transferred"})
REPLAY_THROTTLE = timedelta(seconds=10)
OUT_OF_CONTACT = timedelta(minutes=10)


class BadEvents(ValueError):
    """A delivery that is not a list of well-formed events of the calling center (nothing of it is stored)."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    received: int
    inserted: int
    applied_seq: int
    max_seq: int
    replay_from: int | None        # ask the hub to re-send from this seq (a gap this delivery did not close)

    def to_json(self) -> dict[str, Any]:
        return {"received": self.received, "inserted": self.inserted, "duplicates": self.received - self.inserted,
                "applied_seq": self.applied_seq, "max_seq": self.max_seq, "replay_from": self.replay_from}


@dataclass(frozen=True, slots=True)
class Row:
    seq: int
    at: datetime
    id: str
    type: str
    data: dict[str, Any]


def _ts(raw: object) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=VN_TZ)


def parse_events(center: str, raw: object) -> list[Row]:
    """Validate a delivery: ``[envelope, ...]``; every envelope of ``center``. Raises BadEvents."""
    if not isinstance(raw, list):
        raise BadEvents("expected a list of events")
    rows: list[Row] = []
    for i, obj in enumerate(raw):
        if not isinstance(obj, dict):
            raise BadEvents(f"event {i}: expected an object")
        seq, typ, ev_id, data = obj.get("seq"), obj.get("type"), obj.get("id"), obj.get("data")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            raise BadEvents(f"event {i}: seq must be an integer >= 1")
        if not isinstance(typ, str) or not typ or not isinstance(ev_id, str) or not ev_id:
            raise BadEvents(f"event {i} (seq {seq}): id and type are required")
        if obj.get("center") != center:
            raise BadEvents(f"event {i} (seq {seq}): center {obj.get('center')!r} is not {center!r}")
        if not isinstance(data, dict):
            raise BadEvents(f"event {i} (seq {seq}): data must be an object")
        at = _ts(obj.get("at"))
        if at is None:
            raise BadEvents(f"event {i} (seq {seq}): at must be an ISO 8601 time")
        rows.append(Row(seq, at, ev_id, typ, data))
    return rows


def _first_call(ticket: Mapping[str, Any]) -> bool:
    """A ticket's first call: never reactivated, still in the queue it joined at issue (a transfer or a
    reactivation re-queues it later than its issue; a booking's check-in may queue it earlier)."""
    if ticket.get("reactivations"):
        return False
    issued, queued = _ts(ticket.get("issued_at")), _ts(ticket.get("queued_at"))
    return issued is None or queued is None or queued <= issued


def _scale_ends(raw: object) -> tuple[int, int]:
    """The lowest and the best level of the site's rating scale, as its hub sends them with each rating; a hub
    older than that sends none, and its scale is then taken as the default 3 / 2 / 1."""
    if isinstance(raw, Mapping):
        lowest, best = raw.get("lowest"), raw.get("best")
        if isinstance(lowest, int) and isinstance(best, int) and not isinstance(lowest, bool) \
                and not isinstance(best, bool) and lowest < best:
            return lowest, best
    return 1, 3


def month_of(at: datetime) -> date:
    local = at.astimezone(VN_TZ)
    return date(local.year, local.month, 1)


class _Projection:
    """What one contiguous run of events changes: collapsed in memory, written with a few statements."""

    def __init__(self, center: str, wait_target_s: float) -> None:
        self.center = center
        self.wait_target_s = wait_target_s
        self.tickets: dict[str, tuple[Any, ...] | None] = {}      # ticket id -> row, None = delete
        self.counters: dict[str, tuple[Any, ...]] = {}
        self.alerts: dict[tuple[str, str], tuple[Any, ...] | None] = {}
        self.daily: dict[date, list[float]] = {}

    def _day(self, raw: object, at: datetime) -> date:
        if isinstance(raw, str):
            try:
                return date.fromisoformat(raw)
            except ValueError:
                pass
        return at.astimezone(VN_TZ).date()

    def _bump(self, day: date, index: int, amount: float = 1.0) -> None:
        row = self.daily.setdefault(day, [0.0] * 14)
        if index == 5:                        # wait_max_s
            row[5] = max(row[5], amount)
        else:
            row[index] += amount

    def apply(self, row: Row) -> None:
        typ, data = row.type, row.data
        if typ.startswith("ticket."):
            t = data.get("ticket")
            if not isinstance(t, dict) or not isinstance(t.get("id"), str):
                return
            status = str(t.get("status") or "")
            day = self._day(t.get("day"), row.at)
            if status in TERMINAL:
                self.tickets[t["id"]] = None
            else:
                self.tickets[t["id"]] = (self.center, t["id"], day, status, str(t.get("service") or ""),
                                         str(t.get("number") or ""),
                                         _ts(t.get("queued_at")) or _ts(t.get("issued_at")),
                                         None if t.get("counter") is None else str(t.get("counter")))
            if typ == "ticket.issued":
                self._bump(day, 0)
            elif typ == "ticket.called" and _first_call(t):
                # the wait is issue -> first call, counted once per ticket at that call (served or not later), as
                # the hub's own report counts it; a transferred or reactivated ticket's later calls are not waits
                issued, called = _ts(t.get("issued_at")), _ts(t.get("called_at")) or row.at
                wait = max(0.0, (called - issued).total_seconds()) if issued else 0.0
                self._bump(day, 12)
                self._bump(day, 4, wait)
                self._bump(day, 5, wait)
                if wait <= self.wait_target_s:
                    self._bump(day, 6)
            elif typ == "ticket.done":
                self._bump(day, 1)
                serving, done = _ts(t.get("serving_at")), _ts(t.get("done_at"))
                # a service across a closing (in hand at Friday's closing, done on Monday) is served on its day but
                # untimed: the weekend is nobody's service time (the hub's report counts it so, docs/reports.md)
                if serving and done and serving.astimezone(VN_TZ).date() == done.astimezone(VN_TZ).date() == day:
                    self._bump(day, 13)
                    self._bump(day, 7, max(0.0, (done - serving).total_seconds()))
            elif typ == "ticket.no_show":
                self._bump(day, 2)
            elif typ == "ticket.reactivated":
                # only a no-show is reactivated, the same day: the citizen came back, so it is no longer one
                # (as the hub's own report counts it: a no-show is taken back on reactivation)
                self._bump(day, 2, -1.0)
            elif typ == "ticket.cancelled":
                self._bump(day, 3)
        elif typ.startswith("counter."):
            counter = data.get("counter")
            if isinstance(counter, str):
                self.counters[counter] = (self.center, counter, str(data.get("name") or ""),
                                          str(data.get("status") or ""), data.get("staff"),
                                          _ts(data.get("since")) or row.at)
        elif typ in ("device.offline", "device.online", "device.fault"):
            device, code = data.get("device"), data.get("code")
            if isinstance(device, str) and isinstance(code, str):
                active = typ == "device.offline" or (typ == "device.fault" and data.get("active") is not False)
                self.alerts[(device, code)] = (
                    self.center, device, code, str(data.get("kind") or ""), str(data.get("severity") or ""),
                    str(data.get("message_vi") or ""), str(data.get("message_en") or ""), row.at) if active else None
        elif typ == "rating.submitted":
            day = self._day(data.get("day"), row.at)
            level = data.get("level")
            lowest, best = _scale_ends(data.get("scale"))
            self._bump(day, 8)
            if level == lowest:                # "Không hài lòng" on the default scale
                self._bump(day, 9)
            elif level == best:
                self._bump(day, 10)
        elif typ == "dossier.updated" and data.get("status") == "returned":
            self._bump(day=row.at.astimezone(VN_TZ).date(), index=11)

    def write(self, cur: psycopg.Cursor[Any]) -> None:
        upserts = [v for v in self.tickets.values() if v is not None]
        deletes = [k for k, v in self.tickets.items() if v is None]
        if deletes:
            cur.execute("DELETE FROM live_tickets WHERE center = %s AND ticket_id = ANY(%s)", (self.center, deletes))
        if upserts:
            # one statement for the batch (not one per ticket): the rows travel as binary arrays
            cols = list(zip(*upserts, strict=True))
            cur.execute(
                "INSERT INTO live_tickets SELECT %s, * FROM unnest(%b::text[], %b::date[], %b::text[], %b::text[], "
                "%b::text[], %b::timestamptz[], %b::text[]) ON CONFLICT (center, ticket_id) "
                "DO UPDATE SET day = EXCLUDED.day, status = EXCLUDED.status, service = EXCLUDED.service, "
                "number = EXCLUDED.number, queued_at = EXCLUDED.queued_at, counter = EXCLUDED.counter",
                (self.center, *[list(c) for c in cols[1:]]))
        if self.counters:
            cur.executemany(
                "INSERT INTO live_counters VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (center, counter) "
                "DO UPDATE SET name = EXCLUDED.name, status = EXCLUDED.status, staff = EXCLUDED.staff, "
                "since = EXCLUDED.since", list(self.counters.values()))
        raise_alerts = [v for v in self.alerts.values() if v is not None]
        for (device, code), value in self.alerts.items():
            if value is None:
                cur.execute("DELETE FROM live_alerts WHERE center = %s AND device = %s AND code = %s",
                            (self.center, device, code))
        if raise_alerts:
            cur.executemany(
                "INSERT INTO live_alerts VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (center, device, code) "
                "DO UPDATE SET severity = EXCLUDED.severity, message_vi = EXCLUDED.message_vi, "
                "message_en = EXCLUDED.message_en", raise_alerts)
        if self.daily:
            cur.executemany(
                "INSERT INTO daily_stats (center, day, issued, served, no_show, cancelled, wait_sum_s, wait_max_s, "
                "within_target, service_sum_s, ratings, ratings_unhappy, ratings_top, dossiers_returned, called, "
                "timed) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (day, center) DO UPDATE SET called = daily_stats.called + EXCLUDED.called, "
                "timed = daily_stats.timed + EXCLUDED.timed, "
                "issued = daily_stats.issued + EXCLUDED.issued, served = daily_stats.served + EXCLUDED.served, "
                "no_show = daily_stats.no_show + EXCLUDED.no_show, "
                "cancelled = daily_stats.cancelled + EXCLUDED.cancelled, "
                "wait_sum_s = daily_stats.wait_sum_s + EXCLUDED.wait_sum_s, "
                "wait_max_s = greatest(daily_stats.wait_max_s, EXCLUDED.wait_max_s), "
                "within_target = daily_stats.within_target + EXCLUDED.within_target, "
                "service_sum_s = daily_stats.service_sum_s + EXCLUDED.service_sum_s, "
                "ratings = daily_stats.ratings + EXCLUDED.ratings, "
                "ratings_unhappy = daily_stats.ratings_unhappy + EXCLUDED.ratings_unhappy, "
                "ratings_top = daily_stats.ratings_top + EXCLUDED.ratings_top, "
                "dossiers_returned = daily_stats.dossiers_returned + EXCLUDED.dossiers_returned",
                [(self.center, day, int(v[0]), int(v[1]), int(v[2]), int(v[3]), v[4], v[5], int(v[6]), v[7],
                  int(v[8]), int(v[9]), int(v[10]), int(v[11]), int(v[12]), int(v[13]))
                 for day, v in self.daily.items()])


class ProvinceStore:
    """Thread-safe: one PostgreSQL connection per calling thread (waitress serves from a pool of threads)."""

    def __init__(self, dsn: str, *, now: Callable[[], datetime] | None = None, wait_target_min: float = 30.0,
                 auto_migrate: bool = True) -> None:
        self.dsn = dsn
        self.now = now or (lambda: datetime.now(UTC))
        self.wait_target_s = wait_target_min * 60
        self._local = threading.local()
        self._all: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._partitions: set[date] = set()
        if auto_migrate:
            migrate(self.conn())

    # ---- connections ------------------------------------------------------------------------------------------
    def conn(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except psycopg.Error:
                    pass
            self._all.clear()

    # ---- centers ----------------------------------------------------------------------------------------------
    def register_centers(self, centers: Iterable[Mapping[str, str]]) -> None:
        """Names, tiers and unit codes from the province config (progress columns are left alone)."""
        rows = [(c["id"], c.get("name", ""), c.get("tier", ""), c.get("unit_code", "")) for c in centers]
        if rows:
            self.conn().cursor().executemany(
                "INSERT INTO centers (center, name, tier, unit_code) VALUES (%s, %s, %s, %s) ON CONFLICT (center) "
                "DO UPDATE SET name = EXCLUDED.name, tier = EXCLUDED.tier, unit_code = EXCLUDED.unit_code", rows)

    def _ensure_partitions(self, conn: psycopg.Connection[Any], months: set[date]) -> None:
        missing = months - self._partitions
        if not missing:
            return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(7170018)")
            for month in sorted(missing):
                conn.execute(partition_sql(month))
        self._partitions |= missing

    # ---- ingest -----------------------------------------------------------------------------------------------
    def ingest(self, center: str, raw_events: object) -> IngestResult:
        rows = parse_events(center, raw_events)
        conn = self.conn()
        if not rows:
            return self._progress_only(conn, center, 0)
        by_seq: dict[int, Row] = {}
        for r in rows:
            by_seq.setdefault(r.seq, r)
        self._ensure_partitions(conn, {month_of(r.at) for r in by_seq.values()})
        now = self.now()
        ordered = sorted(by_seq.values(), key=lambda r: r.seq)
        with conn.transaction():
            cur = conn.cursor()
            cur.execute("INSERT INTO centers (center) VALUES (%s) ON CONFLICT DO NOTHING", (center,))
            locked = cur.execute(
                "SELECT applied_seq, max_seq, replay_requested_at FROM centers WHERE center = %s FOR UPDATE",
                (center,)).fetchone()
            assert locked is not None           # inserted just above, in this transaction
            applied, max_seq, replay_at = locked
            cur.execute(
                # %b: arrays go in binary (the text array format escapes every JSON quote, 3/4 of the cost)
                "INSERT INTO events (center, seq, at, id, type, data) SELECT %s, s, a, i, t, d::jsonb FROM unnest("
                "%b::bigint[], %b::timestamptz[], %b::text[], %b::text[], %b::text[]) AS u(s, a, i, t, d) "
                "ON CONFLICT DO NOTHING RETURNING seq",
                (center, [r.seq for r in ordered], [r.at for r in ordered], [r.id for r in ordered],
                 [r.type for r in ordered], [dumps(r.data) for r in ordered]))
            fresh = {int(row[0]) for row in cur.fetchall()}
            inserted = len(fresh)
            # A new event at a seq already applied: the hub went back to an earlier seq (restored from a backup)
            # and its new events reuse seqs the province already holds for other events. Both are real work of
            # the center, so the new ones are projected too (each event once: a re-sent one is not fresh), in seq
            # order, and the rewind is recorded for the board instead of the new events being stored unseen.
            rewound = [r for r in ordered if r.seq <= applied and r.seq in fresh]
            if rewound:
                self._record_rewind(cur, center, rewound, max_seq, now)
            new_max = max(max_seq, ordered[-1].seq)
            run = [r for r in ordered if r.seq > applied]
            contiguous = bool(run) and run[0].seq == applied + 1 and run[-1].seq - run[0].seq == len(run) - 1
            if contiguous and max_seq <= run[-1].seq:
                todo = run                           # the usual case: the next events, nothing stored above
            elif new_max > applied:
                todo = self._stored_run(cur, center, applied, new_max)
            else:
                todo = []
            new_applied = applied + len(todo)
            if todo or rewound:
                projection = _Projection(center, self.wait_target_s)
                for r in [*rewound, *todo]:
                    projection.apply(r)
                projection.write(cur)
            replay_from: int | None = None
            if new_max > new_applied:
                # A gap. Ask only when this delivery did not close part of it (a replay in progress fills it
                # batch by batch) and not again within the throttle, so the hub is not told to restart a replay.
                stuck = new_applied == applied
                if stuck and (replay_at is None or now - replay_at >= REPLAY_THROTTLE):
                    replay_from = new_applied + 1
            cur.execute(
                "UPDATE centers SET applied_seq = %s, max_seq = %s, last_received_at = %s, clock_refused_at = NULL, "
                "last_event_at = CASE WHEN %s::timestamptz IS NULL THEN last_event_at ELSE %s::timestamptz END, "
                "replay_from = %s, replay_requested_at = CASE WHEN %s::bigint IS NULL THEN "
                "(CASE WHEN %s THEN NULL ELSE replay_requested_at END) ELSE %s END WHERE center = %s",
                (new_applied, new_max, now, todo[-1].at if todo else None, todo[-1].at if todo else None,
                 new_applied + 1 if new_max > new_applied else None, replay_from, new_max <= new_applied, now,
                 center))
        return IngestResult(len(rows), inserted, new_applied, new_max, replay_from)

    def _record_rewind(self, cur: psycopg.Cursor[Any], center: str, rewound: list[Row], max_seq: int,
                       now: datetime) -> None:
        """One restore is one episode: its events arrive over several deliveries, each continuing at
        ``rewind_next``; a rewound event anywhere else starts a new episode (another restore)."""
        first, last = rewound[0].seq, rewound[-1].seq
        cur.execute(
            "UPDATE centers SET rewound_at = CASE WHEN rewind_next = %(first)s THEN rewound_at ELSE %(now)s END, "
            "rewind_to_seq = CASE WHEN rewind_next = %(first)s THEN rewind_to_seq ELSE %(to)s END, "
            "rewind_from_seq = CASE WHEN rewind_next = %(first)s THEN rewind_from_seq ELSE %(max)s END, "
            "rewind_next = %(next)s WHERE center = %(center)s",
            {"first": first, "now": now, "to": first - 1, "max": max_seq, "next": last + 1, "center": center})
        log.warning("province: %s went back from seq %d to %d (restored from a backup?): %d new event(s) at seqs "
                    "already held are kept and counted", center, max_seq, first - 1, len(rewound))

    def _stored_run(self, cur: psycopg.Cursor[Any], center: str, applied: int, upto: int) -> list[Row]:
        """The stored events after ``applied`` up to the first missing seq."""
        out: list[Row] = []
        expect = applied + 1
        for seq, at, ev_id, typ, data in cur.execute(
                "SELECT seq, at, id, type, data FROM events WHERE center = %s AND seq > %s AND seq <= %s "
                "ORDER BY seq", (center, applied, upto)):
            if seq < expect:
                continue                         # the same seq twice (different at): keep the first
            if seq != expect:
                break
            out.append(Row(seq, at, ev_id, typ, data))
            expect += 1
        return out

    def _progress_only(self, conn: psycopg.Connection[Any], center: str, received: int) -> IngestResult:
        # An empty delivery is the hub's heartbeat: the link is up even when the center has nothing to send, so
        # the board's "out of contact" means out of contact, not a quiet hour.
        row = conn.execute("UPDATE centers SET last_received_at = %s, clock_refused_at = NULL WHERE center = %s "
                           "RETURNING applied_seq, max_seq", (self.now(), center)).fetchone()
        applied, max_seq = (int(row[0]), int(row[1])) if row else (0, 0)
        return IngestResult(received, 0, applied, max_seq, applied + 1 if max_seq > applied else None)

    def record_clock_refusal(self, center: str, skew_s: float) -> None:
        """A delivery signed with the center's key but a timestamp outside the window: the hub's clock is off."""
        self.conn().execute("UPDATE centers SET clock_refused_at = %s, clock_skew_s = %s WHERE center = %s",
                            (self.now(), round(skew_s), center))

    def gaps(self) -> list[dict[str, Any]]:
        """Centers with events missing below their highest seq (for the board and a replay sweep)."""
        rows = self.conn().execute("SELECT center, applied_seq, max_seq FROM centers WHERE max_seq > applied_seq "
                                   "ORDER BY center").fetchall()
        return [{"center": c, "replay_from": a + 1, "max_seq": m} for c, a, m in rows]

    # ---- reads ------------------------------------------------------------------------------------------------
    def board(self, centers: Sequence[str] | None = None, today: date | None = None) -> list[dict[str, Any]]:
        """One row per site: waiting now, longest wait, open counters, alerts, link state, today's totals."""
        now = self.now()
        day = today or now.astimezone(VN_TZ).date()
        rows = self.conn().execute(
            """
            SELECT c.center, c.name, c.tier, c.applied_seq, c.max_seq, c.last_received_at, c.last_event_at,
                   coalesce(w.waiting, 0), w.oldest, coalesce(k.open, 0), coalesce(k.paused, 0),
                   coalesce(a.alerts, 0), a.worst, coalesce(d.issued, 0), coalesce(d.served, 0),
                   coalesce(d.no_show, 0), d.wait_sum_s, coalesce(d.ratings, 0), coalesce(d.ratings_unhappy, 0),
                   coalesce(d.called, 0), c.rewound_at, c.rewind_to_seq, c.rewind_from_seq, c.clock_refused_at, c.clock_skew_s
            FROM centers c
            LEFT JOIN (SELECT center, count(*) AS waiting, min(queued_at) AS oldest FROM live_tickets
                       WHERE status = 'issued' AND day = %(day)s GROUP BY center) w ON w.center = c.center
            LEFT JOIN (SELECT center, count(*) FILTER (WHERE status = 'open') AS open,
                              count(*) FILTER (WHERE status = 'paused') AS paused
                       FROM live_counters GROUP BY center) k ON k.center = c.center
            LEFT JOIN (SELECT center, count(*) AS alerts, string_agg(message_vi, '; ' ORDER BY since) AS worst
                       FROM live_alerts GROUP BY center) a ON a.center = c.center
            LEFT JOIN daily_stats d ON d.center = c.center AND d.day = %(day)s
            WHERE (%(all)s OR c.center = ANY(%(centers)s))
            ORDER BY c.center
            """, {"day": day, "all": centers is None, "centers": list(centers or [])}).fetchall()
        out = []
        for (center, name, tier, applied, max_seq, received, last_at, waiting, oldest, open_, paused, alerts, worst,
             issued, served, no_show, wait_sum, ratings, unhappy, called, rewound_at, rewind_to, rewind_from,
             clock_refused_at, clock_skew) in rows:
            out.append({
                "center": center, "name": name or center, "tier": tier, "applied_seq": applied, "max_seq": max_seq,
                "gap": max_seq > applied,
                "last_received_at": received.isoformat() if received else None,
                "silent_s": round((now - received).total_seconds()) if received else None,
                # hubs send a heartbeat every minute when idle, so 10 minutes without one is a link down (or a
                # hub off), and today's figures stop at that time: the board says since when, not zeros alone
                "out_of_contact_since": received.isoformat() if received and now - received > OUT_OF_CONTACT
                else None,
                "waiting": waiting,
                "longest_wait_min": round(max(0.0, (now - oldest).total_seconds()) / 60, 1) if oldest else 0.0,
                "open_counters": open_, "paused_counters": paused, "alerts": alerts, "alert_text": worst or "",
                "issued_today": issued, "served_today": served, "no_show_today": no_show,
                "avg_wait_min_today": round(wait_sum / called / 60, 1) if called and wait_sum is not None else None,
                "unhappy_share_today": round(unhappy / ratings, 3) if ratings else None,
                # the hub went back to an earlier seq (a restore): its new events at seqs the province already
                # held are counted as well; the board says so, so figures above the hub's own are explained
                "rewound_at": rewound_at.isoformat() if rewound_at else None,
                "rewind_to_seq": rewind_to, "rewind_from_seq": rewind_from,
                # the site's deliveries are refused for its clock (signatures hold for ±5 min): why it is silent
                "clock_skew_s": clock_skew if clock_refused_at else None,
            })
        return out

    def monthly(self, month: date, centers: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The month's figures per unit from the daily rollups, ranked. Indices are local estimates."""
        start = month.replace(day=1)
        end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        rows = self.conn().execute(
            """
            SELECT c.center, c.name, c.tier, c.unit_code, sum(d.issued), sum(d.served), sum(d.no_show),
                   sum(d.cancelled), sum(d.wait_sum_s), max(d.wait_max_s), sum(d.within_target),
                   sum(d.service_sum_s), sum(d.ratings), sum(d.ratings_unhappy), sum(d.ratings_top),
                   sum(d.dossiers_returned), count(d.day), sum(d.called), sum(d.timed)
            FROM centers c JOIN daily_stats d ON d.center = c.center
            WHERE d.day >= %(start)s AND d.day < %(end)s AND (%(all)s OR c.center = ANY(%(centers)s))
            GROUP BY c.center, c.name, c.tier, c.unit_code
            """, {"start": start, "end": end, "all": centers is None, "centers": list(centers or [])}).fetchall()
        out = []
        for (center, name, tier, unit_code, issued, served, no_show, cancelled, wait_sum, wait_max, within,
             service_sum, ratings, unhappy, top, returned, days, called, timed) in rows:
            served = int(served or 0)
            called = int(called or 0)
            timed = int(timed or 0)
            ratings = int(ratings or 0)
            on_time = within / called if called else None
            satisfaction = 1 - unhappy / ratings if ratings else None
            out.append({
                "center": center, "name": name or center, "tier": tier, "unit_code": unit_code,
                "month": start.isoformat()[:7], "days": int(days), "issued": int(issued or 0), "served": served,
                "no_show": int(no_show or 0), "cancelled": int(cancelled or 0),
                "no_show_rate": round(no_show / issued, 4) if issued else None,
                "avg_wait_min": round(wait_sum / called / 60, 1) if called else None,
                "max_wait_min": round(float(wait_max or 0) / 60, 1),
                "avg_service_min": round(service_sum / timed / 60, 1) if timed else None,
                "on_time_rate": round(on_time, 4) if on_time is not None else None,
                "ratings": ratings, "satisfaction_rate": round(satisfaction, 4) if satisfaction is not None else None,
                "top_rating_share": round(top / ratings, 4) if ratings else None,
                # QĐ 766 criterion 5.4 style: full 6 points at >= 90 %, else rate x 6 / 90 % (an estimate)
                "satisfaction_points_est": round(min(1.0, satisfaction / 0.9) * 6, 2)
                if satisfaction is not None else None,
                "dossiers_returned": int(returned or 0),
            })
        out.sort(key=lambda r: (-(r["satisfaction_rate"] or 0), -(r["on_time_rate"] or 0), r["center"]))
        for rank, row in enumerate(out, 1):
            row["rank"] = rank
        return out

    def events_of(self, center: str) -> list[tuple[int, str]]:
        """(seq, id) of a center's stored events in seq order (tests and audits)."""
        return [(int(s), i) for s, i in self.conn().execute(
            "SELECT seq, id FROM events WHERE center = %s ORDER BY seq", (center,))]
