"""QueueService on a real SQLite file: concurrent commands, group commit, every acknowledged event on disk.

The command scenarios (errors, counters, queries, listeners, leases) run against both stores in
tests/unit/test_queue_commands.py."""
from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hub_center import DAT_DAI, HO_TICH, MONDAY_0800, make_center

from contracts.messages import Envelope
from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app.ports import FixedClock
from queue_server.app.queue_service import QueueService

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(120)]
CENTER = make_center()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_0800)


@pytest.fixture
def svc(tmp_path: Path, clock: FixedClock) -> Iterator[QueueService]:
    service = QueueService(CENTER, SqliteStore(tmp_path / "hub.db"), clock)
    yield service
    service.close()


def test_concurrent_issues_get_unique_numbers_and_listeners_see_every_event_once_in_order(
        svc: QueueService, tmp_path: Path) -> None:
    seen: list[Envelope] = []
    batches: list[int] = []

    def listener(events: Sequence[Envelope]) -> None:
        batches.append(len(events))
        seen.extend(events)

    svc.add_listener(listener)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        try:
            for i in range(40):
                r = svc.issue_ticket(HO_TICH if (n + i) % 2 else DAT_DAI, "elderly" if i % 7 == 0 else None)
                with lock:
                    results.append(r.ticket.id)
        except Exception as err:  # noqa: BLE001 - reported by the assert below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(results) == 320 and len(set(results)) == 320
    assert [e.seq for e in seen] == list(range(1, 321))
    assert {e.data["ticket"]["id"] for e in seen} == set(results)
    # every acknowledged ticket is stored (a second connection sees it)
    again = SqliteStore(tmp_path / "hub.db")
    assert again.last_seq == 320
    again.close()
    for code in (HO_TICH, DAT_DAI):
        numbers = sorted(t.number.number for t in svc.waiting(code))
        assert numbers == list(range(1, 161))
