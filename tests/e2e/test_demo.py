"""`motcua demo` shows the whole product: a short run issues, calls and prints tickets, at least one call comes
from a keypad through the serial bridge, ratings from a pad are stored (a second one refused), the mock main
system receives the hub's events through the outbox; Ctrl-C and --duration end it with exit 0 and no process
left behind. Checked from the terminal output and from the hub's own account (its event log, ratings and
outbox health, which the demo writes to summary.json before stopping)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
FINAL = re.compile(
    r"^demo: issued=(?P<issued>\d+) called=(?P<called>\d+) done=(?P<done>\d+) no_show=\d+ transfers=\d+ "
    r"ratings=(?P<ratings>\d+) ratings_refused=(?P<refused>\d+) keypad_calls=(?P<keypad>\d+) printed=(?P<printed>\d+) "
    r"print_faults=\d+ outbox_delivered=(?P<delivered>\d+) main_system_received=(?P<received>\d+) "
    r"dossier_pushes=\d+ device_alerts=\d+ errors=(?P<errors>\d+)$", re.MULTILINE)


def _env(workdir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "MOTCUA_DEMO_DIR": str(workdir), **extra}


def _pids() -> list[int]:
    try:
        import psutil
    except ImportError:
        return [int(p) for p in os.listdir("/proc") if p.isdigit()]
    return list(psutil.pids())


def survivors(session: int) -> list[str]:
    """Processes still in the demo's session (it was started in a new one, so every child it spawned — socat,
    firmware, Mosquitto — carries that session id even after being re-parented)."""
    left = []
    for pid in _pids():
        try:
            if os.getsid(pid) == session:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                left.append(f"{pid}: {cmdline}")
        except (ProcessLookupError, PermissionError, FileNotFoundError):
            continue
    return left


def test_demo_shows_every_part_and_exits_cleanly(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    proc = subprocess.Popen([sys.executable, "-m", "queue_server", "demo", "--duration", "15"], cwd=ROOT,
                            env=_env(workdir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=200)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert survivors(proc.pid) == []

    # the terminal: every URL, the kiosk command, the tracking page, dossier codes, the ticket folder
    for part in ("/display/hall", "/display/counter/1", "/console", "/manager", "Tư pháp – Hộ tịch",
                 "Thiết bị quầy / counter devices: 9 thiết bị", "kp-1", "pad-3",
                 f"Vé in (PNG) / printed tickets: {workdir / 'tickets'}/"):
        assert part in out, (part, out[:3000])
    port = re.search(r"http://127\.0\.0\.1:(\d+)/display/hall", out)
    assert port, out[:2000]
    assert f".venv/bin/motcua kiosk --sim --hub http://127.0.0.1:{port.group(1)}" in out
    assert re.search(rf"http://127\.0\.0\.1:{port.group(1)}/t/\d{{8}}-[a-z-]+-\d+", out), out[:3000]
    codes = re.findall(rf"http://127\.0\.0\.1:{port.group(1)}/api/v1/dossiers/(\S+)", out)
    assert len(codes) >= 2
    assert "(nguồn / source: main_system)" in out       # the first look-up was pulled from the main system
    assert "Hệ thống chính / main system: outbox" in out

    final = FINAL.search(out)
    assert final, out[-3000:]
    n = {k: int(v) for k, v in final.groupdict().items()}
    assert n["issued"] > 10 and n["called"] > 5 and n["done"] > 0 and n["printed"] > 0
    assert n["keypad"] >= 1 and n["ratings"] >= 1 and n["refused"] >= 1
    assert n["delivered"] > 0 and n["received"] > 0
    assert n["errors"] == 0, err[-3000:]

    # the hub's own account
    summary = json.loads((workdir / "summary.json").read_text(encoding="utf-8"))
    hub = summary["hub"]
    assert hub["by_type"]["ticket.issued"] == n["issued"]
    assert hub["by_type"]["ticket.called"] == n["called"]
    assert hub["calls_at_device_counters"] >= 1             # counters 1–3 are driven only by their keypads
    assert hub["by_type"].get("rating.submitted", 0) == n["ratings"] >= 1
    assert summary["ratings"]["count"] == n["ratings"]
    replies = summary["device_replies"]                      # the hub's MQTT replies to the bridge's commands
    assert replies.get("call-next:ok", 0) == n["keypad"]
    assert replies.get("submit-rating:ok", 0) == n["ratings"]
    assert replies.get("submit-rating:already_rated", 0) >= 1
    outbox = summary["integration"]["outbox"]
    assert outbox["delivered_total"] == n["delivered"] > 0 and outbox["dead_count"] == 0
    main = summary["main_system"]
    assert main["received"] >= n["delivered"] and main["bad_signatures"] == 0
    assert set(codes) <= {c.upper() for c in main["dossiers"]}
    # issue 15: a simulated citizen enrolled at a counter is found by face (blink) at a simulated kiosk
    face = summary["face"]
    assert face["state"] == "found" and face["enrolled"].startswith("fs_")
    assert main["dossiers"][0].upper() in face["lines"][0].upper() and "***" in face["lines"][1]

    # printed tickets kept as PNG; databases and device links tidied away
    pngs = sorted((workdir / "tickets").glob("*.png"))
    assert 1 <= len(pngs) <= 5 and [str(p) for p in pngs] == sorted(summary["tickets"])
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert sorted(p.name for p in workdir.iterdir()) == ["summary.json", "tickets"]


def test_ctrl_c_without_socat_ends_everything(tmp_path: Path) -> None:
    """No socat on PATH: the demo says so and runs without counter devices; Ctrl-C (SIGINT to the whole
    process group, as a terminal sends it) ends the demo with exit 0 and nothing left running."""
    workdir = tmp_path / "demo"
    bare_path = str(Path(sys.executable).parent)             # python only: no socat (Mosquitto is found in sbin)
    proc = subprocess.Popen([sys.executable, "-m", "queue_server", "demo"], cwd=ROOT,
                            env=_env(workdir, PATH=bare_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:                             # wait for the first live summary, then Ctrl-C
            lines.append(line)
            if line.startswith("──"):
                break
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    out = "".join(lines) + out
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert "socat is not installed" in out
    final = FINAL.search(out)
    assert final, out[-3000:]
    assert int(final["issued"]) > 0 and int(final["keypad"]) == 0
    assert survivors(proc.pid) == []
