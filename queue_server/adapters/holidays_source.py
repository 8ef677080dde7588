"""Builds the WorkingCalendar from the `holidays` package's Vietnam calendar merged with yearly override files.

Reads files (queue_server/data/calendar/vn-<year>.toml and an optional admin directory); the arithmetic itself
lives in queue_server/domain/working_time.py. Announced days off and make-up working days in the override files
win over the package, whose lunar Tết and Giỗ Tổ dates are the fallback for years nobody has imported yet.
"""
from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import holidays

from queue_server.domain.model import WorkingSession
from queue_server.domain.working_time import WorkingCalendar, default_week

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "data" / "calendar"


class CalendarFileError(ValueError):
    """An override file that cannot be read; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class CalendarDay:
    day: date
    name: str
    working: bool          # True: a make-up working day; False: a day off
    source: str            # "holidays" or the override file name


def _as_date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError as err:
            raise CalendarFileError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from err
    raise CalendarFileError(f"{where}: expected a date, got {type(value).__name__}")


def read_override_file(path: Path) -> list[CalendarDay]:
    """Entries of one override file: ``[[off]]`` and ``[[working]]`` tables with ``date`` or ``from``/``to``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise CalendarFileError(f"{path.name}: {err}") from err
    days: list[CalendarDay] = []
    for kind in ("off", "working"):
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            raise CalendarFileError(f"{path.name}: [[{kind}]] must be an array of tables")
        for index, entry in enumerate(entries):
            where = f"{path.name}: {kind}[{index}]"
            if not isinstance(entry, dict):
                raise CalendarFileError(f"{where}: expected a table")
            name = str(entry.get("name", ""))
            if "date" in entry:
                first = last = _as_date(entry["date"], f"{where}.date")
            elif "from" in entry and "to" in entry:
                first, last = _as_date(entry["from"], f"{where}.from"), _as_date(entry["to"], f"{where}.to")
                if last < first or (last - first).days > 31:
                    raise CalendarFileError(f"{where}: from/to must be in order and span at most 31 days")
            else:
                raise CalendarFileError(f"{where}: needs date = YYYY-MM-DD or from = ... and to = ...")
            day = first
            while day <= last:
                days.append(CalendarDay(day, name, kind == "working", path.name))
                day += timedelta(days=1)
    return days


def override_files(dirs: Iterable[Path]) -> list[Path]:
    """``vn-*.toml`` files; a file in a later directory replaces a same-named one in an earlier directory."""
    chosen: dict[str, Path] = {}
    for directory in dirs:
        if directory.is_dir():
            for path in sorted(directory.glob("vn-*.toml")):
                chosen[path.name] = path
    return [chosen[name] for name in sorted(chosen)]


def calendar_days(years: Iterable[int], dirs: Iterable[Path] = (BUILTIN_DIR,)) -> dict[date, CalendarDay]:
    """Every non-ordinary day for ``years``: the package's holidays, then the override files on top."""
    year_list = sorted(set(years))
    merged: dict[date, CalendarDay] = {}
    for day, name in sorted(holidays.country_holidays("VN", years=year_list, language="vi").items()):
        merged[day] = CalendarDay(day, str(name), False, "holidays")
    for path in override_files(dirs):
        for entry in read_override_file(path):
            merged[entry.day] = entry
    return merged


def load_calendar(years: Iterable[int], override_dirs: Iterable[Path] = (BUILTIN_DIR,),
                  sessions: Mapping[int, tuple[WorkingSession, ...]] | None = None,
                  forward_cutoff: time | None = time(15, 0)) -> WorkingCalendar:
    """The calendar the hub uses. ``override_dirs``: the built-in data first, then the admin's directory."""
    days = calendar_days(years, list(override_dirs))
    calendar = WorkingCalendar(
        sessions=dict(sessions) if sessions is not None else default_week(),
        days_off=frozenset(d for d, e in days.items() if not e.working),
        working_days=frozenset(d for d, e in days.items() if e.working),
        forward_cutoff=forward_cutoff,
    )
    log.info("working calendar: %d days off, %d make-up working days", len(calendar.days_off),
             len(calendar.working_days))
    return calendar


def parse_sessions(config: Mapping[str, Any]) -> dict[int, tuple[WorkingSession, ...]]:
    """``{"mon": ["07:30-11:30", "13:30-17:00"], ...}`` (config [working_hours]) -> sessions per weekday."""
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    result: dict[int, tuple[WorkingSession, ...]] = {}
    for key, spans in config.items():
        if key not in names:
            raise CalendarFileError(f"working_hours.{key}: expected one of {names}")
        if not isinstance(spans, list):
            raise CalendarFileError(f"working_hours.{key}: expected a list like [\"07:30-11:30\"]")
        sessions = []
        for span in spans:
            try:
                start_text, end_text = str(span).split("-")
                sessions.append(WorkingSession(time.fromisoformat(start_text.strip()),
                                               time.fromisoformat(end_text.strip())))
            except ValueError as err:
                raise CalendarFileError(f"working_hours.{key}: {span!r} is not HH:MM-HH:MM") from err
        result[names.index(key)] = tuple(sessions)
    return result
