"""The kiosk keeps issuing while the hub is down: 50 tickets from leased numbers, handed in on reconnect, every one
present exactly once with its number. Real hub (waitress on loopback, SQLite file), real kiosk presenters, hub client,
SQLite journal and simulated ESC/POS printer; the hub is really stopped and started again on the same port."""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import free_port
from kiosk_support import desk_kiosk, start_hub

from kiosk.presenters import ManualClock

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def take_ticket(kiosk, clock: ManualClock, service: str, priority: str | None = None) -> None:
    clock.advance(1.0)
    kiosk.home.take_ticket()
    clock.advance(1.0)
    kiosk.services.choose(service)
    clock.advance(1.0)
    kiosk.priority.choose(priority)
    assert kiosk.take.state == "printed", (kiosk.take.state, kiosk.take.error_code)
    clock.advance(1.0)
    kiosk.take.done()


def test_fifty_tickets_while_the_hub_is_down_all_merged_once(tmp_path: Path) -> None:
    port = free_port()
    hub = start_hub(tmp_path, port=port, services=2)
    # one hand-moved clock for the tap guard and the idle timer; the kiosk's wall clock agrees with the hub's day
    kiosk, printer, clock = desk_kiosk(tmp_path, hub.url, hub.clock.now, lease_size=60, reserve=10)
    sim = printer.printer.simulator
    services = [s.code for s in kiosk.catalog.services]
    assert services == ["ho-tich", "dat-dai"]

    # online: two tickets the normal way, and leases taken in advance
    take_ticket(kiosk, clock, "ho-tich")
    take_ticket(kiosk, clock, "dat-dai")
    assert kiosk.desk.maintain() == "online"
    assert all(kiosk.desk.numbers_left(s) == 60 for s in services)

    hub.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{hub.url}/api/v1/health", timeout=1)

    issued = []
    for i in range(50):
        service = services[i % 2]
        take_ticket(kiosk, clock, service, "nguoi-cao-tuoi" if i % 10 == 0 else None)
        issued.append(kiosk.desk.journal.pending_count())
    assert kiosk.desk.mode == "offline"
    assert issued[-1] == 50                      # all 50 are in the journal, none handed in yet
    printed = [t for t in sim.tickets]
    assert len(printed) == 52                    # every citizen got paper, online or not
    offline_numbers = [t.texts()[0] for t in printed[2:]]
    assert len(set(offline_numbers)) == 50
    assert kiosk.desk.maintain() == "offline"    # still down: nothing lost, nothing sent

    hub = start_hub(tmp_path, port=port, services=2)   # same port, same SQLite store
    try:
        assert kiosk.desk.maintain() == "online"
        assert kiosk.desk.journal.pending_count() == 0
        assert kiosk.desk.maintain() == "online"     # a second hand-in round changes nothing

        waiting = hub.hub.service.waiting()
        numbers = Counter(t.number.display if hasattr(t.number, "display") else str(t.number) for t in waiting)
        assert sum(numbers.values()) == 52 and max(numbers.values()) == 1, numbers
        offline_ids = [f"20261123-{services[i % 2]}-{n}" for i, n in enumerate(
            int(x[1:]) for x in offline_numbers)]
        for ticket_id, shown in zip(offline_ids, offline_numbers, strict=True):
            body = requests.get(f"{hub.url}/api/v1/tickets/{ticket_id}", timeout=2).json()
            assert body["ticket"]["number"] == shown, (ticket_id, body)
            assert body["ticket"]["status"] == "issued"
        elderly = requests.get(f"{hub.url}/api/v1/tickets/{offline_ids[0]}", timeout=2).json()["ticket"]
        assert elderly["priority"] == "nguoi-cao-tuoi"
        # a new ticket online never reuses a leased number
        take_ticket(kiosk, clock, "ho-tich")
        assert kiosk.desk.mode == "online"
        fresh = sim.tickets[-1].texts()[0]
        assert fresh not in offline_numbers and fresh != printed[0].texts()[0]
    finally:
        hub.stop()
