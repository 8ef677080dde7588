"""Drives the real kiosk headless (SDL offscreen) against a real hub that texts citizens (the mock SMS gateway): takes
a ticket, taps "Nhắn tin khi sắp đến lượt", types a mobile number on the big keypad (a wrong first digit explained
in the reserved area first), confirms, reads the confirmation, goes home. Checks that every widget lies inside the
window and no key moves. Run by tests/ui/test_kiosk_contact_screen.py in a subprocess:
``python tests/ui/kiosk_contact_driver.py <out_dir> <width> <height>``. The last stdout line is a JSON report.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from kiosk_support import headless_kivy

headless_kivy()

from dataclasses import replace

from hub_support import TestHub
from kiosk_support import KioskDriver, kiosk_hub_options, kiosk_ui_settings, run_driver, start_kiosk_app

PHONE = "0987654321"


def hub_with_texts(tmp: Path, gateway_url: str) -> TestHub:
    from queue_server.adapters.notifiers import SmsHttpSettings
    from queue_server.app.notifications import DEFAULT_TEMPLATES
    from queue_server.engagement_config import NotificationSettings

    options = kiosk_hub_options(services=3)
    base = options.settings

    def settings(path: Path):  # type: ignore[no-untyped-def]
        return replace(base(path), notifications=NotificationSettings(
            path / "notify.sqlite3", DEFAULT_TEMPLATES, turn_near_at=3, retry_base_s=0.05,
            sms=SmsHttpSettings(url=gateway_url + "/sms", timeout_s=2.0)))

    return TestHub(tmp, replace(options, settings=settings, prepare=None)).start()


def main() -> int:
    out = Path(sys.argv[1])
    width, height = int(sys.argv[2]), int(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-contact-ui-"))
    from queue_server.broker import free_port
    from queue_server.mock_gateway import MockGateway

    gateway = MockGateway(port=free_port()).start()
    hub = hub_with_texts(tmp, gateway.url)
    for _ in range(5):                                   # five ahead: the text comes later, not at once
        hub.issue("ho-tich")
    settings = kiosk_ui_settings(hub.url, tmp, width, height)
    kiosk, _printer, app = start_kiosk_app(settings, tmp)
    report: dict[str, object] = {"steps": [], "screenshots": [], "outside": {}, "small_targets": {}}
    tag = "landscape" if width > height else "portrait"
    steps: list[str] = []
    ui = KioskDriver(app, kiosk, report, out=out, prefix=f"kiosk_contact_{tag}_")
    button, tap, shot, wait, pause = ui.button, ui.tap, ui.shot, ui.wait, ui.pause

    def key_positions() -> dict[str, tuple[float, ...]]:
        return ui.key_positions("contact")

    def type_keys(keys: str):  # type: ignore[no-untyped-def]
        pad = app.screens["contact"].key_buttons
        for ch in keys:
            tap(pad[ch])
            yield from pause(0.35)          # past the kiosk's double-tap guard

    def flow():  # type: ignore[no-untyped-def]
        yield from wait(lambda: kiosk.screen == "home", "home")
        yield from pause(0.4)
        tap(button("Lấy số thứ tự"))
        yield from wait(lambda: kiosk.screen == "services" and kiosk.catalog.live, "service grid")
        yield from pause(0.4)
        tap(button("Tư pháp – Hộ tịch"))
        yield from wait(lambda: kiosk.screen == "priority", "priority question")
        yield from pause(0.4)
        tap(button("Không, tôi lấy số thường"))
        yield from wait(lambda: kiosk.take.state == "printed", "ticket printed")
        yield from pause(0.3)
        shot("ticket")
        report["ticket_id"] = kiosk.take.ticket.id
        report["ticket_number"] = kiosk.take.ticket.number
        steps.append("ticket")

        tap(button("Nhắn tin khi sắp đến lượt"))
        yield from wait(lambda: kiosk.screen == "contact", "contact screen")
        yield from pause(0.4)
        shot("contact_empty")
        before = key_positions()
        yield from type_keys("9")                      # a wrong start: said at once, in the reserved area
        yield from pause(0.2)
        report["wrong_start_message"] = kiosk.contact.view().message
        shot("contact_wrong_start")
        report["keys_moved_by_message"] = [k for k, v in key_positions().items() if v != before[k]]
        tap(button("Xóa hết"))
        yield from pause(0.4)
        yield from type_keys(PHONE)
        yield from pause(0.2)
        report["typed"] = kiosk.contact.view().number
        report["keys_moved_typing"] = [k for k, v in key_positions().items() if v != before[k]]
        shot("contact_typed")
        tap(button("English"))
        yield from wait(lambda: kiosk.lang == "en", "english")
        shot("contact_typed_en")
        yield from pause(0.4)          # past the double-tap guard: a quicker tap back is ignored, as it should be
        tap(button("Tiếng Việt"))
        yield from wait(lambda: kiosk.lang == "vi", "vietnamese")
        yield from pause(0.4)
        tap(button("Xác nhận", exact=True))
        yield from wait(lambda: kiosk.contact.state == "done", "confirmation")
        shot("contact_done")
        report["confirmation"] = kiosk.contact.view().subtitle
        report["shown_number"] = kiosk.contact.view().number
        contact = hub.engagement.notifications.outbox.contact_for(str(report["ticket_id"]))
        report["stored"] = None if contact is None else [contact.channel, contact.address]
        steps.append("confirmed")
        yield from pause(0.4)
        tap(button("Xong"))
        yield from wait(lambda: kiosk.screen == "home", "home again")
        report["left_behind"] = [kiosk.contact.text, kiosk.contact.ticket_id]
        steps.append("home")

    return run_driver(app, flow(), report, steps, stop=lambda: (hub.stop(), gateway.stop()))


if __name__ == "__main__":
    sys.exit(main())
