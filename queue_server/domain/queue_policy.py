"""The ordering policies: which waiting ticket of one service is called next, and how many are ahead of one.

Pure: no I/O. A service's queue is three sorted lists of keys ``(queued_at, queue_seq, id)``, one per lane:
priority (a legal priority category), booked (a ticket a checked-in booking became) and walk-in; FIFO within a
lane holds by construction. A call is decided in two steps:

1. **Priority against everyone else** — the center's ``[policy]``, unchanged by bookings (so what the kiosk says
   about priority stays true; a booked ticket counts as a "normal" one here):

   * ``strict``: every priority ticket before any other.
   * ``interleave N:1``: one priority ticket after N others. ``streak`` counts non-priority tickets called since
     the last priority one; it starts at N each day so a priority citizen who is first in the morning is called
     first. With no other ticket waiting, priority tickets are called back to back (nobody is starved).
   * ``weighted``: by waiting time, a priority ticket credited ``priority_bonus_min`` extra minutes, against the
     ticket step 2 would call.

2. **Booked against walk-in** (``policy.booked_walk_ins``, from ``[bookings] placement``):

   * ``0`` (placement "slot_time" or "arrival"): one lane by key — a booked ticket stands where its ``queued_at``
     puts it among the walk-ins (bookings.queue_time decides that time).
   * ``M > 0`` (placement "interleave", ``interleave_walk_ins = M``): after every booked ticket at most M walk-ins
     are called before the next waiting booked ticket. ``walk_ins`` counts walk-ins called since the last booked
     one; it starts at M each day (the first booked citizen waiting in the morning goes first). With no booked
     ticket waiting, walk-ins are called back to back; with no walk-in waiting, booked ones are.

Neither step ever leaves a lane's head waiting while the queue would otherwise be empty. The weighted order never
changes while tickets wait (every key ages at the same rate), so it is computed from the keys, not re-scored.
"""
from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass, field
from enum import StrEnum

from .model import PolicyDef, PolicyKind

QueueKey = tuple[float, int, str]   # (queued_at as a POSIX timestamp, queue_seq, ticket id)


class Lane(StrEnum):
    PRIORITY = "priority"
    BOOKED = "booked"
    WALK_IN = "walk_in"


def lane(is_priority: bool | Lane, booked: bool = False) -> Lane:
    """The lane of a ticket: a priority category wins over a booking (the law's precedence), then the booking.
    ``True``/``False`` alone (callers that know no bookings) mean priority / walk-in."""
    if isinstance(is_priority, Lane):
        return is_priority
    return Lane.PRIORITY if is_priority else Lane.BOOKED if booked else Lane.WALK_IN


@dataclass(slots=True)
class ServiceQueue:
    """The waiting tickets of one service. Mutable index owned by QueueState; keys stay sorted."""

    priority: list[QueueKey] = field(default_factory=list)
    normal: list[QueueKey] = field(default_factory=list)     # walk-ins
    booked: list[QueueKey] = field(default_factory=list)

    def keys(self, which: bool | Lane) -> list[QueueKey]:
        which = lane(which)
        return self.priority if which is Lane.PRIORITY else self.booked if which is Lane.BOOKED else self.normal

    def add(self, key: QueueKey, which: bool | Lane) -> None:
        insort(self.keys(which), key)

    def remove(self, key: QueueKey, which: bool | Lane) -> bool:
        keys = self.keys(which)
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            del keys[i]
            return True
        return False

    def __len__(self) -> int:
        return len(self.priority) + len(self.normal) + len(self.booked)

    def copy(self) -> ServiceQueue:
        return ServiceQueue(list(self.priority), list(self.normal), list(self.booked))


def _interleave_n(policy: PolicyDef) -> int:
    return max(1, policy.interleave_normal)


def _mix(policy: PolicyDef) -> int:
    return max(0, policy.booked_walk_ins)


def _bonus_s(policy: PolicyDef) -> float:
    return float(policy.priority_bonus_min) * 60.0


