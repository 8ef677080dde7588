"""The ordering policies: which waiting ticket of one service is called next, and how many are ahead of one.

Pure: no I/O. A service's queue is two sorted lists (priority, normal) of keys ``(queued_at, queue_seq, id)``;
FIFO within a class holds by construction. The policies:

* ``strict``: every priority ticket before any normal one.
* ``interleave N:1``: one priority ticket after N normal ones. ``streak`` counts normal tickets called since
  the last priority one; it starts at N each day so a priority citizen who is first in the morning is called
  first. With no normal ticket waiting, priority tickets are called back to back (nobody is starved).
* ``weighted``: by waiting time, a priority ticket credited ``priority_bonus_min`` extra minutes. Because every
  waiting ticket ages at the same rate, that order never changes while they wait: it is the order of
  ``queued_at − bonus`` — so it is computed from the keys, not re-scored each call.
"""
from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass, field

from .model import PolicyDef, PolicyKind

QueueKey = tuple[float, int, str]   # (queued_at as a POSIX timestamp, queue_seq, ticket id)


@dataclass(slots=True)
class ServiceQueue:
    """The waiting tickets of one service. Mutable index owned by QueueState; keys stay sorted."""

    priority: list[QueueKey] = field(default_factory=list)
    normal: list[QueueKey] = field(default_factory=list)

    def add(self, key: QueueKey, is_priority: bool) -> None:
        insort(self.priority if is_priority else self.normal, key)

    def remove(self, key: QueueKey, is_priority: bool) -> bool:
        keys = self.priority if is_priority else self.normal
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            del keys[i]
            return True
        return False

    def __len__(self) -> int:
        return len(self.priority) + len(self.normal)

    def copy(self) -> ServiceQueue:
        return ServiceQueue(list(self.priority), list(self.normal))


def _interleave_n(policy: PolicyDef) -> int:
    return max(1, policy.interleave_normal)


def _bonus_s(policy: PolicyDef) -> float:
    return float(policy.priority_bonus_min) * 60.0


def _choose(policy: PolicyDef, p_head: QueueKey | None, n_head: QueueKey | None, streak: int) -> bool | None:
    """True = call the priority head, False = the normal head, None = nobody waits."""
    if p_head is None:
        return None if n_head is None else False
    if n_head is None or policy.kind is PolicyKind.STRICT:
        return True
    if policy.kind is PolicyKind.INTERLEAVE:
        return streak >= _interleave_n(policy)
    # WEIGHTED: earlier effective time first; queue_seq is unique, so there are no ties
    return (p_head[0] - _bonus_s(policy), p_head[1]) < (n_head[0], n_head[1])


def pick(policy: PolicyDef, queue: ServiceQueue, streak: int) -> tuple[QueueKey, bool] | None:
    """The key called next and whether it is a priority ticket; None when nobody waits."""
    p, n = queue.priority, queue.normal
    choice = _choose(policy, p[0] if p else None, n[0] if n else None, streak)
    if choice is None:
        return None
    return (p[0], True) if choice else (n[0], False)


def next_streak(streak: int, called_priority: bool) -> int:
    return 0 if called_priority else streak + 1


def call_order(policy: PolicyDef, queue: ServiceQueue, streak: int) -> list[tuple[QueueKey, bool]]:
    """Every waiting key in the order the policy would call them if nobody else joined. O(n)."""
    p, n = queue.priority, queue.normal
    i = j = 0
    out: list[tuple[QueueKey, bool]] = []
    while True:
        choice = _choose(policy, p[i] if i < len(p) else None, n[j] if j < len(n) else None, streak)
        if choice is None:
            return out
        if choice:
            out.append((p[i], True))
            i += 1
        else:
            out.append((n[j], False))
            j += 1
        streak = next_streak(streak, choice)


def ahead_of(policy: PolicyDef, queue: ServiceQueue, streak: int, key: QueueKey, is_priority: bool) -> int:
    """How many waiting tickets are called before ``key`` (in the queue or about to join it). O(log n).

    Equal to its index in ``call_order`` (a property test checks that).
    """
    p, n = queue.priority, queue.normal
    own = bisect_left(p if is_priority else n, key)   # same-class tickets ahead (FIFO)
    if policy.kind is PolicyKind.STRICT:
        return own if is_priority else len(p) + own
    if policy.kind is PolicyKind.INTERLEAVE:
        size = _interleave_n(policy)
        full = streak >= size
        if is_priority:
            normals_before = own * size if full else (size - streak) + own * size
            return own + min(len(n), normals_before)
        if full:
            priorities_before = 1 + own // size
        else:
            first_gap = size - streak
            priorities_before = 0 if own < first_gap else 1 + (own - first_gap) // size
        return own + min(len(p), priorities_before)
    bonus = _bonus_s(policy)
    if is_priority:
        return own + bisect_left(n, (key[0] - bonus, key[1]))
    return own + bisect_left(p, (key[0] + bonus, key[1]))
