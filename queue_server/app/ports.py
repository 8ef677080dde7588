"""Ports of the hub's use cases: the clock and the event listener callback (adapters plug in here).

No I/O of its own. Tests use FixedClock, never the wall clock.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from contracts.messages import VN_TZ, Envelope


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware (Vietnam time)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(VN_TZ)


class FixedClock:
    """A clock that only moves when told to (thread-safe)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware start")
        self._now = start.astimezone(VN_TZ)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FixedClock needs timezone-aware times")
        with self._lock:
            self._now = moment.astimezone(VN_TZ)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """``advance(seconds=30)`` or ``advance(timedelta(minutes=5))``; returns the new now."""
        step = (delta or timedelta()) + timedelta(**kwargs)
        with self._lock:
            self._now = self._now + step
            return self._now


EventListener = Callable[[Sequence[Envelope]], None]
