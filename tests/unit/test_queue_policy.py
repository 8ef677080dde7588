"""Property tests of the ordering policies (Hypothesis), on the pure policy and through the whole state machine."""
from __future__ import annotations

from collections import Counter as Tally
from datetime import timedelta

import pytest
from hub_center import DAT_DAI, HO_TICH, MONDAY_0800, make_center
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from contracts.errors import MotcuaError
from contracts.messages import EventType
from queue_server.domain import queue_policy as qp
from queue_server.domain import transitions as tr
from queue_server.domain.model import PolicyDef, PolicyKind, TicketStatus

pytestmark = pytest.mark.unit

policies = st.one_of(
    st.just(PolicyDef(PolicyKind.STRICT)),
    st.builds(PolicyDef, kind=st.just(PolicyKind.INTERLEAVE), interleave_normal=st.integers(1, 5)),
    st.builds(PolicyDef, kind=st.just(PolicyKind.WEIGHTED),
              priority_bonus_min=st.sampled_from([0.0, 0.5, 5.0, 15.0, 60.0])),
)
# ("join", is_priority, seconds since the previous join) or ("call",)
steps = st.lists(st.one_of(st.tuples(st.just("join"), st.booleans(), st.integers(0, 600)),
                           st.tuples(st.just("call"))), max_size=80)


def run_policy(policy: PolicyDef, ops: list[tuple[object, ...]], streak: int) -> tuple[
        list[tuple[qp.QueueKey, bool]], list[tuple[list[qp.QueueKey], list[qp.QueueKey], int, qp.QueueKey, bool]]]:
    """Join and call on one ServiceQueue; return the calls and, for each call, what waited and the streak."""
    queue = qp.ServiceQueue()
    t = 1_800_000_000.0
    seq = 0
    served: list[tuple[qp.QueueKey, bool]] = []
    moments: list[tuple[list[qp.QueueKey], list[qp.QueueKey], int, qp.QueueKey, bool]] = []
    for op in ops + [("call",)] * 200:
        if op[0] == "join":
            t += float(op[2])  # type: ignore[arg-type]
            seq += 1
            key = (t, seq, f"id{seq}")
            assert qp.ahead_of(policy, queue, streak, key, bool(op[1])) == _index_after_join(
                policy, queue, streak, key, bool(op[1]))
            queue.add(key, bool(op[1]))
        else:
            chosen = qp.pick(policy, queue, streak)
            if chosen is None:
                continue
            key, is_priority = chosen
            moments.append((list(queue.priority), list(queue.normal), streak, key, is_priority))
            assert queue.remove(key, is_priority)
            served.append(chosen)
            streak = qp.next_streak(streak, is_priority)
    assert len(queue) == 0
    return served, moments


def _index_after_join(policy: PolicyDef, queue: qp.ServiceQueue, streak: int, key: qp.QueueKey, pri: bool) -> int:
    trial = queue.copy()
    trial.add(key, pri)
    order = [k for k, _ in qp.call_order(policy, trial, streak)]
    return order.index(key)


@settings(max_examples=300, deadline=None)
@given(policy=policies, ops=steps, streak=st.integers(0, 6))
def test_every_ticket_served_once_fifo_within_a_class(policy: PolicyDef, ops: list[tuple[object, ...]],
                                                      streak: int) -> None:
    served, _ = run_policy(policy, ops, streak)
    joined = sum(1 for op in ops if op[0] == "join")
    ids = [k[2] for k, _ in served]
    assert len(ids) == joined and len(set(ids)) == joined          # everyone served, nobody twice
    for cls in (True, False):
        keys = [k for k, p in served if p is cls]
        assert keys == sorted(keys)                                   # FIFO within a class


