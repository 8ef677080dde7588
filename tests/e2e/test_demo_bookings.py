"""The demo with bookings and notifications (issue 16): `motcua config check` accepts the demo's config (bookings, SMS
through the mock gateway with a token made for the run); while `motcua demo` runs, a citizen books through the
booking page's own HTTP endpoints — a one-time code sent to a phone arrives at the mock SMS gateway's inbox (the
page a demo user opens), the booking is made with it, its confirmation with the cancel link reaches the inbox too —
and the portal's morning bookings are checked in at the kiosk or become no-shows, on the hub's own figures."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from test_demo import _env, survivors

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
PHONE = "0912345678"


def test_the_demo_config_passes_config_check(tmp_path: Path) -> None:
    from demo.bookings import tables
    from demo.settings import EXAMPLE_CONFIG, demo_raw, integration_table
    from runtime.settings.edit import dump_toml

    integration = integration_table(tmp_path, "http://127.0.0.1:9", "000.00.12.H38", "a" * 32, "b" * 32)
    raw = demo_raw(EXAMPLE_CONFIG, tmp_path, 8080, 1883, integration,
                   tables("http://127.0.0.1:9", "token-made-for-this-run", "http://127.0.0.1:8080"))
    path = tmp_path / "demo.toml"
    path.write_text(dump_toml(raw), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "queue_server", "config", "check", str(path)], cwd=ROOT,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def _wait_for(lines: list[str], pattern: str, timeout: float = 90) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(lines):
            found = re.search(pattern, line)
            if found:
                return found
        time.sleep(0.1)
    raise AssertionError(f"{pattern!r} never printed:\n" + "".join(lines)[-3000:])


def _message(inbox: str, key_prefix: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in requests.get(inbox + "inbox.json", timeout=5).json()["messages"]:
            if m["key"].startswith(key_prefix):
                found: dict[str, Any] = m
                return found
        time.sleep(0.1)
    raise AssertionError(f"no {key_prefix} message reached the mock gateway")


def test_a_citizen_books_in_the_demo_with_a_code_from_the_mock_gateway(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    proc = subprocess.Popen([sys.executable, "-m", "queue_server", "demo", "--duration", "25"], cwd=ROOT,
                            env=_env(workdir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    lines: list[str] = []
    errors: list[str] = []
    readers = [threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True),  # type: ignore[union-attr]
               threading.Thread(target=lambda: errors.extend(iter(proc.stderr.readline, "")), daemon=True)]  # type: ignore[union-attr]
    for r in readers:
        r.start()
    try:
        page = _wait_for(lines, r"booking page:\s+(http://127\.0\.0\.1:\d+)/dat-lich")
        hub = page.group(1)
        inbox = _wait_for(lines, r"messages sent:\s+(http://127\.0\.0\.1:\d+/)").group(1)
        assert "Tin nhắn đã nhận" in requests.get(inbox, timeout=5).text      # the page a demo user opens
        api = hub + "/api/v1"
        # what the booking page does: services and days, the slots of a day, a code, the booking
        offer = requests.get(api + "/bookings/services", timeout=5).json()
        assert offer["self_service"] is True and "ho-tich" in [s["code"] for s in offer["services"]]
        day = offer["days"][1]                     # tomorrow: today's slots pass hundreds of times faster
        slots = requests.get(api + "/bookings/slots", params={"service": "ho-tich", "day": day}, timeout=5).json()
        slot = next(s for s in slots["slots"] if s["open"] and s["free"] > 0)
        sent = requests.post(api + "/bookings/otp", json={"contact": PHONE}, timeout=5)
        assert sent.status_code == 202, sent.text
        otp = _message(inbox, "otp:")
        assert otp["to"].endswith("912345678")
        code = re.search(r"\b(\d{6})\b", otp["text"]).group(1)  # type: ignore[union-attr]
        made = requests.post(api + "/bookings", json={"service": "ho-tich", "slot_start": slot["start"],
                                                      "contact": PHONE, "code": code}, timeout=5)
        assert made.status_code == 201, made.text
        booking = made.json()["booking"]
        assert booking["status"] == "booked" and booking["slot_start"] == slot["start"]
        confirmed = _message(inbox, f"booking_confirmed:{booking['code']}")
        assert f"{hub}/b/{booking['code']}" in confirmed["text"] and "đặt lịch" in confirmed["text"]
        assert requests.get(f"{api}/bookings/{booking['code']}", timeout=5).json()["booking"]["status"] == "booked"
        proc.wait(timeout=200)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for r in readers:
            r.join(5)
    out, err = "".join(lines), "".join(errors)
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert survivors(proc.pid) == []
    # the portal's morning bookings: checked in at the kiosk or no-shows, on the hub's own figures
    final = re.search(r"^bookings: pushed=(\d+) checked_in=(\d+) no_show=(\d+) messages=(\d+)$", out, re.MULTILINE)
    assert final, out[-3000:]
    pushed, checked_in, no_show, messages = (int(x) for x in final.groups())
    assert pushed == 10 and checked_in >= 1 and messages >= 3
    summary = json.loads((workdir / "summary.json").read_text(encoding="utf-8"))
    stats = summary["bookings"]["stats"]
    assert stats["totals"]["checked_in"] == checked_in and stats["totals"]["no_show"] == no_show
    assert stats["check_in_rate"] is not None
