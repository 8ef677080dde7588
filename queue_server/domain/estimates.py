"""Estimated wait for a citizen: people ahead × recent average service time ÷ open counters serving it.

Pure: no I/O. Until today has completed tickets for a service, its configured ``avg_service_min`` is the prior.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

RECENT_WINDOW = 10   # completed tickets per service that make the "recent" average


def average_service_min(recent_service_s: Iterable[float], prior_min: float) -> float:
    values = [v for v in recent_service_s if v >= 0]
    if not values:
        return prior_min
    return sum(values) / len(values) / 60.0


def estimate_wait_min(ahead: int, avg_service_min: float, open_counters: int) -> int:
    """Whole minutes, rounded up. With no open counter we assume one will open (rather than "infinite")."""
    if ahead <= 0:
        return 0
    return math.ceil(ahead * avg_service_min / max(1, open_counters) - 1e-9)
