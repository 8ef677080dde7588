"""The reporting read model's pure logic: which figures each stored event adds, fixed-bucket histograms for
waiting and service times, periods, and the report figures computed from summed aggregates.

No I/O: the report store (queue_server/adapters/report_store.py) feeds events in seq order and persists the
``Delta`` this module builds; queries hand back summed ``Measures`` that this module turns into report rows.

Counting rules (docs/reports.md):
- a ticket is counted ONCE per fact, keyed by its id in a ledger (``TicketLedger``): issued (at its issue hour,
  under the service it was issued for), first call (waiting time = first call − issue, under the service,
  counter and staff that called it), served (``ticket.done``: service time = done − start), cancelled,
  transferred (under the service and counter it left); a no-show is counted and taken back if the ticket is
  reactivated. A duplicate event (a replay, an offline kiosk merging the same numbers twice) changes nothing.
- every fact belongs to the ticket's working day and the hour (Vietnam time) the fact happened, except
  ``issued`` which uses the issue time (an offline kiosk's ticket merged later still arrives at its own hour).
- a service that ran across a closing (a ticket left in hand at Friday's closing, completed on Monday: its start,
  serving_at else called_at, is on an earlier local date than its completion, or its completion on a later date
  than its working day) is served on its own working day at the hour it was last worked on that day (its start,
  else its call), but its service time is unknown: it adds to ``served`` and not to ``timed``, the service-time
  sum, maximum or histogram (the weekend is no service time).
- counter duty: the time between a counter's events is open (on duty) or paused time for the staff at the
  counter, split at hour boundaries; an interval never runs past the end of its day. A counter left open
  overnight is on duty until its last activity there (a counter or ticket event) on the earlier day and again
  from its first activity on the later day: nobody is known to have been there in between.
"""
from __future__ import annotations

import bisect
import calendar as _calendar
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from contracts.messages import VN_TZ, parse_at

# ----------------------------------------------------------------------------------------------- histograms
# Upper bounds (seconds) of the waiting/service-time buckets; the last bucket is open-ended. Accuracy: 30 s up
# to 10 min, 1 min up to 1 h, 5 min up to 3 h, 15 min up to 8 h, 1 h up to 24 h. The share over a target is exact
# when the target falls on a bucket bound (every whole minute up to an hour, every 5 minutes up to 3 hours), else
# interpolated inside its bucket. A percentile is the upper bound of the bucket holding its rank (capped at the exact maximum): at most one bucket too high.
BOUNDS: tuple[int, ...] = tuple(
    [30 * i for i in range(1, 21)]                       # .. 10 min
    + [600 + 60 * i for i in range(1, 51)]               # .. 60 min
    + [3600 + 300 * i for i in range(1, 25)]             # .. 3 h
    + [10800 + 900 * i for i in range(1, 21)]            # .. 8 h
    + [28800 + 3600 * i for i in range(1, 17)]           # .. 24 h
)
NBUCKETS = len(BOUNDS) + 1                               # + overflow


def bucket_of(seconds: float) -> int:
    """Index of the bucket holding ``seconds`` (a value equal to a bound falls in the bucket it closes)."""
    return bisect.bisect_left(BOUNDS, max(0.0, seconds))


def _lower(i: int) -> float:
    return 0.0 if i == 0 else float(BOUNDS[i - 1])


def _upper(i: int, top: float) -> float:
    return float(BOUNDS[i]) if i < len(BOUNDS) else max(top, _lower(i))


def percentile(hist: Mapping[int, int], q: float, top: float | None = None) -> float | None:
    """The q-quantile (0 < q ≤ 1, nearest rank) of the values counted in ``hist``: the upper bound of the bucket
    holding that rank, never above ``top`` (the exact maximum when known), so the figure reads "at most" and
    errs by less than one bucket width, upwards; None when empty."""
    total = sum(hist.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(q * total - 1e-9))
    seen = 0
    for i in sorted(hist):
        seen += max(0, hist[i])
        if seen >= rank:
            value = _upper(i, top or 0.0)
            return min(value, top) if top is not None else value
    return top


def share_over(hist: Mapping[int, int], target_s: float) -> float | None:
    """Share of the values above ``target_s`` (exact on a bucket bound, interpolated inside a bucket)."""
    total = sum(hist.values())
    if total <= 0:
        return None
    over = 0.0
    for i, n in hist.items():
        lo = _lower(i)
        hi = float(BOUNDS[i]) if i < len(BOUNDS) else float("inf")
        if lo >= target_s:
            over += n
        elif hi > target_s:
            over += n * ((hi - target_s) / (hi - lo) if hi != float("inf") else 1.0)
    return over / total


