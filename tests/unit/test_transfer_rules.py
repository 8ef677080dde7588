"""Transfers a citizen can trust: to a closed counter or to a service no open (or paused) counter serves, refused
unless staff confirm; and then the ticket's wait says nobody serves it, never "soon"."""
from __future__ import annotations

import pytest
from hub_center import DAT_DAI, HO_TICH, MONDAY_0800, make_center

from contracts.errors import ErrorCode, MotcuaError
from queue_server.domain import transitions as tr
from queue_server.domain.model import CounterDef, CounterId

pytestmark = pytest.mark.unit


def held_at_counter_2() -> tr.QueueState:
    center = make_center()
    # counter 4 serves dat-dai only; counters 1 and 3 (which also serve it) stay closed
    center = type(center)(**{**{f: getattr(center, f) for f in center.__dataclass_fields__},
                             "counters": (*center.counters, CounterDef(CounterId("4"), "Quầy 4", (DAT_DAI,)))})
    state = tr.QueueState(center=center)
    state, _ = tr.transition(state, tr.OpenCounter("2"), MONDAY_0800)
    state, _ = tr.transition(state, tr.IssueTicket(HO_TICH), MONDAY_0800)
    state, _ = tr.transition(state, tr.CallNext("2"), MONDAY_0800)
    return state


def test_transfer_to_a_closed_counter_is_refused_unless_confirmed() -> None:
    state = held_at_counter_2()
    with pytest.raises(MotcuaError) as info:
        tr.transition(state, tr.Transfer("2", to_counter="4"), MONDAY_0800)
    assert info.value.code is ErrorCode.TRANSFER_TARGET_UNSERVED and "closed" in info.value.message
    state, events = tr.transition(state, tr.Transfer("2", to_counter="4", confirm=True), MONDAY_0800)
    ticket = events[0].ticket
    assert ticket is not None and ticket.target_counter == "4"
    wait = state.wait_for(ticket, MONDAY_0800)
    assert wait is not None and not wait.served           # the tracking page must not say "sớm"


def test_transfer_to_a_service_nobody_serves_now_is_refused_unless_confirmed() -> None:
    state = held_at_counter_2()
    with pytest.raises(MotcuaError) as info:
        tr.transition(state, tr.Transfer("2", to_service=DAT_DAI), MONDAY_0800)
    assert info.value.code is ErrorCode.TRANSFER_TARGET_UNSERVED
    state, events = tr.transition(state, tr.Transfer("2", to_service=DAT_DAI, confirm=True), MONDAY_0800)
    assert events[0].ticket is not None and events[0].ticket.service == DAT_DAI
    wait = state.wait_for(events[0].ticket, MONDAY_0800)
    assert wait is not None and not wait.served


def test_transfer_to_an_open_or_paused_counter_needs_no_confirmation() -> None:
    state = held_at_counter_2()
    state, _ = tr.transition(state, tr.OpenCounter("4"), MONDAY_0800)
    state, _ = tr.transition(state, tr.PauseCounter("4", "họp"), MONDAY_0800)
    state, events = tr.transition(state, tr.Transfer("2", to_service=DAT_DAI), MONDAY_0800)
    ticket = events[0].ticket
    assert ticket is not None
    wait = state.wait_for(ticket, MONDAY_0800)
    assert wait is not None and wait.served and wait.low_min >= 0
