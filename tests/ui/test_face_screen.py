"""The real face look-up screen, headless, against a real hub with [face] on (subprocess: Kivy state stays there).
Screenshots land in test-artifacts/kiosk/."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ui, pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("width", "height"), [(1080, 1920), (1920, 1080)], ids=["portrait", "landscape"])
def test_face_lookup_screens_tap_through(width: int, height: int) -> None:
    out = ROOT / "test-artifacts" / "kiosk"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(SDL_VIDEODRIVER="offscreen", KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1")
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "ui" / "face_ui_driver.py"), str(out), str(width),
                           str(height)], env=env,
                          capture_output=True, text=True, timeout=150, cwd=ROOT, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"driver printed no report (rc={proc.returncode}):\n{proc.stderr[-3000:]}"
    report = json.loads(lines[-1])
    assert "error" not in report, report["error"]
    assert report["attached"] is True
    assert report["steps"] == ["capture", "found", "withdrawn", "declined"]
    assert "Tôi đồng ý" in report["consent_buttons"] and "Không đồng ý" in report["consent_buttons"]
    assert report["capture_state"] == "capture"
    assert report["capture_prompt"] in ("Hãy chớp mắt một lần", "Đưa khuôn mặt vào khung hình")
    found = "\n".join(report["found"])
    assert "000.00.12.H38-261118-0007" in found and "Nguyễn Thị Thu Trang" not in found
    assert report["withdrawn"] == "Đã xóa dữ liệu khuôn mặt của Ông/Bà." and report["templates_left"] == 0
    assert {k: v for k, v in report["small_targets"].items() if v} == {}
    # every widget of every face screen lies inside the window, in both orientations
    assert {name: bad for name, bad in report["outside"].items() if bad} == {}
    for shot in report["screenshots"]:
        assert Path(shot).stat().st_size > 10_000