@settings(max_examples=300, deadline=None)
@given(policy=policies, ops=steps, streak=st.integers(0, 6))
def test_call_order_and_ahead_agree_with_what_is_actually_called(policy: PolicyDef, ops: list[tuple[object, ...]],
                                                                 streak: int) -> None:
    queue = qp.ServiceQueue()
    t, seq = 1_800_000_000.0, 0
    for op in ops:
        if op[0] == "join":
            t += float(op[2])  # type: ignore[arg-type]
            seq += 1
            queue.add((t, seq, f"id{seq}"), bool(op[1]))
    order = qp.call_order(policy, queue, streak)
    for i, (key, pri) in enumerate(order):
        assert qp.ahead_of(policy, queue, streak, key, pri) == i
    served, _ = run_policy(policy, [op for op in ops if op[0] == "join"], streak)
    assert [k for k, _ in served] == [k for k, _ in order]


@settings(max_examples=300, deadline=None)
@given(ops=steps, streak=st.integers(0, 6))
def test_strict_puts_priority_first(ops: list[tuple[object, ...]], streak: int) -> None:
    _, moments = run_policy(PolicyDef(PolicyKind.STRICT), ops, streak)
    for priority, _normal, _s, _key, is_priority in moments:
        if priority:
            assert is_priority


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 5), ops=steps, streak=st.integers(0, 6))
def test_interleave_never_starves_either_class(n: int, ops: list[tuple[object, ...]], streak: int) -> None:
    _, moments = run_policy(PolicyDef(PolicyKind.INTERLEAVE, interleave_normal=n), ops, streak)
    normals_in_a_row = 0
    previous_was_priority = False
    for priority, normal, s, _key, is_priority in moments:
        if is_priority:
            # at most one priority ticket between normal ones while normal tickets wait
            assert not (previous_was_priority and normal), "two priority calls in a row while normals waited"
            normals_in_a_row = 0
        else:
            # a waiting priority ticket gets its turn after at most N normal calls
            if priority:
                assert s < n
            normals_in_a_row += 1
        previous_was_priority = is_priority


@settings(max_examples=300, deadline=None)
@given(bonus=st.sampled_from([0.0, 1.0, 15.0]), ops=steps)
def test_weighted_calls_the_highest_waiting_time_plus_bonus(bonus: float, ops: list[tuple[object, ...]]) -> None:
    _, moments = run_policy(PolicyDef(PolicyKind.WEIGHTED, priority_bonus_min=bonus), ops, 0)
    for priority, normal, _s, key, is_priority in moments:
        def score(k: qp.QueueKey, pri: bool) -> tuple[float, int]:
            return (k[0] - (bonus * 60 if pri else 0.0), k[1])
        best = min([score(k, True) for k in priority] + [score(k, False) for k in normal])
        assert score(key, is_priority) == best


# --------------------------------------------------------------------------------- through the state machine
_issue = st.tuples(st.just("issue"), st.sampled_from([HO_TICH, DAT_DAI]), st.sampled_from([None, None, "elderly"]))
_next = st.tuples(st.just("next"), st.sampled_from(["1", "2", "3"]))
_finish = st.tuples(st.just("finish"), st.sampled_from(["1", "2", "3"]))
commands = st.lists(st.one_of(
    _issue, _issue, _issue, _next, _next, _finish, _finish,
    st.tuples(st.just("no_show"), st.sampled_from(["1", "2", "3"])),
    st.tuples(st.just("no_show"), st.sampled_from(["1", "2", "3"])),
    st.tuples(st.just("transfer"), st.sampled_from(["1", "2", "3"]), st.sampled_from([HO_TICH, DAT_DAI, "3"])),
    st.tuples(st.just("reactivate"), st.integers(0, 30)),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("tick"), st.integers(1, 300)),
    st.tuples(st.just("tick"), st.sampled_from([3600, 86_400])),
    st.tuples(st.just("lease"), st.sampled_from([HO_TICH, DAT_DAI]), st.integers(1, 3)),
    st.tuples(st.just("merge"), st.integers(0, 5), st.integers(0, 2)),
), min_size=10, max_size=150)


