"""The priority promise: a counter calls a priority ticket of any of its services before normal tickets of its
preferred service (the default, matching the law), or only within a service when a center chooses so; the kiosk
says exactly what the chosen policy does."""
from __future__ import annotations

import pytest
from hub_center import DAT_DAI, HO_TICH, MONDAY_0800, make_center

from kiosk.presenters.services import priority_promise
from queue_server.domain import transitions as tr
from queue_server.domain.model import PolicyDef, PolicyKind

pytestmark = pytest.mark.unit


def calls_of(policy: PolicyDef) -> list[str]:
    """Counter 1 prefers ho-tich, then dat-dai: two normal ho-tich tickets, then an elderly citizen for dat-dai."""
    state = tr.QueueState(center=make_center(policy=policy))
    now = MONDAY_0800
    state, _ = tr.transition(state, tr.OpenCounter("1"), now)
    for service, priority in ((HO_TICH, None), (HO_TICH, None), (DAT_DAI, "elderly"), (DAT_DAI, None)):
        state, _ = tr.transition(state, tr.IssueTicket(service, priority), now)
    order = []
    for _ in range(4):
        state, events = tr.transition(state, tr.CallNext("1"), now)
        assert events[0].ticket is not None
        order.append(events[0].ticket.display)
        state, _ = tr.transition(state, tr.StartService("1"), now)
        state, _ = tr.transition(state, tr.Complete("1"), now)
    return order


def test_default_policy_calls_a_priority_ticket_of_any_service_first() -> None:
    assert PolicyDef().kind is PolicyKind.STRICT and PolicyDef().priority_across_services
    assert calls_of(PolicyDef()) == ["B001", "A001", "A002", "B002"]


def test_within_a_service_only_when_the_center_chooses_it() -> None:
    policy = PolicyDef(PolicyKind.STRICT, priority_across_services=False)
    assert calls_of(policy) == ["A001", "A002", "B001", "B002"]


def test_interleave_across_services_waits_its_turn_then_goes_first() -> None:
    # interleave 3: the day's streak starts full, so the first call is the priority one, from any service
    assert calls_of(PolicyDef(PolicyKind.INTERLEAVE, interleave_normal=3))[0] == "B001"


def test_the_kiosk_promises_what_the_policy_does() -> None:
    assert priority_promise({"kind": "strict", "priority_across_services": True}, "vi") == \
        "Người được ưu tiên sẽ được gọi trước."
    assert priority_promise({}, "vi") == "Người được ưu tiên sẽ được gọi trước."
    assert "cùng lĩnh vực" in priority_promise({"kind": "strict", "priority_across_services": False}, "vi")
    assert priority_promise({"kind": "interleave", "interleave_normal": 3}, "vi") == \
        "Cứ 3 số thường thì có 1 số ưu tiên được gọi."
    assert "15 phút" in priority_promise({"kind": "weighted", "priority_bonus_min": 15.0}, "vi")
    assert "after every 4" in priority_promise({"kind": "interleave", "interleave_normal": 4}, "en")