def add_hist(into: dict[int, int], other: Mapping[int, int], sign: int = 1) -> None:
    for i, n in other.items():
        v = into.get(i, 0) + sign * n
        if v:
            into[i] = v
        else:
            into.pop(i, None)


# ------------------------------------------------------------------------------------------------ measures
SCALARS: tuple[str, ...] = ("issued", "called", "wait_sum", "served", "timed", "service_sum", "no_show",
                            "cancelled", "transferred", "open_s", "pause_s")
MAXES: tuple[str, ...] = ("wait_max", "service_max")


@dataclass(slots=True)
class Measures:
    """Summable figures of one aggregate cell. ``wait``/``service`` are sparse histograms (bucket → count)."""

    issued: int = 0
    called: int = 0           # tickets called at least once (those with a waiting time)
    wait_sum: int = 0         # seconds
    served: int = 0
    timed: int = 0            # served tickets with a measured service time (what service_sum/service are over)
    service_sum: int = 0      # seconds
    no_show: int = 0
    cancelled: int = 0
    transferred: int = 0
    open_s: int = 0           # counter on duty (open), seconds
    pause_s: int = 0
    wait_max: int = 0         # exact maxima; they only grow (a taken-back no-show has no time to take back)
    service_max: int = 0
    wait: dict[int, int] = field(default_factory=dict)
    service: dict[int, int] = field(default_factory=dict)

    def add(self, o: Measures) -> None:
        # spelled out rather than a loop over SCALARS: this runs for every cell and rollup of a rebuild
        self.issued += o.issued
        self.called += o.called
        self.wait_sum += o.wait_sum
        self.served += o.served
        self.timed += o.timed
        self.service_sum += o.service_sum
        self.no_show += o.no_show
        self.cancelled += o.cancelled
        self.transferred += o.transferred
        self.open_s += o.open_s
        self.pause_s += o.pause_s
        self.wait_max = max(self.wait_max, o.wait_max)
        self.service_max = max(self.service_max, o.service_max)
        if o.wait:
            add_hist(self.wait, o.wait)
        if o.service:
            add_hist(self.service, o.service)


# A cell: working day × service × counter × staff × hour ('' where a fact has no counter or staff).
CellKey = tuple[str, str, str, str, int]
ROLLUP_DIMS: tuple[str, ...] = ("all", "service", "counter", "staff", "hour")


def rollup_keys(key: CellKey) -> Iterator[tuple[str, str, str]]:
    """(day, dim, value) rows a cell also adds to: the per-dimension daily rollups that long reports read."""
    day, service, counter, staff, hour = key
    yield day, "all", ""
    if service:                  # counter duty has no service
        yield day, "service", service
    if counter:
        yield day, "counter", counter
    if staff:
        yield day, "staff", staff
    yield day, "hour", f"{hour:02d}"


@dataclass(slots=True)
class Delta:
    """What a batch of events adds: cells, rating counts, dossiers to refresh, the ledger rows it changed."""

    cells: dict[CellKey, Measures] = field(default_factory=dict)
    ratings: dict[tuple[str, str, str, str, int], int] = field(default_factory=dict)
    dossiers: set[str] = field(default_factory=set)
    ledger: dict[str, LedgerRow] = field(default_factory=dict)
    counters: dict[str, CounterDuty] = field(default_factory=dict)
    # booking code → (slot's day, service, slot start ISO, status): the last event of a code wins
    bookings: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)
    events: int = 0

    def cell(self, key: CellKey) -> Measures:
        m = self.cells.get(key)
        if m is None:
            m = self.cells[key] = Measures()
        return m


# -------------------------------------------------------------------------------------------- ledger state
ISSUED, CALLED, SERVED, CANCELLED, TRANSFERRED = 1, 2, 4, 8, 16


@dataclass(slots=True)
class LedgerRow:
    """Which facts of one ticket are already counted; the cell a no-show went to (to take it back)."""

    flags: int = 0
    no_show_key: CellKey | None = None


@dataclass(slots=True)
class CounterDuty:
    status: str = "closed"
    staff: str = ""
    since: datetime | None = None
    last: datetime | None = None      # the latest event at the counter (what ends a day it was left open)


