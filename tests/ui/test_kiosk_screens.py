"""The real kiosk screens, headless (SDL offscreen, no X), tapped through against a real hub on loopback.

Each orientation runs in its own subprocess (tests/ui/kiosk_ui_driver.py) so the Kivy window and its global
state never leak into other tests. Screenshots land in test-artifacts/kiosk/.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from kiosk_support import drive_kiosk

pytestmark = [pytest.mark.ui, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]


def drive(artifacts: Path, width: int, height: int) -> dict:
    report = drive_kiosk("kiosk_ui_driver.py", artifacts, width, height)
    assert "error" not in report, report["error"]
    return report


@pytest.fixture(scope="module")
def out_dir() -> Path:
    path = ROOT / "test-artifacts" / "kiosk"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize(("width", "height"), [(1080, 1920), (1920, 1080)], ids=["portrait", "landscape"])
def test_tap_through_take_ticket_and_lookup(out_dir: Path, width: int, height: int) -> None:
    report = drive(out_dir, width, height)
    assert report["steps"] == ["take-ticket", "print-failure", "lookup-typed", "camera-qr", "scan-on-home",
                               "unknown-code", "closed"]
    # Monday 19:00: the out-of-hours screen names the next opening, not only the weekday hours (Tuesday 24/11, or
    # Wednesday where the calendar knows 24/11 as Ngày Văn hóa Việt Nam)
    assert ("Trung tâm cấp số lại từ 07:30 ngày mai (Thứ Ba, 24/11/2026)" in report["closed_body"]
            or "Trung tâm cấp số lại từ 07:30 Thứ Tư, 25/11/2026" in report["closed_body"]), report["closed_body"]
    # take ticket: the number on screen is the one the simulated printer received, with the tracking QR
    assert report["ticket_number"] == "A001" and "A001" in report["printed_texts"]
    assert report["tracking_qr"][0].endswith("/t/20261123-ho-tich-1")
    # printer out of paper: the number was still issued and shown
    assert report["failed_number"] == "B001"
    # lookup typed on the on-screen keyboard
    assert report["typed"] == "000.00.12.H38-261118-0007"
    assert report["result_status"] == "Đang xử lý"
    assert report["camera_result"] == "Mã hồ sơ: 000.00.12.H38-261118-0007"
    assert report["unknown_message"].startswith("No dossier found with code 000.00.12.H38-261118-9999")
    # every button on these screens is at least 15 mm tall at the configured dpi
    assert report["small_targets_home"] == [] and report["small_targets_services"] == []
    assert report["small_targets_lookup"] == []
    assert {name: small for name, small in report["small_targets"].items() if small} == {}
    # the procedure search finds "Đăng ký khai sinh" from "KHAI"; its keys never move either
    assert any("khai sinh" in m.lower() for m in report["search_matches"]), report["search_matches"]
    assert report["search_keys_moved"] == []
    # the keyboard never moves: not while typing, not when an error message shows, not on the next key
    assert report["keys_moved_typing"] == [] and report["keys_moved_by_message"] == []
    assert report["keys_moved_after_key"] == []
    # every widget of every screen lies inside the window, in both orientations
    assert {name: bad for name, bad in report["outside"].items() if bad} == {}
    for shot in report["screenshots"]:
        assert Path(shot).stat().st_size > 10_000, shot


def test_python_m_kiosk_sim_starts_and_stops(tmp_path: Path) -> None:
    """`python -m kiosk --sim` (what `motcua kiosk --sim` runs) against a real hub: starts, leases, stops clean."""
    sys.path.insert(0, str(ROOT / "tests"))
    from kiosk_support import start_hub

    hub = start_hub(tmp_path / "hub", services=2)
    try:
        env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
        env.update(SDL_VIDEODRIVER="offscreen", KIVY_NO_CONSOLELOG="1", KIVY_HOME=str(tmp_path / "kivy"),
                   PYTHONPATH=str(ROOT))
        proc = subprocess.run([sys.executable, "-m", "kiosk", "--sim", "--hub", hub.url, "--size", "540x960",
                               "--exit-after", "4"], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=120, check=False)
        log = proc.stdout + proc.stderr
        assert proc.returncode == 0, log[-3000:]
        assert "Traceback" not in log, log[-3000:]
        assert "kiosk stopped (mode online, 0 offline tickets not yet handed in)" in log
        import sqlite3
        with sqlite3.connect(tmp_path / "var" / "kiosk-journal.sqlite") as db:   # leased in advance, per service
            assert [r[0] for r in db.execute("SELECT service FROM leases ORDER BY service")] == ["dat-dai", "ho-tich"]
    finally:
        hub.stop()
