"""The IT admin's bad afternoon: the hub's disk fails at 14:30 and the 12:00 backup (the timer's) is restored while
a kiosk stays connected. Real hub (waitress on loopback, SQLite files), real backup and restore
(queue_server.backup, what `motcua backup` / `motcua restore` run), real kiosk wiring (build_kiosk: hub client,
SQLite journal, simulated printer).

Numbers handed out after the backup are on paper in citizens' hands: the restored hub must not hand them out
again."""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import free_port
from kiosk_support import desk_kiosk, start_hub
from test_kiosk_offline import take_ticket

from contracts.messages import VN_TZ
from queue_server.adapters.restore_mark import RestoreMarkStore
from queue_server.app.lease_hold import RESTORE_HOLD_S
from queue_server.backup import discover_stores, named_stores, restore, take_backup

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def printed(printer) -> list[str]:
    return [t.texts()[0] for t in printer.printer.simulator.tickets]


def test_a_restored_mid_day_backup_does_not_hand_out_numbers_again(tmp_path: Path) -> None:
    port = free_port()
    hub = start_hub(tmp_path, port=port, services=2, now=datetime(2026, 11, 23, 11, 0, tzinfo=VN_TZ))
    kiosk, printer, clock = desk_kiosk(tmp_path, hub.url, hub.clock.now)
    try:
        take_ticket(kiosk, clock, "ho-tich")                    # A001 in the morning
        assert kiosk.desk.maintain() == "online"
        hub.clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=VN_TZ))
        store = hub.settings.store_path
        backup = take_backup(discover_stores(store, named_stores(hub.settings)), tmp_path / "backups",
                             hub.settings.center.id, hub.clock.now()).path

        hub.clock.set(datetime(2026, 11, 23, 13, 45, tzinfo=VN_TZ))
        for _ in range(3):
            take_ticket(kiosk, clock, "ho-tich")               # A002–A004: paper in three citizens' hands
        hub.clock.set(datetime(2026, 11, 23, 14, 30, tzinfo=VN_TZ))
        hub.stop()                                              # the disk fails; a new disk, the 12:00 backup
        restore(backup, {"hub": store, **{k: v for k, v in named_stores(hub.settings).items() if v is not None}},
                store.parent, hub.clock.now(), force=True)
        hub.start()

        take_ticket(kiosk, clock, "ho-tich")
        take_ticket(kiosk, clock, "ho-tich")
        numbers = printed(printer)
        assert numbers[:4] == ["A001", "A002", "A003", "A004"]
        assert len(set(numbers)) == len(numbers), f"the same number on two citizens' paper: {numbers}"
        assert numbers[4:] == ["A005", "A006"]
        # the numbers the restored hub had lost are back in its queue, where their holders wait to be called
        assert [t.display for t in hub.hub.service.waiting("ho-tich")] == [f"A00{n}" for n in range(1, 7)]
        hub.restart()                                           # and after a restart of the kiosk's hub as well
        take_ticket(kiosk, clock, "ho-tich")
        assert printed(printer)[-1] == "A007"
    finally:
        kiosk.desk.journal.close()
        hub.stop()


def _kiosk(tmp_path: Path, hub, name: str):
    return desk_kiosk(tmp_path, hub.url, hub.clock.now, kiosk_id=name, journal=f"{name}.sqlite",
                      paper=f"paper-{name}")


def _blocks(kiosk, service: str) -> set[int]:
    """Every number of the kiosk's leases of today for ``service`` (its journal: what it may print offline)."""
    today = kiosk.desk.today().replace("-", "")
    return {n for lease_id in kiosk.desk.journal.held_today(kiosk.desk.today())
            for day, _, rest in [lease_id.partition("-")] if day == today
            for code, first, last in [rest.rsplit("-", 2)] if code == service
            for n in range(int(first), int(last) + 1)}