def _command(op: tuple[object, ...], state: tr.QueueState) -> tr.Command | None:
    kind = op[0]
    ids = sorted(state.tickets)
    if kind == "issue":
        return tr.IssueTicket(str(op[1]), op[2] if op[2] is None else str(op[2]))
    if kind == "next":
        return tr.CallNext(str(op[1]))
    if kind == "finish":
        return tr.Complete(str(op[1]))
    if kind == "no_show":
        return tr.MarkNoShow(str(op[1]))
    if kind == "transfer":
        target = str(op[2])
        return tr.Transfer(str(op[1]), to_counter=target) if target.isdigit() else tr.Transfer(str(op[1]), target)
    if kind == "lease":
        return tr.LeaseNumbers("kiosk-1", str(op[1]), int(op[2]))  # type: ignore[call-overload]
    if kind == "merge" and state.leases:
        lease = sorted(state.leases.values(), key=lambda x: x.id)[int(op[1]) % len(state.leases)]  # type: ignore[call-overload]
        number = min(lease.last, lease.first + int(op[2]))  # type: ignore[call-overload]
        return tr.MergeLeased(lease.id, (tr.LeasedTicket(number, lease.granted_at),))
    if kind == "reactivate":
        no_shows = sorted(t.id for t in state.tickets.values() if t.status is TicketStatus.NO_SHOW)
        return tr.Reactivate(no_shows[int(op[1]) % len(no_shows)]) if no_shows else None  # type: ignore[call-overload]
    if kind == "cancel" and ids:
        return tr.Cancel(ids[int(op[1]) % len(ids)])  # type: ignore[call-overload]
    return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies, ops=commands)
def test_state_machine_invariants(policy: PolicyDef, ops: list[tuple[object, ...]]) -> None:
    from queue_server.domain.model import TicketRules
    center = make_center(policy=policy, rules=TicketRules(recalls_before_no_show=0, recall_delay_s=0,
                                                          max_reactivations=2))
    state = tr.QueueState(center=center)
    now = MONDAY_0800
    log: list[tr.DomainEvent] = []
    for c in ("1", "2", "3"):
        state, events = tr.transition(state, tr.OpenCounter(c), now)
        log += events
    for op in ops:
        if op[0] == "tick":
            now += timedelta(seconds=int(op[1]))  # type: ignore[call-overload]
            continue
        if op[0] == "finish":       # serve first, so complete is legal
            try:
                state, events = tr.transition(state, tr.StartService(str(op[1])), now)
                log += events
            except MotcuaError:
                pass
        command = _command(op, state)
        if command is None:
            continue
        try:
            state, events = tr.transition(state, command, now)
        except MotcuaError:
            continue
        log += events
        event(f"applied {type(command).__name__}")
        # a counter holds at most one ticket and every held ticket is held by exactly its counter
        held = [t for t in state.tickets.values() if t.status in tr.HELD]
        assert sorted(t.id for t in held) == sorted(c.current for c in state.counters.values() if c.current)
        for t in held:
            assert state.counters[t.counter].current == t.id  # type: ignore[index]
        # the queues hold exactly the waiting tickets
        waiting = {t.id for t in state.tickets.values() if t.status is TicketStatus.ISSUED}
        assert {t.id for t in state.waiting()} == waiting and len(state.waiting()) == len(waiting)
    # numbers are unique per service per day, and so are ids
    issued = [e.ticket for e in log if e.type is EventType.TICKET_ISSUED and e.ticket]
    assert len({(t.origin_service, t.day, t.number.number) for t in issued}) == len(issued)
    # a finished ticket is never called again; a ticket is called again only after a transfer or reactivation
    calls = Tally(e.ticket.id for e in log if e.type is EventType.TICKET_CALLED and e.ticket)
    requeued = Tally(e.ticket.id for e in log if e.ticket and e.type in (EventType.TICKET_TRANSFERRED,
                                                                          EventType.TICKET_REACTIVATED))
    for tid, n in calls.items():
        assert n <= 1 + requeued[tid]
    done = {e.ticket.id: i for i, e in enumerate(log) if e.type is EventType.TICKET_DONE and e.ticket}
    for i, e in enumerate(log):
        if e.type is EventType.TICKET_CALLED and e.ticket and e.ticket.id in done:
            assert i < done[e.ticket.id]
    # and the event log alone rebuilds the same state
    replayed = tr.QueueState(center=center)
    for e in log:
        tr.evolve(replayed, e)
    assert replayed.comparable() == state.comparable()
