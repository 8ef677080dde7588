"""Drives the REAL kiosk app headless (SDL offscreen) the way ``motcua kiosk`` wires it (build_kiosk, the device
health over MQTT with a Last Will, KioskApp) against a real hub and broker, with the simulated printer holding
paper for one ticket. Run by tests/browser/test_kiosk_device_alert.py in a subprocess:

``python tests/browser/kiosk_health_driver.py <out_dir> <hub_url> <mqtt_host> <mqtt_port> <center>``

Each step prints one JSON line; between steps it waits for a line on stdin (``reload``: staff load paper;
``quit``). Citizens' taps are real touches on the real buttons.
"""
from __future__ import annotations

import json
import os
import queue
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ["KIVY_HOME"] = tempfile.mkdtemp(prefix="kivy-home-")
ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]


def say(**report: object) -> None:
    print(json.dumps(report, ensure_ascii=False), flush=True)


def main() -> int:
    out, hub_url, host, port, center = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-health-"))
    from kiosk.config import settings_from_dict

    settings = settings_from_dict({
        "id": "kiosk-sanh", "hub": {"url": hub_url},
        "screen": {"width": 540, "height": 960}, "behaviour": {"tap_guard_s": 0.2},
        "devices": {"printer": "sim://printer?paper_jobs=1", "printer_check_s": 0.5, "when_printer_down": "stop"},
        "offline": {"journal": str(tmp / "journal.sqlite")},
        "mqtt": {"enabled": True, "host": host, "port": port, "center": center, "keepalive_s": 5},
    }, env={})
    from kiosk.app import configure_kivy
    configure_kivy(settings)
    from kivy.clock import Clock
    from kivy.tests.common import UnitTestTouch
    from kivy.uix.button import Button

    from kiosk.__main__ import build_kiosk
    from kiosk.app import KioskApp, post_to_ui
    from kiosk.device_health import start_device_health
    from kiosk.presenters import ThreadRunner

    kiosk, printer = build_kiosk(settings, runner=ThreadRunner(post_to_ui), ticket_dir=tmp / "tickets")
    sim = printer.printer.simulator
    watch, health = start_device_health(settings, printer,
                                        lambda fault: post_to_ui(lambda: kiosk.set_printer_fault(fault)))
    app = KioskApp(kiosk, settings, maintain=False)
    commands: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [commands.put(line.strip()) for line in sys.stdin], daemon=True).start()

    def buttons() -> list[Button]:
        found, stack = [], [app.sm.current_screen]
        while stack:
            w = stack.pop()
            if isinstance(w, Button) and w.opacity > 0 and not w.disabled and w.width > 1:
                found.append(w)
            stack.extend(w.children)
        return found

    def tap(text_part: str) -> None:
        matches = [b for b in buttons() if text_part in b.text]
        if not matches:
            raise AssertionError(f"no button {text_part!r} on {kiosk.screen}: {[b.text for b in buttons()]}")
        x, y = matches[0].to_window(*matches[0].center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()

    def wait(cond, what: str, timeout: float = 15.0):  # type: ignore[no-untyped-def]
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

    def command() -> str:
        try:
            return commands.get_nowait()
        except queue.Empty:
            return ""

    def take_ticket():  # type: ignore[no-untyped-def]
        tap("Lấy số thứ tự")
        yield from wait(lambda: kiosk.screen == "services" and kiosk.catalog.live, "service grid")
        yield from pause(0.3)
        tap("Tư pháp – Hộ tịch")
        yield from wait(lambda: kiosk.screen == "priority", "priority question")
        yield from pause(0.3)
        tap("Không")
        yield from wait(lambda: kiosk.take.state in ("printed", "print_failed"), "the print")

    def flow():  # type: ignore[no-untyped-def]
        yield from wait(lambda: kiosk.screen == "home" and health is not None and health.wait_connected(0),
                        "home and the broker")
        yield from pause(0.3)
        yield from take_ticket()
        first = (kiosk.take.view().number, kiosk.take.state)
        tap("Xong")
        yield from wait(lambda: kiosk.screen == "home", "home again")
        yield from pause(0.3)
        yield from take_ticket()               # the paper runs out during this job
        second = (kiosk.take.view().number, kiosk.take.state)
        yield from wait(lambda: kiosk.printer_fault == "paper_out", "the printer watch")
        yield from pause(0.3)
        tap("Xong")
        yield from wait(lambda: kiosk.screen == "home", "home after the failure")
        yield from pause(0.3)
        notice = kiosk.home.view().notice
        app.sm.export_to_png(str(out / "kiosk_paper_out_home.png"))
        tap("Lấy số thứ tự")                   # a citizen tries anyway: the sign, not a number
        yield from wait(lambda: kiosk.screen == "closed", "the no-paper sign")
        yield from pause(0.3)
        app.sm.export_to_png(str(out / "kiosk_paper_out_sign.png"))
        say(step="paper_out", first=first, second=second, home_notice=notice, sign=kiosk.closed.view().title,
            sign_body=kiosk.closed.view().body, issued_meanwhile=kiosk.take.ticket is not None)
        yield from wait(lambda: (cmd := command()) == "reload" or cmd == "quit", "reload", timeout=90)
        sim.set_faults(paper="ok", paper_jobs=None)   # staff load paper
        yield from wait(lambda: kiosk.printer_fault is None and kiosk.screen == "home", "the kiosk resuming", 10)
        say(step="resumed", screen=kiosk.screen, home_notice=kiosk.home.view().notice)
        yield from wait(lambda: command() == "quit", "quit", timeout=90)

    gen = flow()
    failure: list[str] = []

    def step(_dt: float) -> bool:
        try:
            next(gen)
        except StopIteration:
            app.stop()
            return False
        except Exception:  # noqa: BLE001
            failure.append(traceback.format_exc())
            app.stop()
            return False
        return True

    Clock.schedule_interval(step, 1 / 30)
    try:
        app.run()
    finally:
        watch.stop()
        if health is not None:
            health.stop()
    if failure:
        say(step="error", error=failure[0])
        return 1
    say(step="stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