def full_walk_ins(policy: PolicyDef) -> int:
    """The day's starting ``walk_ins``: "full", so a booked ticket waiting first thing is called first."""
    return max(1, _mix(policy))


def _other(policy: PolicyDef, b_head: QueueKey | None, w_head: QueueKey | None, walk_ins: int) -> Lane | None:
    """Step 2: the booked or the walk-in head; None when neither waits."""
    if b_head is None:
        return None if w_head is None else Lane.WALK_IN
    if w_head is None:
        return Lane.BOOKED
    m = _mix(policy)
    if m == 0:
        return Lane.BOOKED if b_head < w_head else Lane.WALK_IN
    return Lane.BOOKED if walk_ins >= m else Lane.WALK_IN


def _choose(policy: PolicyDef, p_head: QueueKey | None, o_head: QueueKey | None, streak: int) -> bool | None:
    """Step 1: True = the priority head, False = the other head (step 2's choice), None = nobody waits."""
    if p_head is None:
        return None if o_head is None else False
    if o_head is None or policy.kind is PolicyKind.STRICT:
        return True
    if policy.kind is PolicyKind.INTERLEAVE:
        return streak >= _interleave_n(policy)
    # WEIGHTED: earlier effective time first; queue_seq is unique, so there are no ties
    return (p_head[0] - _bonus_s(policy), p_head[1]) < (o_head[0], o_head[1])


def _next(policy: PolicyDef, q: ServiceQueue, i: int, j: int, k: int, streak: int, walk_ins: int) -> Lane | None:
    """The lane called next when the first i priority, j booked and k walk-in keys are gone."""
    p, b, w = q.priority, q.booked, q.normal
    other = _other(policy, b[j] if j < len(b) else None, w[k] if k < len(w) else None, walk_ins)
    o_head = None if other is None else (b[j] if other is Lane.BOOKED else w[k])
    choice = _choose(policy, p[i] if i < len(p) else None, o_head, streak)
    if choice is None:
        return None
    return Lane.PRIORITY if choice else other


def pick_lane(policy: PolicyDef, queue: ServiceQueue, streak: int,
              walk_ins: int | None = None) -> tuple[QueueKey, Lane] | None:
    """The key called next and its lane; None when nobody waits."""
    chosen = _next(policy, queue, 0, 0, 0, streak, full_walk_ins(policy) if walk_ins is None else walk_ins)
    return None if chosen is None else (queue.keys(chosen)[0], chosen)


def pick(policy: PolicyDef, queue: ServiceQueue, streak: int,
         walk_ins: int | None = None) -> tuple[QueueKey, bool] | None:
    """The key called next and whether it is a priority ticket; None when nobody waits."""
    chosen = pick_lane(policy, queue, streak, walk_ins)
    return None if chosen is None else (chosen[0], chosen[1] is Lane.PRIORITY)


def next_streak(streak: int, called_priority: bool) -> int:
    return 0 if called_priority else streak + 1


def next_walk_ins(walk_ins: int, called: Lane) -> int:
    """Walk-ins called since the last booked ticket, after a call in lane ``called`` (priority calls leave it)."""
    if called is Lane.BOOKED:
        return 0
    return walk_ins + 1 if called is Lane.WALK_IN else walk_ins


def call_order_lanes(policy: PolicyDef, queue: ServiceQueue, streak: int,
                     walk_ins: int | None = None) -> list[tuple[QueueKey, Lane]]:
    """Every waiting key in the order the policy would call them if nobody else joined, with its lane. O(n)."""
    walk = full_walk_ins(policy) if walk_ins is None else walk_ins
    at = {Lane.PRIORITY: 0, Lane.BOOKED: 0, Lane.WALK_IN: 0}
    out: list[tuple[QueueKey, Lane]] = []
    while True:
        chosen = _next(policy, queue, at[Lane.PRIORITY], at[Lane.BOOKED], at[Lane.WALK_IN], streak, walk)
        if chosen is None:
            return out
        out.append((queue.keys(chosen)[at[chosen]], chosen))
        at[chosen] += 1
        streak = next_streak(streak, chosen is Lane.PRIORITY)
        walk = next_walk_ins(walk, chosen)


