"""Open help requests ("Cần hỗ trợ") as part of the snapshot, against BOTH event stores: a request stays until
answered, pressing again keeps its first time, a new writer on the same store reads today's open ones back from the
log (MemoryStore and SQLite alike: the EventStore seam ``events_since``), and the next day starts with none."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hub_center import MONDAY_0800, make_center

from queue_server.adapters.memory_store import MemoryStore
from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app.help_requests import HELP_EVENTS, OpenHelpRequests
from queue_server.app.ports import EventStore, FixedClock
from queue_server.app.projector import day_start
from queue_server.app.queue_service import QueueService

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]
CENTER = make_center()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> EventStore:
    return MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "hub.db")


def test_open_requests_follow_the_log_and_the_day(store: EventStore) -> None:
    clock = FixedClock(MONDAY_0800)
    svc = QueueService(CENTER, store, clock)
    try:
        first = svc.record_event("help.requested", {"kiosk": "k1"})
        clock.advance(minutes=1)
        svc.record_event("help.requested", {"kiosk": "k2"})
        svc.record_event("help.requested", {"kiosk": "k1"})             # pressed again: still since 08:00
        svc.record_event("rating.submitted", {"kiosk": "k2"})           # not a help event
        assert svc.snapshot()["help"] == [{"kiosk": "k1", "seq": first.seq, "at": first.at},
                                          {"kiosk": "k2", "seq": first.seq + 1, "at": "2026-11-23T08:01:00+07:00"}]
        svc.record_event("help.answered", {"kiosk": "k1"})
        assert [r["kiosk"] for r in svc.snapshot()["help"]] == ["k2"]
        # what a restarted hub reads back (Writer._load_help): the same open requests, from today's events only
        monday = MONDAY_0800.date()
        reread = OpenHelpRequests(store.events_since(day_start(monday), HELP_EVENTS))
        assert reread.on(monday) == svc.snapshot()["help"]
        clock.advance(timedelta(days=1))
        assert svc.snapshot()["help"] == []
        svc.record_event("help.requested", {"kiosk": "k3"})
        assert [r["kiosk"] for r in svc.snapshot()["help"]] == ["k3"]
    finally:
        svc.close()