def duty_end(since: datetime, last: datetime | None, at: datetime) -> tuple[datetime, datetime]:
    """Where the duty interval begun at ``since`` ends when something happens at ``at``, and where the next one
    starts: at ``at`` on the same day; across midnight (the counter was left open), at the last activity of
    ``since``'s day, the new one starting at ``at``."""
    if at.astimezone(VN_TZ).date() == since.astimezone(VN_TZ).date():
        return at, at
    return max(since, min(last or since, at)), at


def _hour(moment: datetime) -> int:
    return moment.astimezone(VN_TZ).hour


def _secs(a: datetime | None, b: datetime | None) -> int | None:
    if a is None or b is None:
        return None
    return max(0, int((b - a).total_seconds()))


def _dt(text: Any) -> datetime | None:
    return parse_at(str(text)) if text else None


def service_seconds(start: datetime | None, done: datetime, day: date | None = None) -> int | None:
    """The measured service time start → done in seconds; None when it is unknown: no start, or a service that
    ran across a closing — started on an earlier local date than it was completed, or completed on a later date
    than the ticket's own working ``day`` (called on Friday and left in hand, started and completed on Monday: the
    minutes on Monday are staff clearing it, not a service of Friday's). The nights and weekend between are
    nobody's service time."""
    if start is None:
        return None
    finished = done.astimezone(VN_TZ).date()
    if start.astimezone(VN_TZ).date() != finished or (day is not None and finished != day):
        return None
    return _secs(start, done) or 0


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _last_work_hour(day: date, *moments: datetime | None) -> int | None:
    """The hour of the first of ``moments`` that falls on the local ``day`` (a ticket's last work on its day)."""
    for moment in moments:
        if moment is not None and moment.astimezone(VN_TZ).date() == day:
            return _hour(moment)
    return None


TICKET_FACTS = frozenset({"ticket.issued", "ticket.called", "ticket.done", "ticket.no_show", "ticket.reactivated",
                          "ticket.transferred", "ticket.cancelled"})
# a takeover ends the first staff member's duty and starts the second's (their hours are not the first's)
COUNTER_EVENTS = frozenset({"counter.opened", "counter.taken_over", "counter.paused", "counter.closed"})
# issue 16: a booking's latest status (events carry code, service, slot, status, source: no personal data)
BOOKING_EVENTS = frozenset({"booking.created", "booking.checked_in", "booking.cancelled", "booking.no_show"})
BOOKING_STATUSES = ("booked", "checked_in", "no_show", "cancelled")
# The only event types the read model reads: the store filters on them, so a rebuild skips the rest.
RELEVANT = TICKET_FACTS | COUNTER_EVENTS | BOOKING_EVENTS | {"rating.submitted", "dossier.updated"}


