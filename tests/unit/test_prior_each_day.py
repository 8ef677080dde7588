"""The wait estimate's prior follows the days a running hub goes through: read again from the store once on each
new working day (by a command or by a query), never per command, and never for a day already started."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hub_center import HO_TICH, MONDAY_0800, make_center

from queue_server.adapters.memory_store import MemoryStore
from queue_server.app.ports import FixedClock
from queue_server.app.queue_service import QueueService
from queue_server.domain import wait_estimate

pytestmark = pytest.mark.unit


class CountingStore(MemoryStore):
    """A MemoryStore that remembers each day its prior was asked for and answers with a prior of that many days."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[date] = []

    def history_prior(self, day: date) -> wait_estimate.HistoryPrior:
        self.asked.append(day)
        return wait_estimate.HistoryPrior(days=len(self.asked))


def test_the_prior_is_read_again_once_on_each_new_day() -> None:
    clock = FixedClock(MONDAY_0800)
    store = CountingStore()
    svc = QueueService(make_center(), store, clock)
    try:
        for _ in range(5):                      # Monday: many commands, the prior of the start stays
            svc.issue_ticket(HO_TICH)
            clock.advance(minutes=3)
        svc.snapshot()
        assert store.asked == []
        clock.advance(days=1)                   # Tuesday: the first command reads it, the next ones do not
        svc.issue_ticket(HO_TICH)
        svc.issue_ticket(HO_TICH)
        assert store.asked == [MONDAY_0800.date() + timedelta(days=1)]
        assert svc._writer.state.prior.days == 1
        clock.advance(days=1)                   # Wednesday: a screen's query is the first to see the new day
        svc.snapshot()
        svc.issue_ticket(HO_TICH)
        assert store.asked == [MONDAY_0800.date() + timedelta(days=n) for n in (1, 2)]
        assert svc._writer.state.prior.days == 2
        clock.set(MONDAY_0800 + timedelta(days=2, hours=3))     # later the same day: nothing read again
        svc.issue_ticket(HO_TICH)
        assert len(store.asked) == 2
    finally:
        svc.close()
