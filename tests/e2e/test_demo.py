"""`motcua demo --duration 10` issues and calls tickets through the real broker, hub and HTTP API, then exits 0."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_a_morning_and_exits_cleanly() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "queue_server", "demo", "--duration", "10"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=100, check=False)
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "/display/hall" in out and "/display/counter/1" in out and "/console" in out and "/manager" in out
    assert "Tư pháp – Hộ tịch" in out
    final = re.search(r"^demo: issued=(\d+) priority=\d+ called=(\d+) recalled=\d+ done=(\d+) .* errors=(\d+)$",
                      out, re.MULTILINE)
    assert final, out[-2000:]
    issued, called, done, errors = map(int, final.groups())
    assert issued > 10 and called > 5 and done > 0
    assert errors == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
