"""Drives the real kiosk app headless through face look-up against a real hub with [face] on: the home button,
the live preview with the face guide (simulated camera replaying a blink), the dossiers found, withdrawal.

Run by tests/ui/test_face_screen.py in a subprocess: ``python tests/ui/face_ui_driver.py <out_dir> [<width>
<height>]`` (portrait 1080×1920 by default); the last stdout line is a JSON report.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import tomllib
from pathlib import Path

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ["KIVY_HOME"] = tempfile.mkdtemp(prefix="kivy-home-")
ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from kiosk_support import CODE, MONDAY_9AM, dossier_push, run_flow, widgets_outside

WHO = "Nguyễn Thị Thu Trang"


def start_face_hub(tmp: Path):
    from devices.face.simulator import SimulatedFaceEngine, make_frame
    from queue_server.adapters.face_gallery import create_key_file
    from queue_server.app.ports import FixedClock
    from queue_server.config import settings_from_dict
    from queue_server.domain.face_consent import CONSENT_VERSION
    from queue_server.wiring import build_hub

    raw = tomllib.loads((ROOT / "deploy" / "center.example.toml").read_text(encoding="utf-8"))
    raw["store"] = {"path": str(tmp / "data" / "hub.sqlite3")}
    raw["http"] = {"host": "127.0.0.1", "port": 0, "threads": 8}
    raw["mqtt"] = {"enabled": False}
    raw["face"] = {"enabled": True, "key_path": str(tmp / "keys" / "face.key")}
    settings = settings_from_dict(raw, base_dir=tmp, source="face ui test")
    create_key_file(settings.face.key_path)
    hub = build_hub(settings, clock=FixedClock(MONDAY_9AM), extra_blueprints=[], keepalive_s=2.0)
    hub.integration.service.ingest(dossier_push())
    engine = SimulatedFaceEngine()
    from contracts.messages import format_at  # noqa: F401  (hub import side effects are fine)
    hub.face.service.enrol(templates=[engine.embed(make_frame(WHO))],
                           consent={"accepted": True, "version": CONSENT_VERSION}, codes=[CODE], actor="canbo")
    port = hub.serve_in_thread("127.0.0.1", 0)
    return hub, f"http://127.0.0.1:{port}"


def main() -> int:
    out = Path(sys.argv[1])
    width, height = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (1080, 1920)
    tag = "landscape_" if width > height else ""
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="face-ui-"))
    hub, url = start_face_hub(tmp)
    import cv2

    from devices.face.simulator import blink_sequence
    frames = tmp / "camera"
    frames.mkdir()
    for i, frame in enumerate(blink_sequence(WHO, frames=12)):
        cv2.imwrite(str(frames / f"f{i:02d}.png"), frame)      # lossless: the simulator reads its header
    camera_url = f"sim://camera?dir={frames}&loop=1&fps=5"
    from kiosk.config import settings_from_dict
    settings = settings_from_dict({"hub": {"url": url}, "screen": {"width": width, "height": height},
                                   "behaviour": {"tap_guard_s": 0.3},
                                   "offline": {"journal": str(tmp / "journal.sqlite")}}, env={})
    from kiosk.app import configure_kivy
    configure_kivy(settings)
    from kivy.tests.common import UnitTestTouch
    from kivy.uix.button import Button

    from devices.face.liveness import Challenge
    from kiosk.__main__ import build_kiosk
    from kiosk.app import KioskApp, post_to_ui
    from kiosk.face_wiring import attach_face
    from kiosk.presenters import ThreadRunner

    kiosk, _printer = build_kiosk(settings, runner=ThreadRunner(post_to_ui), ticket_dir=tmp / "tickets",
                                  camera_url=camera_url)
    report: dict[str, object] = {"steps": [], "screenshots": []}
    report["attached"] = attach_face(kiosk, kiosk.hub, camera_url)
    kiosk.face._choose = lambda _c: Challenge.BLINK      # the replayed clip is a blink
    app = KioskApp(kiosk, settings, maintain=False, camera_url=camera_url)

    def buttons() -> list[Button]:
        found, stack = [], [app.sm.current_screen]
        while stack:
            w = stack.pop()
            if isinstance(w, Button) and w.opacity > 0 and not w.disabled and w.width > 1:
                found.append(w)
            stack.extend(w.children)
        return found

    def button(text_part: str) -> Button:
        matches = [b for b in buttons() if text_part in b.text]
        if not matches:
            raise AssertionError(f"no button with {text_part!r} on {kiosk.screen}: {[b.text for b in buttons()]}")
        return matches[0]

    def tap(widget: Button) -> None:
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()

    def shot(name: str) -> None:
        path = out / f"kiosk_face_{tag}{name}.png"
        app.sm.export_to_png(str(path))
        report["screenshots"].append(str(path))  # type: ignore[union-attr]
        report.setdefault("outside", {})[name] = widgets_outside(app.sm.current_screen)  # type: ignore[union-attr]
        report.setdefault("small_targets", {})[name] = [  # type: ignore[union-attr]
            f"{b.text[:20]!r}:{b.height:.0f}" for b in buttons() if b.height + 0.5 < app.min_target]

    def wait(cond, what: str, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what} (screen {kiosk.screen})")
            yield
        yield
        yield

    def pause(seconds: float):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            yield

    steps: list[str] = []

    def flow():
        yield from wait(lambda: kiosk.screen == "home", "home")
        yield from pause(0.4)
        shot("home")
        tap(button("Tra cứu bằng khuôn mặt"))
        yield from wait(lambda: kiosk.screen == "face", "face screen")
        # read as the screen opens: a loaded machine may match the replayed blink before the preview's first frame
        report["capture_state"] = kiosk.face.state
        report["capture_prompt"] = kiosk.face.view().prompt
        yield from wait(lambda: app.screens["face"].ids.preview.texture is not None, "preview")
        shot("capture")
        steps.append("capture")
        yield from wait(lambda: kiosk.face.state == "found", "found", timeout=15)
        shot("found")
        report["found"] = list(kiosk.face.view().dossiers)
        steps.append("found")
        yield from pause(0.4)
        tap(button("Xóa dữ liệu khuôn mặt"))
        yield from wait(lambda: kiosk.face.state == "confirm_withdraw", "confirm")
        shot("confirm_withdraw")
        yield from pause(0.4)
        tap(button("Đồng ý xóa"))
        yield from wait(lambda: kiosk.face.state == "withdrawn", "withdrawn")
        shot("withdrawn")
        report["withdrawn"] = kiosk.face.view().prompt
        report["templates_left"] = hub.face.service.gallery.template_count()
        steps.append("withdrawn")

        # enrolment at the kiosk, from a dossier's result: the consent screen, declined
        kiosk.reset()
        yield from pause(0.4)
        kiosk.scanned(CODE)
        yield from wait(lambda: kiosk.screen == "result", "result")
        yield from pause(0.4)
        tap(button("Đăng ký tra cứu bằng khuôn mặt"))
        yield from wait(lambda: kiosk.face.state == "consent" and kiosk.face.consent is not None, "consent")
        shot("consent")
        report["consent_buttons"] = [b.text for b in buttons()]
        yield from pause(0.4)
        tap(button("Không đồng ý"))
        yield from wait(lambda: kiosk.face.state == "enrol_declined", "declined")
        steps.append("declined")

    run_flow(app, flow(), report, steps)
    hub.stop()
    print(json.dumps(report, ensure_ascii=False))
    return 0 if "error" not in report else 1


if __name__ == "__main__":
    sys.exit(main())
