"""Hubs for the province tests: a real SqliteStore + QueueService (the hub's own event log, a test clock) and the
real province sink (OutboxRelay + ProvinceSender over HTTP). Not full hub processes: no web, no MQTT."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from queue_server.adapters.province_sink import ProvinceSender, ProvinceSinkSettings, build_province_relay
from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app.queue_service import QueueService
from tests.hub_center import MONDAY_0800, make_center


class TestClock:
    def __init__(self, at: datetime) -> None:
        self.at = at
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self.at

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.at += timedelta(seconds=seconds)


class SimHub:
    def __init__(self, root: Path, center_id: str, url: str, key: str, batch_size: int = 50) -> None:
        self.root = root
        self.center_id = center_id
        self.sink = ProvinceSinkSettings(url=url, key=key, outbox_path=root / "outbox-province.sqlite3",
                                         batch_size=batch_size, poll_interval_s=0.2, max_backoff_s=1.0)
        self.clock = TestClock(MONDAY_0800 + timedelta(hours=1))
        self.center = replace(make_center(), id=center_id)
        self._open()
        self.service.open_counter("1")
        self.service.open_counter("2")

    def _open(self) -> None:
        self.store = SqliteStore(self.root / "hub.sqlite3")
        self.service = QueueService(self.center, self.store, self.clock)
        self.relay = build_province_relay(self.sink, self.center_id, self.service.events_after)
        self.service.add_listener(self.relay.wake)

    def start(self) -> SimHub:
        self.relay.start()
        return self

    def work(self, tickets: int) -> None:
        """Issue, call, serve and complete tickets: about 4 events each."""
        for i in range(tickets):
            self.clock.advance(30)
            self.service.issue_ticket("ho-tich" if i % 2 else "dat-dai")
            counter = "2" if i % 2 else "1"
            self.clock.advance(60)
            self.service.call_next(counter)
            self.service.start_service(counter)
            self.clock.advance(120)
            self.service.complete(counter)

    @property
    def last_seq(self) -> int:
        return self.service.last_seq

    def event_ids(self) -> list[tuple[int, str]]:
        return [(e.seq, e.id) for e in self.service.events_after(0, 100_000)]

    def crash(self) -> None:
        """The process dies: the relay thread stops where it is, files stay as they are."""
        self.relay.stop(timeout=10)
        self.relay._conn.close()
        self.relay._read.close()
        self.service.close()

    def restart(self) -> SimHub:
        self._open()
        return self.start()

    def close(self) -> None:
        self.relay.close()
        self.service.close()


class DyingSender(ProvinceSender):
    """Dies (like a killed process) right after its ``after``-th successful POST, before the relay records it."""

    def __init__(self, *args: Any, after: int, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.after = after
        self.posts = 0

    def send_batch(self, items: Any) -> None:
        super().send_batch(items)
        self.posts += 1
        if self.posts >= self.after:
            raise SystemExit("hub killed mid-send")
