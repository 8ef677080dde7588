"""OutboxRelay against a real SQLite file and the mock main system over real HTTP on 127.0.0.1."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from contracts.messages import VN_TZ, Envelope
from queue_server.adapters.outbox import (
    DeliveryError,
    HttpSender,
    OutboxItem,
    OutboxRelay,
    OutboxSettings,
)
from queue_server.mock_main_system import MockMainSystem

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]

SECRET = "khoa-ky-hmac"
AT = datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ)


class EventLog:
    """Stands in for QueueService.events_after: a growing, gap-free log."""

    def __init__(self) -> None:
        self.events: list[Envelope] = []

    def add(self, n: int) -> None:
        for _ in range(n):
            seq = len(self.events) + 1
            self.events.append(Envelope.new(seq, "ticket.issued", "tt-hcc", AT, {"ticket": {"number": f"A{seq:03d}"}}))

    def after(self, seq: int, limit: int) -> list[Envelope]:
        return self.events[seq:seq + limit]


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


class ScriptedSender:
    def __init__(self, failures: dict[int, int] | None = None, refuse: set[int] | None = None) -> None:
        self.failures = failures or {}       # seq -> how many times to fail first
        self.refuse = refuse or set()        # seq -> refused for good (non-retryable)
        self.sent: list[int | None] = []
        self.tries: list[int | None] = []

    def send(self, item: OutboxItem) -> None:
        self.tries.append(item.seq)
        if item.seq in self.refuse:
            raise DeliveryError("HTTP 422: bad payload", retryable=False)
        if self.failures.get(item.seq or 0, 0) > 0:
            self.failures[item.seq or 0] -= 1
            raise DeliveryError("ConnectionError")
        self.sent.append(item.seq)


@pytest.fixture
def mock() -> Iterator[MockMainSystem]:
    m = MockMainSystem(secret=SECRET).start()
    yield m
    m.stop()


def settings(mock: MockMainSystem | None = None, **kw: object) -> OutboxSettings:
    base = {"events_url": (mock.url if mock else "http://127.0.0.1:9") + "/api/motcua/events",
            "hmac_secret": SECRET, "base_backoff_s": 1.0, "max_backoff_s": 60.0, "timeout_s": 2.0}
    base.update(kw)
    return OutboxSettings(**base)  # type: ignore[arg-type]


def test_delivers_in_order_signed_with_idempotency_key(tmp_path: Path, mock: MockMainSystem) -> None:
    log = EventLog()
    log.add(25)
    relay = OutboxRelay(tmp_path / "outbox.sqlite3", "tt-hcc", log.after, HttpSender(settings(mock)),
                        settings(mock, fetch_limit=10))
    assert relay.run_once() == 25
    assert [e.seq for e in mock.received] == list(range(1, 26))
    assert [e.key for e in mock.received] == [e.id for e in log.events]
    assert mock.bad_signatures == 0
    m = relay.metrics()
    assert m["pending_count"] == 0 and m["oldest_undelivered_age_s"] == 0 and m["cursor_seq"] == 25
    relay.close()


def test_receiver_refuses_a_bad_signature_and_the_event_stays_pending(tmp_path: Path, mock: MockMainSystem) -> None:
    log = EventLog()
    log.add(2)
    wrong = settings(mock, hmac_secret="khoa-sai")
    relay = OutboxRelay(tmp_path / "o.sqlite3", "tt-hcc", log.after, HttpSender(wrong), wrong)
    assert relay.run_once() == 0
    assert mock.bad_signatures == 1 and mock.received == []
    assert relay.metrics()["pending_count"] == 2
    assert "401" in relay.metrics()["last_error"]
    relay.close()


def test_5xx_backs_off_exponentially_with_jitter_and_keeps_order(tmp_path: Path, mock: MockMainSystem) -> None:
    log = EventLog()
    log.add(3)
    clock = Clock()
    s = settings(mock)
    relay = OutboxRelay(tmp_path / "o.sqlite3", "tt-hcc", log.after, HttpSender(s), s, clock=clock, rng=lambda: 1.0)
    mock.set_fault("error")
    delays = []
    for _ in range(4):
        assert relay.run_once() == 0
        conn = sqlite3.connect(tmp_path / "o.sqlite3")
        head = conn.execute("SELECT next_attempt_at, attempts FROM outbox_items ORDER BY id LIMIT 1").fetchone()
        behind = conn.execute("SELECT max(attempts) FROM outbox_items WHERE seq > 1").fetchone()[0]
        conn.close()
        delays.append(round(head[0] - clock.t, 3))
        assert behind == 0                    # nothing behind the head was tried: order is kept
        clock.t = head[0]
    assert delays == [1.0, 2.0, 4.0, 8.0]
    mock.set_fault("up")
    assert relay.run_once() == 3
    assert [e.seq for e in mock.received] == [1, 2, 3]
    relay.close()


def test_jitter_spreads_retries(tmp_path: Path) -> None:
    log = EventLog()
    log.add(1)
    clock = Clock()
    relay = OutboxRelay(tmp_path / "o.sqlite3", "tt-hcc", log.after, ScriptedSender({1: 5}), settings(),
                        clock=clock, rng=lambda: 0.0)
    relay.run_once()
    row = sqlite3.connect(tmp_path / "o.sqlite3").execute("SELECT next_attempt_at FROM outbox_items").fetchone()
    assert row[0] - clock.t == pytest.approx(0.5)     # equal jitter: between half and all of the delay
    relay.close()


def test_dead_letter_after_limit_then_next_goes_and_requeue(tmp_path: Path) -> None:
    log = EventLog()
    log.add(3)
    clock = Clock()
    sender = ScriptedSender({2: 99})
    relay = OutboxRelay(tmp_path / "o.sqlite3", "tt-hcc", log.after, sender, settings(max_attempts=3),
                        clock=clock, rng=lambda: 1.0)
    for _ in range(3):
        relay.run_once()
        clock.t += 100
    relay.run_once()
    assert sender.sent == [1, 3]
    m = relay.metrics()
    assert m["dead_count"] == 1 and m["pending_count"] == 0
    assert relay.dead_letters()[0]["seq"] == 2 and relay.dead_letters()[0]["attempts"] == 3
    sender.failures[2] = 0
    assert relay.requeue_dead() == 1
    relay.run_once()
    assert sender.sent == [1, 3, 2]
    relay.close()


def test_refused_payload_is_dead_lettered_at_once(tmp_path: Path) -> None:
    log = EventLog()
    log.add(2)
    sender = ScriptedSender(refuse={1})
    relay = OutboxRelay(tmp_path / "o.sqlite3", "tt-hcc", log.after, sender, settings())
    relay.run_once()
    assert sender.sent == [2] and relay.metrics()["dead_count"] == 1
    relay.close()


def test_restart_resumes_from_cursor_without_requeueing(tmp_path: Path) -> None:
    log = EventLog()
    log.add(5)
    clock = Clock()
    sender = ScriptedSender({4: 1})
    relay = OutboxRelay(tmp_path / "o.sqlite3", "tt-hcc", log.after, sender, settings(), clock=clock)
    relay.run_once()
    relay.close()
    log.add(2)
    sender2 = ScriptedSender()
    clock.t += 10
    again = OutboxRelay(tmp_path / "o.sqlite3", "tt-hcc", log.after, sender2, settings(), clock=clock)
    again.run_once()
    assert sender.sent == [1, 2, 3] and sender2.sent == [4, 5, 6, 7]
    again.close()


def test_metrics_age_of_oldest_undelivered(tmp_path: Path) -> None:
    log = EventLog()
    log.add(2)
    clock = Clock()
    relay = OutboxRelay(tmp_path / "o.sqlite3", "tt-hcc", log.after, ScriptedSender({1: 99}), settings(),
                        clock=clock)
    relay.run_once()
    clock.t += 42
    m = relay.metrics()
    assert m["pending_count"] == 2 and m["oldest_undelivered_age_s"] == 42.0
    relay.close()


def test_rating_aggregates_are_delivered_once_per_content(tmp_path: Path, mock: MockMainSystem) -> None:
    clock = Clock()
    aggregate = {"center": "tt-hcc", "day": "2026-11-23", "levels": {"3": 40, "2": 7, "1": 1}}
    current = [aggregate]
    s = settings(mock, aggregate_interval_s=60)
    relay = OutboxRelay(tmp_path / "o.sqlite3", "tt-hcc", EventLog().after, HttpSender(s), s,
                        fetch_aggregates=lambda: current, clock=clock)
    assert relay.run_once() == 1
    clock.t += 61
    assert relay.run_once() == 0                      # unchanged: not sent again
    current = [{**aggregate, "levels": {"3": 41, "2": 7, "1": 1}}]
    clock.t += 61
    assert relay.run_once() == 1
    assert [e.type for e in mock.received] == ["rating.daily_aggregate"] * 2
    assert mock.received[1].body["levels"]["3"] == 41
    relay.close()


def test_thread_drains_on_wake_and_stops(tmp_path: Path, mock: MockMainSystem) -> None:
    log = EventLog()
    s = settings(mock, poll_interval_s=30)             # only wake() can make it deliver quickly
    relay = OutboxRelay(tmp_path / "o.sqlite3", "tt-hcc", log.after, HttpSender(s), s).start()
    log.add(10)
    relay.wake()
    assert mock.wait_for_events(10, timeout=20)
    relay.stop()
    log.add(1)
    relay.wake()
    assert not mock.wait_for_events(11, timeout=0.3)
    relay.close()


def test_batched_delivery_keeps_order_and_per_event_keys(tmp_path: Path, mock: MockMainSystem) -> None:
    log = EventLog()
    log.add(25)
    clock = Clock()
    s = settings(mock, batch_size=10)
    sender = HttpSender(s)
    relay = OutboxRelay(tmp_path / "o.sqlite3", "tt-hcc", log.after, sender, s, clock=clock)
    mock.set_fault("error")
    assert relay.run_once() == 0
    mock.set_fault("up")
    clock.t += 100
    assert relay.run_once() == 25
    assert [e.seq for e in mock.received] == list(range(1, 26))
    assert [e.key for e in mock.received] == [e.id for e in log.events]
    sender.close()
    relay.close()


def test_kept_alive_connection_survives_a_receiver_restart(tmp_path: Path, mock: MockMainSystem) -> None:
    log = EventLog()
    log.add(1)
    s = settings(mock)
    relay = OutboxRelay(tmp_path / "o.sqlite3", "tt-hcc", log.after, HttpSender(s), s)
    assert relay.run_once() == 1
    mock.go_down()
    mock.come_up()
    log.add(1)
    assert relay.run_once() == 1                       # the stale socket is replaced, not counted as a failure
    assert relay.metrics()["last_error"] == ""
    relay.close()
