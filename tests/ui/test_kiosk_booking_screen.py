"""The real "Có lịch hẹn" kiosk screen, headless (SDL offscreen), against a real hub that takes bookings: a typed
code checks in and prints; a booking too early is explained in Vietnamese and its walk-in button prints a ticket.
The driver runs in a subprocess (tests/ui/kiosk_booking_driver.py) so Kivy's window never leaks."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ui, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests" / "ui" / "kiosk_booking_driver.py"


@pytest.mark.parametrize(("width", "height"), [(1080, 1920), (1920, 1080)], ids=["portrait", "landscape"])
def test_check_in_by_typed_code_and_the_too_early_walk_in(width: int, height: int) -> None:
    out = ROOT / "test-artifacts" / "kiosk"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(SDL_VIDEODRIVER="offscreen", KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1")
    proc = subprocess.run([sys.executable, str(DRIVER), str(out), str(width), str(height)], env=env, check=False,
                          capture_output=True, text=True, timeout=150, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"driver printed no report (rc={proc.returncode}):\n{proc.stderr[-3000:]}"
    report = json.loads(lines[-1])
    assert "error" not in report, report["error"]
    assert report["steps"] == ["checked-in", "too-early-walk-in"]
    assert report["typed"] == report["queue"][0]
    assert report["ticket_number"] == "A001" and "A001" in report["printed_texts"]
    assert report["early_message"].startswith("Quý vị đến sớm. Lịch hẹn lúc 11:00; có thể xác nhận từ 10:30.")
    assert report["walk_in_number"] == "A002"
    assert report["small_targets_home"] == [] and report["small_targets_booking"] == []
    # every widget of every booking screen lies inside the window, in both orientations
    assert {name: bad for name, bad in report["outside"].items() if bad} == {}
    for shot in report["screenshots"]:
        assert Path(shot).stat().st_size > 10_000, shot
