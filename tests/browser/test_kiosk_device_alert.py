"""Issue 12's device test: the real kiosk app (headless Kivy, wired as ``motcua kiosk`` wires it) with a simulated
printer that runs out of paper, a real Mosquitto and the real hub; the alert shows on the manager board and on a
staff console in Chromium within seconds, the kiosk stops offering paper tickets with a Vietnamese sign, and all
of it clears by itself once paper is loaded."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests" / "browser" / "kiosk_health_driver.py"
ALERT = "#alert-banner li[data-device='kiosk-sanh-printer'][data-code='paper_out']"


def next_step(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("{"):
            report: dict[str, Any] = json.loads(line)
            assert report.get("step") != "error", report.get("error")
            return report
    raise AssertionError(f"the kiosk driver ended (rc={proc.wait(5)})")


def test_paper_out_on_the_real_kiosk_alerts_board_and_console(hub: Any, mosquitto: Any, page_factory: Any,
                                                              artifacts_dir: Path, tmp_path: Path) -> None:
    board = page_factory(1600, 1000)
    board.goto(f"{hub.url}/manager")
    board.fill("#username", "manager")
    board.fill("#password", PASSWORD)
    board.click("#login button[type=submit]")
    board.wait_for_selector("#board:not([hidden])")
    console = page_factory()
    console.goto(f"{hub.url}/console")
    console.fill("#username", "staff1")
    console.fill("#password", PASSWORD)
    console.click("#login button[type=submit]")
    console.select_option("#counter-select", "1")
    console.click("#pick button[type=submit]")
    console.wait_for_selector("#work:not([hidden])")

    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(SDL_VIDEODRIVER="offscreen", KIVY_NO_CONSOLELOG="1", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, str(DRIVER), str(artifacts_dir / "kiosk"), hub.url, mosquitto.host,
                             str(mosquitto.port), hub.settings.center.id], env=env, cwd=tmp_path, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out = next_step(proc)
        assert out["step"] == "paper_out"
        assert out["first"] == ["A001", "printed"]
        assert out["second"] == ["A002", "print_failed"], "the ticket in the job that ran out is not a phantom"
        assert out["home_notice"].startswith("Tạm ngừng cấp phiếu: Máy in hết giấy")
        assert out["sign"] == "Tạm ngừng cấp phiếu" and "tự cấp phiếu lại" in out["sign_body"]
        assert out["issued_meanwhile"] is False
        # the hub knows A002 did not print (the console marks it) and raised the alert
        board.wait_for_selector(ALERT, timeout=10000)
        assert "Máy in hết giấy" in board.text_content(ALERT)
        console.wait_for_selector("#device-alerts li[data-code='paper_out']", timeout=20000)
        waiting = console.locator("#waiting li[data-ticket='A002']")
        assert "Chưa in phiếu" in waiting.text_content()
        board.screenshot(path=str(artifacts_dir / "manager-board-kiosk-paper-out.png"))
        console.screenshot(path=str(artifacts_dir / "console-kiosk-paper-out.png"))

        assert proc.stdin is not None
        proc.stdin.write("reload\n")
        proc.stdin.flush()
        back = next_step(proc)
        assert back == {"step": "resumed", "screen": "home", "home_notice": ""}
        board.wait_for_selector(ALERT, state="detached", timeout=10000)
        console.wait_for_selector("#device-alerts", state="hidden", timeout=20000)
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert next_step(proc)["step"] == "stopped"
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
