"""Counter sessions at the transition level: who holds a counter, confirmed takeover (recorded with who had it),
display names kept apart from logins, close with a ticket in hand refused, and silent counters (pure)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hub_center import HO_TICH, MONDAY_0800
from test_transitions import Sim, expect_error

from contracts.errors import ErrorCode
from contracts.messages import EventType
from queue_server.app.views import counter_from_json, counter_state, counter_to_json, event_data
from queue_server.domain import counter_presence
from queue_server.domain import transitions as tr
from queue_server.domain.model import CounterId, CounterStatus

pytestmark = pytest.mark.unit
C2 = CounterId("2")


def opened_by_minh() -> Sim:
    sim = Sim()
    sim.do(tr.OpenCounter("2", "minh", "Nguyễn Văn Minh"))
    return sim


def test_open_binds_login_and_display_name() -> None:
    sim = opened_by_minh()
    c = sim.state.counters[C2]
    assert (c.status, c.staff, c.staff_name) == (CounterStatus.OPEN, "minh", "Nguyễn Văn Minh")
    # the shared state shape (hall display, MQTT retained) carries the display name, never the login
    assert counter_state(sim.center, c, 1, None).staff == "Nguyễn Văn Minh"


def test_same_person_reopening_is_no_takeover() -> None:
    sim = opened_by_minh()
    sim.do(tr.PauseCounter("2", "Nghỉ giải lao"))
    sim.do(tr.OpenCounter("2", "minh", "Nguyễn Văn Minh"))
    assert sim.events[-1].type is EventType.COUNTER_OPENED


@pytest.mark.parametrize("paused", [False, True])
def test_another_account_needs_confirmation(paused: bool) -> None:
    sim = opened_by_minh()
    if paused:
        sim.do(tr.PauseCounter("2", "họp"))
    err = expect_error(sim, tr.OpenCounter("2", "hoa", "Trần Thị Hoa"), ErrorCode.COUNTER_TAKEN)
    assert "Nguyễn Văn Minh" in err.message and "minh " not in err.message


def test_confirmed_takeover_is_recorded_with_who_had_it() -> None:
    sim = opened_by_minh()
    sim.issue()
    sim.do(tr.CallNext("2"))
    sim.do(tr.OpenCounter("2", "hoa", "Trần Thị Hoa", takeover=True))
    event = sim.events[-1]
    assert event.type is EventType.COUNTER_TAKEN_OVER
    assert dict(event.detail) == {"from_staff": "minh", "from_staff_name": "Nguyễn Văn Minh"}
    c = sim.state.counters[C2]
    assert (c.staff, c.staff_name, c.status) == ("hoa", "Trần Thị Hoa", CounterStatus.OPEN)
    assert c.current is not None, "the citizen at the desk stays with the counter"
    data = event_data(sim.center, event, 7)
    assert (data["staff"], data["staff_login"], data["from_staff"]) == ("Trần Thị Hoa", "hoa", "minh")


def test_closed_counter_opens_for_anyone_without_confirmation() -> None:
    sim = opened_by_minh()
    sim.do(tr.CloseCounter("2"))
    assert sim.state.counters[C2].staff_name is None
    sim.do(tr.OpenCounter("2", "hoa", "Trần Thị Hoa"))
    assert sim.events[-1].type is EventType.COUNTER_OPENED


def test_close_with_a_ticket_in_hand_is_refused_then_allowed() -> None:
    sim = opened_by_minh()
    sim.issue()
    sim.do(tr.CallNext("2"))
    expect_error(sim, tr.CloseCounter("2"), ErrorCode.COUNTER_BUSY)
    sim.do(tr.StartService("2"))
    sim.do(tr.Complete("2"))
    sim.do(tr.CloseCounter("2"))
    assert sim.state.counters[C2].status is CounterStatus.CLOSED


def test_keypad_calling_under_another_login_drops_the_stale_display_name() -> None:
    sim = opened_by_minh()
    sim.issue()
    sim.do(tr.CallNext("2", staff="hoa"))
    c = sim.state.counters[C2]
    assert (c.staff, c.staff_name) == ("hoa", None)
    assert counter_state(sim.center, c, 1, None).staff == "hoa"


def test_counter_json_round_trip_and_old_events() -> None:
    sim = opened_by_minh()
    c = sim.state.counters[C2]
    assert counter_from_json(counter_to_json(sim.center, c, 3, None)) == c
    old = {"counter": "2", "status": "open", "staff": "minh", "since": None}   # stored before display names
    assert counter_from_json(old).staff == "minh"


# ------------------------------------------------------------------------------------------ silent counters
def test_silent_counters() -> None:
    sim = opened_by_minh()
    sim.do(tr.OpenCounter("1", "lan", "Lê Thị Lan"))
    counters = sim.state.counters
    started = MONDAY_0800 - timedelta(hours=1)
    later = MONDAY_0800 + timedelta(minutes=25)
    seen = {CounterId("1"): MONDAY_0800 + timedelta(minutes=10)}
    assert counter_presence.silent_counters(counters, seen, later, 20 * 60, started) == {C2}
    # a hub that just restarted has heard from nobody: nobody is flagged until the grace has passed
    assert counter_presence.silent_counters(counters, {}, later, 20 * 60, later - timedelta(minutes=1)) == set()
    # off, and closed counters are never silent
    assert counter_presence.silent_counters(counters, seen, later, 0, started) == set()
    sim.do(tr.CloseCounter("2"))
    assert counter_presence.silent_counters(sim.state.counters, seen, later, 20 * 60, started) == set()


def test_silent_counter_is_left_out_of_the_serving_count() -> None:
    sim = opened_by_minh()
    sim.do(tr.OpenCounter("1", "lan"))
    assert sim.state.open_counters_serving(HO_TICH) == 2
    assert sim.state.open_counters_serving(HO_TICH, exclude=frozenset({C2})) == 1
