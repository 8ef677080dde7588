"""Working-time calendar and deadline arithmetic for dossiers, to the minute (DOMAIN.md "Dossier status and deadlines").

Pure: no I/O, no clock reads, no holiday look-ups. The caller passes "now" and a WorkingCalendar already built
from config sessions, the holiday source and the yearly override file (adapters/holidays_source.py).

Rules implemented (Decree 61/2018 Art. 18, Quảng Trị 29/2020 Art. 20):
- time counts only inside working sessions; outside them it counts from the start of the next session;
- a dossier received after the forwarding cut-off (default 15:00) counts from the next working day;
- the appointment (ngày hẹn trả) is at the start of the working session after the deadline expires;
- warnings: overdue, less than one working day left, a step due or overdue;
- an apology with a new date (phiếu xin lỗi và hẹn lại) is allowed at most once and the dossier counts as late.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from contracts.messages import VN_TZ
from queue_server.domain.model import WorkingSession

DEFAULT_SESSIONS: tuple[WorkingSession, ...] = (
    WorkingSession(time(7, 30), time(11, 30)),
    WorkingSession(time(13, 30), time(17, 0)),
)


class WorkingTimeError(ValueError):
    """A calendar that cannot answer (bad sessions, no working session within the horizon, bad arguments)."""


class ApologyAlreadyUsed(WorkingTimeError):
    """A dossier may be rescheduled with an apology only once."""


def default_week() -> dict[int, tuple[WorkingSession, ...]]:
    """Monday–Friday with the default sessions; Saturday and Sunday closed."""
    return {weekday: DEFAULT_SESSIONS for weekday in range(5)}


def _minute(moment: datetime) -> datetime:
    """Vietnam time, floored to the minute: the regulations count whole minutes."""
    if moment.tzinfo is None:
        raise WorkingTimeError("working-time arithmetic needs timezone-aware datetimes")
    return moment.astimezone(VN_TZ).replace(second=0, microsecond=0)


def _at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=VN_TZ)


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """Working sessions per weekday, days off and make-up working days.

    ``working_days`` (make-up days such as Saturday 22/08/2026) win over ``days_off`` and over the weekday
    pattern; on a make-up day that has no sessions of its own, the sessions of ``makeup_weekday`` apply.
    """

    sessions: Mapping[int, tuple[WorkingSession, ...]] = field(default_factory=default_week)
    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    makeup_weekday: int = 0
    # Decree 61 Art. 18: received after this time -> forwarded (and counted) from the next working day.
    # None disables the rule. Received exactly at the cut-off minute still counts the same day.
    forward_cutoff: time | None = time(15, 0)
    # Guards loops against a calendar with no working day at all (a config mistake, not a crash).
    horizon_days: int = 800
    # Memo of working minutes per day of each year (cumulative), so spans of months cost O(years), not O(days).
    _year_tables: dict[int, list[int]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for weekday, sessions in self.sessions.items():
            if not 0 <= weekday <= 6:
                raise WorkingTimeError(f"sessions: weekday {weekday} is not in 0..6 (0 = Monday)")
            previous_end: time | None = None
            for session in sessions:
                if session.start >= session.end:
                    raise WorkingTimeError(f"sessions[{weekday}]: {session.start}–{session.end} is empty")
                if previous_end is not None and session.start < previous_end:
                    raise WorkingTimeError(f"sessions[{weekday}]: sessions overlap or are not in order")
                previous_end = session.end

    # ---- days -------------------------------------------------------------------------------------------
    def sessions_on(self, day: date) -> tuple[WorkingSession, ...]:
        if day in self.working_days:
            return self.sessions.get(day.weekday()) or self.sessions.get(self.makeup_weekday, DEFAULT_SESSIONS)
        if day in self.days_off:
            return ()
        return self.sessions.get(day.weekday(), ())

    def is_working_day(self, day: date) -> bool:
        return bool(self.sessions_on(day))

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        candidate = day
        for _ in range(self.horizon_days):
            candidate += timedelta(days=1)
            if self.is_working_day(candidate):
                return candidate
        raise WorkingTimeError(f"no working day within {self.horizon_days} days after {day}")

    def nth_working_day(self, day: date, n: int) -> date:
        """``n`` working days after ``day`` (n = 0 gives ``day`` itself)."""
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def day_minutes(self, day: date) -> int:
        return sum(_minutes(_at(day, s.end) - _at(day, s.start)) for s in self.sessions_on(day))

    # ---- sessions as intervals --------------------------------------------------------------------------
    def _intervals_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals in order that end after ``moment`` (the first may contain it)."""
        day = moment.date()
        for _ in range(self.horizon_days):
            for session in self.sessions_on(day):
                end = _at(day, session.end)
                if end > moment:
                    yield _at(day, session.start), end
            day += timedelta(days=1)
        raise WorkingTimeError(f"no working session within {self.horizon_days} days after {moment}")

    def is_working_time(self, moment: datetime) -> bool:
        t = _minute(moment)
        return any(_at(t.date(), s.start) <= t < _at(t.date(), s.end) for s in self.sessions_on(t.date()))

    def next_session_start(self, moment: datetime) -> datetime:
        """Start of the first working session that starts at or after ``moment``."""
        t = _minute(moment)
        for start, _end in self._intervals_from(t):
            if start >= t:
                return start
        raise WorkingTimeError("unreachable")  # pragma: no cover - _intervals_from raises first

    def working_start(self, moment: datetime) -> datetime:
        """``moment`` itself inside a session, else the start of the next session."""
        t = _minute(moment)
        for start, _end in self._intervals_from(t):
            return max(start, t)
        raise WorkingTimeError("unreachable")  # pragma: no cover

    def counting_start(self, received: datetime) -> datetime:
        """When a dossier's clock starts: outside working time -> next session; after the cut-off -> next
        working day's first session (Decree 61 Art. 18)."""
        t = _minute(received)
        if self.forward_cutoff is not None and self.is_working_day(t.date()) and t.time() > self.forward_cutoff:
            first_day = self.next_working_day(t.date())
            return _at(first_day, self.sessions_on(first_day)[0].start)
        return self.working_start(t)

    # ---- arithmetic -------------------------------------------------------------------------------------
    def add_working_minutes(self, start: datetime, minutes: int) -> datetime:
        """The moment when ``minutes`` of working time have elapsed from ``start``. Ends exactly at a session's
        end rather than the next session's start, so a deadline falls on the day the work was due."""
        if minutes < 0:
            raise WorkingTimeError("minutes must be >= 0")
        position = self.working_start(start)
        remaining = minutes
        for begin, end in self._intervals_from(position):
            begin = max(begin, position)
            available = _minutes(end - begin)
            if remaining <= available:
                return begin + timedelta(minutes=remaining)
            remaining -= available
        raise WorkingTimeError("unreachable")  # pragma: no cover

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        if hours < 0:
            raise WorkingTimeError("hours must be >= 0")
        return self.add_working_minutes(start, round(hours * 60))

    def _offset_in_day(self, moment: datetime) -> int:
        """Working minutes of ``moment``'s day that lie before ``moment``."""
        day = moment.date()
        total = 0
        for s in self.sessions_on(day):
            begin, end = _at(day, s.start), _at(day, s.end)
            if moment > begin:
                total += _minutes(min(moment, end) - begin)
        return total

    def _at_offset(self, day: date, offset: int) -> datetime:
        """The moment ``offset`` working minutes into ``day`` (its end if the day is shorter)."""
        sessions = self.sessions_on(day)
        remaining = offset
        for s in sessions:
            length = _minutes(_at(day, s.end) - _at(day, s.start))
            if remaining <= length:
                return _at(day, s.start) + timedelta(minutes=remaining)
            remaining -= length
        return _at(day, sessions[-1].end)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Same point of the working day, ``days`` working days later. Starting at the very beginning of a
        working day, N days end at the close of the N-th working day (counting that day as the first)."""
        if days < 0:
            raise WorkingTimeError("days must be >= 0")
        position = self.working_start(start)
        if days == 0:
            return position
        offset = self._offset_in_day(position)
        if offset == 0:
            last_day = self.nth_working_day(position.date(), days - 1)
            return _at(last_day, self.sessions_on(last_day)[-1].end)
        return self._at_offset(self.nth_working_day(position.date(), days), offset)

    def _year_table(self, year: int) -> list[int]:
        """cumulative[i] = working minutes in the days of ``year`` before day-of-year i (0-based)."""
        table = self._year_tables.get(year)
        if table is None:
            table = [0]
            day = date(year, 1, 1)
            while day.year == year:
                table.append(table[-1] + self.day_minutes(day))
                day += timedelta(days=1)
            self._year_tables[year] = table
        return table

    def _minutes_before(self, day: date, since_year: int) -> int:
        """Working minutes from 1 January of ``since_year`` up to the start of ``day``."""
        total = sum(self._year_table(y)[-1] for y in range(since_year, day.year))
        return total + self._year_table(day.year)[day.timetuple().tm_yday - 1]

    def working_minutes_between(self, a: datetime, b: datetime) -> int:
        """Working minutes in [a, b); negative when b is before a."""
        start, end = _minute(a), _minute(b)
        if end < start:
            return -self.working_minutes_between(b, a)
        base = start.year
        return (self._minutes_before(end.date(), base) + self._offset_in_day(end)
                - self._minutes_before(start.date(), base) - self._offset_in_day(start))

    def time_left(self, now: datetime, deadline: datetime) -> int:
        """Working minutes from ``now`` to ``deadline``; negative (working minutes late) once overdue."""
        return self.working_minutes_between(now, deadline)

    def appointment_for(self, deadline: datetime) -> datetime:
        """Ngày hẹn trả: the start of the working session after the deadline expires."""
        return self.next_session_start(deadline)

    def schedule(self, received: datetime, working_days: int = 0, working_hours: float = 0) -> Schedule:
        """Counted-from, due and appointment for a procedure of ``working_days`` days plus ``working_hours``."""
        counted = self.counting_start(received)
        due = self.add_working_days(counted, working_days)
        if working_hours:
            due = self.add_working_minutes(due, round(working_hours * 60))
        return Schedule(_minute(received), counted, due, self.appointment_for(due))


@dataclass(frozen=True, slots=True)
class Schedule:
    received_at: datetime
    counted_from: datetime
    due_at: datetime
    appointment_at: datetime


# ---- deadlines, apology, warnings ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Deadline:
    """The due moment of a dossier; ``original_due_at`` is set once an apology gave a new date."""

    due_at: datetime
    original_due_at: datetime | None = None

    @property
    def apologised(self) -> bool:
        return self.original_due_at is not None

    def reschedule(self, new_due_at: datetime) -> Deadline:
        """Phiếu xin lỗi và hẹn lại: at most once, and only to a later date."""
        if self.apologised:
            raise ApologyAlreadyUsed("this dossier already has an apology with a new date; only one is allowed")
        if new_due_at <= self.due_at:
            raise WorkingTimeError("the new date must be after the current due date")
        return Deadline(new_due_at, self.due_at)


class DeadlineWarning(StrEnum):
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"              # less than one working day left
    STEP_DUE = "step_due"              # a processing step has less than one working day left
    STEP_OVERDUE = "step_overdue"


@dataclass(frozen=True, slots=True)
class StepDeadline:
    name: str
    due_at: datetime | None
    done_at: datetime | None = None


def deadline_warnings(calendar: WorkingCalendar, now: datetime, due_at: datetime | None,
                      finished_at: datetime | None = None,
                      steps: Iterable[StepDeadline] = (),
                      counted_from: datetime | None = None) -> tuple[DeadlineWarning, ...]:
    """Warnings of Quảng Trị 29/2020 Art. 20, in a stable order. A finished dossier has none.

    The time left counts from the later of ``now`` and ``counted_from`` (when counting starts: the next working
    session, or the next working day for a dossier received after 15:00 — Decree 61 Art. 18): working time before
    counting starts is not the dossier's, so it must not hide that less than one working day is left."""
    if finished_at is not None:
        return ()
    warnings: list[DeadlineWarning] = []
    start = now if counted_from is None or counted_from <= now else counted_from
    one_day_ahead = calendar.add_working_days(start, 1)
    if due_at is not None:
        if now > due_at:
            warnings.append(DeadlineWarning.OVERDUE)
        elif due_at < one_day_ahead:
            warnings.append(DeadlineWarning.DUE_SOON)
    step_due = step_overdue = False
    for step in steps:
        if step.done_at is not None or step.due_at is None:
            continue
        if now > step.due_at:
            step_overdue = True
        elif step.due_at < one_day_ahead:
            step_due = True
    if step_overdue:
        warnings.append(DeadlineWarning.STEP_OVERDUE)
    if step_due:
        warnings.append(DeadlineWarning.STEP_DUE)
    return tuple(warnings)


# ---- rates --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DossierOutcome:
    due_at: datetime
    finished_at: datetime | None = None
    apologised: bool = False

    @property
    def on_time(self) -> bool:
        """Finished on or before the deadline, without an apology (an apology counts as late)."""
        return self.finished_at is not None and not self.apologised and self.finished_at <= self.due_at


def on_time_rate(outcomes: Iterable[DossierOutcome]) -> float | None:
    """Finished on or before the deadline / finished; None when nothing is finished."""
    finished = [o for o in outcomes if o.finished_at is not None]
    if not finished:
        return None
    return sum(1 for o in finished if o.on_time) / len(finished)


def resolution_rate(received: int, finished: int) -> float | None:
    """Finished / received; None when nothing was received."""
    if received < 0 or finished < 0:
        raise WorkingTimeError("counts must be >= 0")
    return finished / received if received else None
