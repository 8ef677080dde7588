"""Booked tickets against walk-ins (issue 16, [bookings] placement): the three lanes of queue_policy, as pure order
properties (Hypothesis) and through the state machine, the stores' reload and a replay of the log."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hub_center import DAT_DAI, HO_TICH, MONDAY_0800, make_center
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.errors import MotcuaError
from contracts.messages import Envelope, event_id, format_at
from queue_server.adapters.memory_store import MemoryStore
from queue_server.app.projector import Projections, collect_rows
from queue_server.app.views import event_data
from queue_server.domain import queue_policy as qp
from queue_server.domain import transitions as tr
from queue_server.domain.model import PolicyDef, PolicyKind, TicketRules
from queue_server.domain.queue_policy import Lane

pytestmark = pytest.mark.unit

P, B, W = Lane.PRIORITY, Lane.BOOKED, Lane.WALK_IN

priority_policies = st.one_of(
    st.just(PolicyDef(PolicyKind.STRICT)),
    st.builds(PolicyDef, kind=st.just(PolicyKind.INTERLEAVE), interleave_normal=st.integers(1, 4)),
    st.builds(PolicyDef, kind=st.just(PolicyKind.WEIGHTED), priority_bonus_min=st.sampled_from([0.0, 5.0, 15.0])),
)
# bookings interleaved (1..4 walk-ins between booked tickets) or not (0: one lane by key)
policies = st.builds(lambda p, m: PolicyDef(p.kind, p.interleave_normal, p.priority_bonus_min,
                                            p.priority_across_services, m),
                     priority_policies, st.integers(0, 4))
# ("join", lane, seconds since the previous join, seconds its queued_at lies before that: a slot_time booking) or
# ("call",)
steps = st.lists(st.one_of(
    st.tuples(st.just("join"), st.sampled_from([P, B, W, W]), st.integers(0, 600), st.integers(0, 900)),
    st.tuples(st.just("call"))), max_size=80)

Moment = tuple[dict[Lane, int], int, int, Lane]   # what waited per lane, streak, walk_ins, the lane called


def run(policy: PolicyDef, ops: list[tuple[object, ...]], streak: int, walk_ins: int
        ) -> tuple[list[tuple[qp.QueueKey, Lane]], list[Moment]]:
    """Join and call on one ServiceQueue (checking ahead_of at each join); the calls and what waited at each."""
    queue = qp.ServiceQueue()
    t, seq = 1_800_000_000.0, 0
    served: list[tuple[qp.QueueKey, Lane]] = []
    moments: list[Moment] = []
    shadow: dict[Lane, set[qp.QueueKey]] = {P: set(), B: set(), W: set()}   # who waits, kept apart from the queue
    for op in ops + [("call",)] * 200:
        if op[0] == "join":
            t += float(op[2])  # type: ignore[arg-type]
            seq += 1
            which = op[1]
            assert isinstance(which, Lane)
            key = (t - float(op[3]) if which is B else t, seq, f"id{seq}")  # type: ignore[arg-type]
            trial = queue.copy()
            trial.add(key, which)
            order = [k for k, _ in qp.call_order_lanes(policy, trial, streak, walk_ins)]
            assert qp.ahead_of(policy, queue, streak, key, which, walk_ins) == order.index(key)
            queue.add(key, which)
            shadow[which].add(key)
            continue
        chosen = qp.pick_lane(policy, queue, streak, walk_ins)
        if chosen is None:
            continue
        key, which = chosen
        assert key == min(shadow[which])          # FIFO within the lane: the earliest queued_at of those waiting
        shadow[which].remove(key)
        assert qp.pick(policy, queue, streak, walk_ins) == (key, which is P)
        moments.append(({P: len(queue.priority), B: len(queue.booked), W: len(queue.normal)}, streak, walk_ins,
                        which))
        assert queue.remove(key, which)
        served.append(chosen)
        streak = qp.next_streak(streak, which is P)
        walk_ins = qp.next_walk_ins(walk_ins, which)
    assert len(queue) == 0
    return served, moments


@settings(max_examples=300, deadline=None)
@given(policy=policies, ops=steps, streak=st.integers(0, 5), walk_ins=st.integers(0, 5))
def test_everyone_is_served_once_fifo_within_each_lane(policy: PolicyDef, ops: list[tuple[object, ...]],
                                                       streak: int, walk_ins: int) -> None:
    served, _ = run(policy, ops, streak, walk_ins)
    joined = sum(1 for op in ops if op[0] == "join")
    ids = [k[2] for k, _ in served]
    assert len(ids) == joined == len(set(ids))
    for which in (P, W):                           # (a slot_time booking may queue before earlier joiners)
        keys = [k for k, lane in served if lane is which]
        assert keys == sorted(keys)


@settings(max_examples=300, deadline=None)
@given(policy=policies, ops=steps, streak=st.integers(0, 5), walk_ins=st.integers(0, 5))
def test_call_order_and_ahead_agree_with_what_is_called(policy: PolicyDef, ops: list[tuple[object, ...]],
                                                        streak: int, walk_ins: int) -> None:
    joins = [op for op in ops if op[0] == "join"]
    queue = qp.ServiceQueue()
    served, _ = run(policy, joins, streak, walk_ins)
    for key, which in served:
        queue.add(key, which)
    order = qp.call_order_lanes(policy, queue, streak, walk_ins)
    assert order == served
    for i, (key, which) in enumerate(order):
        assert qp.ahead_of(policy, queue, streak, key, which, walk_ins) == i


@settings(max_examples=300, deadline=None)
@given(policy=policies.filter(lambda p: p.booked_walk_ins > 0), ops=steps, streak=st.integers(0, 5),
       walk_ins=st.integers(0, 5))
def test_never_more_than_m_walk_ins_between_booked_tickets_while_booked_ones_wait(
        policy: PolicyDef, ops: list[tuple[object, ...]], streak: int, walk_ins: int) -> None:
    _, moments = run(policy, ops, streak, walk_ins)
    m = policy.booked_walk_ins
    run_of_walk_ins = 0
    for waiting, _s, walked, which in moments:
        if which is W:
            if waiting[B]:
                assert walked < m, "a walk-in was called although M walk-ins went since the last booked one"
                run_of_walk_ins += 1
                assert run_of_walk_ins <= m
        elif which is B:
            run_of_walk_ins = 0
            # and a booked ticket is not called ahead of its turn while walk-ins wait
            assert walked >= m or not waiting[W]


@settings(max_examples=300, deadline=None)
@given(policy=policies, ops=steps, streak=st.integers(0, 5), walk_ins=st.integers(0, 5))
def test_priority_keeps_its_precedence_over_booked_and_walk_in_alike(
        policy: PolicyDef, ops: list[tuple[object, ...]], streak: int, walk_ins: int) -> None:
    _, moments = run(policy, ops, streak, walk_ins)
    for waiting, s, _w, which in moments:
        if policy.kind is PolicyKind.STRICT and waiting[P]:
            assert which is P                               # "người được ưu tiên được gọi trước": true
        if policy.kind is PolicyKind.INTERLEAVE and waiting[P] and which is not P:
            assert s < policy.interleave_normal             # one priority after every N others, booked or not


@settings(max_examples=200, deadline=None)
@given(policy=priority_policies, ops=steps, streak=st.integers(0, 5))
def test_without_interleave_a_booked_ticket_stands_among_walk_ins_by_its_time(
        policy: PolicyDef, ops: list[tuple[object, ...]], streak: int) -> None:
    """placement "slot_time" / "arrival" (booked_walk_ins = 0): the order is the one the old two-lane queue gave
    with booked tickets as normal ones — nothing changes for centers that do not interleave."""
    lanes, merged = qp.ServiceQueue(), qp.ServiceQueue()
    t = 1_800_000_000.0
    for seq, op in enumerate(op for op in ops if op[0] == "join"):
        t += float(op[2])  # type: ignore[arg-type]
        key = (t - float(op[3]) if op[1] is B else t, seq, f"id{seq}")  # type: ignore[arg-type]
        lanes.add(key, op[1])  # type: ignore[arg-type]
        merged.add(key, op[1] is P)
    got = [(k, p) for k, p in qp.call_order(policy, lanes, streak, 0)]
    assert got == qp.call_order(policy, merged, streak)
    for i, (key, is_priority) in enumerate(got):
        which = P if is_priority else (B if key in lanes.booked else W)
        assert qp.ahead_of(policy, lanes, streak, key, which, 0) == i == qp.ahead_of(policy, merged, streak, key,
                                                                                      is_priority)


def test_two_walk_ins_then_a_booked_ticket() -> None:
    """The worked example of docs/bookings.md: interleave_walk_ins = 2, one elderly citizen, strict priority."""
    policy = PolicyDef(PolicyKind.STRICT, booked_walk_ins=2)
    q = qp.ServiceQueue()
    for n, which in enumerate([W, W, W, B, W, W, B, W, P]):
        q.add((1_800_000_000.0 + n, n, f"{which}{n}"), which)
    order = [k[2] for k, _ in qp.call_order_lanes(policy, q, 0, qp.full_walk_ins(policy))]
    assert order == ["priority8", "booked3", "walk_in0", "walk_in1", "booked6", "walk_in2", "walk_in4",
                     "walk_in5", "walk_in7"]
    # half-way through a run of walk-ins, the booked ticket waits only for the rest of the run
    assert [k[2] for k, _ in qp.call_order_lanes(policy, q, 0, 1)][:4] == ["priority8", "walk_in0", "booked3",
                                                                            "walk_in1"]


# ------------------------------------------------------------------------- through the state machine and stores
_issue = st.tuples(st.just("issue"), st.sampled_from([HO_TICH, DAT_DAI]),
                   st.sampled_from([None, None, "elderly"]), st.sampled_from([None, None, "booked"]))
commands = st.lists(st.one_of(
    _issue, _issue, _issue, _issue,
    st.tuples(st.just("next"), st.sampled_from(["1", "2", "3"])),
    st.tuples(st.just("next"), st.sampled_from(["1", "2", "3"])),
    st.tuples(st.just("finish"), st.sampled_from(["1", "2", "3"])),
    st.tuples(st.just("no_show"), st.sampled_from(["1", "2", "3"])),
    st.tuples(st.just("transfer"), st.sampled_from(["1", "2", "3"]), st.sampled_from([HO_TICH, DAT_DAI])),
    st.tuples(st.just("reactivate"), st.integers(0, 30)),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("tick"), st.integers(1, 300)),
), min_size=10, max_size=120)


def _command(op: tuple[object, ...], state: tr.QueueState, n: int) -> tr.Command | None:
    kind = op[0]
    if kind == "issue":
        booking = f"BK{n:04d}" if op[3] else None
        return tr.IssueTicket(str(op[1]), op[2] if op[2] is None else str(op[2]), booking=booking)
    if kind == "next":
        return tr.CallNext(str(op[1]))
    if kind == "finish":
        return tr.Complete(str(op[1]))
    if kind == "no_show":
        return tr.MarkNoShow(str(op[1]))
    if kind == "transfer":
        return tr.Transfer(str(op[1]), str(op[2]))
    ids = sorted(state.tickets)
    if kind == "reactivate":
        gone = sorted(t.id for t in state.tickets.values() if str(t.status) == "no_show")
        return tr.Reactivate(gone[int(op[1]) % len(gone)]) if gone else None  # type: ignore[call-overload]
    if kind == "cancel" and ids:
        return tr.Cancel(ids[int(op[1]) % len(ids)])  # type: ignore[call-overload]
    return None


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies, ops=commands)
def test_the_log_and_the_stored_rows_give_back_the_same_order(policy: PolicyDef, ops: list[tuple[object, ...]]
                                                              ) -> None:
    """Live, replayed from the log, and reloaded from a store's rows (a restart): the same queues, streaks and
    call order — the lane comes from the ticket in the event, the walk-in count from the day's calls."""
    center = make_center(policy=policy, rules=TicketRules(recalls_before_no_show=0, recall_delay_s=0,
                                                          max_reactivations=2))
    state = tr.QueueState(center=center)
    store = MemoryStore()
    now = MONDAY_0800
    log: list[tr.DomainEvent] = []
    seq = 0

    def apply(command: tr.Command) -> tuple[tr.DomainEvent, ...]:
        """What the writer does with a command: decide, evolve, collect rows, commit events and rows together."""
        nonlocal seq
        state.roll_to(now.date())
        events = tr.decide(state, command, now).events
        rows = Projections()
        envelopes = []
        for e in events:
            before = dict(state.counters)
            tr.evolve(state, e)
            collect_rows(state, e, before, rows)
            seq += 1
            envelopes.append(Envelope(event_id(e.at), seq, str(e.type), center.id, format_at(e.at),
                                      event_data(center, e, seq)))
        store.commit(envelopes, rows, center, seq)
        log.extend(events)
        return events

    for c in ("1", "2", "3"):
        apply(tr.OpenCounter(c))
    for n, op in enumerate(ops):
        if op[0] == "tick":
            now += timedelta(seconds=int(op[1]))  # type: ignore[call-overload]
            continue
        if op[0] == "finish":
            try:
                apply(tr.StartService(str(op[1])))
            except MotcuaError:
                pass
        command = _command(op, state, n)
        if command is None:
            continue
        try:
            events = apply(command)
        except MotcuaError:
            continue
        if isinstance(command, tr.CallNext) and events and policy.booked_walk_ins and events[0].ticket:
            called = events[0].ticket
            assert called.booking is None or called.priority is not None or \
                state.service_day(called.service).walk_in_streak == 0
    replayed = tr.QueueState(center=center)
    for e in log:
        tr.evolve(replayed, e)
    assert replayed.comparable() == state.comparable()
    assert state.day is not None
    reloaded = store.load_state(center, state.day)
    assert reloaded.comparable() == state.comparable()
    assert [t.id for t in reloaded.waiting()] == [t.id for t in state.waiting()]
    for t in state.waiting():
        assert reloaded.ahead(reloaded.tickets[t.id]) == state.ahead(t)
