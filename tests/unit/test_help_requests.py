"""Open help requests ("Cần hỗ trợ") as part of the snapshot, against BOTH event stores: a request stays until
answered, pressing again keeps its first time, a new writer on the same store reads today's open ones back from the
log (MemoryStore and SQLite alike: the EventStore seam ``events_since``), and the next day starts with none."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hub_center import MONDAY_0800, make_center

from contracts.messages import Envelope
from queue_server.adapters.memory_store import MemoryStore
from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app.help_requests import HELP_EVENTS, HelpRequest, OpenHelpRequests
from queue_server.app.ports import EventStore, FixedClock
from queue_server.app.projector import day_start
from queue_server.app.queue_service import QueueService
from queue_server.app.writer import AskHelp, Reply, _Job

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


def test_one_open_request_per_kiosk_within_one_writer_batch(store: EventStore) -> None:
    """Presses of the same kiosk decided in ONE writer batch (none applied to the view yet), as when many arrive at
    once: one help.requested, every press answered with it. The batch is handed to the writer's batch step directly,
    so it is one batch every time."""
    clock = FixedClock(MONDAY_0800)
    svc = QueueService(CENTER, store, clock)
    try:
        jobs = [_Job(AskHelp("help.requested", {"kiosk": k}), Reply()) for k in ("k1", "k2", "k1", "k1")]
        svc._writer._process(jobs)                  # the seam under test: one batch of the writer
        answers = [job.future.result() for job in jobs]
        assert [type(a).__name__ for a in answers] == ["Envelope", "Envelope", "HelpRequest", "HelpRequest"]
        assert answers[2] == answers[3] == HelpRequest("k1", answers[0].seq, answers[0].at, MONDAY_0800.date())
        assert [(e.type, e.data) for e in svc.events_after(0)] == [("help.requested", {"kiosk": "k1"}),
                                                                  ("help.requested", {"kiosk": "k2"})]
        request, new = svc.ask_help("k1")                       # later, still unanswered: nothing written
        assert (request, new) == (answers[2], False)
        svc.record_event("help.answered", {"kiosk": "k1", "staff": "canbo"})
        request, new = svc.ask_help("k1")                       # answered: the next press is a new request
        assert new and request.seq == 4
        assert len(svc.events_after(0)) == 4
    finally:
        svc.close()


def test_open_request_counts_the_pending_batch() -> None:
    day = MONDAY_0800.date()
    at = "2026-11-23T08:00:00+07:00"
    view = OpenHelpRequests([Envelope("e1", 1, "help.requested", "c", at, {"kiosk": "k1"})])
    assert view.open_request("k1", day) == HelpRequest("k1", 1, at, day)
    assert view.open_request("k1", day + timedelta(days=1)) is None          # yesterday's is not open today
    answered = [Envelope("e2", 2, "help.answered", "c", at, {"kiosk": "k1", "staff": "canbo"})]
    assert view.open_request("k1", day, answered) is None
    asked = [Envelope("e3", 3, "help.requested", "c", at, {"kiosk": "k2"})]
    assert view.open_request("k2", day) is None and view.open_request("k2", day, asked) == HelpRequest("k2", 3, at, day)
