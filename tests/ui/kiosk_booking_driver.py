"""Drives the real kiosk's "Có lịch hẹn" screen headless (SDL offscreen) against a real hub that takes bookings:
types a booking code on the on-screen keyboard, checks in, the ticket prints; then a booking too early is explained
and its walk-in button issues a ticket. Run by tests/ui/test_kiosk_booking_screen.py in a subprocess:
``python tests/ui/kiosk_booking_driver.py <out_dir> <width> <height>``. The last stdout line is a JSON report.
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
from datetime import timedelta

from hub_support import TestHub
from kiosk_support import MONDAY_9AM, kiosk_hub_options, run_flow, widgets_outside

from kiosk.config import settings_from_dict


def hub_with_bookings(tmp: Path) -> TestHub:
    from queue_server.domain.bookings import BookingRules
    from queue_server.engagement_config import BookingSettings

    options = kiosk_hub_options(services=3)
    base = options.settings

    def settings(path: Path):  # type: ignore[no-untyped-def]
        s = base(path)
        rules = BookingRules(capacity={"ho-tich": 4}, slot_minutes=30)
        return replace(s, bookings=BookingSettings(rules, path / "bookings.sqlite3"))

    options = replace(options, settings=settings, prepare=None)
    return TestHub(tmp, options).start()


def main() -> int:
    out = Path(sys.argv[1])
    width, height = int(sys.argv[2]), int(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-booking-ui-"))
    hub = hub_with_bookings(tmp)
    bookings = hub.engagement.bookings
    now_code = bookings.book("ho-tich", MONDAY_9AM, "0912345678")[0].code
    early_code = bookings.book("ho-tich", MONDAY_9AM + timedelta(hours=2), "0987654321")[0].code
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

    kiosk, printer = build_kiosk(settings, runner=ThreadRunner(post_to_ui), ticket_dir=tmp / "tickets")
    sim = printer.printer.simulator
    app = KioskApp(kiosk, settings, maintain=False)
    report: dict[str, object] = {"steps": [], "screenshots": []}
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

    def shot(name: str) -> None:
        path = out / f"kiosk_booking_{tag}_{name}.png"
        app.sm.export_to_png(str(path))
        report["screenshots"].append(str(path))  # type: ignore[union-attr]
        report.setdefault("outside", {})[name] = widgets_outside(app.sm.current_screen)  # type: ignore[union-attr]

    def small_buttons() -> list[str]:
        return [f"{b.text[:20]!r}:{b.height:.0f}" for b in buttons() if b.height + 0.5 < app.min_target]

    def wait(cond, what: str, timeout: float = 8.0):  # type: ignore[no-untyped-def]
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

    def type_code(code: str):  # type: ignore[no-untyped-def]
        for ch in code:
            tap(button(ch, exact=True))
            yield from pause(0.35)          # past the kiosk's double-tap guard

    def flow():  # type: ignore[no-untyped-def]
        yield from wait(lambda: kiosk.screen == "home", "home")
        yield from pause(0.4)
        shot("home")
        report["small_targets_home"] = small_buttons()
        tap(button("Có lịch hẹn"))
        yield from wait(lambda: kiosk.screen == "booking", "booking screen")
        yield from pause(0.4)
        yield from type_code(now_code)
        report["typed"] = kiosk.booking.code
        shot("typed")
        report["small_targets_booking"] = small_buttons()
        tap(button("Xác nhận"))
        yield from wait(lambda: kiosk.take.state == "printed", "ticket printed")
        shot("ticket")
        report["ticket_number"] = kiosk.take.ticket.number
        report["printed_texts"] = sim.tickets[-1].texts() if getattr(sim, "tickets", None) else []
        yield from pause(0.4)
        tap(button("Xong"))
        yield from wait(lambda: kiosk.screen == "home", "home again")
        steps.append("checked-in")

        yield from pause(0.4)
        tap(button("Có lịch hẹn"))
        yield from wait(lambda: kiosk.screen == "booking", "booking screen")
        yield from pause(0.4)
        yield from type_code(early_code)
        tap(button("Xác nhận"))
        yield from wait(lambda: kiosk.booking.walk_in_service is not None, "too-early answer")
        yield from pause(0.3)
        shot("too_early")
        report["early_message"] = kiosk.booking.view().message
        tap(button("Lấy số thường"))
        yield from wait(lambda: kiosk.take.state == "printed", "walk-in printed")
        report["walk_in_number"] = kiosk.take.ticket.number
        steps.append("too-early-walk-in")

    run_flow(app, flow(), report, steps)
    hub.stop()
    report["queue"] = [str(t) for t in (now_code, early_code)]
    print(json.dumps(report, ensure_ascii=False))
    return 0 if "error" not in report else 1


if __name__ == "__main__":
    sys.exit(main())
