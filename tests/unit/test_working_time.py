"""Working-time arithmetic around weekends, Tết 2026, the 22/08/2026 make-up Saturday, lunch and the 15:00 rule."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.messages import VN_TZ
from queue_server.adapters.holidays_source import (
    CalendarFileError,
    load_calendar,
    parse_sessions,
    read_override_file,
)
from queue_server.domain.model import WorkingSession
from queue_server.domain.working_time import (
    ApologyAlreadyUsed,
    Deadline,
    DeadlineWarning,
    DossierOutcome,
    StepDeadline,
    WorkingCalendar,
    WorkingTimeError,
    deadline_warnings,
    on_time_rate,
    resolution_rate,
)

pytestmark = pytest.mark.unit

# The real calendar: the holidays package merged with the shipped override file for 2026.
CAL = load_calendar([2025, 2026, 2027])


def vn(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=VN_TZ)


# ---- calendar data ----------------------------------------------------------------------------------------
def test_tet_2026_days_are_off_and_weekdays_around_are_working() -> None:
    for day in range(16, 21):
        assert not CAL.is_working_day(date(2026, 2, day)), day
    assert CAL.is_working_day(date(2026, 2, 13))
    assert CAL.is_working_day(date(2026, 2, 23))


def test_makeup_saturday_and_swapped_monday() -> None:
    assert CAL.is_working_day(date(2026, 8, 22))          # Saturday worked
    assert not CAL.is_working_day(date(2026, 8, 29))      # an ordinary Saturday
    assert not CAL.is_working_day(date(2026, 8, 31))      # swapped day off
    assert CAL.sessions_on(date(2026, 8, 22)) == CAL.sessions_on(date(2026, 8, 24))


def test_gio_to_from_lunar_calendar() -> None:
    assert not CAL.is_working_day(date(2026, 4, 27))      # Giỗ Tổ 10/3 lunar falls on Sunday 26/4 -> Monday off


# ---- weekends ---------------------------------------------------------------------------------------------
def test_one_day_from_friday_lands_on_monday() -> None:
    assert CAL.add_working_days(vn(2026, 11, 13, 10), 1) == vn(2026, 11, 16, 10)


def test_received_on_saturday_counts_from_monday_morning() -> None:
    assert CAL.counting_start(vn(2026, 11, 14, 9)) == vn(2026, 11, 16, 7, 30)


def test_deadline_at_friday_close_gives_monday_appointment() -> None:
    assert CAL.appointment_for(vn(2026, 11, 13, 17)) == vn(2026, 11, 16, 7, 30)


# ---- Tết ---------------------------------------------------------------------------------------------------
def test_three_days_across_tet() -> None:
    assert CAL.add_working_days(vn(2026, 2, 13, 9), 3) == vn(2026, 2, 25, 9)


def test_received_after_cutoff_before_tet_counts_after_tet() -> None:
    assert CAL.counting_start(vn(2026, 2, 13, 15, 30)) == vn(2026, 2, 23, 7, 30)


def test_minutes_across_tet_count_nothing_during_the_holiday() -> None:
    # Friday 16:00 -> Monday after Tết 08:00: 60 + 30 minutes
    assert CAL.working_minutes_between(vn(2026, 2, 13, 16), vn(2026, 2, 23, 8)) == 90


# ---- the make-up Saturday --------------------------------------------------------------------------------
def test_one_day_from_friday_21_august_is_the_makeup_saturday() -> None:
    assert CAL.add_working_days(vn(2026, 8, 21, 10), 1) == vn(2026, 8, 22, 10)


def test_friday_before_national_day_skips_31_08_and_2_9() -> None:
    assert CAL.add_working_days(vn(2026, 8, 28, 10), 1) == vn(2026, 9, 3, 10)


def test_received_on_makeup_saturday_counts_immediately() -> None:
    assert CAL.counting_start(vn(2026, 8, 22, 8)) == vn(2026, 8, 22, 8)


# ---- lunch break ---------------------------------------------------------------------------------------------
def test_hour_across_lunch() -> None:
    assert CAL.add_working_minutes(vn(2026, 11, 16, 11), 60) == vn(2026, 11, 16, 14)


def test_received_at_lunch_counts_from_afternoon_session() -> None:
    assert CAL.counting_start(vn(2026, 11, 16, 12)) == vn(2026, 11, 16, 13, 30)
    assert not CAL.is_working_time(vn(2026, 11, 16, 12))
    assert CAL.next_session_start(vn(2026, 11, 16, 12)) == vn(2026, 11, 16, 13, 30)


def test_deadline_ending_the_morning_ends_at_11_30_and_appointment_is_13_30() -> None:
    due = CAL.add_working_minutes(vn(2026, 11, 16, 11), 30)
    assert due == vn(2026, 11, 16, 11, 30)
    assert CAL.appointment_for(due) == vn(2026, 11, 16, 13, 30)


def test_time_left_over_lunch_and_night() -> None:
    assert CAL.time_left(vn(2026, 11, 16, 11), vn(2026, 11, 17, 8)) == 30 + 210 + 30
    assert CAL.time_left(vn(2026, 11, 17, 8), vn(2026, 11, 16, 11)) == -(30 + 210 + 30)


# ---- the 15:00 rule ---------------------------------------------------------------------------------------
def test_received_after_15h_counts_from_next_working_day() -> None:
    assert CAL.counting_start(vn(2026, 11, 16, 15, 1)) == vn(2026, 11, 17, 7, 30)


def test_received_at_15h_exactly_counts_the_same_day() -> None:
    assert CAL.counting_start(vn(2026, 11, 16, 15, 0)) == vn(2026, 11, 16, 15, 0)


def test_cutoff_after_friday_15h_goes_to_monday() -> None:
    assert CAL.counting_start(vn(2026, 11, 13, 16, 30)) == vn(2026, 11, 16, 7, 30)


def test_cutoff_rule_can_be_disabled() -> None:
    cal = WorkingCalendar(forward_cutoff=None)
    assert cal.counting_start(vn(2026, 11, 16, 15, 30)) == vn(2026, 11, 16, 15, 30)


# ---- schedule: received -> due -> appointment -------------------------------------------------------------
def test_two_day_procedure_received_after_15h() -> None:
    s = CAL.schedule(vn(2026, 11, 16, 15, 45), working_days=2)
    assert s.counted_from == vn(2026, 11, 17, 7, 30)
    assert s.due_at == vn(2026, 11, 18, 17, 0)          # close of the second working day
    assert s.appointment_at == vn(2026, 11, 19, 7, 30)  # start of the session after the deadline


def test_schedule_skips_24_11_culture_day() -> None:
    s = CAL.schedule(vn(2026, 11, 23, 9), working_days=1)
    assert s.due_at == vn(2026, 11, 25, 9)


def test_half_day_procedure_in_working_hours() -> None:
    s = CAL.schedule(vn(2026, 11, 16, 9), working_hours=4)
    assert s.due_at == vn(2026, 11, 16, 15, 0)           # 2h30 in the morning, 1h30 after lunch
    assert s.appointment_at == vn(2026, 11, 17, 7, 30)


# ---- warnings -------------------------------------------------------------------------------------------------
def test_warnings() -> None:
    due = vn(2026, 11, 17, 10)
    assert deadline_warnings(CAL, vn(2026, 11, 13, 9), due) == ()
    assert deadline_warnings(CAL, vn(2026, 11, 16, 14), due) == (DeadlineWarning.DUE_SOON,)
    assert deadline_warnings(CAL, vn(2026, 11, 17, 10, 1), due) == (DeadlineWarning.OVERDUE,)
    assert deadline_warnings(CAL, vn(2026, 11, 17, 11), due, finished_at=vn(2026, 11, 17, 9)) == ()


def test_due_soon_uses_working_days_not_calendar_days() -> None:
    # Friday 10:00, due Monday 09:00: less than one working day left although 3 calendar days.
    assert deadline_warnings(CAL, vn(2026, 11, 13, 10), vn(2026, 11, 16, 9)) == (DeadlineWarning.DUE_SOON,)


def test_step_warnings() -> None:
    now = vn(2026, 11, 16, 9)
    steps = [StepDeadline("Thẩm định", vn(2026, 11, 13, 17)),
             StepDeadline("Phê duyệt", vn(2026, 11, 16, 16)),
             StepDeadline("Tiếp nhận", vn(2026, 11, 10, 9), done_at=vn(2026, 11, 10, 8))]
    assert deadline_warnings(CAL, now, vn(2026, 11, 30, 17), steps=steps) == (
        DeadlineWarning.STEP_OVERDUE, DeadlineWarning.STEP_DUE)


# ---- apology, rates ------------------------------------------------------------------------------------------
def test_apology_only_once_and_counts_late() -> None:
    d = Deadline(vn(2026, 11, 16, 17))
    d2 = d.reschedule(vn(2026, 11, 20, 17))
    assert d2.apologised and d2.original_due_at == vn(2026, 11, 16, 17)
    with pytest.raises(ApologyAlreadyUsed):
        d2.reschedule(vn(2026, 11, 25, 17))
    with pytest.raises(WorkingTimeError):
        d.reschedule(vn(2026, 11, 15, 17))
    late = DossierOutcome(d2.due_at, finished_at=vn(2026, 11, 19, 9), apologised=d2.apologised)
    assert not late.on_time


def test_rates() -> None:
    due = vn(2026, 11, 16, 17)
    outcomes = [DossierOutcome(due, vn(2026, 11, 16, 17)), DossierOutcome(due, vn(2026, 11, 17, 8)),
                DossierOutcome(due, vn(2026, 11, 10, 8), apologised=True), DossierOutcome(due, None)]
    assert on_time_rate(outcomes) == pytest.approx(1 / 3)
    assert on_time_rate([DossierOutcome(due)]) is None
    assert resolution_rate(4, 3) == 0.75
    assert resolution_rate(0, 0) is None


# ---- bad input ------------------------------------------------------------------------------------------------
def test_bad_sessions_and_naive_times_are_refused() -> None:
    with pytest.raises(WorkingTimeError):
        WorkingCalendar(sessions={0: (WorkingSession(time(11), time(10)),)})
    with pytest.raises(WorkingTimeError):
        WorkingCalendar(sessions={0: (WorkingSession(time(8), time(11)), WorkingSession(time(10), time(12)))})
    with pytest.raises(WorkingTimeError):
        CAL.counting_start(datetime(2026, 11, 16, 9))
    with pytest.raises(WorkingTimeError, match="no working"):
        WorkingCalendar(sessions={}, horizon_days=30).add_working_days(vn(2026, 11, 16), 1)


def test_parse_sessions_from_config() -> None:
    week = parse_sessions({"mon": ["07:00-11:00", "13:00-17:00"], "sat": ["07:30-11:30"]})
    assert week[5] == (WorkingSession(time(7, 30), time(11, 30)),)
    with pytest.raises(CalendarFileError, match="working_hours.mon"):
        parse_sessions({"mon": ["7h-11h"]})


def test_override_file_errors_name_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "vn-2027.toml"
    bad.write_text('[[off]]\nname = "no date"\n', encoding="utf-8")
    with pytest.raises(CalendarFileError, match=r"vn-2027.toml: off\[0\]"):
        read_override_file(bad)


def test_admin_override_directory_wins(tmp_path: Path) -> None:
    (tmp_path / "vn-2026.toml").write_text('[[working]]\ndate = 2026-11-24\nname = "làm việc"\n', encoding="utf-8")
    cal = load_calendar([2026], override_dirs=[tmp_path])
    assert cal.is_working_day(date(2026, 11, 24))
    assert not cal.is_working_day(date(2026, 2, 17))     # the package's Tết still applies


# ---- properties -------------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20)),
       minutes=st.integers(min_value=0, max_value=5000))
def test_adding_minutes_then_measuring_gives_them_back(start: datetime, minutes: int) -> None:
    moment = start.replace(tzinfo=VN_TZ)
    end = CAL.add_working_minutes(moment, minutes)
    assert CAL.working_minutes_between(CAL.working_start(moment), end) == minutes
    assert end >= moment - timedelta(minutes=1)


@settings(max_examples=100, deadline=None)
@given(start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20)),
       days=st.integers(min_value=1, max_value=30))
def test_appointment_is_always_a_session_start_after_the_deadline(start: datetime, days: int) -> None:
    s = CAL.schedule(start.replace(tzinfo=VN_TZ), working_days=days)
    assert s.appointment_at >= s.due_at
    assert CAL.is_working_time(s.appointment_at)
    assert not CAL.is_working_time(s.appointment_at - timedelta(minutes=1)) or s.appointment_at == s.due_at


def test_time_left_counts_from_when_counting_starts() -> None:
    # received Friday 13/11 at 16:00, after 15:00: counting starts Monday 07:30 (Decree 61 Art. 18); due Monday
    # 16:30 leaves 7 working hours from the start of counting — less than one working day — though from Friday
    # 16:00 (an hour of Friday's working time included) it looks like a full day
    received = vn(2026, 11, 13, 16)
    counted = CAL.counting_start(received)
    assert counted == vn(2026, 11, 16, 7, 30)
    due = vn(2026, 11, 16, 16, 30)
    assert deadline_warnings(CAL, received, due) == ()                                  # the old reading
    assert deadline_warnings(CAL, received, due, counted_from=counted) == (DeadlineWarning.DUE_SOON,)
    # once counting has started, now is the later one: nothing changes
    assert deadline_warnings(CAL, vn(2026, 11, 16, 9), vn(2026, 11, 17, 10), counted_from=counted) == ()
