"""Drives the real kiosk's "Có lịch hẹn" screen headless (SDL offscreen) against a real hub that takes bookings:
types a booking code on the on-screen keyboard, checks in, the ticket prints; then a booking too early is explained
and its walk-in button issues a ticket. Run by tests/ui/test_kiosk_booking_screen.py in a subprocess:
``python tests/ui/kiosk_booking_driver.py <out_dir> <width> <height>``. The last stdout line is a JSON report.
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
from datetime import timedelta

from hub_support import TestHub
from kiosk_support import (
    MONDAY_9AM,
    KioskDriver,
    kiosk_hub_options,
    kiosk_ui_settings,
    run_driver,
    start_kiosk_app,
)


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
    settings = kiosk_ui_settings(hub.url, tmp, width, height)
    kiosk, printer, app = start_kiosk_app(settings, tmp)
    sim = printer.printer.simulator
    report: dict[str, object] = {"steps": [], "screenshots": []}
    tag = "landscape" if width > height else "portrait"
    steps: list[str] = []
    ui = KioskDriver(app, kiosk, report, out=out, prefix=f"kiosk_booking_{tag}_", wait_s=8.0)
    button, tap, shot, small_buttons, wait, pause = ui.button, ui.tap, ui.shot, ui.small_buttons, ui.wait, ui.pause

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

    report["queue"] = [str(t) for t in (now_code, early_code)]
    return run_driver(app, flow(), report, steps, stop=hub.stop)


if __name__ == "__main__":
    sys.exit(main())
