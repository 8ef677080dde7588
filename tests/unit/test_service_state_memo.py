"""A service's state (waiting, the wait a new ticket would be told, accepting) is computed once per question: asked
again at the same seq, second and silent counters it is the same answer without a second wait simulation, and
anything that can change it — a commit, the clock, a counter falling silent or heard again — gives a fresh one,
equal to what a service with no memory computes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hub_center import DAT_DAI, HO_TICH, MONDAY_0800, make_center

from queue_server.adapters.memory_store import MemoryStore
from queue_server.app.ports import FixedClock
from queue_server.app.queue_service import QueueService
from queue_server.domain import transitions

pytestmark = pytest.mark.unit


def _fresh(svc: QueueService, code: str) -> object:
    """What the service answers with its memory emptied (the reference)."""
    svc.__dict__.pop("_service_memo", None)
    return svc.service_state(code)


def test_same_question_same_answer_and_every_change_recomputes(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FixedClock(MONDAY_0800 + timedelta(hours=1))
    svc = QueueService(make_center(), MemoryStore(), clock, silent_after_s=600)
    runs: list[str] = []
    original = transitions.QueueState.wait_estimate

    def counted(self: transitions.QueueState, service: str, *args: object, **kw: object) -> object:
        runs.append(service)
        return original(self, service, *args, **kw)  # type: ignore[arg-type]

    try:
        svc.open_counter("1", staff="canbo1")
        svc.open_counter("3", staff="canbo3")
        for i in range(6):
            svc.issue_ticket(HO_TICH if i % 2 else DAT_DAI)
        monkeypatch.setattr(transitions.QueueState, "wait_estimate", counted)

        first = svc.service_state(HO_TICH)
        assert runs == [HO_TICH]
        assert svc.service_state(HO_TICH) is first                 # same seq, second, silent set: no new run
        assert [s.service for s in svc.service_states()] == [HO_TICH, DAT_DAI]
        assert runs == [HO_TICH, DAT_DAI]                          # only the service not asked yet ran
        snap = svc.snapshot()
        assert runs == [HO_TICH, DAT_DAI] and snap["services"][0]["waiting"] == first.waiting == 3

        svc.issue_ticket(HO_TICH)                                  # a commit: a new seq
        after_issue = svc.service_state(HO_TICH)
        assert after_issue.waiting == 4 and after_issue.seq == first.seq + 1
        assert after_issue == _fresh(svc, HO_TICH)

        clock.advance(minutes=11)                                  # nobody heard at the counters for 11 min
        silent_now = svc.service_state(HO_TICH)
        assert svc.silent_counters() == {"1", "3"}
        assert not silent_now.served_now                           # the silent counters serve nobody
        assert silent_now == _fresh(svc, HO_TICH)

        runs.clear()
        svc.counter_seen("1")                                      # same seq, same second: counter 1 is back
        back = svc.service_state(HO_TICH)
        assert runs == [HO_TICH] and back.served_now and back.seq == silent_now.seq
        assert back == _fresh(svc, HO_TICH)
    finally:
        svc.close()
