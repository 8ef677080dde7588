"""Files made by the code before runtime.sqlite (tests/fixtures/legacy, dumped from it) open with today's stores
and keep every row: a hub upgraded in place loses nothing, and each store's versions are adopted, not re-run."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hub_center import DAT_DAI, HO_TICH, MONDAY_0800, make_center

from kiosk.offline import OfflineJournal
from queue_server.adapters.dossier_mirror import DossierMirror
from queue_server.adapters.outbox import OutboxRelay, OutboxSettings
from queue_server.adapters.ratings_store import RatingsStore
from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app.ports import FixedClock
from queue_server.app.queue_service import QueueService
from runtime import sqlite as db

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]

LEGACY = Path(__file__).parent.parent / "fixtures" / "legacy"
CENTER = make_center()


def old_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript((LEGACY / f"{name}.sql").read_text(encoding="utf-8"))
    conn.close()
    return path


def rows(path: Path, table: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
    finally:
        conn.close()


def test_an_old_hub_file_keeps_its_queue_and_ratings_and_serves_on(tmp_path: Path) -> None:
    path = old_file(tmp_path, "hub")
    before = {t: rows(path, t) for t in ("events", "tickets", "counters", "service_days", "leases", "ratings")}
    clock = FixedClock(MONDAY_0800)
    clock.advance(minutes=10)
    store = SqliteStore(path)
    assert store.schema_version == 2
    assert db.applied_versions(store._conn, "hub") == [1, 2]
    ratings = RatingsStore(path)
    assert db.applied_versions(ratings._conn, "ratings") == [1]
    assert ratings.count() == 1 and ratings.for_ticket("20261123-ho-tich-2") is not None
    svc = QueueService(CENTER, store, clock)
    assert {t: rows(path, t) for t in before} == before           # opening changed no row
    assert svc.last_seq == len(before["events"])
    assert svc.counter_state("1").current_ticket_id == "20261123-ho-tich-3"
    replayed, _ = store.replay(CENTER)
    assert replayed.comparable() == svc.state_for_tests()           # the projections match the log
    waiting = [t.display for t in svc.waiting()]
    issued = svc.issue_ticket(HO_TICH).ticket                        # and it carries on numbering
    assert issued.display not in waiting and issued.number.number > 3
    assert svc.issue_ticket(DAT_DAI).ticket.number.number == 9      # after the lease 4-8
    svc.close()
    ratings.close()
    again = SqliteStore(path)                                        # a second start adopts nothing twice
    assert db.applied_versions(again._conn, "hub") == [1, 2]
    again.close()


def test_an_old_dossier_mirror_keeps_its_dossiers_push_ids_and_cursor(tmp_path: Path) -> None:
    path = old_file(tmp_path, "dossiers")
    mirror = DossierMirror(path)
    assert mirror.schema_version == 2 and mirror.count() == 1
    d = mirror.get("000.00.12.H38-261120-0042")
    assert d is not None and d.procedure == "Đăng ký khai sinh" and d.steps[0].name == "Tiếp nhận"
    assert mirror.meta("sync_cursor") == "c-17"
    from queue_server.app.ports import MirrorUpdate, UpsertResult
    assert mirror.apply([MirrorUpdate(d, "push-1")], MONDAY_0800) == [UpsertResult.DUPLICATE]
    mirror.close()


def test_an_old_outbox_resumes_from_its_cursor_and_keeps_dead_letters(tmp_path: Path) -> None:
    path = old_file(tmp_path, "outbox")
    before = rows(path, "outbox_items")
    sent: list[int | None] = []

    class Sender:
        def send(self, item: object) -> None:
            sent.append(getattr(item, "seq", None))

    cursor = max(r[4] for r in before if r[4] is not None)
    relay = OutboxRelay(path, CENTER.id, lambda after, limit: [], Sender(),
                        OutboxSettings(events_url="http://127.0.0.1:9/events"), clock=lambda: 1_800_000_100.0)
    assert relay.metrics()["cursor_seq"] == cursor and relay.metrics()["dead_count"] == 1
    assert rows(path, "outbox_items") == before
    pending = [r[4] for r in before if r[9] == "pending"]
    assert relay.run_once() == len(pending) and sent == pending      # delivered in order, nothing twice
    relay.close()


def test_an_old_kiosk_journal_keeps_its_leases_and_offline_tickets(tmp_path: Path) -> None:
    path = old_file(tmp_path, "journal")
    journal = OfflineJournal(path)
    assert journal.pending_count() == 2
    assert journal.numbers_left(HO_TICH, "2026-11-23") == 3
    assert journal.take_number(HO_TICH, "2026-11-23", None, "2026-11-23T08:20:00+07:00")[1:3] == (903, "B903")
    journal.close()
    conn = sqlite3.connect(path)
    assert db.applied_versions(conn, "kiosk_journal") == [1, 2]     # 1 recognised as the legacy schema, 2 added (the remembered /config)
    conn.close()
