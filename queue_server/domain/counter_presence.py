"""Which open counters have gone silent: nobody at the console or keypad for longer than the center allows.

Pure: the caller passes the counters, when each was last heard from and the moment. A silent counter is still
open in the log (nobody closed it); it is only flagged on the manager board and left out of wait estimates, so a
citizen is not promised a counter whose staff member went home without logging out.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .model import Counter, CounterId, CounterStatus


def last_heard(counter: Counter, seen: datetime | None, started: datetime) -> datetime:
    """The latest sign of life: a console or keypad touch, the counter's own last change, or the hub's start (a
    restarted hub knows no touches and must not flag every counter at once)."""
    moments = [started] + [m for m in (seen, counter.since) if m is not None]
    return max(moments)


def silent_counters(counters: Mapping[CounterId, Counter], seen: Mapping[CounterId, datetime], now: datetime,
                    silent_after_s: float, started: datetime) -> frozenset[CounterId]:
    """Open counters not heard from for ``silent_after_s`` or more (none when ``silent_after_s`` <= 0)."""
    if silent_after_s <= 0:
        return frozenset()
    return frozenset(cid for cid, c in counters.items()
                     if c.status is CounterStatus.OPEN
                     and (now - last_heard(c, seen.get(cid), started)).total_seconds() >= silent_after_s)
