"""Pure parts of the reports: histogram buckets and percentiles (the accuracy docs/reports.md promises), the share
over a target, periods and their Vietnamese labels, duty intervals cut at hours and midnight, the folding of a
no-show taken back, the SVG charts escaping what they print."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.messages import VN_TZ
from queue_server.app import reporting as rp
from queue_server.app.report_service import Period, parse_period
from queue_server.web import report_charts

pytestmark = pytest.mark.unit


def hist_of(values: list[int]) -> dict[int, int]:
    h: dict[int, int] = {}
    for v in values:
        b = rp.bucket_of(v)
        h[b] = h.get(b, 0) + 1
    return h


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 30 * 3600), min_size=1, max_size=300), st.sampled_from((0.5, 0.9, 0.99, 1.0)))
def test_a_percentile_is_at_most_one_bucket_above_the_exact_value_and_never_below(values: list[int], q: float) -> None:
    exact = sorted(values)[max(0, math.ceil(q * len(values)) - 1)]
    est = rp.percentile(hist_of(values), q, max(values))
    assert est is not None
    i = rp.bucket_of(exact)
    width = rp.BOUNDS[i] - (rp.BOUNDS[i - 1] if i else 0) if i < len(rp.BOUNDS) else math.inf
    assert exact <= est <= exact + width
    assert est <= max(values)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 4 * 3600), min_size=1, max_size=200), st.integers(1, 60))
def test_share_over_a_whole_minute_target_is_exact(values: list[int], minutes: int) -> None:
    share = rp.share_over(hist_of(values), minutes * 60)
    assert share == pytest.approx(sum(1 for v in values if v > minutes * 60) / len(values))


def test_bucket_bounds_and_accuracy() -> None:
    assert rp.bucket_of(0) == 0 and rp.bucket_of(30) == 0 and rp.bucket_of(31) == 1
    assert rp.BOUNDS[19] == 600 and rp.BOUNDS[69] == 3600 and rp.BOUNDS[-1] == 86400
    assert rp.bucket_of(10**7) == len(rp.BOUNDS)          # the open-ended last bucket
    assert rp.percentile({}, 0.5) is None and rp.share_over({}, 60) is None


@pytest.mark.parametrize(("period", "anchor", "start", "end", "label"), [
    ("day", date(2026, 3, 5), date(2026, 3, 5), date(2026, 3, 5), "Ngày 05/03/2026"),
    ("week", date(2026, 3, 5), date(2026, 3, 2), date(2026, 3, 8), "Từ 02/03/2026 đến 08/03/2026"),
    ("month", date(2024, 2, 10), date(2024, 2, 1), date(2024, 2, 29), "Tháng 02/2024"),
    ("quarter", date(2026, 8, 31), date(2026, 7, 1), date(2026, 9, 30), "Quý III/2026"),
    ("year", date(2026, 8, 31), date(2026, 1, 1), date(2026, 12, 31), "Năm 2026"),
])
def test_periods_and_labels(period: str, anchor: date, start: date, end: date, label: str) -> None:
    assert rp.period_range(period, anchor) == (start, end)
    assert rp.period_label(start, end) == label


def test_parse_period_refuses_clearly() -> None:
    today = date(2026, 11, 23)
    assert parse_period({}, today) == Period(today, today)
    assert parse_period({"month": "2026-02"}, today) == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert parse_period({"from": "2026-11-01"}, today) == Period(date(2026, 11, 1), date(2026, 11, 1))
    for query, words in (({"period": "decade"}, "query.period"), ({"from": "x"}, "query.from"),
                         ({"from": "2026-11-02", "to": "2026-11-01"}, "query.to"),
                         ({"from": "2026-11-01", "period": "day"}, "not both"), ({"month": "11/2026"}, "query.month")):
        with pytest.raises(Exception, match=words):
            parse_period(query, today)


def test_duty_is_cut_at_hours_and_midnight() -> None:
    start = datetime(2026, 11, 23, 7, 30, tzinfo=VN_TZ)
    assert list(rp.split_interval(start, start + timedelta(minutes=45))) == [
        ("2026-11-23", 7, 1800), ("2026-11-23", 8, 900)]
    assert list(rp.split_interval(start, start)) == []


def _ticket_event(kind: str, at: str, **extra: object) -> tuple[str, str, dict[str, object]]:
    t = {"id": "T1", "day": "2026-11-23", "service": "ho-tich", "origin_service": "ho-tich",
         "issued_at": "2026-11-23T08:00:00+07:00", "staff": "an", **extra}
    return kind, at, {"ticket": t, "counter": "1"}


def test_a_reactivated_no_show_is_taken_back_and_a_repeat_counts_once() -> None:
    folder = rp.Folder(lambda _id: None, lambda _id: None)
    for kind, at, data in (
            _ticket_event("ticket.issued", "2026-11-23T08:00:00+07:00"),
            _ticket_event("ticket.issued", "2026-11-23T08:00:00+07:00"),          # a duplicate: nothing new
            _ticket_event("ticket.called", "2026-11-23T08:10:00+07:00", called_at="2026-11-23T08:10:00+07:00"),
            _ticket_event("ticket.no_show", "2026-11-23T08:12:00+07:00"),
            _ticket_event("ticket.reactivated", "2026-11-23T08:30:00+07:00"),
            _ticket_event("ticket.called", "2026-11-23T09:10:00+07:00", called_at="2026-11-23T09:10:00+07:00")):
        folder.fold(kind, at, data)
    total = rp.Measures()
    for m in folder.delta.cells.values():
        total.add(m)
    assert (total.issued, total.no_show, total.called, total.wait_sum) == (1, 0, 1, 600)


def test_figures_of_empty_measures_are_none_not_zero_division() -> None:
    f = rp.figures(rp.Measures(), 1800)
    assert f["wait_p50_min"] is None and f["served_per_duty_hour"] is None and f["issued"] == 0
    r = rp.rating_figures({}, (1, 2, 3))
    assert r == {"count": 0, "levels": {"1": 0, "2": 0, "3": 0}, "satisfied_share": None, "dissatisfied_share": None}


def test_charts_escape_what_they_print() -> None:
    svg = report_charts.horizontal_bars([("<script>Đất đai</script>", (1.5, None))], ("p50", "p90"), "Chờ & xử lý",
                                        "phút")
    assert "<script>" not in svg and "&lt;script&gt;Đất đai" in svg and "Chờ &amp; xử lý" in svg
    heat = report_charts.heat_map({"1": {"08": 3}}, "Lượt đến")
    assert 'data-weekday="1" data-hour="8" data-value="3"' in heat and "Chủ nhật" in heat
