"""Tickets a kiosk issued offline in the afternoon, handed in only the next morning. Real hub (waitress on loopback,
SQLite file), real kiosk presenters, hub client, SQLite journal and simulated printer; the hub is really stopped on
Wednesday afternoon and started again on Thursday morning on the same store and port.

The hub was unreachable until closing (a cable, a switch, the server's power): the citizens got paper, so the
tickets belong to Wednesday's record (its reports count them). They must not join Thursday's queue, numbering on
Thursday starts again at 001, and the kiosk must not keep them forever with an error on every round."""
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

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
WEDNESDAY_1530 = datetime(2026, 11, 25, 15, 30, tzinfo=VN_TZ)
THURSDAY_0735 = datetime(2026, 11, 26, 7, 35, tzinfo=VN_TZ)


def test_yesterdays_offline_tickets_handed_in_next_morning_land_on_their_day(tmp_path: Path) -> None:
    port = free_port()
    hub = start_hub(tmp_path, port=port, services=2, now=WEDNESDAY_1530)
    wall = {"now": WEDNESDAY_1530}                # the kiosk's wall clock agrees with the hub's
    kiosk, printer, clock = desk_kiosk(tmp_path, hub.url, lambda: wall["now"])
    sim = printer.printer.simulator

    take_ticket(kiosk, clock, "ho-tich")
    assert kiosk.desk.maintain() == "online"       # leases taken in advance
    hub.stop()
    for _ in range(3):
        take_ticket(kiosk, clock, "ho-tich")
    assert [t.texts()[0] for t in sim.tickets] == ["A001", "A800", "A801", "A802"]
    assert kiosk.desk.journal.pending_count() == 3

    wall["now"] = THURSDAY_0735
    hub = start_hub(tmp_path, port=port, services=2, now=THURSDAY_0735)   # same port, same SQLite store
    try:
        assert kiosk.desk.maintain() == "online"
        assert kiosk.desk.journal.pending_count() == 0, "Wednesday's offline tickets were refused"

        for number in (800, 801, 802):
            body = requests.get(f"{hub.url}/api/v1/tickets/20261125-ho-tich-{number}", timeout=2).json()
            assert body["ticket"]["day"] == "2026-11-25" and body["ticket"]["number"] == f"A{number}", body
        assert hub.hub.service.waiting() == []        # nobody from Wednesday in Thursday's queue
        before = hub.hub.service.last_seq
        assert kiosk.desk.maintain() == "online"       # a second round hands in nothing again
        lease_id = "20261125-ho-tich-800-819"
        again = kiosk.desk.hub.hand_in(lease_id, [{"number": 800, "issued_at": "2026-11-25T15:30:05+07:00",
                                                   "priority": None}])
        assert [t["id"] for t in again["tickets"]] == ["20261125-ho-tich-800"]   # idempotent: the same ticket
        assert hub.hub.service.last_seq == before
        hub.stop()
        hub = start_hub(tmp_path, port=port, services=2, now=THURSDAY_0735)   # and after a restart (store only)
        again = kiosk.desk.hub.hand_in(lease_id, [{"number": 801, "issued_at": "2026-11-25T15:30:09+07:00",
                                                   "priority": None}])
        assert [t["id"] for t in again["tickets"]] == ["20261125-ho-tich-801"]
        assert hub.hub.service.last_seq == before

        take_ticket(kiosk, clock, "ho-tich")
        assert sim.tickets[-1].texts()[0] == "A001"   # Thursday numbers from 001 again
        assert [t.id for t in hub.hub.service.waiting()] == ["20261126-ho-tich-1"]

        reports = hub.hub.reports.store
        reports.catch_up()
        wednesday = reports.measures(WEDNESDAY_1530.date(), WEDNESDAY_1530.date(), "service")
        assert wednesday["ho-tich"].issued == 4        # A001 online + three offline: Wednesday's report
    finally:
        hub.stop()
