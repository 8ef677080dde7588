"""SqliteStore on a real file: schema and migrations, durability settings, round trip, restart and replay."""
from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from hub_center import DAT_DAI, HO_TICH, MONDAY_0800, make_center

from contracts.messages import Envelope
from queue_server.adapters.sqlite_store import MIGRATIONS, Projections, SqliteStore
from queue_server.app.ports import FixedClock
from queue_server.app.queue_service import QueueService
from queue_server.domain.model import PolicyDef, PolicyKind, TicketRules

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]

CENTER = make_center(policy=PolicyDef(PolicyKind.INTERLEAVE, interleave_normal=2),
                     rules=TicketRules(recalls_before_no_show=1, recall_delay_s=10, max_reactivations=1))


def a_busy_morning(svc: QueueService, clock: FixedClock) -> None:
    """Every kind of event: issues, calls, recalls, no-show, reactivation, transfers, cancel, pause, leases."""
    svc.open_counter("1", "lan")
    svc.open_counter("2", "minh")
    svc.open_counter("3", "hoa")
    for i in range(12):
        svc.issue_ticket(HO_TICH if i % 3 else DAT_DAI, "elderly" if i % 4 == 1 else None, kiosk="k1")
        clock.advance(seconds=17)
    t = svc.issue_ticket(HO_TICH).ticket
    svc.record_print_result(t.id, printed=False, fault="paper_out")
    svc.cancel(t.id)
    svc.call_next("1")
    svc.start_service("1")
    clock.advance(minutes=4)
    svc.complete("1")
    called = svc.call_next("2")
    clock.advance(seconds=20)
    svc.recall("2")
    svc.mark_no_show("2")
    svc.reactivate(called.id)
    svc.call_next("3")
    svc.start_service("3")
    svc.transfer("3", to_service=HO_TICH)
    svc.call_next("1")
    svc.transfer("1", to_counter="2")
    svc.pause_counter("3", "họp giao ban")
    lease = svc.lease_numbers("kiosk-2", DAT_DAI, 5)
    svc.merge_leased(lease.id, [{"number": lease.first, "issued_at": clock.now().isoformat(), "priority": None}])
    svc.call_next("2")
    clock.advance(minutes=1)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_0800)


def open_service(path: Path, clock: FixedClock) -> QueueService:
    return QueueService(CENTER, SqliteStore(path), clock)


