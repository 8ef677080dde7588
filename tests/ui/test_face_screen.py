"""The real face look-up screen, headless, against a real hub with [face] on (subprocess: Kivy state stays there).
Screenshots land in test-artifacts/kiosk/."""
from __future__ import annotations

from pathlib import Path

import pytest
from kiosk_support import drive_kiosk

pytestmark = [pytest.mark.ui, pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[2]


def test_face_lookup_screens_tap_through() -> None:
    out = ROOT / "test-artifacts" / "kiosk"
    report = drive_kiosk("face_ui_driver.py", out)
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
    for shot in report["screenshots"]:
        assert Path(shot).stat().st_size > 10_000
