"""Drives the real kiosk headless (SDL offscreen) against a real hub that texts citizens (the mock SMS gateway): takes
a ticket, taps "Nhắn tin khi sắp đến lượt", types a mobile number on the big keypad (a wrong first digit explained
in the reserved area first), confirms, reads the confirmation, goes home. Checks that every widget lies inside the
window and no key moves. Run by tests/ui/test_kiosk_contact_screen.py in a subprocess:
``python tests/ui/kiosk_contact_driver.py <out_dir> <width> <height>``. The last stdout line is a JSON report.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ["KIVY_HOME"] = tempfile.mkdtemp(prefix="kivy-home-")
ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from dataclasses import replace

from hub_support import TestHub
from kiosk_support import kiosk_hub_options, run_flow

from kiosk.config import settings_from_dict

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
    settings = settings_from_dict({"hub": {"url": hub.url}, "screen": {"width": width, "height": height},
                                   "behaviour": {"tap_guard_s": 0.3},
                                   "offline": {"journal": str(tmp / "journal.sqlite")}}, env={})
    settings = replace(settings, devices=replace(settings.devices, printer="sim://printer"))
    from kiosk.app import configure_kivy
    configure_kivy(settings)
    from kivy.tests.common import UnitTestTouch
    from kivy.uix.button import Button

    from kiosk.__main__ import build_kiosk
    from kiosk.app import KioskApp, post_to_ui
    from kiosk.presenters import ThreadRunner

    kiosk, _printer = build_kiosk(settings, runner=ThreadRunner(post_to_ui), ticket_dir=tmp / "tickets")
    app = KioskApp(kiosk, settings, maintain=False)
    report: dict[str, object] = {"steps": [], "screenshots": [], "outside": {}, "small_targets": {}}
    tag = "landscape" if width > height else "portrait"
    steps: list[str] = []

    def buttons() -> list[Button]:
        found: list[Button] = []
        stack = [app.sm.current_screen]
        while stack:
            w = stack.pop()
            if isinstance(w, Button) and w.opacity > 0 and not w.disabled and w.width > 1 and w.height > 1:
                found.append(w)
            stack.extend(w.children)
        return found

    def button(text_part: str, exact: bool = False) -> Button:
        matches = [b for b in buttons() if (b.text == text_part if exact else text_part in b.text)]
        if not matches:
            raise AssertionError(f"no button {text_part!r} on {kiosk.screen}: {[b.text for b in buttons()]}")
        return matches[0]

    def tap(widget: Button) -> None:
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()

    def outside() -> list[str]:
        """Visible widgets of this screen that do not lie whole inside the window (2 px tolerance)."""
        from kivy.core.window import Window
        bad: list[str] = []
        stack = [app.sm.current_screen]
        while stack:
            w = stack.pop()
            if w.opacity <= 0:
                continue
            stack.extend(w.children)
            if w.width <= 1 or w.height <= 1:
                continue
            x0, y0 = w.to_window(w.x, w.y)
            x1, y1 = w.to_window(w.right, w.top)
            if x0 < -2 or y0 < -2 or x1 > Window.width + 2 or y1 > Window.height + 2:
                label = getattr(w, "text", "") or type(w).__name__
                bad.append(f"{type(w).__name__}:{str(label)[:24]!r}@({x0:.0f},{y0:.0f})-({x1:.0f},{y1:.0f})")
        return bad

    def small_buttons() -> list[str]:
        return [f"{b.text[:20]!r}:{b.height:.0f}" for b in buttons() if b.height + 0.5 < app.min_target]

    def shot(name: str) -> None:
        path = out / f"kiosk_contact_{tag}_{name}.png"
        app.sm.export_to_png(str(path))
        report["screenshots"].append(str(path))  # type: ignore[union-attr]
        report["outside"][name] = outside()  # type: ignore[index]
        report["small_targets"][name] = small_buttons()  # type: ignore[index]

    def key_positions() -> dict[str, tuple[float, ...]]:
        keys = app.screens["contact"].key_buttons
        return {k: (*b.to_window(b.x, b.y), b.width, b.height) for k, b in keys.items()}

    def wait(cond, what: str, timeout: float = 10.0):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what} (screen {kiosk.screen})")
            yield
        yield
        yield

    def pause(seconds: float):  # type: ignore[no-untyped-def]
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            yield

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

    run_flow(app, flow(), report, steps)
    hub.stop()
    gateway.stop()
    print(json.dumps(report, ensure_ascii=False))
    return 0 if "error" not in report else 1


if __name__ == "__main__":
    sys.exit(main())
