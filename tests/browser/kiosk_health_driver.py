"""Drives the REAL kiosk app headless (SDL offscreen) the way ``motcua kiosk`` wires it (build_kiosk, the device
health over MQTT with a Last Will, KioskApp) against a real hub and broker, with the simulated printer holding
paper for one ticket. Run by tests/browser/test_kiosk_device_alert.py in a subprocess:

``python tests/browser/kiosk_health_driver.py <out_dir> <hub_url> <mqtt_host> <mqtt_port> <center>``

Each step prints one JSON line; between steps it waits for a line on stdin (``reload``: staff load paper;
``quit``). Citizens' taps are real touches on the real buttons.
"""
from __future__ import annotations

import json
import queue
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from kiosk_support import headless_kivy

headless_kivy()

from kiosk_support import KioskDriver, run_flow, start_kiosk_app


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
    kiosk, printer, app = start_kiosk_app(settings, tmp)
    from kiosk.app import post_to_ui
    from kiosk.device_health import start_device_health

    sim = printer.printer.simulator
    watch, health = start_device_health(settings, printer,
                                        lambda fault: post_to_ui(lambda: kiosk.set_printer_fault(fault)))
    commands: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [commands.put(line.strip()) for line in sys.stdin], daemon=True).start()
    report: dict[str, object] = {}
    ui = KioskDriver(app, kiosk, report, wait_s=15.0)
    wait, pause = ui.wait, ui.pause

    def tap(text_part: str) -> None:
        ui.tap(ui.button(text_part))

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

    try:
        run_flow(app, flow(), report, [], fps=30)
    finally:
        watch.stop()
        if health is not None:
            health.stop()
    if "error" in report:
        say(step="error", error=report["error"])
        return 1
    say(step="stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
