"""Three kiosks, one hub: while the hub is up the hall sees contiguous numbers whichever kiosk printed them (the
kiosks' offline blocks sit in a region of their own, so no lease makes the numbering jump); after an offline spell
in which all three issued from their blocks, every number is still unique and online numbering carries on from where
it stopped. Real hub on loopback (SQLite file), real kiosk presenters, journals and simulated printers."""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import free_port
from kiosk_support import desk_kiosk, start_hub
from test_kiosk_offline import take_ticket

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def test_three_kiosks_contiguous_online_and_unique_after_offline(tmp_path: Path) -> None:
    port = free_port()
    hub = start_hub(tmp_path, port=port, services=2)
    kiosks = []
    for k in range(3):
        kiosk, printer, clock = desk_kiosk(tmp_path, hub.url, hub.clock.now, kiosk_id=f"kiosk-{k + 1}",
                                           journal=f"journal-{k}.sqlite", paper=f"paper-{k}")
        kiosks.append((kiosk, clock, printer.printer.simulator))

    def printed_numbers() -> list[str]:
        return [t.texts()[0] for _, _, sim in kiosks for t in sim.tickets]

    try:
        # every kiosk takes its offline blocks first (what used to make the hall jump A003 → A064)
        for kiosk, _, _ in kiosks:
            assert kiosk.desk.maintain() == "online"
        for i in range(12):
            kiosk, clock, _ = kiosks[i % 3]
            take_ticket(kiosk, clock, "ho-tich")
        online = [int(n[1:]) for n in printed_numbers()]
        assert sorted(online) == list(range(1, 13))                 # contiguous: 1…12, no gap for the leases
        hall = [t.number.display for t in hub.hub.service.waiting("ho-tich")]
        assert hall == [f"A{n:03d}" for n in range(1, 13)]

        hub.stop()
        for i in range(15):                                        # the offline spell: 5 tickets each
            kiosk, clock, _ = kiosks[i % 3]
            take_ticket(kiosk, clock, "ho-tich")
        assert all(kiosk.desk.mode == "offline" for kiosk, _, _ in kiosks)
        assert len(printed_numbers()) == 27

        hub = start_hub(tmp_path, port=port, services=2)
        for kiosk, _, _ in kiosks:
            assert kiosk.desk.maintain() == "online"
            assert kiosk.desk.journal.pending_count() == 0
        numbers = Counter(t.number.display for t in hub.hub.service.waiting("ho-tich"))
        assert sum(numbers.values()) == 27 and max(numbers.values()) == 1, numbers
        assert all(int(n[1:]) >= 800 for n in numbers if n not in {f"A{i:03d}" for i in range(1, 13)})

        kiosk, clock, sim = kiosks[0]
        take_ticket(kiosk, clock, "ho-tich")
        assert sim.tickets[-1].texts()[0] == "A013"                # online numbering carries on, no skip
    finally:
        hub.stop()
