"""Reports (manager role): /api/v1/reports/... JSON, charts (SVG), exports (xlsx, CSV, PDF) and the pages
/reports and /reports/766, plus ``make_reporting`` that the hub's wiring calls to build the read model.

Routes use the main API's ``common.route`` (role check, strict query, OpenAPI). The read model is caught up
by a background feeder woken by committed events (at most once a ``FEED_INTERVAL_S``: one catch-up per commit
cost a write transaction of the read model per ticket, ~0.3 ms of hub CPU each under a burst), and again before
each report, so a report includes everything committed before the request.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, send_from_directory

from contracts.errors import ErrorCode, MotcuaError
from queue_server.adapters.report_export import ReportBundle, to_csv, to_pdf, to_xlsx
from queue_server.adapters.report_store import ReportStore, facts_from_dossier
from queue_server.app.report_service import GROUPS, Period, ReportService, parse_period
from queue_server.web import report_charts
from queue_server.web.common import API_PREFIX, Query, route
from queue_server.web.schemas import ANY_OBJECT, AT, DAY, INT, NUM, STR, arr, dict_of, null, obj

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "reports_static"

# the background feeder's pace under a stream of commits; any report catches up first, so this is never visible
FEED_INTERVAL_S = 1.0

bp = Blueprint("reports", __name__)
pages = Blueprint("reports_pages", __name__)

PERIOD_QUERY = (
    Query("period", str, "day, week, month, quarter or year (around `date`, default today)"),
    Query("date", str, "a day inside the period, YYYY-MM-DD (default today)"),
    Query("from", str, "first day YYYY-MM-DD (with `to`: any range, at most 3660 days)"),
    Query("to", str, "last day YYYY-MM-DD, inclusive"),
    Query("month", str, "YYYY-MM: that calendar month"),
)
FILTER_QUERY = (
    Query("service", str, "only this service code"),
    Query("counter", str, "only this counter id"),
    Query("staff", str, "only this staff username"),
    Query("target_min", int, "waiting-time target in minutes (default [display] wait_warning_min)",
          minimum=1, maximum=480),
)


# ---- success bodies (OpenAPI), kept beside the reports rather than in schemas.py so the reports stay one unit
_COUNTS = ("issued", "served", "no_show", "cancelled", "transferred", "called")
_FIGURES = {**{k: INT for k in _COUNTS},
            **{k: null(NUM) for k in ("wait_avg_min", "wait_p50_min", "wait_p90_min", "wait_max_min",
                                      "wait_over_target_share", "service_avg_min", "service_p50_min",
                                      "service_p90_min", "served_per_duty_hour")},
            "on_duty_h": NUM, "pause_h": NUM}
_RATINGS = obj({"count": INT, "levels": dict_of(INT), "satisfied_share": null(NUM), "dissatisfied_share": null(NUM)})
_PERIOD = obj({"from": DAY, "to": DAY, "label": STR, "days": INT})
SUMMARY = obj({
    "center": obj({"id": STR, "name": STR}), "period": _PERIOD, "group": STR, "filters": dict_of(STR),
    "target_min": INT, "totals": obj({**_FIGURES, "ratings": _RATINGS}),
    "rating_levels": arr(obj({"value": INT, "label": STR})),
    "rows": arr(obj({"key": STR, "name": STR, **_FIGURES, "ratings": _RATINGS}, optional=("ratings",))),
})
HEATMAP = obj({"period": _PERIOD, "issued": dict_of(dict_of(INT))})
_DOSSIER_FIGURES = {
    **{k: INT for k in ("received", "carried_over", "to_handle", "finished", "finished_on_time", "finished_late",
                        "finished_no_deadline", "in_progress", "in_progress_not_yet_due", "in_progress_nearly_due",
                        "in_progress_overdue", "apologised", "resolution_wmin_total")},
    **{k: null(NUM) for k in ("on_time_rate", "late_rate", "resolution_avg_working_hours",
                              "resolution_avg_working_days")}}
DOSSIERS = obj({"period": _PERIOD, "as_of": AT, **_DOSSIER_FIGURES,
                "by_procedure": arr(obj({"procedure": STR, **_DOSSIER_FIGURES}))})
DECISION_766 = obj({
    "period": _PERIOD, "note_vi": STR, "note_en": STR,
    "computed": arr(obj({"code": STR, "name": STR, "name_en": STR, "formula": STR, "inputs": ANY_OBJECT,
                         "value": null(NUM), "unit": STR, "max_points": null(INT), "points": null(NUM)})),
    "not_computed": arr(obj({"code": STR, "name": STR, "source": STR, "reason": STR})),
    "qms": ANY_OBJECT,
})


@dataclass
class Reporting:
    """The read model, its report service and the feeder thread that keeps it caught up."""

    store: ReportStore
    service: ReportService
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def blueprints(self) -> list[Blueprint]:
        return [bp, pages]

    def on_events(self, _envelopes: Any) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._wake.set()           # catch up at once: after an upgrade the model starts from the whole log
            self._thread = threading.Thread(target=self._run, name="motcua-reports", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(30.0)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.store.catch_up()
            except Exception:      # the queue keeps running; the next wake or report request retries
                log.exception("reports: catching up failed")
            # events committed meanwhile set _wake again: they are read together after the pause, one batch
            self._stop.wait(FEED_INTERVAL_S)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        self.store.close()


def report_names(settings: Any) -> dict[str, dict[str, str]]:
    """What reports call services, counters and staff: the live settings' names (the hub swaps them in on every
    admin change, so a service renamed or a user added on /admin reads right without a restart)."""
    center = settings.center
    return {"service": {s.code: s.name for s in center.services},
            "counter": {str(c.id): c.name for c in center.counters},
            "staff": {u.username: (u.display_name or u.username) for u in settings.users}}


def make_reporting(settings: Any, service: Any, integration: Any = None, path: Path | None = None,
                   bookings: Any = None) -> Reporting:
    """Build the read model beside the hub's store (``reports.sqlite3``) and hook it to ``service``'s events.
    ``bookings`` (the BookingService, when [bookings] is on) says which places the calendar offered."""
    calendar = getattr(integration, "calendar", None)
    mirror = getattr(integration, "mirror", None)

    def dossier(code: str) -> Any:
        d = mirror.get(code) if mirror is not None else None
        return facts_from_dossier(d) if d is not None else None

    def all_dossiers() -> Any:
        return (facts_from_dossier(d) for d in mirror.each()) if mirror is not None else ()

    store = ReportStore(path or settings.store_path.parent / "reports.sqlite3", settings.store_path,
                        dossier=dossier, all_dossiers=all_dossiers,
                        working_minutes=calendar.working_minutes_between if calendar is not None else None)
    center = settings.center
    names = report_names(settings)
    day_minutes = 450
    if calendar is not None:
        ahead = (lambda m: calendar.add_working_days(m, 1))
        today = service.clock.now().date()
        day_minutes = max(calendar.day_minutes(today + timedelta(days=i)) for i in range(7)) or 450
    else:
        ahead = None
    reports = ReportService(store, service.clock, levels=[(lv.value, lv.label) for lv in settings.rating_scale],
                            one_working_day_ahead=ahead, day_minutes=day_minutes,
                            target_min=settings.display.wait_warning_min, center_name=center.name,
                            center_id=center.id, names=names,
                            booking_places=bookings.places_offered if bookings is not None else None)
    reporting = Reporting(store, reports)
    service.add_listener(reporting.on_events)
    return reporting


def _reports() -> ReportService:
    reporting: Reporting = current_app.extensions["motcua_reports"]
    return reporting.service


def _period(query: dict[str, Any]) -> Period:
    svc = _reports()
    return parse_period(query, svc.today())


def _summary(query: dict[str, Any], group: str | None = None, refresh: bool = True) -> dict[str, Any]:
    return _reports().summary(_period(query), group or query.get("group", "service"),
                              target_min=query.get("target_min"), service=query.get("service"),
                              counter=query.get("counter"), staff=query.get("staff"), refresh=refresh)


def _check_filtered_group(query: dict[str, Any]) -> None:
    if any(query.get(k) for k in ("service", "counter", "staff")) and query.get("group") == "weekday_hour":
        raise MotcuaError(ErrorCode.BAD_REQUEST, "query.group: not with a filter")


@route(bp, "/reports/summary", summary="Queue figures for a period, by service, counter, staff, hour or day",
       role="manager", query=(*PERIOD_QUERY, Query("group", str, f"one of {', '.join(GROUPS)} (default service)"),
                              *FILTER_QUERY),
       result="{center, period, group, target_min, totals: {issued, served, no_show, cancelled, transferred, "
              "wait_p50_min, wait_p90_min, wait_max_min, wait_over_target_share, service_p50_min, service_p90_min, "
              "on_duty_h, pause_h, served_per_duty_hour, ratings}, rows: [{key, name, ...same figures}]}",
       response=SUMMARY)
def summary(query: dict[str, Any]):  # type: ignore[no-untyped-def]
    _check_filtered_group(query)
    return jsonify(_summary(query))


@route(bp, "/reports/heatmap", summary="Tickets issued per weekday (1 = Monday) × hour of issue",
       role="manager", query=PERIOD_QUERY, result="{period, issued: {weekday: {hour: count}}}", response=HEATMAP)
def heatmap(query: dict[str, Any]):  # type: ignore[no-untyped-def]
    return jsonify(_reports().heatmap(_period(query)))


@route(bp, "/reports/dossiers", summary="Dossiers received, finished on time / late, in progress (not yet due, "
       "nearly due, overdue), apologies and resolution time for a period", role="manager", query=PERIOD_QUERY,
       result="{period, as_of, received, carried_over, to_handle, finished, finished_on_time, finished_late, "
              "in_progress, in_progress_not_yet_due, in_progress_nearly_due, in_progress_overdue, apologised, "
              "on_time_rate, late_rate, resolution_avg_working_days, by_procedure: [...]}", response=DOSSIERS)
def dossiers(query: dict[str, Any]):  # type: ignore[no-untyped-def]
    return jsonify(_reports().dossiers(_period(query)))


@route(bp, "/reports/decision-766", summary="Decision 766/QĐ-TTg indices the center can estimate (formula, "
       "inputs, value) and those it cannot", role="manager", query=PERIOD_QUERY,
       result="{period, note_vi, computed: [{code, name, formula, inputs, value, points, max_points}], "
              "not_computed: [{code, name, reason}], qms}", response=DECISION_766)
def decision_766(query: dict[str, Any]):  # type: ignore[no-untyped-def]
    return jsonify(_reports().decision_766(_period(query)))


BOOKING_SLOT = obj({"service": STR, "name": STR, "start": AT, "capacity": INT, "made": INT, "booked": INT,
                    "checked_in": INT, "no_show": INT, "cancelled": INT, "utilisation": null(NUM)})
BOOKING_FIGURES = {"made": INT, "booked": INT, "checked_in": INT, "no_show": INT, "cancelled": INT,
                   "check_in_rate": null(NUM), "no_show_rate": null(NUM), "slot_utilisation": null(NUM)}
BOOKINGS = obj({"period": ANY_OBJECT, "enabled": {"type": "boolean"},
                "totals": obj({k: INT for k in ("made", "booked", "checked_in", "no_show", "cancelled")}),
                "check_in_rate": null(NUM), "no_show_rate": null(NUM), "slot_utilisation": null(NUM),
                "places_offered": null(INT),
                "days": arr(obj({"day": DAY, **BOOKING_FIGURES, "slots": arr(BOOKING_SLOT)}))})


@route(bp, "/reports/bookings", summary="Bookings per day and slot, check-in and no-show rates, slot utilisation "
       "(from the booking events; places offered from the calendar and the current capacities)", role="manager",
       query=PERIOD_QUERY,
       result="{period, enabled, totals: {made, booked, checked_in, no_show, cancelled}, check_in_rate, "
              "no_show_rate, slot_utilisation, places_offered, days: [{day, ..., slots: [...]}]}",
       response=BOOKINGS)
def bookings(query: dict[str, Any]):  # type: ignore[no-untyped-def]
    return jsonify(_reports().bookings(_period(query)))


CHARTS = ("counts", "waits", "heatmap")


@route(bp, "/reports/charts/<name>", summary="A chart as SVG: counts (issued/served per day or hour), waits "
       "(p50/p90 per service) or heatmap (arrivals per weekday × hour)", role="manager", query=PERIOD_QUERY,
       result="the chart", media="image/svg+xml")
def chart(name: str, query: dict[str, Any]):  # type: ignore[no-untyped-def]
    svc = _reports()
    period = _period(query)
    if name == "counts":
        group = "hour" if period.start == period.end else "day"
        s = svc.summary(period, group)
        labels = [r["key"][8:10] + "/" + r["key"][5:7] if group == "day" else r["key"] + "h" for r in s["rows"]]
        svg = report_charts.bars_over_time(labels, [("Đã cấp", [r["issued"] for r in s["rows"]]),
                                                    ("Đã phục vụ", [r["served"] for r in s["rows"]])],
                                           f"Số phiếu — {period.label}")
    elif name == "waits":
        s = svc.summary(period, "service")
        svg = report_charts.horizontal_bars([(r["name"], (r["wait_p50_min"], r["wait_p90_min"])) for r in s["rows"]],
                                            ("Chờ p50", "Chờ p90"), f"Thời gian chờ theo lĩnh vực — {period.label}",
                                            "phút")
    elif name == "heatmap":
        svg = report_charts.heat_map(svc.heatmap(period)["issued"], f"Lượt đến theo giờ và thứ — {period.label}")
    else:
        raise MotcuaError(ErrorCode.NOT_FOUND, f"chart: expected one of {', '.join(CHARTS)}")
    return Response(svg, mimetype="image/svg+xml")


def bundle(period: Period, target_min: int | None = None) -> ReportBundle:
    svc = _reports()
    svc.refresh()
    summaries = {g: svc.summary(period, g, target_min=target_min, refresh=False)
                 for g in ("service", "counter", "staff", "hour", "day")}
    return ReportBundle(summaries, svc.dossiers(period, refresh=False), svc.decision_766(period),
                        svc.bookings(period, refresh=False) if svc.booking_places is not None else None)


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    return Response(data, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def _stem(period: Period) -> str:
    return f"bao-cao-{period.start:%Y%m%d}-{period.end:%Y%m%d}"


@route(bp, "/reports/export.xlsx", summary="The period's report as an Excel workbook (summary, by service, "
       "counter, staff, hour, day; dossiers; Decision 766)", role="manager",
       query=(*PERIOD_QUERY, FILTER_QUERY[-1]), result="the workbook",
       media="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
def export_xlsx(query: dict[str, Any]):  # type: ignore[no-untyped-def]
    period = _period(query)
    data = to_xlsx(bundle(period, query.get("target_min")))
    return _download(data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     _stem(period) + ".xlsx")


@route(bp, "/reports/export.csv", summary="One grouping of the period's queue figures as CSV (UTF-8 with BOM)",
       role="manager", query=(*PERIOD_QUERY, Query("group", str, f"one of {', '.join(GROUPS)}"), *FILTER_QUERY),
       result="the table", media="text/csv")
def export_csv(query: dict[str, Any]):  # type: ignore[no-untyped-def]
    period = _period(query)
    data = to_csv(_summary(query))
    return _download(data, "text/csv; charset=utf-8", f"{_stem(period)}-{query.get('group', 'service')}.csv")


@route(bp, "/reports/report.pdf", summary="Printable report 'Báo cáo tình hình tiếp nhận và giải quyết' (PDF) "
       "with the center's header and a signature block", role="manager",
       query=(*PERIOD_QUERY, Query("superior", str, "the superior agency printed above the center's name"),
              Query("signer_title", str, "title above the signature (default GIÁM ĐỐC)"),
              Query("signer_name", str, "name under the signature"),
              Query("place", str, "place before the date, e.g. Quảng Trị")),
       result="the report", media="application/pdf")
def report_pdf(query: dict[str, Any]):  # type: ignore[no-untyped-def]
    period = _period(query)
    svc = _reports()
    data = to_pdf(bundle(period), superior=query.get("superior", ""),
                  signer_title=query.get("signer_title", "GIÁM ĐỐC"), signer_name=query.get("signer_name", ""),
                  place=query.get("place", ""), today=svc.today())
    return _download(data, "application/pdf", _stem(period) + ".pdf")


# ------------------------------------------------------------------------------------------------ pages
@pages.get("/reports")
def reports_page() -> Response:
    return send_from_directory(STATIC, "reports.html", max_age=0)


@pages.get("/reports/766")
def decision_page() -> Response:
    return send_from_directory(STATIC, "decision766.html", max_age=0)


@pages.get("/reports/static/<path:name>")
def static_file(name: str) -> Response:
    return send_from_directory(STATIC, name, max_age=0)


def register(app: Any, reporting: Reporting) -> None:
    """Hook for create_app's caller: the API blueprint under /api/v1, the pages at the root."""
    app.extensions["motcua_reports"] = reporting
    app.register_blueprint(bp, url_prefix=API_PREFIX)
    app.register_blueprint(pages)
