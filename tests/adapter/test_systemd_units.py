"""Every systemd unit we ship passes ``systemd-analyze verify``: known directives, commands that exist, templates that
instantiate. The units name /opt/motcua/.venv/bin/motcua (the install guide's path); the test points them at this
checkout's own ``motcua`` so the check that the command exists is real."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.adapter

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
MOTCUA = Path(sys.executable).parent / "motcua"


def unit_files() -> list[Path]:
    return sorted(p for p in UNITS.iterdir() if p.suffix in (".service", ".timer"))


def test_every_process_of_a_center_has_a_unit() -> None:
    names = {p.name for p in unit_files()}
    assert {"motcua-hub.service", "motcua-kiosk.service", "motcua-bridge.service", "motcua-tv@.service",
            "motcua-backup.service", "motcua-backup.timer"} <= names


@pytest.mark.parametrize("unit", unit_files(), ids=lambda p: p.name)
def test_systemd_analyze_verify_accepts_the_unit(unit: Path, tmp_path: Path) -> None:
    verify = shutil.which("systemd-analyze")
    assert verify, "systemd-analyze is missing (Debian package systemd)"
    assert MOTCUA.exists()
    for path in unit_files():
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8").replace(
            "/opt/motcua/.venv/bin/motcua", str(MOTCUA)), encoding="utf-8")
    name = unit.name.replace("@.", "@hall.") if "@." in unit.name else unit.name
    if name != unit.name:
        (tmp_path / name).write_text((tmp_path / unit.name).read_text(encoding="utf-8"), encoding="utf-8")
    done = subprocess.run([verify, "verify", "--man=no", str(tmp_path / name)], capture_output=True, text=True,
                          timeout=60, check=False)
    # verify exits 0 on an unknown directive and only warns: any line about our files is a failure
    ours = [line for line in (done.stdout + done.stderr).splitlines() if str(tmp_path) in line or "motcua" in line]
    assert done.returncode == 0 and ours == [], done.stdout + done.stderr


def test_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    broken = tmp_path / "motcua-broken.service"
    broken.write_text("[Service]\nExecStart=/nonexistent/motcua hub\nBogusKey=1\n", encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(broken)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert "BogusKey" in done.stderr and "not executable" in done.stderr


@pytest.mark.parametrize(("unit", "role"), [("motcua-hub.service", None), ("motcua-kiosk.service", "kiosk"),
                                            ("motcua-bridge.service", "bridge")])
def test_each_process_unit_runs_config_check_on_its_own_file_before_starting(unit: str, role: str | None) -> None:
    # what `config check` accepts starts; what it refuses stops at ExecStartPre with its one line in the journal
    lines = (UNITS / unit).read_text(encoding="utf-8").splitlines()
    start = next(line for line in lines if line.startswith("ExecStart="))
    config = start.split("--config ", 1)[1].split()[0]
    pre = [line for line in lines if line.startswith("ExecStartPre=")]
    assert len(pre) == 1 and f"motcua config check {config}" in pre[0]
    assert lines.index(pre[0]) < lines.index(start)
    if role is not None:
        assert pre[0].endswith(f"--for {role}")


def test_a_tv_up_before_the_hub_waits_for_it_instead_of_chromiums_error_page(tmp_path: Path) -> None:
    """After a power cut the TV PC boots before the hub. The TV unit's ExecStartPre (run here as systemd runs it:
    ``$$`` is a literal ``$``, the unit's environment set) keeps waiting while nothing answers at MOTCUA_TV_URL and
    ends as soon as the hub serves the page; without it Chromium shows its error page and retries on a backoff that
    grows to minutes."""
    import shlex
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from netutil import free_port

    lines = (UNITS / "motcua-tv@.service").read_text(encoding="utf-8").splitlines()
    pre = next(line for line in lines if line.startswith("ExecStartPre="))
    assert "TimeoutStartSec=infinity" in lines          # systemd would otherwise give up after 90 s
    argv = [arg.replace("$$", "$") for arg in shlex.split(pre.split("=", 1)[1])]
    port = free_port()
    url = f"http://127.0.0.1:{port}/display/hall"
    waiting = subprocess.Popen(argv, env={"MOTCUA_TV_URL": url, "PATH": "/usr/bin:/bin"})
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            waiting.wait(4)                              # two rounds of refused connections: still waiting

        class Hall(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200 if self.path == "/display/hall" else 404)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", port), Hall)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            assert waiting.wait(30) == 0                 # the hub answers: Chromium starts on a page that loads
        finally:
            server.shutdown()
            server.server_close()
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait(5)
