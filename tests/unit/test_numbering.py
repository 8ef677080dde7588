"""Per-service numbering (daily restart, range, quota), the stop-issuing time and working sessions."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hub_center import DAT_DAI, HO_TICH, MONDAY_0800, make_center

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ
from queue_server.domain import numbering
from queue_server.domain import transitions as tr
from queue_server.domain.model import CenterDef, Ticket, TicketNumber

pytestmark = pytest.mark.unit


def issue(state: tr.QueueState, now: datetime, service: str = HO_TICH) -> tuple[tr.QueueState, Ticket]:
    new, events = tr.transition(state, tr.IssueTicket(service), now)
    assert events[0].ticket is not None
    return new, events[0].ticket


def refused(state: tr.QueueState, now: datetime, service: str = HO_TICH) -> MotcuaError:
    with pytest.raises(MotcuaError) as info:
        tr.transition(state, tr.IssueTicket(service), now)
    return info.value


def test_display_number() -> None:
    assert TicketNumber("A", 23).display == "A023"
    assert TicketNumber("B", 1234).display == "B1234"


def test_numbers_count_up_per_service_and_restart_each_working_day() -> None:
    state = tr.QueueState(center=make_center(number_start=100))
    now = MONDAY_0800
    displays = []
    for service in (HO_TICH, HO_TICH, DAT_DAI, HO_TICH):
        state, t = issue(state, now, service)
        displays.append(t.display)
    assert displays == ["A100", "A101", "B001", "A102"]
    tuesday = now + timedelta(days=1)
    state, t = issue(state, tuesday)
    assert (t.display, t.id) == ("A100", "20261124-ho-tich-100")
    state, t = issue(state, tuesday, DAT_DAI)
    assert t.display == "B001"


def test_the_day_is_the_date_in_vietnam_time() -> None:
    assert numbering.working_day(datetime(2026, 11, 23, 16, 59, tzinfo=UTC)).day == 23   # 23:59 VN
    assert numbering.working_day(datetime(2026, 11, 23, 17, 0, tzinfo=UTC)).day == 24    # 00:00 VN
    state = tr.QueueState(center=make_center())
    state, t = issue(state, datetime(2026, 11, 23, 1, 0, tzinfo=UTC))    # 08:00 in Hà Nội
    assert state.day == MONDAY_0800.date() and t.issued_at == MONDAY_0800


def test_range_end_and_daily_quota_stop_issue() -> None:
    state = tr.QueueState(center=make_center(number_start=1, number_end=3))
    for _ in range(3):
        state, _t = issue(state, MONDAY_0800)
    err = refused(state, MONDAY_0800)
    assert err.code is ErrorCode.QUOTA_REACHED and "1–3" in err.message
    state2 = tr.QueueState(center=make_center(daily_quota=2))
    for _ in range(2):
        state2, _t = issue(state2, MONDAY_0800)
    assert refused(state2, MONDAY_0800).code is ErrorCode.QUOTA_REACHED
    state2, t = issue(state2, MONDAY_0800, DAT_DAI)     # the quota is per service
    state2, t = issue(state2, MONDAY_0800 + timedelta(days=1))  # and per day
    assert t.display == "A001"


def at(hh: int, mm: int, ss: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hh, mm, ss, tzinfo=VN_TZ)


@pytest.mark.parametrize(("moment", "open_"), [
    (at(7, 29, 59), False), (at(7, 30), True), (at(11, 29, 59), True), (at(11, 30), False),
    (at(12, 15), False), (at(13, 30), True), (at(16, 29, 59), True), (at(16, 30), False), (at(17, 5), False),
    (at(9, 0, day=28), False), (at(9, 0, day=29), False),   # Saturday, Sunday: no sessions configured
])
def test_sessions_and_stop_issuing_time(moment: datetime, open_: bool) -> None:
    center = make_center(stop_issuing_before_close_min=30)
    state = tr.QueueState(center=center)
    if open_:
        issue(state, moment)
    else:
        assert refused(state, moment).code is ErrorCode.SERVICE_CLOSED


def test_a_center_without_sessions_for_a_weekday_is_closed_that_day() -> None:
    base = make_center()
    center = CenterDef(base.id, base.name, base.name_en, base.services, base.counters, base.priorities,
                       base.policy, base.rules, sessions={0: (base.sessions[0][1],)})
    state = tr.QueueState(center=center)
    err = refused(state, at(14, 0, day=24))              # Tuesday
    assert "Tuesday" in err.message
    issue(state, at(14, 0))                               # Monday afternoon only
    assert refused(state, at(9, 0)).code is ErrorCode.SERVICE_CLOSED


def test_closing_reasons_name_the_hours() -> None:
    center = make_center()
    service = center.services[0]
    assert "07:30–11:30" in (numbering.closed_reason(center, service, at(12, 0)) or "")
    assert numbering.closed_reason(center, service, at(10, 0)) is None
    assert "16:30" in (numbering.closed_reason(center, service, at(16, 45)) or "")


def test_next_opening_skips_weekends_and_days_off_and_is_none_while_open() -> None:
    from datetime import date

    center = replace(make_center(), days_off=frozenset({date(2026, 11, 30)}),       # a Monday announced off
                     makeup_days=frozenset({date(2026, 12, 5)}))                      # a make-up Saturday
    assert numbering.next_opening(center, at(10, 0)) is None                          # open now
    assert numbering.next_opening(center, at(12, 0)) == at(13, 30)                    # lunch
    assert numbering.next_opening(center, at(6, 0)) == at(7, 30)
    assert numbering.next_opening(center, at(17, 30, day=27)) == at(7, 30, day=1).replace(month=12)  # Fri → Tue
    assert numbering.next_opening(center, at(17, 30, day=4).replace(month=12)) == at(7, 30, day=5).replace(month=12)


def test_leases_come_from_the_offline_region_and_online_numbers_never_skip() -> None:
    state = tr.QueueState(center=make_center())
    state, _first = issue(state, MONDAY_0800)
    state, events = tr.transition(state, tr.LeaseNumbers("kiosk-1", HO_TICH, 10), MONDAY_0800)
    lease = events[0].lease
    assert lease is not None and (lease.first, lease.last) == (800, 809)     # top fifth of 1–999
    state, nxt = issue(state, MONDAY_0800)
    assert nxt.number.number == 2                                           # no jump after a lease
    state, events = tr.transition(state, tr.LeaseNumbers("kiosk-2", HO_TICH, 10), MONDAY_0800)
    assert events[0].lease is not None and (events[0].lease.first, events[0].lease.last) == (810, 819)
    with pytest.raises(MotcuaError) as info:
        numbering.reserve_block(state.center.services[0], state.service_day(HO_TICH), 0)
    assert info.value.code is ErrorCode.BAD_REQUEST
    with pytest.raises(MotcuaError) as info:
        tr.transition(state, tr.LeaseNumbers("kiosk-1", HO_TICH, 181), MONDAY_0800)   # 820–999 is 180
    assert info.value.code is ErrorCode.QUOTA_REACHED
    assert "offline" in info.value.message


def test_online_numbers_step_over_leased_blocks_if_they_ever_reach_them() -> None:
    center = make_center()
    ho = replace(center.services[0], number_end=20, offline_from=5)
    state = tr.QueueState(center=replace(center, services=(ho, *center.services[1:])))
    state, _ = tr.transition(state, tr.LeaseNumbers("kiosk-1", HO_TICH, 3), MONDAY_0800)    # 5–7
    numbers = []
    for _ in range(6):
        state, t = issue(state, MONDAY_0800)
        numbers.append(t.number.number)
    assert numbers == [1, 2, 3, 4, 8, 9]
    state, events = tr.transition(state, tr.LeaseNumbers("kiosk-2", HO_TICH, 3), MONDAY_0800)
    assert events[0].lease is not None and events[0].lease.first == 10


def test_holidays_close_issuing_and_a_makeup_saturday_opens_it() -> None:
    """The working calendar reaches the queue: Tết 2026 and 31/08/2026 are closed, Saturday 22/08/2026 is open
    with the weekday sessions, an ordinary Saturday stays closed."""
    from datetime import date as _date

    center = replace(make_center(), days_off=frozenset({_date(2026, 2, 17), _date(2026, 8, 31)}),
                     makeup_days=frozenset({_date(2026, 8, 22)}))
    service = center.services[0]

    def at(y: int, m: int, d: int, hh: int = 9) -> datetime:
        return datetime(y, m, d, hh, 0, tzinfo=VN_TZ)

    assert "closed on 17/02/2026" in (numbering.closed_reason(center, service, at(2026, 2, 17)) or "")
    assert "closed on 31/08/2026" in (numbering.closed_reason(center, service, at(2026, 8, 31)) or "")
    assert numbering.closed_reason(center, service, at(2026, 8, 22)) is None            # make-up Saturday
    assert numbering.closed_reason(center, service, at(2026, 8, 22, 12)) is not None    # its lunch break
    assert numbering.closed_reason(center, service, at(2026, 8, 29)) is not None        # an ordinary Saturday
    assert numbering.closed_reason(center, service, at(2026, 8, 24)) is None            # an ordinary Monday


def test_hours_over_and_resumes_at_follow_the_days_sessions() -> None:
    center = make_center()                         # 07:30–11:30 and 13:30–17:00
    at = lambda h, m: MONDAY_0800.replace(hour=h, minute=m)
    assert [numbering.hours_over(center, at(h, m)) for h, m in ((7, 0), (12, 0), (16, 59), (17, 0), (23, 0))] == \
        [False, False, False, True, True]
    assert numbering.resumes_at(center, at(12, 0)) == at(13, 30)
    assert numbering.resumes_at(center, at(11, 30)) == at(13, 30)
    for h, m in ((7, 0), (9, 0), (13, 30), (17, 0)):
        assert numbering.resumes_at(center, at(h, m)) is None
    sunday = MONDAY_0800 - timedelta(days=1)
    assert not numbering.hours_over(center, sunday.replace(hour=20)) and numbering.resumes_at(center, sunday) is None
