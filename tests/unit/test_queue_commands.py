"""The queue's command scenarios, run against BOTH event stores (in memory and a SQLite file): the same answers
prove the EventStore seam. Errors, counters and queries, listeners, a failed commit, leases and merges, and a
busy morning that reloads, replays and rebuilds to the same state."""
from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from hub_center import DAT_DAI, HO_TICH, MONDAY_0800, make_center

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import CallsSnapshot, CounterState, Envelope, ServiceState
from queue_server.adapters.memory_store import MemoryStore
from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app.ports import EventStore, FixedClock
from queue_server.app.queue_service import QueueService
from queue_server.app.views import ticket_to_json
from queue_server.domain import numbering
from queue_server.domain.model import PolicyDef, PolicyKind, TicketRules, TicketStatus

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]
CENTER = make_center()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_0800)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> EventStore:
    if request.param == "memory":
        return MemoryStore()
    return SqliteStore(tmp_path / "hub.db")


@pytest.fixture
def svc(store: EventStore, clock: FixedClock) -> Iterator[QueueService]:
    service = QueueService(CENTER, store, clock)
    yield service
    service.close()


def test_errors_carry_stable_codes_and_change_nothing(svc: QueueService) -> None:
    cases = [
        (lambda: svc.issue_ticket("nope"), ErrorCode.UNKNOWN_SERVICE),
        (lambda: svc.issue_ticket(HO_TICH, priority="vip"), ErrorCode.UNKNOWN_PRIORITY),
        (lambda: svc.call_next("1"), ErrorCode.COUNTER_NOT_OPEN),
        (lambda: svc.call_next("99"), ErrorCode.UNKNOWN_COUNTER),
        (lambda: svc.get_ticket("20261123-ho-tich-9"), ErrorCode.UNKNOWN_TICKET),
        (lambda: svc.service_state("nope"), ErrorCode.UNKNOWN_SERVICE),
        (lambda: svc.counter_state("99"), ErrorCode.UNKNOWN_COUNTER),
        (lambda: svc.pause_counter("1", ""), ErrorCode.BAD_REQUEST),
    ]
    for call, code in cases:
        with pytest.raises(MotcuaError) as info:
            call()
        assert info.value.code is code
    assert svc.last_seq == 0 and svc.events_after(0) == []


def test_counter_flow_and_queries(svc: QueueService, clock: FixedClock) -> None:
    opened = svc.open_counter("2", staff="minh")
    assert isinstance(opened, CounterState) and opened.status == "open" and opened.staff == "minh"
    first = svc.issue_ticket(HO_TICH)
    second = svc.issue_ticket(HO_TICH, priority="elderly", kiosk="k1")
    assert (first.ahead, second.ahead) == (0, 0)          # strict: priority goes first
    assert svc.get_ticket(first.ticket.id).ahead == 1
    assert [t.id for t in svc.waiting(HO_TICH)] == [second.ticket.id, first.ticket.id]
    called = svc.call_next("2")
    assert called.id == second.ticket.id and called.status is TicketStatus.CALLED
    state = svc.counter_state("2")
    assert (state.current_ticket, state.current_status, state.current_ticket_id) == ("A002", "called", called.id)
    calls = svc.calls_snapshot()
    assert isinstance(calls, CallsSnapshot) and calls.calls[0].number == "A002"
    assert calls.calls[0].counter_name == "Quầy 2" and calls.seq == svc.last_seq
    clock.advance(seconds=40)
    svc.start_service("2")
    clock.advance(minutes=3)
    done = svc.complete("2")
    assert done.service_time_s == 180 and svc.last_completed("2") == done
    assert svc.last_completed("1") is None
    ho = svc.service_state(HO_TICH)
    assert isinstance(ho, ServiceState) and ho.waiting == 1 and ho.last_called == "A002" and ho.accepting
    # one ahead: one 3-minute sample today is blended with the 6-minute prior (wait_estimate.BLEND_K)
    assert ho.estimated_wait_min == 6 and ho.wait_low_min is not None and ho.wait_high_min is not None
    assert ho.wait_low_min <= 6 <= ho.wait_high_min and ho.served_now
    snap = svc.snapshot()
    assert set(snap) == {"seq", "calls", "counters", "services", "center", "help"}
    assert snap["seq"] == svc.last_seq and len(snap["counters"]) == 3 and len(snap["services"]) == 2
    stats = svc.stats_today()
    assert stats["services"][HO_TICH]["served"] == 1 and stats["services"][HO_TICH]["waiting"] == 1
    assert stats["services"][HO_TICH]["avg_service_min"] == 3.0
    assert stats["counters"]["2"]["status"] == "open"
    paused = svc.pause_counter("2", "nghỉ trưa")
    assert paused.status == "paused" and paused.pause_reason == "nghỉ trưa"
    assert svc.resume_counter("2").status == "open"
    assert svc.close_counter("2").status == "closed"