class Folder:
    """Folds events (in seq order) into a ``Delta``. ``ledger(id)`` / ``counter(id)`` return the stored state
    of a ticket or counter (None when unknown); what the batch changed is read from the delta first."""

    def __init__(self, ledger: Any, counter: Any) -> None:
        self._ledger = ledger
        self._counter = counter
        self.delta = Delta()

    def _row(self, ticket_id: str) -> LedgerRow:
        row = self.delta.ledger.get(ticket_id)
        if row is None:
            stored = self._ledger(ticket_id)
            row = LedgerRow(stored.flags, stored.no_show_key) if stored is not None else LedgerRow()
            self.delta.ledger[ticket_id] = row
        return row

    def booking(self, data: Mapping[str, Any]) -> None:
        code, service, slot, status = (data.get(k) for k in ("code", "service", "slot", "status"))
        if not all(isinstance(v, str) and v for v in (code, service, slot, status)) or \
                status not in BOOKING_STATUSES:
            raise ValueError("a booking event without code, service, slot or a known status")
        day = parse_at(str(slot)).astimezone(VN_TZ).date().isoformat()
        self.delta.bookings[str(code)] = (day, str(service), str(slot), str(status))

    def _duty(self, counter_id: str) -> CounterDuty:
        duty = self.delta.counters.get(counter_id)
        if duty is None:
            stored = self._counter(counter_id)
            duty = CounterDuty(stored.status, stored.staff, stored.since, stored.last) if stored is not None else CounterDuty()
            self.delta.counters[counter_id] = duty
        return duty

    def fold(self, kind: str, at_text: str, data: Mapping[str, Any]) -> None:
        self.delta.events += 1
        if kind in TICKET_FACTS:
            ticket = data.get("ticket")
            if isinstance(ticket, dict):
                self._ticket(kind, parse_at(at_text), ticket, data)
        elif kind in COUNTER_EVENTS:
            self._counter_event(parse_at(at_text), data)
        elif kind == "rating.submitted":
            self._rating(data)
        elif kind in BOOKING_EVENTS:
            self.booking(data)
        elif kind == "dossier.updated":
            code = data.get("code")
            if isinstance(code, str) and code:
                self.delta.dossiers.add(code)

    def _ticket(self, kind: str, at: datetime, t: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        row = self._row(str(t["id"]))
        day = str(t["day"])
        counter = str(data.get("counter") or t.get("counter") or "")
        if counter and kind != "ticket.issued":
            self._activity(counter, at)
        staff = str(t.get("staff") or "")
        issued_at = _dt(t.get("issued_at")) or at
        if kind == "ticket.issued":
            if not row.flags & ISSUED:
                row.flags |= ISSUED
                self.delta.cell((day, str(t.get("origin_service") or t["service"]), "", "", _hour(issued_at))).issued += 1
        elif kind == "ticket.called":
            if not row.flags & CALLED:
                row.flags |= CALLED
                wait = _secs(issued_at, _dt(t.get("called_at")) or at) or 0
                m = self.delta.cell((day, str(t["service"]), counter, staff, _hour(at)))
                m.called += 1
                m.wait_sum += wait
                m.wait_max = max(m.wait_max, wait)
                b = bucket_of(wait)
                m.wait[b] = m.wait.get(b, 0) + 1
        elif kind == "ticket.done":
            if not row.flags & SERVED:
                row.flags |= SERVED
                serving, called = _dt(t.get("serving_at")), _dt(t.get("called_at"))
                own_day = _date(day)
                secs = service_seconds(serving or called, _dt(t.get("done_at")) or at, own_day)
                # a service across a closing is served at the hour of its day's last work on it, untimed
                last = _last_work_hour(own_day, serving, called) if secs is None and own_day is not None else None
                hour = _hour(at) if last is None else last
                m = self.delta.cell((day, str(t["service"]), counter, staff, hour))
                m.served += 1
                if secs is not None:
                    m.timed += 1
                    m.service_sum += secs
                    m.service_max = max(m.service_max, secs)
                    b = bucket_of(secs)
                    m.service[b] = m.service.get(b, 0) + 1
        elif kind == "ticket.no_show":
            if row.no_show_key is None:
                key: CellKey = (day, str(t["service"]), counter, staff, _hour(at))
                row.no_show_key = key
                self.delta.cell(key).no_show += 1
        elif kind == "ticket.reactivated":
            if row.no_show_key is not None:
                self.delta.cell(row.no_show_key).no_show -= 1
                row.no_show_key = None
        elif kind == "ticket.cancelled":
            if not row.flags & CANCELLED:
                row.flags |= CANCELLED
                self.delta.cell((day, str(t["service"]), "", "", _hour(at))).cancelled += 1
        elif kind == "ticket.transferred" and not row.flags & TRANSFERRED:
            row.flags |= TRANSFERRED
            source = str(data.get("from_service") or t.get("origin_service") or t["service"])
            self.delta.cell((day, source, counter, staff, _hour(at))).transferred += 1

    def _activity(self, counter_id: str, at: datetime) -> None:
        """Something happened at the counter: the first thing on a new day closes an interval left open."""
        duty = self._duty(counter_id)
        if duty.since is not None and duty.status in ("open", "paused"):
            end, start = duty_end(duty.since, duty.last, at)
            if start != end:
                self._count(counter_id, duty, end)
                duty.since = start
        duty.last = at

    def _count(self, counter_id: str, duty: CounterDuty, end: datetime) -> None:
        assert duty.since is not None
        for day, hour, secs in split_interval(duty.since, end):
            m = self.delta.cell((day, "", counter_id, duty.staff, hour))
            if duty.status == "open":
                m.open_s += secs
            else:
                m.pause_s += secs

    def _counter_event(self, at: datetime, data: Mapping[str, Any]) -> None:
        counter_id = str(data.get("counter") or "")
        if not counter_id:
            return
        self._activity(counter_id, at)
        duty = self._duty(counter_id)
        if duty.since is not None and duty.status in ("open", "paused"):
            self._count(counter_id, duty, at)
        duty.status = str(data.get("status") or "closed")
        # the login, as tickets and ratings are keyed (``staff`` is the display name; events from before display
        # names carry only ``staff``, then the login)
        duty.staff = str(data.get("staff_login") or data.get("staff") or "")
        duty.since = at

    def _rating(self, data: Mapping[str, Any]) -> None:
        rating = data.get("rating") if isinstance(data.get("rating"), dict) else data
        assert isinstance(rating, Mapping)
        try:
            level = int(rating["level"])
            day = str(rating["day"])
        except (KeyError, TypeError, ValueError):
            return
        key = (day, str(rating.get("service") or ""), str(rating.get("counter") or ""),
               str(rating.get("staff") or ""), level)
        self.delta.ratings[key] = self.delta.ratings.get(key, 0) + 1


def split_interval(start: datetime, end: datetime) -> Iterator[tuple[str, int, int]]:
    """(day, hour, seconds) pieces of [start, end) in Vietnam time, cut at the end of ``start``'s day."""
    a = start.astimezone(VN_TZ)
    midnight = datetime.combine(a.date() + timedelta(days=1), datetime.min.time(), tzinfo=VN_TZ)
    b = min(end.astimezone(VN_TZ), midnight)
    while a < b:
        next_hour = (a.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
        piece_end = min(next_hour, b)
        secs = int((piece_end - a).total_seconds())
        if secs > 0:
            yield a.date().isoformat(), a.hour, secs
        a = piece_end


# ------------------------------------------------------------------------------------------------- periods
PERIODS = ("day", "week", "month", "quarter", "year")


def period_range(period: str, anchor: date) -> tuple[date, date]:
    """First and last day (inclusive) of the day/week (Mon–Sun)/month/quarter/year containing ``anchor``."""
    if period == "day":
        return anchor, anchor
    if period == "week":
        start = anchor - timedelta(days=anchor.weekday())
        return start, start + timedelta(days=6)
    if period == "month":
        last = _calendar.monthrange(anchor.year, anchor.month)[1]
        return anchor.replace(day=1), anchor.replace(day=last)
    if period == "quarter":
        first_month = 3 * ((anchor.month - 1) // 3) + 1
        end_month = first_month + 2
        return date(anchor.year, first_month, 1), date(anchor.year, end_month,
                                                        _calendar.monthrange(anchor.year, end_month)[1])
    if period == "year":
        return date(anchor.year, 1, 1), date(anchor.year, 12, 31)
    raise ValueError(f"period: expected one of {', '.join(PERIODS)}")


def period_label(start: date, end: date) -> str:
    """Vietnamese label of a range: 'Tháng 03/2026', 'Quý I/2026', 'Năm 2026', 'Ngày 05/03/2026' or 'Từ … đến …'."""
    if start == end:
        return f"Ngày {start:%d/%m/%Y}"
    if start.day == 1 and (start.month, start.year) == (end.month, end.year) and \
            end.day == _calendar.monthrange(end.year, end.month)[1]:
        return f"Tháng {start:%m/%Y}"
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return f"Năm {start.year}"
    if start.day == 1 and start.month in (1, 4, 7, 10) and (end - start).days < 93 and \
            (start.year, start.month + 2) == (end.year, end.month) and \
            end.day == _calendar.monthrange(end.year, end.month)[1]:
        return f"Quý {('I', 'II', 'III', 'IV')[(start.month - 1) // 3]}/{start.year}"
    return f"Từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}"


# --------------------------------------------------------------------------------------------- figures
def _round(v: float | None, digits: int = 1) -> float | None:
    return None if v is None else round(v, digits)


def figures(m: Measures, target_s: int) -> dict[str, Any]:
    """Report figures of summed measures. Times in minutes (1 decimal); shares 0..1 (3 decimals)."""
    wait_p50 = percentile(m.wait, 0.5, m.wait_max)
    wait_p90 = percentile(m.wait, 0.9, m.wait_max)
    svc_p50 = percentile(m.service, 0.5, m.service_max)
    svc_p90 = percentile(m.service, 0.9, m.service_max)
    over = share_over(m.wait, target_s)
    duty_h = m.open_s / 3600
    return {
        "issued": m.issued, "served": m.served, "no_show": m.no_show, "cancelled": m.cancelled,
        "transferred": m.transferred, "called": m.called,
        "wait_avg_min": _round(m.wait_sum / m.called / 60) if m.called else None,
        "wait_p50_min": _round(wait_p50 / 60 if wait_p50 is not None else None),
        "wait_p90_min": _round(wait_p90 / 60 if wait_p90 is not None else None),
        "wait_max_min": _round(m.wait_max / 60) if m.called else None,
        "wait_over_target_share": _round(over, 3),
        "service_avg_min": _round(m.service_sum / m.timed / 60) if m.timed else None,
        "service_p50_min": _round(svc_p50 / 60 if svc_p50 is not None else None),
        "service_p90_min": _round(svc_p90 / 60 if svc_p90 is not None else None),
        "on_duty_h": round(duty_h, 2), "pause_h": round(m.pause_s / 3600, 2),
        "served_per_duty_hour": round(m.served / duty_h, 2) if duty_h > 0 else None,
    }


FIGURE_KEYS: tuple[str, ...] = tuple(figures(Measures(), 0))


def rating_figures(levels: Mapping[int, int], level_values: Iterable[int]) -> dict[str, Any]:
    """Counts per level (every configured level, zeros included), total, satisfied share (the best two levels
    of a scale of three or more, else the best) and the dissatisfied share (the lowest level)."""
    values = sorted(set(level_values) | set(levels))
    total = sum(levels.values())
    good = values[-2:] if len(values) >= 3 else values[-1:]
    satisfied = sum(levels.get(v, 0) for v in good)
    lowest = levels.get(values[0], 0) if values else 0
    return {"count": total, "levels": {str(v): levels.get(v, 0) for v in values},
            "satisfied_share": round(satisfied / total, 3) if total else None,
            "dissatisfied_share": round(lowest / total, 3) if total else None}


def days_between(start: date, end: date) -> Iterator[date]:
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


# ------------------------------------------------------------------------------------------- bookings (16)

def booking_figures(counts: Iterable[tuple[str, str, str, str, int]],
                    places: Mapping[tuple[str, str], int] | None) -> dict[str, Any]:
    """Bookings per day and slot from ``counts`` (day, service, slot start ISO, status, how many) and ``places``
    (service, slot start ISO) → places the calendar offered (None: not known, no utilisation). Each slot row and
    each day: made (every booking), booked (still awaiting check-in), checked_in, no_show, cancelled. Check-in rate
    and no-show rate count the bookings already decided (checked in or no-show); utilisation is places used
    (checked in) over places offered, every offered slot counted, booked or not."""
    days: dict[str, dict[str, Any]] = {}
    for day, service, slot, status, n in counts:
        d = days.setdefault(day, {"day": day, "slots": {}, **dict.fromkeys(("made", *BOOKING_STATUSES), 0)})
        row = d["slots"].setdefault((slot, service), {"service": service, "start": slot,
                                                      "capacity": (places or {}).get((service, slot), 0),
                                                      **dict.fromkeys(("made", *BOOKING_STATUSES), 0)})
        for target in (row, d):
            target[status] += n
            target["made"] += n
    offered_by_day: dict[str, int] = {}
    for (_service, slot), cap in (places or {}).items():
        day = slot[:10]
        offered_by_day[day] = offered_by_day.get(day, 0) + cap
    totals = dict.fromkeys(("made", *BOOKING_STATUSES), 0)
    for day, d in days.items():
        for k in totals:
            totals[k] += d[k]
        for row in d["slots"].values():
            row["utilisation"] = _share(row["checked_in"], row["capacity"]) if places is not None else None
        d["slots"] = sorted(d["slots"].values(), key=lambda r: (r["start"], r["service"]))
        d.update(_rates(d, offered_by_day.get(day, 0) if places is not None else None))
    offered = sum(offered_by_day.values()) if places is not None else None
    return {"totals": totals, **_rates(totals, offered), "places_offered": offered,
            "days": [days[k] for k in sorted(days)]}


def _share(part: int, whole: int | None) -> float | None:
    return round(part / whole, 3) if whole else None


def _rates(t: Mapping[str, int], offered: int | None) -> dict[str, float | None]:
    decided = t["checked_in"] + t["no_show"]
    return {"check_in_rate": _share(t["checked_in"], decided), "no_show_rate": _share(t["no_show"], decided),
            "slot_utilisation": _share(t["checked_in"], offered)}
