"""A power cut: the kiosk PC boots again before the hub's server does. Real hub (waitress on loopback, SQLite
file), real kiosk wiring (build_kiosk: hub client, SQLite journal, simulated printer), the hub really stopped.

The journal still holds today's leased numbers; the kiosk must show the center's services from what it last
heard (marked stale: no counts) and keep issuing, not an empty screen until the hub comes back."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import free_port
from kiosk_support import desk_kiosk, start_hub
from test_kiosk_offline import take_ticket

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_a_kiosk_restarted_while_the_hub_is_down_keeps_issuing_from_its_leases(tmp_path: Path) -> None:
    port = free_port()
    hub = start_hub(tmp_path, port=port, services=2)
    def boot():                              # what `motcua kiosk` builds at start, the wall clock the hub's
        return desk_kiosk(tmp_path, hub.url, hub.clock.now)

    kiosk, printer, clock = boot()
    assert [s.code for s in kiosk.catalog.services] == ["ho-tich", "dat-dai"] and kiosk.catalog.live
    take_ticket(kiosk, clock, "ho-tich")
    assert kiosk.desk.maintain() == "online"          # leases taken
    kiosk.desk.journal.close()
    hub.stop()                                        # the power cut

    kiosk, printer, clock = boot()                    # the kiosk is back first
    try:
        assert [s.code for s in kiosk.catalog.services] == ["ho-tich", "dat-dai"], "no services on the screen"
        assert not kiosk.catalog.live and kiosk.catalog.center_name
        take_ticket(kiosk, clock, "dat-dai")
        assert kiosk.desk.mode == "offline"
        number = printer.printer.simulator.tickets[-1].texts()[0]
        assert number.startswith("B8"), number        # a leased number of today

        hub = start_hub(tmp_path, port=port, services=2)   # the server is back
        assert kiosk.desk.maintain() == "online"
        assert kiosk.desk.journal.pending_count() == 0
        assert [t.display for t in hub.hub.service.waiting()] == ["A001", number]
    finally:
        hub.stop()
