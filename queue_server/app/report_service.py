"""Reports for a period: queue figures by service / counter / staff / hour / day, ratings, dossiers, the hour ×
weekday arrival heat map, the Decision 766 estimates, and the flat tables the exports (xlsx, CSV, PDF) print.

Reads only the reporting read model (``store``: queue_server.adapters.report_store.ReportStore or anything with
the same reads), never raw events; catches the model up first so a report includes what was just committed.
No HTTP, no file formats (queue_server/adapters/report_export.py writes those).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ, format_at
from queue_server.app import reporting as rp

GROUPS = ("service", "counter", "staff", "hour", "day", "all")
MAX_DAYS = 3660
ESTIMATE_NOTE = (("Ước tính tại Trung tâm từ dữ liệu của hệ thống xếp hàng; số liệu chính thức trên Cổng Dịch vụ "
                  "công quốc gia"),
                 ("The center's own estimate from its queue system data; the official figures are on the national "
                  "public service portal"))


class ReportReads(Protocol):
    """What the reports read (queue_server.adapters.report_store.ReportStore); kept here rather than in
    app/ports.py while that module is being reshaped, so the report code stays in its own files."""

    def catch_up(self, max_batches: int | None = None) -> int: ...

    def measures(self, start: date, end: date, group: str, *, service: str | None = None,
                 counter: str | None = None, staff: str | None = None) -> dict[str, rp.Measures]: ...

    def ratings(self, start: date, end: date, group: str, *, service: str | None = None,
                counter: str | None = None, staff: str | None = None) -> dict[str, dict[int, int]]: ...

    def dossier_counts(self, since: datetime, until: datetime, as_of: datetime,
                       soon: datetime) -> list[tuple[Any, ...]]: ...

    def open_duty(self) -> list[tuple[str, str, str, datetime, datetime | None]]: ...

    def booking_counts(self, start: date, end: date) -> list[tuple[str, str, str, str, int]]: ...


def _bad(message: str) -> MotcuaError:
    return MotcuaError(ErrorCode.BAD_REQUEST, message)


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date

    @property
    def label(self) -> str:
        return rp.period_label(self.start, self.end)

    def to_json(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "label": self.label,
                "days": (self.end - self.start).days + 1}


def parse_period(query: dict[str, Any], today: date) -> Period:
    """``from``/``to`` (inclusive dates), or ``period`` (day, week, month, quarter, year) around ``date``
    (default today), or ``month=YYYY-MM``; default: today."""
    def day(name: str) -> date | None:
        text = query.get(name)
        if text is None:
            return None
        try:
            return date.fromisoformat(str(text))
        except ValueError as err:
            raise _bad(f"query.{name}: expected a date YYYY-MM-DD, got {text!r}") from err

    if query.get("month") is not None:
        try:
            year, month = (int(x) for x in str(query["month"]).split("-"))
            return Period(*rp.period_range("month", date(year, month, 1)))
        except ValueError as err:
            raise _bad(f"query.month: expected YYYY-MM, got {query['month']!r}") from err
    start, end = day("from"), day("to")
    if start is not None or end is not None:
        if query.get("period") is not None:
            raise _bad("query: give from/to or period, not both")
        start = start or end
        end = end or start
        assert start is not None and end is not None
        if end < start:
            raise _bad("query.to: must be on or after from")
        if (end - start).days >= MAX_DAYS:
            raise _bad(f"query: at most {MAX_DAYS} days")
        return Period(start, end)
    period = str(query.get("period") or "day")
    if period not in rp.PERIODS:
        raise _bad(f"query.period: expected one of {', '.join(rp.PERIODS)}")
    return Period(*rp.period_range(period, day("date") or today))


class ReportService:
    """``levels``: the rating scale as (value, label) pairs, worst first; ``one_working_day_ahead(moment)`` and
    ``day_minutes`` come from the working calendar; ``center``: (name, id) for headers."""

    def __init__(self, store: ReportReads, clock: Any, *, levels: Iterable[tuple[int, str]] = ((1, "Không hài lòng"),
                 (2, "Hài lòng"), (3, "Rất hài lòng")), one_working_day_ahead: Callable[[datetime], datetime] | None = None,
                 day_minutes: int = 450, target_min: int = 30, center_name: str = "", center_id: str = "",
                 names: dict[str, dict[str, str]] | None = None,
                 booking_places: Callable[[date, date], dict[tuple[str, str], int]] | None = None) -> None:
        self.store = store
        # (first, last) → {(service, slot start ISO): places offered} while bookings are on; None: off
        self.booking_places = booking_places
        self.clock = clock
        self.levels = tuple(sorted(levels))
        self.one_working_day_ahead = one_working_day_ahead or (lambda m: m + timedelta(days=1))
        self.day_minutes = day_minutes
        self.target_min = target_min
        self.center_name = center_name
        self.center_id = center_id
        self.names = names or {}

    def today(self) -> date:
        now: datetime = self.clock.now()
        return now.astimezone(VN_TZ).date()

    def refresh(self) -> None:
        self.store.catch_up()

    def name(self, group: str, key: str) -> str:
        if group == "hour":
            return f"{key}:00–{key}:59"
        return self.names.get(group, {}).get(key, key)

    # ---------------------------------------------------------------------------------------- bookings
    def bookings(self, period: Period, refresh: bool = True) -> dict[str, Any]:
        """Bookings per day and slot, check-in and no-show rates, slot utilisation (issue 16), from the booking
        events folded into the read model; the places offered come from the slots the calendar opens under the
        center's current capacities."""
        if refresh:
            self.refresh()
        places = self.booking_places(period.start, period.end) if self.booking_places is not None else None
        figures = rp.booking_figures(self.store.booking_counts(period.start, period.end), places)
        for day in figures["days"]:
            for row in day["slots"]:
                row["name"] = self.name("service", row["service"])
        return {"period": period.to_json(), "enabled": self.booking_places is not None, **figures}

    # ------------------------------------------------------------------------------------------- queue
    def summary(self, period: Period, group: str = "service", *, target_min: int | None = None,
                service: str | None = None, counter: str | None = None, staff: str | None = None,
                refresh: bool = True) -> dict[str, Any]:
        if group not in GROUPS:
            raise _bad(f"query.group: expected one of {', '.join(GROUPS)}")
        if refresh:
            self.refresh()
        target_s = 60 * (self.target_min if target_min is None else target_min)
        filters = {"service": service, "counter": counter, "staff": staff}
        total = self.store.measures(period.start, period.end, "all", **filters).get("", rp.Measures())
        rows_m = self.store.measures(period.start, period.end, group, **filters) if group != "all" else {}
        if service is None:
            self._add_open_duty(period, group, total, rows_m, counter, staff)
        rating_group = group if group in ("service", "counter", "staff", "day") else "all"
        ratings = self.store.ratings(period.start, period.end, rating_group, **filters)
        all_ratings = self.store.ratings(period.start, period.end, "all", **filters).get("", {})
        values = [v for v, _ in self.levels]
        rows = []
        for key in sorted(rows_m, key=_sort_key(group)):
            row = {"key": key, "name": self.name(group, key), **rp.figures(rows_m[key], target_s)}
            if rating_group == group:
                row["ratings"] = rp.rating_figures(ratings.get(key, {}), values)
            rows.append(row)
        return {"center": {"id": self.center_id, "name": self.center_name}, "period": period.to_json(),
                "group": group, "filters": {k: v for k, v in filters.items() if v is not None},
                "target_min": target_s // 60, "totals": {**rp.figures(total, target_s),
                                                        "ratings": rp.rating_figures(all_ratings, values)},
                "rating_levels": [{"value": v, "label": label} for v, label in self.levels],
                "rows": rows}

    def _add_open_duty(self, period: Period, group: str, total: rp.Measures, rows: dict[str, rp.Measures],
                       counter: str | None, staff: str | None) -> None:
        """Counters open or paused right now: their running interval (up to now) joins the duty figures."""
        now = self.clock.now()
        for counter_id, who, status, since, last in self.store.open_duty():
            if (counter is not None and counter_id != counter) or (staff is not None and who != staff):
                continue
            # left open since an earlier day with nothing done today: on duty until that day's last activity
            for day, hour, secs in rp.split_interval(since, rp.duty_end(since, last, now)[0]):
                if not period.start.isoformat() <= day <= period.end.isoformat():
                    continue
                key = {"counter": counter_id, "staff": who, "hour": f"{hour:02d}", "day": day}.get(group)
                targets = [total] + ([rows.setdefault(key, rp.Measures())] if key else [])
                for m in targets:
                    if status == "open":
                        m.open_s += secs
                    else:
                        m.pause_s += secs

    def heatmap(self, period: Period, refresh: bool = True) -> dict[str, Any]:
        """Tickets issued per weekday (1 = Monday … 7 = Sunday) × hour of issue."""
        if refresh:
            self.refresh()
        cells = self.store.measures(period.start, period.end, "weekday_hour")
        grid: dict[str, dict[str, int]] = {}
        for key, m in cells.items():
            weekday, hour = key.split("-")
            if m.issued:
                grid.setdefault(weekday, {})[hour] = m.issued
        return {"period": period.to_json(), "issued": grid}

    # ---------------------------------------------------------------------------------------- dossiers
    def dossiers(self, period: Period, refresh: bool = True) -> dict[str, Any]:
        """Gia Lai style monthly dossier figures: received, carried over, finished on time / late, in progress
        not yet due / nearly due (< 1 working day) / overdue at the period's end (or now), resolution time."""
        if refresh:
            self.refresh()
        since = datetime.combine(period.start, datetime.min.time(), tzinfo=VN_TZ)
        until = datetime.combine(period.end + timedelta(days=1), datetime.min.time(), tzinfo=VN_TZ)
        as_of = min(until, self.clock.now())
        soon = self.one_working_day_ahead(as_of)
        total = _DossierTally()
        by_proc: dict[str, _DossierTally] = {}
        for procedure, received, fc, pc, ap, n, res_n, res_wmin in self.store.dossier_counts(since, until, as_of,
                                                                                              soon):
            for tally in (total, by_proc.setdefault(str(procedure), _DossierTally())):
                tally.add_class(bool(received), int(fc), int(pc), bool(ap), int(n), int(res_n or 0),
                                int(res_wmin or 0))
        out = {"period": period.to_json(), "as_of": format_at(as_of), **total.to_json(self.day_minutes),
               "by_procedure": [{"procedure": p, **t.to_json(self.day_minutes)} for p, t in sorted(by_proc.items())]}
        return out

    # ------------------------------------------------------------------------------------ Decision 766
    def decision_766(self, period: Period) -> dict[str, Any]:
        self.refresh()
        d = self.dossiers(period, refresh=False)
        q = self.summary(period, "all", refresh=False)
        ratings = q["totals"]["ratings"]
        handled = d["finished"] + d["in_progress"]
        on_time_handled = d["finished_on_time"] + d["in_progress_not_yet_due"] + d["in_progress_nearly_due"]
        rate_21 = on_time_handled / handled if handled else None
        overdue_rate = (d["finished_late"] + d["in_progress_overdue"]) / handled if handled else None
        dislike = ratings["dissatisfied_share"]
        rate_54 = max(0.0, 1 - (overdue_rate + dislike)) if overdue_rate is not None and dislike is not None else None
        worst = self.levels[0][1] if self.levels else ""
        computed = [
            {"code": "2.1", "name": "Tỷ lệ hồ sơ giải quyết trước hạn, đúng hạn",
             "name_en": "Dossiers handled before or on time",
             "formula": "(hồ sơ đã giải quyết đúng hạn + hồ sơ đang xử lý chưa quá hạn) ÷ (hồ sơ đã giải quyết + "
                        "đang xử lý) trong kỳ; hồ sơ có phiếu xin lỗi tính là trễ hạn",
             "inputs": {"finished_on_time": d["finished_on_time"],
                        "in_progress_not_overdue": d["in_progress_not_yet_due"] + d["in_progress_nearly_due"],
                        "handled": handled},
             "value": _r(rate_21), "unit": "ratio", "max_points": 20,
             "points": _r(rate_21 * 20 if rate_21 is not None else None, 2)},
            {"code": "2.2", "name": "Thời gian giải quyết trung bình", "name_en": "Average resolution time",
             "formula": "Σ thời gian giải quyết (giờ làm việc) ÷ số hồ sơ đã giải quyết trong kỳ",
             "inputs": {"finished": d["finished"], "resolution_working_minutes_total": d["resolution_wmin_total"]},
             "value": d["resolution_avg_working_days"], "unit": "working_days", "max_points": None, "points": None},
            {"code": "5.4", "name": "Mức độ hài lòng trong tiếp nhận, giải quyết TTHC (ước tính)",
             "name_en": "Satisfaction with receiving and resolving procedures (proxy)",
             "formula": f"100% − (tỷ lệ hồ sơ trễ hạn + tỷ lệ đánh giá «{worst}» tại quầy); đủ 6 điểm khi ≥ 90%, "
                        "dưới đó điểm = tỷ lệ × 6 ÷ 90%",
             "inputs": {"overdue_rate": _r(overdue_rate), "dissatisfied_share": dislike,
                        "ratings": ratings["count"]},
             "value": _r(rate_54), "unit": "ratio", "max_points": 6,
             "points": _r(None if rate_54 is None else (6.0 if rate_54 >= 0.9 else rate_54 * 6 / 0.9), 2)},
        ]
        not_computed = [
            ("1.1–1.3", "Công bố, công khai TTHC", "Cơ sở dữ liệu quốc gia về TTHC"),
            ("1.4", "Đồng bộ hồ sơ lên Cổng DVCQG", "số liệu đồng bộ của Cổng DVCQG"),
            ("3.1–3.6", "Dịch vụ công trực tuyến, thanh toán trực tuyến",
             "hệ thống một cửa điện tử / Cổng DVCQG (kênh nộp, thanh toán)"),
            ("4.1–4.5", "Số hóa hồ sơ, kết quả điện tử, tái sử dụng dữ liệu", "hệ thống một cửa điện tử của tỉnh"),
            ("5.1–5.3", "Tiếp nhận, xử lý phản ánh kiến nghị (PAKN)", "hệ thống PAKN quốc gia"),
        ]
        return {"period": d["period"], "note_vi": ESTIMATE_NOTE[0], "note_en": ESTIMATE_NOTE[1],
                "computed": computed,
                "not_computed": [{"code": c, "name": n, "source": s,
                                  "reason": f"Trung tâm không có dữ liệu này; nguồn: {s}"} for c, n, s in not_computed],
                "qms": {"issued": q["totals"]["issued"], "served": q["totals"]["served"],
                        "wait_p50_min": q["totals"]["wait_p50_min"], "wait_p90_min": q["totals"]["wait_p90_min"],
                        "no_show": q["totals"]["no_show"]}}


