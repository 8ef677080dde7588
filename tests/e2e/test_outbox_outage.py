"""The main system goes down for a stretch while the hub keeps issuing tickets; when it comes back every event
arrives exactly once (after deduplication by idempotency key) and in order.

Real parts: QueueService on a real SQLite file, the OutboxRelay thread, the mock main system as a real HTTP server
on a free 127.0.0.1 port (stopped and restarted on the same port), a slow phase that makes the relay time out
after the receiver already stored the event, so duplicates really happen and are really deduplicated.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from datetime import time as clock_time
from pathlib import Path

import pytest

from contracts.messages import VN_TZ
from queue_server.adapters.outbox import HttpSender, OutboxRelay, OutboxSettings
from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app.ports import FixedClock
from queue_server.app.queue_service import QueueService
from queue_server.domain.model import (
    CenterDef,
    CounterDef,
    CounterId,
    ServiceCode,
    ServiceDef,
    WorkingSession,
)
from queue_server.mock_main_system import MockMainSystem

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SECRET = "bi-mat-outbox"


def center() -> CenterDef:
    sessions = (WorkingSession(clock_time(7, 30), clock_time(11, 30)), WorkingSession(clock_time(13, 30),
                                                                                      clock_time(17, 0)))
    return CenterDef(id="tt-hcc", name="Trung tâm Phục vụ hành chính công", name_en="Public Service Center",
                     services=(ServiceDef(ServiceCode("ho-tich"), "Tư pháp – Hộ tịch", "Civil status", "A",
                                          number_end=9999),),
                     counters=(CounterDef(CounterId("1"), "Quầy 1", (ServiceCode("ho-tich"),)),),
                     sessions={d: sessions for d in range(5)})


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_outage_then_recovery_delivers_every_event_once_in_order(tmp_path: Path) -> None:
    mock = MockMainSystem(secret=SECRET).start()
    service = QueueService(center(), SqliteStore(tmp_path / "hub.sqlite3"),
                           FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ)))
    settings = OutboxSettings(events_url=mock.url + "/api/motcua/events", hmac_secret=SECRET,
                              base_backoff_s=0.05, max_backoff_s=0.4, poll_interval_s=0.2, timeout_s=0.25,
                              max_attempts=1000)
    relay = OutboxRelay(tmp_path / "outbox.sqlite3", "tt-hcc", service.events_after, HttpSender(settings),
                        settings)
    service.add_listener(relay.wake)
    relay.start()
    try:
        def issue(n: int) -> None:
            for _ in range(n):
                service.issue_ticket("ho-tich")

        issue(20)
        assert mock.wait_for_events(20, timeout=30)

        mock.go_down()
        issue(40)                                   # events keep coming while the main system is down
        wait_until(lambda: relay.metrics()["pending_count"] >= 1 and relay.metrics()["last_error"] != "",
                   30, "the relay to notice the outage")
        issue(20)
        assert relay.metrics()["pending_count"] >= 20
        assert len(mock.received) == 20

        mock.come_up()
        mock.set_fault("slow", delay_ms=400)        # longer than the relay's timeout: forces re-sends
        issue(5)
        wait_until(lambda: mock.duplicates >= 1, 30, "a duplicate delivery after a timeout")
        mock.set_fault("up")
        issue(15)

        total = service.last_seq
        assert total == 100
        assert mock.wait_for_events(total, timeout=60)
        wait_until(lambda: relay.metrics()["pending_count"] == 0, 30, "the outbox to drain")
    finally:
        relay.stop()
        mock.stop()

    events = service.events_after(0, 1000)
    assert [e.seq for e in mock.received] == [e.seq for e in events] == list(range(1, 101))
    assert [e.key for e in mock.received] == [e.id for e in events]       # exactly once each, in order
    assert mock.duplicates >= 1                                           # at-least-once really re-sent
    assert mock.bad_signatures == 0
    m = relay.metrics()
    assert m["dead_count"] == 0 and m["oldest_undelivered_age_s"] == 0
    relay.close()
    service.close()
