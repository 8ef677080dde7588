"""The counter's enrolment page in Debian's Chromium, with a fake camera playing a real photo (Y4M file), against
a real hub whose face engine is the real one (BlazeFace + dlib): staff log in, the consent is chosen explicitly
(nothing pre-ticked, no capture before it), a frame is captured and sent, the hub keeps only the template; the
enrolled citizen is then deleted from the same page."""
from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
from face_support import read
from netutil import free_port, wait_for_port
from werkzeug.security import generate_password_hash

pytest.importorskip("mediapipe", reason="the face extra (make test installs it)")

from queue_server.adapters.face_gallery import create_key_file
from queue_server.config import settings_from_dict

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[2]
CODE = "000.00.12.H38-261123-0001"


def write_y4m(path: Path, frame_bgr: np.ndarray, frames: int = 30) -> None:
    """A raw 4:2:0 video Chromium's fake camera can play (--use-file-for-fake-video-capture)."""
    import cv2

    h, w = frame_bgr.shape[:2]
    yuv = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2YUV_I420)
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + yuv.tobytes())


def camera_picture() -> np.ndarray:
    import cv2

    img = read("obama.jpg")                                  # face about 280 px wide in a 910×1137 photo
    small = cv2.resize(img, (int(img.shape[1] * 0.7), int(img.shape[0] * 0.7)))
    canvas = np.full((480, 640, 3), 128, np.uint8)
    canvas[:, 0:small.shape[1]] = small[60:540, :640][: 480, : small.shape[1]]
    return canvas


@pytest.fixture
def face_hub(tmp_path: Path):
    from datetime import datetime

    from contracts.messages import VN_TZ
    from displays.blueprint import make_displays_blueprint
    from queue_server.app.ports import FixedClock
    from queue_server.wiring import build_hub

    raw = tomllib.loads((ROOT / "deploy" / "center.example.toml").read_text(encoding="utf-8"))
    raw["store"] = {"path": str(tmp_path / "data" / "hub.sqlite3")}
    raw["mqtt"] = {"enabled": False}
    raw["users"] = [{"username": "canbo", "role": "staff",
                     "password_hash": generate_password_hash("mat-khau-1", method="pbkdf2:sha256:1000")}]
    raw["face"] = {"enabled": True, "key_path": str(tmp_path / "keys" / "face.key"), "engine": "mediapipe"}
    settings = settings_from_dict(raw, source="face page test")
    create_key_file(settings.face.key_path)
    displays = make_displays_blueprint(tmp_path / "voice", build_missing=False)
    hub = build_hub(settings, clock=FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ)), extra_blueprints=[displays])
    port = free_port()
    hub.serve_in_thread("127.0.0.1", port)
    wait_for_port(port)
    yield hub, f"http://127.0.0.1:{port}"
    hub.stop()


def test_enrol_from_the_counter_camera_then_delete(face_hub, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    hub, url = face_hub
    video = tmp_path / "camera.y4m"
    write_y4m(video, camera_picture())
    args = ["--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args)
        try:
            # Playwright's wait_for_function evaluates strings, which the hub's CSP forbids; the page itself runs
            # under its CSP in test_pages_under_csp.py
            page = browser.new_page(bypass_csp=True)
            page.goto(url + "/face/enrol")
            page.fill("#username", "canbo")
            page.fill("#password", "mat-khau-1")
            page.click("#login button[type=submit]")
            page.wait_for_selector("#consent-text p")
            assert "91/2025/QH15" in page.inner_text("#consent-text")
            # nothing chosen yet: no camera, no capture, no enrolment
            assert page.is_hidden("#capture-card") and page.inner_text("#consent-state").startswith("Chưa chọn")
            page.click("#decline")
            assert page.is_hidden("#capture-card")
            page.click("#agree")
            page.wait_for_function("document.getElementById('video').videoWidth > 0")
            assert page.is_disabled("#enrol")
            page.click("#capture")
            assert page.is_disabled("#enrol")                      # still no dossier code
            page.fill("#codes", CODE)
            page.click("#enrol")
            page.wait_for_function("document.getElementById('message').className.includes('ok')", timeout=30000)
            assert "Đã đăng ký" in page.inner_text("#message")
            assert hub.face.service.gallery.template_count() == 1
            page.wait_for_selector("#subjects button")
            assert CODE in page.inner_text("#subjects")
            # a citizen enrolled at a kiosk waits for staff: confirmed from this page
            from queue_server.domain.face_consent import CONSENT_VERSION
            other = hub.face.engine.embed(read("biden.jpg"))
            req = hub.face.service.request_at_kiosk(
                template=other, consent={"accepted": True, "version": CONSENT_VERSION},
                codes=["000.00.12.H38-261123-0002"], device="kiosk-2", liveness={"passed": True})
            page.click("#refresh-requests")
            page.wait_for_selector("#requests button[data-decision=approve]")
            assert req["request_id"] in page.inner_text("#requests")
            page.click("#requests button[data-decision=approve]")
            page.wait_for_function("document.querySelectorAll('#subjects button').length == 2")
            assert hub.face.service.gallery.template_count() == 2
            hub.face.service.delete(hub.face.service.subjects()[0]["subject"], actor="test")
            page.reload()
            page.wait_for_function("document.querySelectorAll('#subjects button').length == 1")
            page.once("dialog", lambda d: d.accept())
            page.click("#subjects button")
            page.wait_for_function("!document.querySelector('#subjects button')")
            assert hub.face.service.gallery.template_count() == 0
        finally:
            browser.close()
