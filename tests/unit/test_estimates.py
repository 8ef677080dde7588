"""Estimated wait: people ahead × recent average service time ÷ open counters (prior until data exists)."""
from __future__ import annotations

import pytest
from hub_center import DAT_DAI, HO_TICH, MONDAY_0800, make_center

from queue_server.domain import estimates
from queue_server.domain import transitions as tr
from queue_server.domain.model import PolicyDef, PolicyKind

pytestmark = pytest.mark.unit


def test_formula() -> None:
    assert estimates.estimate_wait_min(0, 10.0, 3) == 0
    assert estimates.estimate_wait_min(3, 10.0, 3) == 10
    assert estimates.estimate_wait_min(4, 10.0, 3) == 14       # rounded up
    assert estimates.estimate_wait_min(2, 5.0, 0) == 10         # no counter open: assume one will open
    assert estimates.average_service_min([], 7.5) == 7.5
    assert estimates.average_service_min([300, 600], 7.5) == 7.5
    assert estimates.average_service_min([60, 180], 99) == 2.0


def test_issue_answers_with_the_simulated_estimate_and_the_old_field() -> None:
    # the range and how it is computed: tests/unit/test_wait_estimate.py; here the answer keeps its old field
    state = tr.QueueState(center=make_center())          # ho-tich prior: 6 min
    now = MONDAY_0800
    state, _ = tr.transition(state, tr.OpenCounter("2"), now)
    for _ in range(3):
        state, _ = tr.transition(state, tr.IssueTicket(HO_TICH), now)
    decision = tr.decide(state, tr.IssueTicket(HO_TICH), now)
    assert isinstance(decision.result, tr.Issued) and decision.result.wait is not None
    assert decision.result.ahead == 3
    assert decision.result.estimated_wait_min == decision.result.wait.minutes == 20   # 3 × (6 min + turnaround)
    # nobody serves dat-dai now: flagged, never promised
    dat = tr.decide(state, tr.IssueTicket(DAT_DAI), now).result
    assert isinstance(dat, tr.Issued) and dat.wait is not None and not dat.wait.served


def test_estimate_for_a_waiting_ticket_shrinks_as_the_queue_moves() -> None:
    state = tr.QueueState(center=make_center(policy=PolicyDef(PolicyKind.STRICT)))
    now = MONDAY_0800
    state, _ = tr.transition(state, tr.OpenCounter("2"), now)
    tickets = []
    for pri in (None, None, "elderly"):
        state, events = tr.transition(state, tr.IssueTicket(HO_TICH, pri), now)
        assert events[0].ticket is not None
        tickets.append(events[0].ticket.id)
    last_normal = state.tickets[tickets[1]]
    assert state.ahead(last_normal) == 2        # the elderly citizen goes first under strict
    assert state.estimated_wait_min(last_normal, now) == 13    # 2 × (6 min + turnaround)
    state, _ = tr.transition(state, tr.CallNext("2"), now)
    assert state.ahead(state.tickets[tickets[1]]) == 1
    assert state.ahead(state.tickets[tickets[2]]) == 0


def test_a_new_site_does_not_carry_its_opening_rush_over_the_whole_day() -> None:
    # no history: twelve citizens in the first quarter hour are not 48 an hour until closing — carried over the
    # day, the counter taking dat-dai after ho-tich would never reach it (18 h told, before the fix)
    from datetime import timedelta

    state = tr.QueueState(center=make_center())
    start = MONDAY_0800 - timedelta(minutes=25)       # 07:35
    state, _ = tr.transition(state, tr.OpenCounter("1"), start)
    for i in range(12):
        state, _ = tr.transition(state, tr.IssueTicket(HO_TICH), start + timedelta(minutes=i))
    now = start + timedelta(minutes=13)
    issued = tr.decide(state, tr.IssueTicket(DAT_DAI), now).result
    assert isinstance(issued, tr.Issued) and issued.wait is not None and issued.wait.served
    until_closing_min = (17 * 60) - (7 * 60 + 48)
    assert 12 * 6 < issued.wait.expected_min < until_closing_min


def test_a_new_site_takes_a_few_waiting_priority_citizens_for_about_one_in_ten() -> None:
    assert tr.new_site_priority_share(0, 0) == pytest.approx(tr.PRIORITY_SHARE_DEFAULT)
    assert tr.new_site_priority_share(1, 1) < 0.15          # the day's first citizen was elderly: not all of them
    assert tr.new_site_priority_share(1, 2) < 0.15
    assert 0.4 < tr.new_site_priority_share(40, 80) < 0.45          # many waiting: mostly what they are
