"""The pure parts of issue 16 pts 1 and 5: which live [bookings] / [notifications] changes are accepted
(engagement_live.apply, named refusals), when a change would strand bookings already made
(held_bookings_problem), and the report's booking figures (reporting.booking_figures)."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from contracts.messages import VN_TZ
from queue_server.app.reporting import booking_figures
from queue_server.domain.bookings import Booking, BookingStatus
from queue_server.domain.working_time import WorkingCalendar
from queue_server.engagement_live import apply, document, held_bookings_problem
from runtime.settings import ConfigError

pytestmark = pytest.mark.unit

MONDAY = datetime(2026, 11, 23, tzinfo=VN_TZ)
CALENDAR = WorkingCalendar()          # Monday–Friday, 07:30–11:30 and 13:30–17:00


def at(hh: int, mm: int = 0) -> datetime:
    return MONDAY.replace(hour=hh, minute=mm)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import tomllib

    from queue_server.config import settings_from_dict

    example = Path(__file__).resolve().parents[2] / "deploy" / "center.example.toml"
    raw = tomllib.loads(example.read_text(encoding="utf-8"))
    raw["store"] = {"path": str(tmp_path_factory.mktemp("s") / "hub.sqlite3")}
    raw["bookings"] = {"capacity": {"ho-tich": 2, "dat-dai": 1}, "slot_minutes": 30, "placement": "arrival"}
    raw["notifications"] = {"sms": {"url": "http://127.0.0.1:9/sms"}}
    return settings_from_dict(raw)


def _booking(code: str, service: str, start: datetime, status: BookingStatus = BookingStatus.BOOKED) -> Booking:
    return Booking(code, service, start, "p-" + code, status=status)


def test_a_change_keeps_what_is_not_live(settings: Any) -> None:
    doc = document(settings)["bookings"]
    new = apply(settings, {"bookings": {**doc, "capacity": {"ho-tich": 5}, "late_min": 20}})
    rules = new.bookings.rules
    assert (rules.capacity, rules.late_min, rules.slot_minutes) == ({"ho-tich": 5}, 20, 30)
    assert rules.placement == "arrival" and new.bookings.path == settings.bookings.path   # file-only, untouched
    templated = apply(settings, {"notifications": {"templates": {"called": "{center}: số {number}, {counter}."}}})
    assert templated.notifications.templates["called"] == "{center}: số {number}, {counter}."
    assert templated.notifications.templates["otp"] == settings.notifications.templates["otp"]   # defaults kept


@pytest.mark.parametrize(("changes", "message"), [
    ({"bookings": []}, "bookings: expected a table"),
    ({"bookings": {"capacity": {"ho-tich": 10_001}}}, "bookings.capacity.ho-tich"),
    ({"bookings": {"sweep_every_s": 5}}, "bookings.sweep_every_s: not a key that can be changed live"),
    ({"bookings": {"early_min": -1}}, "bookings.early_min: must be between 0 and 1440"),
    ({"notifications": {"turn_near_at": True}}, "notifications.turn_near_at"),
    ({"notifications": {"templates": {"otp": ""}}}, "notifications.templates.otp: empty"),
    ({"notifications": {"templates": {"called": 5}}}, "notifications.templates: expected a table of texts"),
])
def test_bad_changes_name_the_key(settings: Any, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        apply(settings, changes)


def test_a_removed_service_still_named_is_refused(settings: Any) -> None:
    from dataclasses import replace

    center = replace(settings.center, services=tuple(s for s in settings.center.services if s.code != "dat-dai"))
    with pytest.raises(ConfigError, match="services: 'dat-dai' cannot be removed"):
        apply(replace(settings, center=center), {})


def test_held_bookings_are_never_stranded(settings: Any) -> None:
    held = [_booking("A", "ho-tich", at(8)), _booking("B", "ho-tich", at(8)), _booking("C", "dat-dai", at(9, 30)),
            _booking("D", "ho-tich", at(8, 30), BookingStatus.CANCELLED),        # holds no place
            _booking("E", "ho-tich", at(7, 30))]                                 # its slot has started
    now = at(7, 45)
    assert held_bookings_problem(settings, CALENDAR, held, now) is None
    lower = apply(settings, {"bookings": {"capacity": {"ho-tich": 1, "dat-dai": 1}, "slot_minutes": 30}})
    problem = held_bookings_problem(lower, CALENDAR, held, now)
    assert problem is not None and problem.startswith("bookings.capacity.ho-tich: 1 is below the 2 booking(s)")
    gone = apply(settings, {"bookings": {"capacity": {"ho-tich": 2}, "slot_minutes": 30}})
    assert "bookings.capacity.dat-dai: 1 booking(s) already held" in str(held_bookings_problem(gone, CALENDAR, held, now))
    hourly = apply(settings, {"bookings": {"capacity": {"ho-tich": 2, "dat-dai": 1}, "slot_minutes": 60}})
    assert "would no longer start a slot" in str(held_bookings_problem(hourly, CALENDAR, held, now))
    closed = WorkingCalendar(days_off=frozenset({MONDAY.date()}))
    assert "would no longer start a slot" in str(held_bookings_problem(settings, closed, held, now))


def test_booking_figures_per_day_and_slot() -> None:
    eight, nine = at(8).isoformat(), at(9).isoformat()
    counts = [("2026-11-23", "ho-tich", eight, "checked_in", 1), ("2026-11-23", "ho-tich", eight, "no_show", 1),
              ("2026-11-23", "dat-dai", nine, "cancelled", 1), ("2026-11-23", "dat-dai", nine, "booked", 1)]
    places = {("ho-tich", eight): 2, ("dat-dai", nine): 1, ("ho-tich", at(10).isoformat()): 2}
    f = booking_figures(counts, places)
    assert f["totals"] == {"made": 4, "booked": 1, "checked_in": 1, "no_show": 1, "cancelled": 1}
    assert (f["check_in_rate"], f["no_show_rate"], f["places_offered"], f["slot_utilisation"]) == (0.5, 0.5, 5, 0.2)
    [day] = f["days"]
    assert [(s["service"], s["made"], s["utilisation"]) for s in day["slots"]] == [("ho-tich", 2, 0.5),
                                                                                   ("dat-dai", 2, 0.0)]
    assert day["slot_utilisation"] == 0.2
    unknown = booking_figures(counts, None)            # places not known: no utilisation, never a guess
    assert unknown["slot_utilisation"] is None and unknown["days"][0]["slots"][0]["utilisation"] is None
    assert booking_figures([], {})["check_in_rate"] is None
