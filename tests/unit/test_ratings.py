"""Rating rules (pure): the scale from config, levels and criteria, the window after completion, aggregates."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ
from queue_server.domain.model import CounterId, ServiceCode, Ticket, TicketId, TicketNumber, TicketStatus
from queue_server.domain.ratings import (
    DEFAULT_LEVELS,
    Criterion,
    RatingLevel,
    RatingScale,
    aggregate,
    check_rateable,
    new_rating,
    parse_criteria,
    parse_level,
    scale_from_levels,
)

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ)


def ticket(n: int = 23, status: TicketStatus = TicketStatus.DONE, done_at: datetime | None = T0,
           service: str = "ho-tich", staff: str | None = "lan") -> Ticket:
    return Ticket(TicketId(f"20261123-{service}-{n}"), date(2026, 11, 23), ServiceCode(service), ServiceCode(service),
                  TicketNumber("A", n), status, T0 - timedelta(minutes=30), done_at=done_at,
                  counter=CounterId("5"), staff=staff)


def test_default_scale_is_the_three_vietnamese_levels() -> None:
    scale = RatingScale()
    assert [(lv.value, lv.label) for lv in scale.levels] == [
        (3, "Rất hài lòng"), (2, "Hài lòng"), (1, "Không hài lòng")]
    assert scale.levels == DEFAULT_LEVELS


def test_scale_from_config_levels_and_bad_scales() -> None:
    scale = scale_from_levels([RatingLevel(4, "Rất hài lòng"), RatingLevel(3, "Hài lòng"),
                               RatingLevel(2, "Bình thường"), RatingLevel(1, "Không hài lòng")],
                              criteria=[("thai-do", "Thái độ", "Attitude")], window_min=5)
    assert len(scale.levels) == 4 and scale.criteria[0].code == "thai-do" and scale.window_min == 5
    assert scale_from_levels([]).levels == DEFAULT_LEVELS
    for bad in ({"levels": (RatingLevel(1, "a"), RatingLevel(1, "b"))}, {"levels": ()},
                {"window_min": 0}, {"criteria": (Criterion("x", "X"), Criterion("x", "Y"))}):
        with pytest.raises(MotcuaError) as err:
            RatingScale(**bad)  # type: ignore[arg-type]
        assert err.value.code == ErrorCode.CONFIG_INVALID


def test_levels_and_criteria_are_validated() -> None:
    scale = RatingScale(criteria=(Criterion("thai-do", "Thái độ"),))
    assert parse_level(3, scale) == 3 and parse_level("1", scale) == 1
    for bad in (0, 4, "x", True, None, 2.5, [3]):
        with pytest.raises(MotcuaError) as err:
            parse_level(bad, scale)
        assert err.value.code == ErrorCode.BAD_REQUEST
    assert parse_criteria({"thai-do": 2}, scale) == (("thai-do", 2),)
    assert parse_criteria(None, scale) == ()
    for bad in ({"toc-do": 2}, {"thai-do": 9}, ["thai-do"]):
        with pytest.raises(MotcuaError):
            parse_criteria(bad, scale)


def test_only_a_completed_ticket_within_the_window_is_rateable() -> None:
    scale = RatingScale(window_min=10)
    assert check_rateable(ticket(), "5", T0 + timedelta(minutes=10), scale).id == "20261123-ho-tich-23"
    with pytest.raises(MotcuaError) as err:
        check_rateable(ticket(), "5", T0 + timedelta(minutes=10, seconds=1), scale)
    assert err.value.code == ErrorCode.RATING_WINDOW_CLOSED
    for t in (None, ticket(status=TicketStatus.SERVING, done_at=None)):
        with pytest.raises(MotcuaError) as err:
            check_rateable(t, "5", T0, scale)
        assert err.value.code == ErrorCode.NOTHING_TO_RATE


def test_aggregates_per_counter_staff_service_and_day() -> None:
    scale = RatingScale()
    ratings = [
        new_rating("r1", ticket(1), "5", 3, T0),
        new_rating("r2", ticket(2), "5", 3, T0),
        new_rating("r3", ticket(3, service="dat-dai", staff=None), "6", 1, T0),
        new_rating("r4", ticket(4), "6", 2, T0, dossier_codes=["X", "X"]),
    ]
    assert ratings[3].dossier_codes == ("X",)
    agg = aggregate(ratings, scale, center="q1")
    assert agg["count"] == 4 and agg["levels"] == {"3": 2, "2": 1, "1": 1}
    assert agg["average"] == 2.25 and agg["top_share"] == 0.5
    assert agg["counters"]["5"]["levels"] == {"3": 2, "2": 0, "1": 0}
    assert agg["counters"]["6"]["count"] == 2
    assert agg["staff"]["lan"]["count"] == 3 and agg["staff"]["-"]["count"] == 1
    assert agg["services"]["dat-dai"]["levels"]["1"] == 1
    assert agg["days"]["2026-11-23"]["count"] == 4
    empty = aggregate([], scale)
    assert empty["count"] == 0 and empty["average"] is None and empty["levels"] == {"3": 0, "2": 0, "1": 0}


def test_aggregates_count_criteria_only_over_the_ratings_that_rated_them() -> None:
    scale = RatingScale(criteria=(Criterion("thai-do", "Thái độ phục vụ", "Attitude"),
                                  Criterion("thoi-gian", "Thời gian giải quyết", "Time taken")))
    ratings = [
        new_rating("r1", ticket(1), "5", 3, T0, criteria=(("thai-do", 3), ("thoi-gian", 1))),
        new_rating("r2", ticket(2), "5", 2, T0, criteria=(("thai-do", 2),)),
        new_rating("r3", ticket(3, staff="minh"), "6", 1, T0),            # the overall level alone: one tap
    ]
    agg = aggregate(ratings, scale, center="q1")
    assert agg["count"] == 3
    assert agg["criteria"]["thai-do"]["count"] == 2
    assert agg["criteria"]["thai-do"]["levels"] == {"3": 1, "2": 1, "1": 0}
    assert agg["criteria"]["thai-do"]["average"] == 2.5
    assert agg["criteria"]["thoi-gian"]["levels"] == {"3": 0, "2": 0, "1": 1}
    assert list(agg["criteria"]) == ["thai-do", "thoi-gian"]          # config order
    assert agg["counters"]["5"]["criteria"]["thai-do"]["count"] == 2
    assert agg["counters"]["6"]["criteria"]["thai-do"] == {"count": 0, "levels": {"3": 0, "2": 0, "1": 0},
                                                            "average": None, "top_share": None}
    assert agg["staff"]["lan"]["criteria"]["thoi-gian"]["count"] == 1
    assert agg["criteria_scale"][0] == {"code": "thai-do", "label": "Thái độ phục vụ", "label_en": "Attitude"}
    # a criterion since removed from config is still counted under its code, not silently dropped
    later = aggregate(ratings, RatingScale(), center="q1")
    assert later["criteria"]["thai-do"]["count"] == 2 and later["criteria_scale"] == []
    assert aggregate([], RatingScale())["criteria"] == {}


def test_scale_from_config_criteria_and_window() -> None:
    scale = scale_from_levels(DEFAULT_LEVELS, criteria=[("thai-do", "Thái độ phục vụ", "Attitude")], window_min=15)
    assert scale.criteria == (Criterion("thai-do", "Thái độ phục vụ", "Attitude"),) and scale.window_min == 15
    assert parse_criteria({"thai-do": "2"}, scale) == (("thai-do", 2),)