def call_order(policy: PolicyDef, queue: ServiceQueue, streak: int,
               walk_ins: int | None = None) -> list[tuple[QueueKey, bool]]:
    """Every waiting key in call order and whether it is a priority ticket. O(n)."""
    return [(k, which is Lane.PRIORITY) for k, which in call_order_lanes(policy, queue, streak, walk_ins)]


def _others_before(policy: PolicyDef, queue: ServiceQueue, walk_ins: int, key: QueueKey, which: Lane) -> int:
    """Booked and walk-in tickets called before ``key`` (a booked or walk-in key), ignoring priority. O(log n)."""
    b, w = queue.booked, queue.normal
    m = _mix(policy)
    if m == 0 or not b and which is Lane.WALK_IN:
        return bisect_left(w, key) + bisect_left(b, key)       # one lane by key
    first_gap = 0 if walk_ins >= m else m - walk_ins            # walk-ins before the first booked ticket
    if which is Lane.BOOKED:
        own = bisect_left(b, key)
        return own + min(len(w), first_gap + own * m)
    own = bisect_left(w, key)
    booked_before = 0 if own < first_gap else 1 + (own - first_gap) // m
    return own + min(len(b), booked_before)


def ahead_of(policy: PolicyDef, queue: ServiceQueue, streak: int, key: QueueKey, is_priority: bool | Lane,
             walk_ins: int | None = None) -> int:
    """How many waiting tickets are called before ``key`` (in the queue or about to join it), in its lane
    (``True``/``False``: priority / walk-in). O(log n), except the weighted policy with bookings interleaved and
    a booked ticket waiting (O(n)). Equal to its index in ``call_order`` (a property test checks that)."""
    which = lane(is_priority)
    walk = full_walk_ins(policy) if walk_ins is None else walk_ins
    p = queue.priority
    others = len(queue.booked) + len(queue.normal)
    if policy.kind is PolicyKind.WEIGHTED and _mix(policy) > 0 and (queue.booked or which is Lane.BOOKED):
        return _index_in_order(policy, queue, streak, walk, key, which)
    if which is Lane.PRIORITY:
        own = bisect_left(p, key)                                # same-lane tickets ahead (FIFO)
        if policy.kind is PolicyKind.STRICT:
            return own
        if policy.kind is PolicyKind.INTERLEAVE:
            size = _interleave_n(policy)
            full = streak >= size
            others_before = own * size if full else (size - streak) + own * size
            return own + min(others, others_before)
        # weighted, the others in one order by key (no interleaved booked ticket waits)
        eff = (key[0] - _bonus_s(policy), key[1])
        return own + bisect_left(queue.normal, eff) + bisect_left(queue.booked, eff)
    own = _others_before(policy, queue, walk, key, which)         # booked and walk-ins ahead, in their mix
    if policy.kind is PolicyKind.STRICT:
        return len(p) + own
    if policy.kind is PolicyKind.INTERLEAVE:
        size = _interleave_n(policy)
        if streak >= size:
            priorities_before = 1 + own // size
        else:
            first_gap = size - streak
            priorities_before = 0 if own < first_gap else 1 + (own - first_gap) // size
        return own + min(len(p), priorities_before)
    return own + bisect_left(p, (key[0] + _bonus_s(policy), key[1]))


def _index_in_order(policy: PolicyDef, queue: ServiceQueue, streak: int, walk_ins: int, key: QueueKey,
                    which: Lane) -> int:
    keys = queue.keys(which)
    i = bisect_left(keys, key)
    trial = queue
    if not (i < len(keys) and keys[i] == key):
        trial = queue.copy()
        trial.add(key, which)
    return [k for k, _ in call_order_lanes(policy, trial, streak, walk_ins)].index(key)