def test_event_data_carries_ticket_and_counter(svc: QueueService) -> None:
    seen: list[Envelope] = []
    svc.add_listener(seen.extend)
    svc.open_counter("1", "lan")
    t = svc.issue_ticket(HO_TICH).ticket
    called = svc.call_next("1")
    opened, issued, call = seen
    assert opened.type == "counter.opened" and opened.data["counter"] == "1" and opened.data["status"] == "open"
    assert issued.type == "ticket.issued" and issued.data["ticket"] == ticket_to_json(t)
    assert call.type == "ticket.called" and call.data["ticket"] == ticket_to_json(called)
    assert call.data["counter"] == "1" and call.data["counter_name"] == "Quầy 1"


def test_print_failure_is_recorded_not_hidden(svc: QueueService) -> None:
    seen: list[Envelope] = []
    svc.add_listener(seen.extend)
    t = svc.issue_ticket(HO_TICH).ticket
    updated = svc.record_print_result(t.id, printed=False, fault="paper_out")
    assert updated.printed is False and svc.get_ticket(t.id).ticket.printed is False
    assert seen[-1].type == "ticket.print_recorded" and seen[-1].data["fault"] == "paper_out"
    assert seen[-1].data["ticket"]["printed"] is False
    assert svc.stats_today()["services"][HO_TICH]["not_printed"] == 1


def test_a_listener_may_issue_commands_without_deadlock(svc: QueueService) -> None:
    done = threading.Event()

    def auto_call(events: Sequence[Envelope]) -> None:
        for e in events:
            if e.type == "ticket.issued":
                svc.call_next("1")
            if e.type == "ticket.called":
                done.set()

    svc.open_counter("1")
    svc.add_listener(auto_call)
    svc.issue_ticket(HO_TICH)
    assert done.wait(10)
    assert svc.counter_state("1").current_ticket == "A001"


def test_a_failing_listener_does_not_break_the_service(svc: QueueService) -> None:
    def broken(events: Sequence[Envelope]) -> None:
        raise RuntimeError("listener bug")

    svc.add_listener(broken)
    svc.issue_ticket(HO_TICH)
    assert svc.issue_ticket(HO_TICH).ticket.display == "A002"


def test_a_failed_commit_fails_the_callers_and_keeps_memory_equal_to_disk(
        svc: QueueService, monkeypatch: pytest.MonkeyPatch) -> None:
    svc.issue_ticket(HO_TICH)
    real_commit = svc.store.commit

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(svc.store, "commit", disk_full)
    with pytest.raises(MotcuaError) as info:
        svc.issue_ticket(HO_TICH)
    assert info.value.code is ErrorCode.INTERNAL
    monkeypatch.setattr(svc.store, "commit", real_commit)
    assert [t.display for t in svc.waiting()] == ["A001"]
    assert svc.issue_ticket(HO_TICH).ticket.display == "A002"     # the failed number was never handed out
    assert [e.seq for e in svc.events_after(0)] == [1, 2]


