"""The demo's accelerated clock: a morning in a minute."""
from __future__ import annotations

import time
from datetime import datetime, timedelta


class AcceleratedClock:
    """A Clock (queue_server.app.ports) that runs ``speed`` times faster than the wall clock from ``start``."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.start = start
        self.speed = speed
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    def reset(self) -> None:
        """Back to ``start`` (used once, when everything is up and before the first command)."""
        self._t0 = time.monotonic()

    def real_seconds(self, sim_seconds: float) -> float:
        return sim_seconds / self.speed
