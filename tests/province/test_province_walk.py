"""The province over days, as a province's IT staff meets it: a site restored from a backup mid-day (its event seq
goes back and its new events reuse seqs the province already holds), a site out of contact for a day. Real
PostgreSQL, the real province service over HTTP, hubs with their real SQLite store, province sink and backups."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from contracts.messages import VN_TZ
from province.config import config_from_dict
from province.web import ProvinceServer
from queue_server.adapters.province_sink import ProvinceSender
from queue_server.backup import discover_stores, restore, take_backup
from queue_server.broker import free_port
from tests.province.hubsim import SimHub
from tests.province.hubsim import TestClock as HubClock
from tests.province.pgfix import pg_dsn, pg_server  # noqa: F401  (fixtures)
from tests.province.test_province_e2e import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

KEY = "khoa-bi-mat-cua-xa-00-0123456789"


@pytest.fixture
def province(pg_dsn: str) -> Iterator[ProvinceServer]:
    config = config_from_dict({"province": {"dsn": pg_dsn, "port": free_port(), "threads": 4},
                               "centers": [{"id": "xa-00", "name": "UBND xã Một", "key": KEY}]}, environ={})
    server = ProvinceServer(config)
    server.start()
    yield server
    server.stop()


def progress(dsn: str) -> tuple[int, int]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT applied_seq, max_seq FROM centers WHERE center = 'xa-00'").fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def served_by_hub(hub: SimHub) -> int:
    return sum(1 for e in hub.service.events_after(0, 1_000_000) if e.type == "ticket.done")


def test_a_site_restored_from_a_backup_mid_day_keeps_every_event_counted_once(
        province: ProvinceServer, pg_dsn: str, tmp_path: Path) -> None:
    root = tmp_path / "hub"
    hub = SimHub(root, "xa-00", province.url + "/api/v1/events", KEY).start()
    try:
        hub.work(5)                                        # the morning, then the 12:00 backup
        wait_until(lambda: progress(pg_dsn)[0] == hub.last_seq, what="the morning")
        backup = take_backup(discover_stores(root / "hub.sqlite3", {"province-outbox": hub.sink.outbox_path}),
                             tmp_path / "backups", "xa-00", hub.clock.now()).path
        hub.work(4)                                        # 4 citizens served after the backup, then the disk dies
        held = hub.last_seq
        wait_until(lambda: progress(pg_dsn)[0] == held, what="the work after the backup")
        hub.crash()
        restore(backup, {"hub": root / "hub.sqlite3", "province-outbox": hub.sink.outbox_path}, root,
                hub.clock.now(), force=True)
        hub.restart()
        back_to = hub.last_seq
        assert back_to < held                              # the restored hub went back to an earlier seq
        hub.work(6)                                        # the afternoon: new events reuse seqs back_to+1..held
        wait_until(lambda: progress(pg_dsn)[0] == hub.last_seq, what="the afternoon")
        hub.work(1)                                        # one more delivery: nothing re-counted
        wait_until(lambda: progress(pg_dsn)[0] == hub.last_seq, what="the last ticket")
    finally:
        hub.close()

    with psycopg.connect(pg_dsn) as conn:
        stored = conn.execute("SELECT seq, id FROM events WHERE center = 'xa-00'").fetchall()
        served = conn.execute("SELECT sum(served), sum(issued) FROM daily_stats WHERE center = 'xa-00'").fetchone()
    ids = [i for _, i in stored]
    assert len(ids) == len(set(ids))                       # every event once
    assert set(hub.event_ids()) <= set(stored)             # everything the hub has now
    assert len(stored) == len(hub.event_ids()) + (held - back_to)   # plus what only the province kept
    # 5 + 4 + 6 + 1 citizens were served that day; the restored hub knows 12 of them, the province all 16
    assert served_by_hub(hub) == 12
    assert tuple(served) == (16, 16)
    site = province.store.board()[0]
    assert (site["rewind_from_seq"], site["rewind_to_seq"]) == (held, back_to)
    assert site["rewound_at"] is not None and site["gap"] is False


def test_a_rewind_is_recorded_once_per_restore(pg_dsn: str) -> None:
    from province.store import ProvinceStore

    clock = HubClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ))
    store = ProvinceStore(pg_dsn, now=clock.now)

    def event(seq: int, line: str) -> dict[str, object]:
        at = datetime(2026, 11, 23, 8, 0, tzinfo=VN_TZ) + timedelta(minutes=seq + (100 if line == "b" else 0))
        return {"seq": seq, "id": f"{line}-{seq}", "center": "xa-00", "type": "counter.opened", "at": at.isoformat(),
                "data": {"counter": "1", "status": "open"}}

    try:
        store.ingest("xa-00", [event(s, "a") for s in range(1, 11)])
        first = store.ingest("xa-00", [event(s, "b") for s in range(6, 9)])
        assert first.inserted == 3 and first.replay_from is None
        clock.advance(60)
        again = store.ingest("xa-00", [event(s, "b") for s in range(6, 9)])    # re-sent: nothing new
        assert again.inserted == 0
        store.ingest("xa-00", [event(s, "b") for s in range(9, 13)])          # the same restore continues
        site = store.board()[0]
        assert (site["rewind_from_seq"], site["rewind_to_seq"], site["applied_seq"]) == (10, 5, 12)
        assert site["rewound_at"].startswith("2026-11-23T02:00")              # when it was first seen (UTC)
    finally:
        store.close()


def test_a_site_out_of_contact_for_a_day_is_said_so_and_catches_up_exactly_once(pg_dsn: str, tmp_path: Path) -> None:
    from province.store import ProvinceStore

    config = config_from_dict({"province": {"dsn": pg_dsn, "port": free_port(), "threads": 4},
                               "centers": [{"id": "xa-00", "name": "UBND xã Một", "key": KEY}]}, environ={})
    clock = HubClock(datetime(2026, 11, 23, 7, 30, tzinfo=VN_TZ))         # the province's clock, moved by hand
    server = ProvinceServer(config, store=ProvinceStore(pg_dsn, now=clock.now))
    server.start()
    hub = SimHub(tmp_path / "hub", "xa-00", server.url + "/api/v1/events", KEY)
    hub.relay.heartbeat_s = 0.2                # the hub's minute, shortened (the relay's real clock)
    hub.start()
    try:
        hub.work(3)
        wait_until(lambda: progress(pg_dsn)[0] == hub.last_seq, what="the first tickets")
        # a quiet hour at the center: no events, but the heartbeat keeps the link known to be up
        clock.advance(3600)
        wait_until(lambda: server.store.board()[0]["silent_s"] < 60, what="a heartbeat")
        assert server.store.board()[0]["out_of_contact_since"] is None
        contact = server.store.board()[0]["last_received_at"]

        server.stop()                              # the link to the province is down for the day
        hub.work(20)                               # the center works normally
        clock.advance(10 * 3600)
        site = ProvinceStore(pg_dsn, now=clock.now, auto_migrate=False)
        try:
            row = site.board(today=datetime(2026, 11, 23).date())[0]
        finally:
            site.close()
        assert row["out_of_contact_since"] == contact            # since when, not zeros as if idle
        assert row["silent_s"] >= 10 * 3600 and row["served_today"] == 3

        server = ProvinceServer(config, store=ProvinceStore(pg_dsn, now=clock.now))   # the link is back
        server.start(config.port)
        wait_until(lambda: progress(pg_dsn) == (hub.last_seq, hub.last_seq), what="the catch-up")
        row = server.store.board(today=datetime(2026, 11, 23).date())[0]
        assert row["out_of_contact_since"] is None and row["gap"] is False
        assert row["served_today"] == served_by_hub(hub) == 23
        with psycopg.connect(pg_dsn) as conn:
            stored = conn.execute("SELECT seq, id FROM events WHERE center = 'xa-00' ORDER BY seq").fetchall()
        assert stored == hub.event_ids()                          # every event, in order, exactly once
    finally:
        hub.close()
        server.stop()


def test_a_site_whose_clock_is_minutes_off_is_told_why_and_kept_exactly_once(
        province: ProvinceServer, pg_dsn: str, tmp_path: Path) -> None:
    import time

    hub = SimHub(tmp_path / "hub", "xa-00", province.url + "/api/v1/events", KEY)
    sender = hub.relay.sender
    sender.wall_clock = lambda: time.time() + 7 * 60          # the site's machine clock: 7 minutes fast
    hub.start()
    try:
        hub.work(3)
        wait_until(lambda: province.store.board()[0]["clock_skew_s"] is not None, what="a refusal")
        site = province.store.board()[0]
        assert 6 * 60 < site["clock_skew_s"] < 8 * 60 and site["applied_seq"] == 0
        # what the hub's log shows, asked on a connection of its own (the relay's is its thread's alone)
        probe = ProvinceSender(hub.sink.outbox_settings())
        probe.wall_clock = sender.wall_clock
        status, text = probe.post(province.url + "/api/v1/events", b'{"events":[]}',
                                  probe._headers("probe", "xa-00", b'{"events":[]}'))
        assert status == 401 and "nhanh 7 phút" in text and "NTP" in text     # the hub's log says why
        # the same refusal from someone without the key says nothing about a clock and records nothing
        stranger = {"X-Motcua-Center": "xa-00", "X-Motcua-Timestamp": str(int(time.time()) + 420),
                    "X-Motcua-Signature": "sha256=" + "0" * 64, "Content-Type": "application/json"}
        status, text = probe.post(province.url + "/api/v1/events", b'{"events":[]}', stranger)
        probe.close()
        assert status == 401 and "bad_signature" in text and "clock_skew" not in text

        sender.wall_clock = lambda: time.time() + 3 * 60     # NTP fixed most of it; 3 min is within the window
        wait_until(lambda: progress(pg_dsn)[0] == hub.last_seq, timeout=40, what="the backlog after the fix")
        assert province.store.board()[0]["clock_skew_s"] is None
        hub.crash()                                           # and the site restarts mid-day
        hub.restart()
        hub.relay.sender.wall_clock = lambda: time.time() + 3 * 60
        hub.work(2)
        wait_until(lambda: progress(pg_dsn)[0] == hub.last_seq, what="after the restart")
    finally:
        hub.close()
    with psycopg.connect(pg_dsn) as conn:
        stored = conn.execute("SELECT seq, id FROM events WHERE center = 'xa-00' ORDER BY seq").fetchall()
    assert stored == hub.event_ids()
    assert province.store.monthly(datetime(2026, 11, 1).date())[0]["served"] == served_by_hub(hub) == 5
