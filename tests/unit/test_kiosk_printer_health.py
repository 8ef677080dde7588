"""A kiosk whose printer cannot print (issue 12 point 4), without a window: the sign on home, no paper tickets
with the "stop" policy (and the number-on-screen path with "screen"), back by itself when paper is loaded; and
the PrinterWatch following a real simulated ESC/POS printer that runs out of paper during a job."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from test_kiosk_presenters import CONFIG, Rig, StandInHub, StandInPrinter

from contracts.messages import VN_TZ
from devices.printer import PrintableTicket
from kiosk.device_health import PrinterWatch, blocking_fault
from kiosk.devices_wiring import open_kiosk_printer
from kiosk.offline import OfflineJournal, TicketDesk
from kiosk.presenters import Kiosk, KioskBehaviour, ManualClock
from kiosk.presenters.catalog import Catalog

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


def make_rig(tmp_path: Any, policy: str) -> Rig:
    hub, printer, clock = StandInHub(), StandInPrinter(), ManualClock()
    journal = OfflineJournal(tmp_path / "journal.sqlite")
    desk = TicketDesk(hub, journal, prefixes={"ho-tich": "A", "dat-dai": "B"}, lease_size=60, reserve=10,
                      clock=lambda: datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ))
    kiosk = Kiosk(hub=hub, desk=desk, printer=printer, clock=clock,
                  behaviour=replace(KioskBehaviour(), when_printer_down=policy),
                  catalog=Catalog.from_config(CONFIG))
    return Rig(kiosk, hub, printer, clock, desk, [])


def test_stop_policy_shows_a_sign_and_comes_back_by_itself(tmp_path: Any) -> None:
    rig = make_rig(tmp_path, "stop")
    k = rig.kiosk
    rig.tap(k.home.take_ticket)
    assert k.screen == "services"
    k.set_printer_fault("paper_out")          # ran out while a citizen was choosing
    assert k.screen == "closed"
    v = k.closed.view()
    assert v.title == "Tạm ngừng cấp phiếu" and "Máy in hết giấy" in v.body and "tự cấp phiếu lại" in v.body
    assert v.lookup == "Tra cứu hồ sơ"       # the lookup is still offered
    rig.tap(k.go_home)
    assert k.home.view().notice.startswith("Tạm ngừng cấp phiếu: Máy in hết giấy")
    rig.tap(k.home.take_ticket)
    assert k.screen == "closed" and rig.hub.tickets == {}, "no number issued without paper"
    k.set_printer_fault(None)                 # paper loaded: the kiosk comes back by itself
    assert k.screen == "home" and k.home.view().notice == ""
    rig.tap(k.home.take_ticket)
    assert k.screen == "services"


def test_screen_policy_still_issues_marked_unprinted(tmp_path: Any) -> None:
    rig = make_rig(tmp_path, "screen")
    k = rig.kiosk
    k.set_printer_fault("cover_open")
    assert "chỉ hiện trên màn hình" in k.home.view().notice
    rig.printer.fault = "cover_open"
    rig.tap(k.home.take_ticket)
    rig.tap(k.services.choose, "ho-tich")
    rig.tap(k.priority.choose, None)
    v = k.take.view()
    assert v.state == "print_failed" and v.number == "A001"
    assert rig.hub.print_results == [("20261123-ho-tich-1", False, "cover_open")]


def test_english_sign(tmp_path: Any) -> None:
    rig = make_rig(tmp_path, "stop")
    k = rig.kiosk
    k.set_printer_fault("offline")
    rig.tap(k.toggle_language)
    assert k.home.view().notice == "Tickets paused: The printer is not responding. The staff are on it."


class Publisher:
    def __init__(self) -> None:
        self.reports: list[tuple[str, ...]] = []
        self.events: list[str] = []

    def report(self, faults: Any = (), detail: Any = None) -> None:
        self.reports.append(tuple(faults))

    def report_printer(self, status: Any) -> None:
        self.reports.append(tuple(status.faults))

    def report_event(self, kind: str, data: Any = None) -> None:
        self.events.append(kind)


def ticket(n: int) -> PrintableTicket:
    return PrintableTicket(center_name="Trung tâm", number=f"A{n:03d}", service_name="Hộ tịch", people_ahead=0,
                           estimated_wait_min=0, issued_at=datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ),
                           tracking_url="http://127.0.0.1/t/x")


def test_printer_watch_on_a_simulated_printer_running_out(tmp_path: Any) -> None:
    adapter = open_kiosk_printer("sim://printer?paper_jobs=1", out_dir=tmp_path)
    sim = adapter.printer.simulator
    changes: list[str | None] = []
    pub = Publisher()
    watch = PrinterWatch(adapter, pub, changes.append, every_s=3600)
    assert watch.check() is None and changes == []
    assert adapter.printer.print_ticket(ticket(1)).printed
    watch.after_job(adapter.printer.print_ticket(ticket(1)))   # hooked by the adapter in the kiosk; direct here
    # the second job ran the paper out: the status read after it says so
    assert changes == ["paper_out"] and "paper_out" in pub.reports[-1] and pub.events[-1] == "print_failed"
    sim.set_faults(paper="ok", paper_jobs=None)                  # staff load paper
    assert watch.check() is None and changes == ["paper_out", None] and pub.reports[-1] == ()


def test_unknown_status_is_never_a_fault() -> None:
    from devices.printer.model import UNKNOWN_STATUS, PrinterStatus

    assert blocking_fault(UNKNOWN_STATUS) is None
    assert blocking_fault(PrinterStatus(paper_near_end=True)) is None
    assert blocking_fault(PrinterStatus(online=False)) == "offline"


@pytest.mark.parametrize(("raw", "words"), [
    ({"devices": {"when_printer_down": "ignore"}}, "devices.when_printer_down: expected stop or screen"),
    ({"devices": {"printer_check_s": 0}}, "devices.printer_check_s"),
    ({"mqtt": {"enabled": True}}, "mqtt.center: the hub's center id is required"),
    ({"mqtt": {"enabled": True, "center": "c", "port": 70000}}, "mqtt.port"),
])
def test_kiosk_config_refuses_bad_device_health_settings(raw: dict[str, Any], words: str) -> None:
    from kiosk.config import ConfigError, settings_from_dict

    with pytest.raises(ConfigError, match=words.replace(".", r"\.")):
        settings_from_dict(raw, env={})


def test_kiosk_mqtt_password_is_redacted_and_env_overrides() -> None:
    from kiosk.config import settings_from_dict

    s = settings_from_dict({"mqtt": {"enabled": True, "center": "c", "password": "bí-mật"}},
                           env={"MOTCUA_KIOSK_DEVICES_WHEN_PRINTER_DOWN": "screen"})
    assert s.redacted()["mqtt"]["password"] == "***" and s.devices.when_printer_down == "screen"
