"""Drives the real kiosk app headless (SDL offscreen) against a real hub: taps real buttons, saves screenshots.

Run by tests/ui/test_kiosk_screens.py in a subprocess (so the Kivy window never leaks into other tests):
``python tests/ui/kiosk_ui_driver.py <out_dir> <width> <height>``. The last stdout line is a JSON report.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from kiosk_support import headless_kivy

headless_kivy(console_log=bool(os.environ.get("KIOSK_UI_DEBUG")))

from kiosk_support import CODE, KioskDriver, kiosk_ui_settings, run_driver, start_hub, start_kiosk_app


def make_camera_frames(folder: Path) -> str:
    """A simulated camera: a few frames of an empty desk, then the receipt's QR (4 frames a second)."""
    import numpy as np
    import segno
    from PIL import Image

    folder.mkdir(parents=True)
    for i in range(6):
        Image.fromarray(np.full((480, 640, 3), 200 + i, dtype=np.uint8)).save(folder / f"a{i}.png")
    qr = folder / "qr.png"
    segno.make(f"Ma ho so: {CODE}", error="m").save(str(qr), scale=10, border=4)
    img = Image.open(qr).convert("RGB")
    canvas = Image.new("RGB", (640, 480), (230, 225, 215))
    canvas.paste(img, ((640 - img.width) // 2, (480 - img.height) // 2))
    canvas.save(folder / "b.png")
    qr.unlink()
    return f"sim://camera?dir={folder}&fps=4"


def main() -> int:
    out = Path(sys.argv[1])
    width, height = int(sys.argv[2]), int(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-ui-"))
    services = int(sys.argv[4]) if len(sys.argv) > 4 else 6
    hub = start_hub(tmp, services=services)
    settings = kiosk_ui_settings(hub.url, tmp, width, height)
    camera_url = make_camera_frames(tmp / "camera")
    kiosk, printer, app = start_kiosk_app(settings, tmp, camera_url=camera_url)
    kiosk.wall_clock = hub.clock.now        # the out-of-hours screen names the next opening from the hub's day
    sim = printer.printer.simulator
    report: dict[str, object] = {"steps": [], "screenshots": [], "size": [width, height]}
    tag = f"{'landscape' if width > height else 'portrait'}"
    ui = KioskDriver(app, kiosk, report, out=out, prefix=f"kiosk_{tag}_", wait_s=8.0)
    buttons, button, tap, shot, wait, pause = ui.buttons, ui.button, ui.tap, ui.shot, ui.wait, ui.pause
    small_buttons = ui.small_buttons

    def key_positions() -> dict[str, tuple[float, ...]]:
        return ui.key_positions("lookup")

    steps = []

    def flow():
        yield from wait(lambda: kiosk.screen == "home", "home")
        yield from pause(0.4)
        shot("home")
        report["small_targets_home"] = small_buttons()
        tap(button("Lấy số thứ tự"))
        yield from wait(lambda: kiosk.screen == "services" and kiosk.catalog.live, "service grid")
        yield from pause(0.4)
        shot("services")
        report["small_targets_services"] = small_buttons()
        # the procedure search: typed without marks, the keyboard fixed, every widget inside the window
        tap(button("Tìm theo thủ tục"))
        yield from wait(lambda: kiosk.screen == "search", "search screen")
        yield from pause(0.3)
        search_keys = app.screens["search"].key_buttons
        key_before = {k: (*b.to_window(b.x, b.y), b.width) for k, b in search_keys.items()}
        for ch in "KHAI":
            tap(search_keys[ch])
            yield from pause(0.15)
        yield from pause(0.3)
        shot("search")
        report["search_matches"] = [label for label, _ in kiosk.services.search_view().matches]
        report["search_keys_moved"] = [k for k, b in search_keys.items()
                                       if (*b.to_window(b.x, b.y), b.width) != key_before[k]]
        tap(button("Quay lại"))
        yield from wait(lambda: kiosk.screen == "services", "back to the grid")
        yield from pause(0.4)
        tap(button("Tư pháp – Hộ tịch"))
        yield from wait(lambda: kiosk.screen == "priority", "priority question")
        yield from pause(0.4)
        shot("priority")
        tap(button("Không, tôi lấy số thường"))
        yield from wait(lambda: kiosk.take.state == "printed", "ticket printed")
        shot("ticket")
        report["ticket_number"] = kiosk.take.ticket.number
        report["printed_texts"] = sim.tickets[-1].texts() if getattr(sim, "tickets", None) else []
        report["tracking_qr"] = sim.tickets[-1].qr_payloads() if getattr(sim, "tickets", None) else []
        yield from pause(0.4)
        tap(button("Xong"))
        yield from wait(lambda: kiosk.screen == "home", "home after done")
        steps.append("take-ticket")

        # printer out of paper: the number stays on screen with a clear message
        sim.set_faults(paper="out")
        yield from pause(0.4)
        tap(button("Lấy số thứ tự"))
        yield from wait(lambda: kiosk.screen == "services", "grid")
        yield from pause(0.4)
        tap(button("Đất đai"))
        yield from wait(lambda: kiosk.screen == "priority", "priority")
        yield from pause(0.4)
        tap(button("Người cao tuổi"))
        yield from wait(lambda: kiosk.take.state == "print_failed", "print failure")
        shot("ticket_print_failed")
        report["failed_number"] = kiosk.take.ticket.number
        sim.set_faults(paper="ok")
        yield from pause(0.4)
        tap(button("Xong"))
        yield from wait(lambda: kiosk.screen == "home", "home")
        steps.append("print-failure")

        # lookup by typing on the on-screen keyboard
        yield from pause(0.4)
        tap(button("Tra cứu hồ sơ"))
        yield from wait(lambda: kiosk.screen == "lookup", "lookup")
        yield from pause(0.4)
        keys = app.screens["lookup"].key_buttons
        yield from pause(0.2)
        before = key_positions()
        for ch in CODE:
            tap(keys[ch])
            yield from pause(0.2)
        report["typed"] = kiosk.lookup.code
        report["keys_moved_typing"] = [k for k, v in key_positions().items() if v != before[k]]
        shot("lookup")
        report["small_targets_lookup"] = small_buttons()
        yield from pause(0.4)
        tap(next(b for b in buttons() if b.text == "Tra cứu"))  # exact: "Tra cứu hồ sơ" is elsewhere
        yield from wait(lambda: kiosk.screen == "result", "result")
        shot("result")
        report["result_status"] = kiosk.result.view().status
        yield from pause(0.4)
        tap(button("Về trang đầu"))
        yield from wait(lambda: kiosk.screen == "home", "home")
        steps.append("lookup-typed")

        # the receipt's QR shown to the camera, with the live preview on screen
        yield from pause(0.4)
        tap(button("Tra cứu hồ sơ"))
        yield from wait(lambda: kiosk.screen == "lookup", "lookup")
        yield from pause(0.4)
        tap(button("Quét mã QR bằng camera"))
        yield from wait(lambda: app.screens["lookup"].ids.preview.texture is not None, "camera preview")
        shot("lookup_camera")
        yield from wait(lambda: kiosk.screen == "result", "result from the camera", timeout=15)
        report["camera_result"] = kiosk.result.view().code
        kiosk.reset()
        yield from wait(lambda: kiosk.screen == "home", "home")
        steps.append("camera-qr")

        # a hardware scan on the home screen goes straight to the result
        kiosk.scanned(f"https://dichvucong.example.vn/tra-cuu?maHoSo={CODE}")
        yield from wait(lambda: kiosk.screen == "result", "result after scan")
        steps.append("scan-on-home")
        kiosk.reset()
        yield from wait(lambda: kiosk.screen == "home", "home")

        # an unknown code, in English
        yield from pause(0.4)
        tap(button("English"))
        yield from wait(lambda: kiosk.lang == "en", "english")
        shot("home_en")
        kiosk.scanned("000.00.12.H38-261118-9999")
        yield from wait(lambda: kiosk.screen == "lookup" and not kiosk.lookup.busy and kiosk.lookup.error_code,
                        "unknown code")
        yield from pause(0.3)
        shot("lookup_unknown_en")
        report["unknown_message"] = kiosk.lookup.view().message
        # the error message shows in its reserved area: not one key has moved (nor after the next key press)
        report["keys_moved_by_message"] = [k for k, v in key_positions().items() if v != before[k]]
        tap(app.screens["lookup"].key_buttons["1"])
        yield from pause(0.3)
        report["keys_moved_after_key"] = [k for k, v in key_positions().items() if v != before[k]]
        steps.append("unknown-code")

        # out of hours
        kiosk.reset()
        hub.clock.set(hub.clock.now().replace(hour=19))
        yield from pause(0.4)
        tap(button("Lấy số thứ tự"))
        yield from wait(lambda: kiosk.screen == "closed", "out-of-hours screen")
        shot("closed")
        report["closed_body"] = kiosk.closed.view().body
        steps.append("closed")

    return run_driver(app, flow(), report, steps, stop=hub.stop)


if __name__ == "__main__":
    sys.exit(main())
