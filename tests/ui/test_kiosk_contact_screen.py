"""The real "Nhắn tin khi sắp đến lượt" kiosk screen, headless (SDL offscreen), against a real hub that texts
citizens: a ticket is issued and printed, the button opens the big keypad, a wrong first digit is explained without
moving a key, the typed number is attached to the ticket in the hub's contact book, the confirmation says when the
text comes, and "Xong" goes home with nothing left behind. Every widget lies inside the window in both orientations.
The driver runs in a subprocess (tests/ui/kiosk_contact_driver.py) so Kivy's window never leaks."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ui, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests" / "ui" / "kiosk_contact_driver.py"


@pytest.mark.parametrize(("width", "height"), [(1080, 1920), (1920, 1080)], ids=["portrait", "landscape"])
def test_leave_a_number_after_printing(width: int, height: int) -> None:
    out = ROOT / "test-artifacts" / "kiosk"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(SDL_VIDEODRIVER="offscreen", KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1")
    proc = subprocess.run([sys.executable, str(DRIVER), str(out), str(width), str(height)], env=env, check=False,
                          capture_output=True, text=True, timeout=150, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"driver printed no report (rc={proc.returncode}):\n{proc.stderr[-3000:]}"
    report = json.loads(lines[-1])
    assert "error" not in report, report["error"]
    assert report["steps"] == ["ticket", "confirmed", "home"]
    assert report["ticket_number"] == "A006"
    assert report["wrong_start_message"] == "Số di động bắt đầu bằng số 0, ví dụ 0912 345 678."
    assert report["typed"] == "0987 654 321"
    # the keypad never moves: not for the message, not while typing
    assert report["keys_moved_by_message"] == [] and report["keys_moved_typing"] == []
    # attached to the ticket in the hub's contact book (and nowhere else: see the adapter and e2e tests)
    assert report["stored"] == ["sms", "0987654321"]
    assert report["confirmation"] == ("Quý vị sẽ nhận tin nhắn khi còn 3 người nữa đến lượt, và khi được mời đến "
                                      "quầy (số 0987***321).")
    assert report["shown_number"] == "0987***321"
    assert report["left_behind"] == ["", None]
    # every widget of the ticket screen (with its new button) and of each state of the new screen lies inside the
    # window, in both orientations; every button at least 15 mm tall
    assert {name: bad for name, bad in report["outside"].items() if bad} == {}
    assert {name: small for name, small in report["small_targets"].items() if small} == {}
    for shot in report["screenshots"]:
        assert Path(shot).stat().st_size > 10_000, shot