def test_a_restored_hub_adopts_back_the_leases_and_offline_tickets_it_lost(tmp_path: Path) -> None:
    """Kiosk B leases a block after the 12:00 backup and hands in offline tickets from it; the 12:00 backup is
    restored. B re-reports its lease on its next upkeep: the hub adopts it back (kiosk C gets another block) and
    B's offline tickets are in its queue again, each once."""
    hub = start_hub(tmp_path, port=free_port(), services=2, now=datetime(2026, 11, 23, 11, 0, tzinfo=VN_TZ))
    b, b_paper, b_clock = _kiosk(tmp_path, hub, "kiosk-b")
    c, _, _ = _kiosk(tmp_path, hub, "kiosk-c")
    try:
        take_ticket(b, b_clock, "ho-tich")                      # A001, online
        hub.clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=VN_TZ))
        store = hub.settings.store_path
        backup = take_backup(discover_stores(store, named_stores(hub.settings)), tmp_path / "backups",
                             hub.settings.center.id, hub.clock.now()).path

        hub.clock.set(datetime(2026, 11, 23, 13, 0, tzinfo=VN_TZ))
        assert b.desk.maintain() == "online"                    # B's first block: after the backup
        leased = _blocks(b, "ho-tich")
        assert len(leased) == 20
        hub.stop()                                              # a network blip at 13:30: two offline tickets
        take_ticket(b, b_clock, "ho-tich")
        take_ticket(b, b_clock, "ho-tich")
        hub.start()
        hub.clock.set(datetime(2026, 11, 23, 13, 45, tzinfo=VN_TZ))
        assert b.desk.maintain() == "online"                    # handed in after the backup
        offline = printed(b_paper)[1:]
        assert len(offline) == 2 and all(int(n[1:]) in leased for n in offline)
        hub.clock.set(datetime(2026, 11, 23, 14, 30, tzinfo=VN_TZ))
        hub.stop()                                              # the disk fails; one more offline ticket
        take_ticket(b, b_clock, "ho-tich")
        restore(backup, {"hub": store, **{k: v for k, v in named_stores(hub.settings).items() if v is not None}},
                store.parent, hub.clock.now(), force=True)
        hub.start()
        assert [t.display for t in hub.hub.service.waiting("ho-tich")] == ["A001"]   # what the backup knew

        assert b.desk.maintain() == "online"                    # B re-reports its lease and its tickets
        hub.clock.advance(seconds=RESTORE_HOLD_S + 1)           # new blocks are held for a minute after a restore
        assert c.desk.maintain() == "online"                    # C needs a block
        assert _blocks(c, "ho-tich") and not _blocks(c, "ho-tich") & leased, "C was given B's numbers"
        everyone = ["A001", *printed(b_paper)[1:]]
        assert len(everyone) == 4
        assert [t.display for t in hub.hub.service.waiting("ho-tich")] == everyone
        hub.restart()                                           # a restart and more upkeep change nothing
        assert b.desk.maintain() == "online" and c.desk.maintain() == "online"
        assert [t.display for t in hub.hub.service.waiting("ho-tich")] == everyone
        assert _blocks(b, "ho-tich") == leased
    finally:
        b.desk.journal.close()
        c.desk.journal.close()
        hub.stop()


def test_a_restored_hub_grants_no_new_block_before_the_holders_have_re_reported(tmp_path: Path) -> None:
    """Kiosk A holds a block granted after the 12:00 backup; the backup is restored. Kiosk B asks for a block in the
    first seconds, before A's upkeep has re-reported: B is held off (503 leases_on_hold, nothing for the citizen,
    B keeps issuing online), A's re-report is adopted, and once the hold is over B gets a block that does not
    overlap A's. The restore mark is then gone: a plain restart grants at once."""
    hub = start_hub(tmp_path, port=free_port(), services=2, now=datetime(2026, 11, 23, 11, 0, tzinfo=VN_TZ))
    a, _, _ = _kiosk(tmp_path, hub, "kiosk-a")
    b, b_paper, b_clock = _kiosk(tmp_path, hub, "kiosk-b")
    c, _, _ = _kiosk(tmp_path, hub, "kiosk-c")
    try:
        hub.clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=VN_TZ))
        store = hub.settings.store_path
        backup = take_backup(discover_stores(store, named_stores(hub.settings)), tmp_path / "backups",
                             hub.settings.center.id, hub.clock.now()).path
        hub.clock.set(datetime(2026, 11, 23, 13, 0, tzinfo=VN_TZ))
        assert a.desk.maintain() == "online"                    # A's blocks: granted after the backup
        held = _blocks(a, "ho-tich")
        assert held
        hub.clock.set(datetime(2026, 11, 23, 14, 30, tzinfo=VN_TZ))
        hub.stop()                                              # the disk fails; the 12:00 backup goes back
        restore(backup, {"hub": store, **{k: v for k, v in named_stores(hub.settings).items() if v is not None}},
                store.parent, hub.clock.now(), force=True)
        assert RestoreMarkStore(store).restored() == backup.name
        hub.start()

        assert b.desk.maintain() == "online"                    # B first: held off, which is not a fault
        assert not _blocks(b, "ho-tich"), "B was granted a block before A re-reported (A's numbers, perhaps)"
        refused = requests.post(f"{hub.url}/api/v1/leases", json={"kiosk": "kiosk-b", "service": "ho-tich",
                                                                 "size": 20}, timeout=5)
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "leases_on_hold"
        assert refused.json()["error"]["message"].startswith("Máy chủ vừa được khôi phục")
        assert 0 < int(refused.headers["Retry-After"]) <= RESTORE_HOLD_S
        take_ticket(b, b_clock, "ho-tich")                      # the citizen at B sees nothing of it
        assert printed(b_paper) == ["A001"]
        assert a.desk.maintain() == "online"                    # A re-reports: its blocks are adopted back
        lease_ids = set(a.desk.journal.held_today(a.desk.today()))
        assert lease_ids and all(hub.hub.store.get_lease(i) is not None for i in lease_ids)
        hub.clock.advance(seconds=RESTORE_HOLD_S / 2)
        hub.restart()                                           # a restart within the hold holds again
        assert RestoreMarkStore(store).restored() == backup.name
        assert b.desk.maintain() == "online" and not _blocks(b, "ho-tich")

        hub.clock.advance(seconds=RESTORE_HOLD_S + 1)           # the hold is over
        assert b.desk.maintain() == "online"
        given = _blocks(b, "ho-tich")
        assert given and not given & held, "B was given A's numbers"
        assert RestoreMarkStore(store).restored() is None       # cleared, for good
        hub.restart()                                           # a plain restart: no hold
        assert c.desk.maintain() == "online"
        assert _blocks(c, "ho-tich") and not _blocks(c, "ho-tich") & (held | given)
    finally:
        for kiosk in (a, b, c):
            kiosk.desk.journal.close()
        hub.stop()
