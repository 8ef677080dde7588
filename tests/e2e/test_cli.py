"""The `motcua` command reaches every part: bridge and kiosk options pass through untouched, and the mock main
system serves on the port it is given."""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]
MOTCUA = [sys.executable, "-m", "queue_server"]


def test_bridge_and_kiosk_subcommands_pass_their_options_through() -> None:
    out = subprocess.run([*MOTCUA, "bridge", "--help"], capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0 and "--list-ports" in out.stdout
    out = subprocess.run([*MOTCUA, "kiosk", "--help"], capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0 and "--sim" in out.stdout
    out = subprocess.run([*MOTCUA, "bridge", "--no-such-option"], capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 2 and "--no-such-option" in out.stderr


def test_mock_main_system_serves_on_the_given_port(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([*MOTCUA, "mock-main-system", "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, timeout=20)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/state", timeout=5) as r:
            assert r.status == 200 and isinstance(json.loads(r.read()), dict)
    finally:
        proc.terminate()
        proc.wait(10)
    assert "000.00.12.H38-" in proc.stdout.read()      # it lists its sample dossiers