def test_schema_is_versioned_and_migrations_run_once(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    store = SqliteStore(path)
    assert store.schema_version == MIGRATIONS[-1][0]
    store.close()
    store = SqliteStore(path)          # reopening does not re-run anything
    rows = sqlite3.connect(path).execute(
        "SELECT version FROM schema_migrations WHERE component = 'hub' ORDER BY version").fetchall()
    assert rows == [(v,) for v, _, _ in MIGRATIONS]
    store.close()


def test_wal_and_full_synchronous(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.db")
    conn = store._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2          # FULL
    store.close()


def test_restart_gives_back_exactly_the_same_state(tmp_path: Path, clock: FixedClock) -> None:
    path = tmp_path / "hub.db"
    svc = open_service(path, clock)
    a_busy_morning(svc, clock)
    state = svc.state_for_tests()
    snapshot, waiting = svc.snapshot(), svc.waiting()
    rows = svc.store.projection_rows()
    svc.close()

    again = open_service(path, clock)                          # reopen the file: projections → state
    assert again.state_for_tests() == state
    assert again.snapshot() == snapshot and again.waiting() == waiting
    replayed, _ = again.store.replay(CENTER)                   # the event log alone → the same state
    assert replayed.comparable() == state
    again.store.rebuild(CENTER)                                # rebuilt projections == the ones written live
    assert again.store.projection_rows() == rows
    again.close()
    third = open_service(path, clock)                          # and they load to the same state
    assert third.state_for_tests() == state
    # it carries on where it stopped: numbers continue without a gap (the leased block lies in the offline region)
    nxt = third.issue_ticket(DAT_DAI).ticket
    assert nxt.number.number == 5
    third.close()


def test_events_are_gap_free_and_round_trip(tmp_path: Path, clock: FixedClock) -> None:
    svc = open_service(tmp_path / "hub.db", clock)
    seen: list[Envelope] = []
    svc.add_listener(seen.extend)
    a_busy_morning(svc, clock)
    stored = svc.events_after(0, limit=10_000)
    assert [e.seq for e in stored] == list(range(1, svc.last_seq + 1))
    assert [e.to_dict() for e in stored] == [e.to_dict() for e in seen]
    for e in stored:
        assert Envelope.from_json(e.to_json()) == e and e.center == CENTER.id and e.at.endswith("+07:00")
    assert [e.seq for e in svc.events_after(5, limit=3)] == [6, 7, 8]
    svc.close()


def test_a_failed_commit_writes_nothing(tmp_path: Path, clock: FixedClock) -> None:
    svc = open_service(tmp_path / "hub.db", clock)
    svc.issue_ticket(HO_TICH)
    store = svc.store
    before_rows, before_seq = store.projection_rows(), store.last_seq
    good = Envelope.new(before_seq + 1, "ticket.issued", CENTER.id, MONDAY_0800, {})
    duplicate_seq = Envelope.new(before_seq, "ticket.issued", CENTER.id, MONDAY_0800, {})
    with pytest.raises(sqlite3.IntegrityError):
        store.commit([good, duplicate_seq], Projections(), CENTER, before_seq + 1)
    assert store.last_seq == before_seq and store.projection_rows() == before_rows
    svc.close()


def test_history_outlives_the_day(tmp_path: Path, clock: FixedClock) -> None:
    path = tmp_path / "hub.db"
    svc = open_service(path, clock)
    old = svc.issue_ticket(HO_TICH).ticket
    clock.advance(timedelta(days=1))
    assert svc.waiting() == []                        # yesterday's queue is not today's
    assert svc.get_ticket(old.id).ticket == old       # but the ticket is still there to look up
    new = svc.issue_ticket(HO_TICH).ticket
    assert new.display == old.display and new.id != old.id
    svc.close()
    again = open_service(path, clock)
    assert again.get_ticket(old.id).ticket == old and again.waiting() == [new]
    again.close()


def test_rebuild_while_running_keeps_the_state_and_keeps_serving(tmp_path: Path, clock: FixedClock) -> None:
    svc = open_service(tmp_path / "hub.db", clock)
    a_busy_morning(svc, clock)
    state = svc.state_for_tests()
    svc.rebuild()
    assert svc.state_for_tests() == state
    before = svc.last_seq
    svc.issue_ticket(HO_TICH)
    assert svc.last_seq == before + 1
    svc.close()


def test_an_old_file_is_migrated_and_keeps_its_data(tmp_path: Path, clock: FixedClock) -> None:
    path = tmp_path / "hub.db"
    old = QueueService(CENTER, SqliteStore(path, migrate_upto=1), clock)
    assert old.store.schema_version == 1
    a_busy_morning(old, clock)
    state, rows = old.state_for_tests(), old.store.projection_rows()
    old.close()
    new = open_service(path, clock)                   # opening with today's code applies migration 2
    assert new.store.schema_version == MIGRATIONS[-1][0] == 2
    indexes = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"idx_tickets_status", "idx_events_type_at"} <= indexes
    assert new.state_for_tests() == state and new.store.projection_rows() == rows
    assert new.events_after(0, limit=0) == [] and len(new.events_after(0, limit=-1)) == 0
    new.close()


def test_counter_openings_of_past_days_feed_the_estimate_prior(tmp_path: Path, clock: FixedClock) -> None:
    path = tmp_path / "hub.db"
    svc = open_service(path, clock)                   # 08:00 Monday
    svc.open_counter("3", "hoa")
    svc.close()
    clock.advance(timedelta(days=1, minutes=10))
    again = open_service(path, clock)
    store = again.store
    assert isinstance(store, SqliteStore)
    assert store.opening_history(clock.now().date()) == [("3", MONDAY_0800.date().isoformat(), 8 * 3600.0, "hoa")]
    with again._writer.lock:                          # the live state learnt it on load
        assert again._writer.state.prior.openings["3"][1:] == (8 * 3600.0, 8 * 3600.0)
        assert again._writer.state.prior.usual_staff == {"3": "hoa"}
    again.close()