def _r(v: float | None, digits: int = 3) -> float | None:
    return None if v is None else round(v, digits)


def _sort_key(group: str) -> Callable[[str], Any]:
    if group == "counter":
        return lambda k: (0, int(k), k) if k.isdigit() else (1, 0, k)
    return lambda k: k


@dataclass(slots=True)
class _DossierTally:
    received: int = 0
    carried_over: int = 0
    finished: int = 0
    finished_on_time: int = 0
    finished_late: int = 0
    no_deadline: int = 0
    in_progress: int = 0
    not_yet_due: int = 0
    nearly_due: int = 0
    overdue: int = 0
    apologised: int = 0
    res_n: int = 0
    res_wmin: int = 0

    def add_class(self, received: bool, fc: int, pc: int, apologised: bool, n: int, res_n: int,
                  res_wmin: int) -> None:
        """Add ``n`` dossiers of one class (see ReportStore.dossier_counts for fc and pc)."""
        if received:
            self.received += n
        else:
            self.carried_over += n
        if fc:
            self.finished += n
            if fc == 2:
                self.finished_late += n
            else:
                self.finished_on_time += n
                self.no_deadline += n if fc == 3 else 0
            self.res_n += res_n
            self.res_wmin += res_wmin
        if pc:
            self.in_progress += n
            if pc == 1:
                self.not_yet_due += n
            elif pc == 2:
                self.nearly_due += n
            else:
                self.overdue += n
        if apologised and (fc or pc):
            self.apologised += n

    def to_json(self, day_minutes: int) -> dict[str, Any]:
        to_handle = self.received + self.carried_over
        late = self.finished_late + self.overdue
        avg_wmin = self.res_wmin / self.res_n if self.res_n else None
        return {
            "received": self.received, "carried_over": self.carried_over, "to_handle": to_handle,
            "finished": self.finished, "finished_on_time": self.finished_on_time,
            "finished_late": self.finished_late, "finished_no_deadline": self.no_deadline,
            "in_progress": self.in_progress, "in_progress_not_yet_due": self.not_yet_due,
            "in_progress_nearly_due": self.nearly_due, "in_progress_overdue": self.overdue,
            "apologised": self.apologised,
            "on_time_rate": _r(self.finished_on_time / self.finished) if self.finished else None,
            "late_rate": _r(late / to_handle) if to_handle else None,
            "resolution_wmin_total": self.res_wmin,
            "resolution_avg_working_hours": _r(avg_wmin / 60 if avg_wmin is not None else None, 2),
            "resolution_avg_working_days": _r(avg_wmin / day_minutes if avg_wmin is not None and day_minutes
                                              else None, 2),
        }