def test_lease_and_merge_are_idempotent_and_never_reissued(svc: QueueService, clock: FixedClock) -> None:
    svc.issue_ticket(HO_TICH)
    lease = svc.lease_numbers("kiosk-7", HO_TICH, 3)
    # offline blocks come from the top fifth of the range: the online numbers never jump over them
    assert (lease.first, lease.last, lease.service, lease.day) == (800, 802, HO_TICH, MONDAY_0800.date())
    assert svc.issue_ticket(HO_TICH).ticket.number.number == 2
    offline = [{"number": 801, "issued_at": (clock.now() + timedelta(minutes=1)).isoformat(), "priority": "elderly"},
               {"number": 800, "issued_at": (clock.now() + timedelta(seconds=30)).isoformat(), "priority": None}]
    clock.advance(minutes=5)
    merged = svc.merge_leased(lease.id, offline)
    assert sorted(t.display for t in merged) == ["A800", "A801"]
    assert all(t.kiosk == "kiosk-7" and t.lease_id == lease.id and t.printed for t in merged)
    seq = svc.last_seq
    again = svc.merge_leased(lease.id, offline)           # a retry after a lost answer: nothing new
    assert sorted(t.id for t in again) == sorted(t.id for t in merged) and svc.last_seq == seq
    # offline tickets queue from when they were taken (08:00:30, 08:01), not from the merge (08:05)
    assert [t.display for t in svc.waiting(HO_TICH)] == ["A801", "A001", "A002", "A800"]
    for bad, code in (([{"number": 9, "issued_at": clock.now().isoformat()}], ErrorCode.LEASE_CONFLICT),
                      ([{"number": "x", "issued_at": clock.now().isoformat()}], ErrorCode.BAD_REQUEST),
                      ([{"number": 802, "issued_at": "2026-11-23T08:00:00"}], ErrorCode.BAD_REQUEST),
                      ([{"number": 802}], ErrorCode.BAD_REQUEST)):
        with pytest.raises(MotcuaError) as info:
            svc.merge_leased(lease.id, bad)
        assert info.value.code is code
    with pytest.raises(MotcuaError) as info:
        svc.merge_leased("no-such-lease", offline)
    assert info.value.code is ErrorCode.NOT_FOUND
    assert svc.issue_ticket(HO_TICH).ticket.number.number == 3    # merged offline numbers move nothing


BUSY = make_center(policy=PolicyDef(PolicyKind.INTERLEAVE, interleave_normal=2),
                   rules=TicketRules(recalls_before_no_show=1, recall_delay_s=10, max_reactivations=1))


def a_busy_morning(svc: QueueService, clock: FixedClock) -> list[object]:
    """Every kind of event; returns every answer, for comparing stores."""
    answers: list[object] = [svc.open_counter("1", "lan"), svc.open_counter("2", "minh"),
                             svc.open_counter("3", "hoa")]
    for i in range(12):
        answers.append(svc.issue_ticket(HO_TICH if i % 3 else DAT_DAI, "elderly" if i % 4 == 1 else None,
                                        kiosk="k1"))
        clock.advance(seconds=17)
    t = svc.issue_ticket(HO_TICH).ticket
    answers += [svc.record_print_result(t.id, printed=False, fault="paper_out"), svc.cancel(t.id),
                svc.call_next("1"), svc.start_service("1")]
    clock.advance(minutes=4)
    answers.append(svc.complete("1"))
    called = svc.call_next("2")
    clock.advance(seconds=20)
    answers += [called, svc.recall("2"), svc.mark_no_show("2"), svc.reactivate(called.id), svc.call_next("3"),
                svc.start_service("3"), svc.transfer("3", to_service=HO_TICH), svc.call_next("1"),
                svc.transfer("1", to_counter="2"), svc.pause_counter("3", "họp giao ban")]
    lease = svc.lease_numbers("kiosk-2", DAT_DAI, 5)
    answers += [lease, svc.merge_leased(lease.id, [{"number": lease.first, "issued_at": clock.now().isoformat(),
                                                    "priority": None}]), svc.call_next("2")]
    svc.record_event("device.fault", {"device": "printer-1", "code": "paper_out", "active": True})
    clock.advance(minutes=1)
    answers += [svc.snapshot(), svc.stats_today(), svc.waiting()]
    return answers


def test_both_stores_give_the_same_answers_events_and_state(tmp_path: Path) -> None:
    results = []
    for store in (MemoryStore(), SqliteStore(tmp_path / "hub.db")):
        clock = FixedClock(MONDAY_0800)
        svc = QueueService(BUSY, store, clock)
        answers = a_busy_morning(svc, clock)
        events = [(e.seq, e.type, e.at, e.data) for e in svc.events_after(0, limit=10_000)]
        results.append((answers, events, svc.state_for_tests()))
        svc.close()
    assert results[0] == results[1]


def test_a_reload_a_replay_and_a_rebuild_give_back_the_live_state(store: EventStore) -> None:
    clock = FixedClock(MONDAY_0800)
    svc = QueueService(BUSY, store, clock)
    a_busy_morning(svc, clock)
    state = svc.state_for_tests()
    ids = [e.id for e in svc.events_after(0, limit=10_000)]
    assert len(set(ids)) == len(ids) == svc.last_seq
    replayed, _ = store.replay(BUSY)
    assert replayed.comparable() == state
    svc.rebuild()
    assert svc.state_for_tests() == state
    # a restart reads the projections, not the log
    assert store.load_state(BUSY, numbering.working_day(clock.now())).comparable() == state
    svc.close()
