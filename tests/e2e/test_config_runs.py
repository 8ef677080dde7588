"""`motcua config check` accepts a config ⇔ its process starts, for the hub, the kiosk and the bridge.

A site is deployed the documented way from the shipped examples (`motcua deploy broker` → a real Mosquitto from
exactly the files it wrote, with TLS on its LAN listener; `motcua deploy device-keys` → the hub's keys and the
kiosk's). Then, for each config: `config check` runs first; exit 0 ⇒ the real process, started with its real CLI
on free loopback ports and temp dirs, reaches ready (the hub answers /api/v1/health connected to the broker, the
kiosk completes its first upkeep round online with the hub, the bridge's availability is "online" on the
broker) and is stopped; exit 2 ⇒ the process refuses with exit 2 and exactly the same one line, no traceback.
The shipped examples themselves are safe as shipped: the hub's and the bridge's are refused until the first
steps are done (no device keys, then accounts on the public demo password; no CA), and the sentence names what
to run.
"""
from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from netutil import free_port, wait_for_port

from contracts import topics

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CENTER, HUB_EXAMPLE = "hcc-quang-tri", DEPLOY / "center.example.toml"
KIOSK_EXAMPLE, BRIDGE_EXAMPLE = DEPLOY / "kiosk.example.toml", DEPLOY / "bridge.example.toml"
READY_S = 90.0


@dataclass
class Site:
    dir: Path
    broker_dir: Path          # what `motcua deploy broker` wrote: certs/, secrets/, motcua.conf
    local_port: int
    lan_port: int
    device_keys: str          # the value of MOTCUA_SECURITY__DEVICE_KEYS in secrets/hub-device-keys.env
    http_port: int = 0

    def password(self, user: str) -> str:
        return (self.broker_dir / "secrets" / f"{user}.password").read_text(encoding="utf-8").strip()

    def key(self, device: str) -> str:
        return (self.dir / "keys" / "secrets" / f"{device}.device-key").read_text(encoding="utf-8").strip()


def _base_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_") and k != "DISPLAY"}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def motcua(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "queue_server", *args], cwd=cwd, env=_base_env(env),
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
        pytest.skip("mosquitto is not installed")
    tmp = tmp_path_factory.mktemp("site")
    local, lan = free_port(), free_port()
    out = tmp / "broker"
    done = motcua(["deploy", "broker", "--config", str(HUB_EXAMPLE), "--out-dir", str(out), "--hostname",
                   "127.0.0.1", "--lan-port", str(lan), "--local-port", str(local), "--persistence-dir",
                   str(tmp) + "/"], {}, tmp)
    assert done.returncode == 0, done.stderr
    done = motcua(["deploy", "device-keys", "--config", str(HUB_EXAMPLE), "--out-dir", str(tmp / "keys")], {}, tmp)
    assert done.returncode == 0, done.stderr
    env_line = (tmp / "keys" / "secrets" / "hub-device-keys.env").read_text(encoding="utf-8").strip()
    name, _, value = env_line.partition("=")
    assert name == "MOTCUA_SECURITY__DEVICE_KEYS"
    # run as whoever runs the test (as root Mosquitto would drop to a "mosquitto" user that cannot read tmp)
    run_conf = tmp / "run.conf"
    run_conf.write_text((out / "motcua.conf").read_text(encoding="utf-8") + f"user {getpass.getuser()}\n"
                        f"log_dest file {tmp / 'mosquitto.log'}\n", encoding="utf-8")
    proc = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(run_conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(local)
        wait_for_port(lan)
        yield Site(tmp, out, local, lan, value.strip("'"))
    finally:
        proc.terminate()
        proc.wait(10)


# --------------------------------------------------------------------------------------------- the processes

def _start(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "queue_server", *cmd], cwd=cwd, env=_base_env(env),
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _until(what: str, ready: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_S
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited {proc.returncode} before ready:\n{log.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not ready:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes], log: Path) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text
    return text


def run_hub(config: Path, env: dict[str, str], cwd: Path, *flags: str) -> dict[str, object]:
    """Starts `motcua hub`, waits until /api/v1/health answers, returns it after stopping the hub."""
    port = free_port()
    log = cwd / f"hub-{port}.log"
    proc = _start(["hub", "--config", str(config), "--host", "127.0.0.1", "--port", str(port), *flags], env, cwd,
                  log)
    health: dict[str, object] = {}

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as r:
                health.update(json.loads(r.read()))
        except OSError:
            return False
        return health.get("mqtt") != "disconnected"       # connected to the site's broker (or MQTT off)

    try:
        _until("motcua hub", ready, proc, log)
    finally:
        _stop(proc, log)
    return health


def run_kiosk(config: Path, env: dict[str, str], cwd: Path) -> str:
    """`motcua kiosk` until its first upkeep round (leases, catalog), then it stops itself; returns its log."""
    log = cwd / f"kiosk-{free_port()}.log"
    proc = _start(["kiosk", "--config", str(config), "--size", "540x960", "--exit-after", "0.3"], env, cwd, log)
    try:
        proc.wait(READY_S)
    except subprocess.TimeoutExpired:
        _stop(proc, log)
        raise AssertionError("motcua kiosk did not finish its first upkeep round") from None
    text = log.read_text(errors="replace")
    assert proc.returncode == 0 and "Traceback" not in text, text[-3000:]
    return text


def run_bridge(config: Path, env: dict[str, str], cwd: Path, site: Site) -> None:
    """`motcua bridge` until its availability is "online" on the site's broker (as the hub sees it)."""
    from runtime.mqtt import Message, MqttClient, MqttSettings

    seen: list[Message] = []
    watch = MqttClient(MqttSettings(host="127.0.0.1", port=site.local_port, username="hub",
                                    password=site.password("hub"), client_id_prefix="motcua"),
                       name="test-watch", subscriptions=[topics.device_availability(CENTER, "bridge-1")],
                       on_message=seen.append)
    watch.start()
    log = cwd / f"bridge-{free_port()}.log"
    proc = _start(["bridge", "--config", str(config)], env, cwd, log)
    try:
        assert watch.wait_ready(30), watch.last_error
        _until("motcua bridge", lambda: any(m.payload == b"online" for m in seen), proc, log)
    finally:
        _stop(proc, log)
        watch.stop()


def refusal(result_or_proc: subprocess.CompletedProcess[str]) -> str:
    assert result_or_proc.returncode == 2, (result_or_proc.args, result_or_proc.stdout, result_or_proc.stderr)
    text = result_or_proc.stdout + result_or_proc.stderr
    assert "Traceback" not in text, text
    lines = result_or_proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("config error: "), result_or_proc.stderr
    return lines[0]


def both_refuse(process: list[str], config: Path, env: dict[str, str], cwd: Path, *check_flags: str) -> str:
    """`config check` exits 2, and the process (same file, same environment) refuses with the same line."""
    said = refusal(motcua(["config", "check", *check_flags, str(config)], env, cwd))
    assert refusal(motcua([*process, "--config", str(config)], env, cwd)) == said
    return said


def accepted(config: Path, env: dict[str, str], cwd: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    result = motcua(["config", "check", *flags, str(config)], env, cwd)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stdout + result.stderr
    assert result.stdout.startswith("OK: ")
    return result


def edited(tmp: Path, source: Path, name: str, *changes: tuple[str, str], extra: str = "") -> Path:
    text = source.read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp / name
    path.write_text(text + extra, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------------ hub

def hub_env(site: Site, tmp: Path, *, keys: bool = True) -> dict[str, str]:
    """Where this machine differs from the example: the store in a temp dir, the broker's port and password."""
    env = {"MOTCUA_STORE__PATH": str(tmp / "hub.sqlite3"), "MOTCUA_MQTT__PORT": str(site.local_port),
           "MOTCUA_MQTT__PASSWORD": site.password("hub")}
    return {**env, "MOTCUA_SECURITY__DEVICE_KEYS": site.device_keys} if keys else env


ACCOUNTS = ("canbo1", "canbo2", "canbo3", "canbo4", "quanly", "quantri")   # the example's, on "motcua-demo"


def set_real_passwords(config: Path, cwd: Path, users: tuple[str, ...] = ACCOUNTS) -> None:
    """The documented step: `motcua user set-password --config FILE USERNAME` (here the password on stdin)."""
    for user in users:
        done = subprocess.run([sys.executable, "-m", "queue_server", "user", "set-password", "--config", str(config),
                               user, "--stdin"], cwd=cwd, env=_base_env({}), input=f"mật khẩu của {user} 2026\n",
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0 and done.stdout.startswith("OK: "), done.stdout + done.stderr


@pytest.fixture(scope="module")
def real_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hub example after its accounts were given real passwords (the source of the tests' hub configs)."""
    config = tmp_path_factory.mktemp("real") / "center.toml"
    shutil.copy(HUB_EXAMPLE, config)
    set_real_passwords(config, config.parent)
    return config


def test_the_shipped_hub_example_is_refused_until_keys_and_passwords_are_made_then_it_runs(site: Site,
                                                                                         tmp_path: Path) -> None:
    said = both_refuse(["hub"], HUB_EXAMPLE, hub_env(site, tmp_path, keys=False), tmp_path)
    assert "device_keys" in said and f"`motcua deploy device-keys --config {HUB_EXAMPLE}`" in said
    assert "hub-device-keys.env" in said and "--lab" in said
    # the first step done: the generated keys in the hub's environment → the accounts on the public demo
    # password are what is refused now (anyone on the LAN could log in as the admin), naming the command
    said = both_refuse(["hub"], HUB_EXAMPLE, hub_env(site, tmp_path), tmp_path)
    assert "device_keys" not in said and "tài khoản " + ", ".join(ACCOUNTS) + " vẫn dùng mật khẩu mẫu" in said
    assert said.index("mật khẩu mẫu") < said.index("public demo password") and "--lab" in said
    assert f"`motcua user set-password --config {HUB_EXAMPLE} canbo1`" in said
    # the second step done on the center's copy: real passwords → accepted, no warning, and it runs
    config = tmp_path / "center.toml"
    shutil.copy(HUB_EXAMPLE, config)
    set_real_passwords(config, tmp_path, ACCOUNTS[:-1])
    assert "tài khoản quantri vẫn dùng" in both_refuse(["hub"], config, hub_env(site, tmp_path), tmp_path)
    set_real_passwords(config, tmp_path, ACCOUNTS[-1:])
    result = accepted(config, hub_env(site, tmp_path), tmp_path)
    assert result.stderr == ""
    assert run_hub(config, hub_env(site, tmp_path), tmp_path)["mqtt"] == "connected"


def test_a_lab_hub_is_checked_as_it_runs(site: Site, tmp_path: Path) -> None:
    env = hub_env(site, tmp_path, keys=False)
    result = accepted(HUB_EXAMPLE, env, tmp_path, "--lab")
    assert "--lab" in result.stderr and "demo password" in result.stderr     # warned, not refused
    assert run_hub(HUB_EXAMPLE, env, tmp_path, "--lab")["status"] == "ok"
    # with device keys too: a test bench keeps the demo accounts
    assert run_hub(HUB_EXAMPLE, hub_env(site, tmp_path), tmp_path, "--lab")["mqtt"] == "connected"


HUB_BROKEN = [
    ("face-without-key", (), ('\n[face]\nenabled = true\nkey_path = "{tmp}/none/face.key"\n'
                              'gallery_path = "{tmp}/face.sqlite3"\n'), "config error: face: "),
    ("ca-missing", (("tls = false", 'tls = true\nca_file = "/nonexistent/ca.pem"'),), "", "mqtt.ca_file:"),
    ("unknown-service", (('services = ["dat-dai"]', 'services = ["dat-dai2"]'),), "", "unknown service"),
    ("province-key-short", (), '\n[province]\nurl = "https://tinh.example.vn"\nkey = "short"\n', "province."),
]


@pytest.mark.parametrize(("changes", "extra", "expected"), [c[1:] for c in HUB_BROKEN], ids=[c[0] for c in HUB_BROKEN])
def test_a_broken_hub_config_is_refused_alike(site: Site, tmp_path: Path, changes: tuple[tuple[str, str], ...],
                                              extra: str, expected: str) -> None:
    config = edited(tmp_path, HUB_EXAMPLE, "center.toml", *changes, extra=extra.replace("{tmp}", str(tmp_path)))
    assert expected in both_refuse(["hub"], config, hub_env(site, tmp_path), tmp_path)


def test_a_hub_store_that_is_not_a_database_is_refused_alike(site: Site, tmp_path: Path) -> None:
    env = {**hub_env(site, tmp_path), "MOTCUA_STORE__PATH": str(HUB_EXAMPLE)}
    assert "is not an SQLite database" in both_refuse(["hub"], HUB_EXAMPLE, env, tmp_path)


# ---------------------------------------------------------------------------------------------------- kiosk

def kiosk_env(site: Site, tmp: Path, hub_port: int) -> dict[str, str]:
    """The kiosk example where this test runs it: the hub and broker on loopback, simulated devices (no printer
    at 10.0.0.20 here), the journal in a temp dir, its broker user and password, its device key."""
    return {"MOTCUA_HUB__URL": f"http://127.0.0.1:{hub_port}", "MOTCUA_OFFLINE__JOURNAL": str(tmp / "journal.sqlite"),
            "MOTCUA_DEVICES__PRINTER": "sim://printer", "MOTCUA_DEVICES__SCANNER": "", "MOTCUA_DEVICES__CAMERA": "",
            "MOTCUA_MQTT__HOST": "127.0.0.1", "MOTCUA_MQTT__PORT": str(site.lan_port), "MOTCUA_MQTT__TLS": "true",
            "MOTCUA_MQTT__TLS_CA": str(site.broker_dir / "certs" / "ca.crt"), "MOTCUA_MQTT__USERNAME": "kiosk-1",
            "MOTCUA_MQTT__PASSWORD": site.password("kiosk-1"), "MOTCUA_HUB__DEVICE_KEY": site.key("kiosk-1"),
            # headless Kivy
            "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_CONSOLELOG": "1", "KIVY_HOME": str(tmp / "kivy")}


@pytest.fixture
def running_hub(site: Site, tmp_path: Path, real_example: Path) -> Iterator[int]:
    hub_dir = tmp_path / "hub"
    hub_dir.mkdir()
    config = edited(hub_dir, real_example, "center.toml",
                    # open every day all day, so the kiosk's leases do not depend on when the test runs
                    ('days = ["mon", "tue", "wed", "thu", "fri"]\nsessions = [["07:30", "11:30"], ["13:30", "17:00"]]',
                     'days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\nsessions = [["00:00", "23:59"]]'),
                    ("observe_holidays = true", "observe_holidays = false"))
    port = free_port()
    log = hub_dir / "hub.log"
    proc = _start(["hub", "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
                  hub_env(site, hub_dir), hub_dir, log)
    try:
        wait_for_port(port, timeout=READY_S)
        yield port
    finally:
        _stop(proc, log)


def test_the_kiosk_example_runs_online_with_its_key(site: Site, tmp_path: Path, running_hub: int) -> None:
    env = kiosk_env(site, tmp_path, running_hub)
    result = accepted(KIOSK_EXAMPLE, env, tmp_path)
    assert result.stdout.startswith("OK: kiosk kiosk-1") and result.stderr == ""
    log = run_kiosk(KIOSK_EXAMPLE, env, tmp_path)
    assert "kiosk stopped (mode online" in log, log[-3000:]
    import sqlite3
    with sqlite3.connect(tmp_path / "journal.sqlite") as db:     # numbers leased from the hub, with its key
        assert db.execute("SELECT COUNT(*) FROM leases").fetchone()[0] > 0


def test_a_kiosk_without_its_key_is_warned_about_and_still_runs(site: Site, tmp_path: Path) -> None:
    env = {**kiosk_env(site, tmp_path, free_port()), "MOTCUA_HUB__DEVICE_KEY": ""}   # and no hub there: offline
    result = accepted(KIOSK_EXAMPLE, env, tmp_path)
    assert "hub.device_key" in result.stderr and "motcua deploy device-keys" in result.stderr
    assert "kiosk stopped (mode offline" in run_kiosk(KIOSK_EXAMPLE, env, tmp_path)


KIOSK_BROKEN = [
    ("printer-scheme", {"MOTCUA_DEVICES__PRINTER": "bogus://x"}, "devices.printer: bogus://x: unknown scheme"),
    ("printer-is-a-scanner", {"MOTCUA_DEVICES__PRINTER": "sim://scanner"}, "devices.printer:"),
    ("printer-usb-ids", {"MOTCUA_DEVICES__PRINTER": "escpos-usb://zz:0202"}, "devices.printer:"),
    ("ca-missing", {"MOTCUA_MQTT__TLS_CA": "/nonexistent/ca.pem"}, "mqtt.tls_ca: /nonexistent/ca.pem: no such file"),
    ("journal-is-a-directory", {"MOTCUA_OFFLINE__JOURNAL": "{tmp}"}, "offline.journal:"),
    ("font-missing", {"MOTCUA_SCREEN__FONT_BOLD": "/nonexistent/font.ttf"}, "screen.font_bold:"),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in KIOSK_BROKEN], ids=[c[0] for c in KIOSK_BROKEN])
def test_a_broken_kiosk_config_is_refused_alike(site: Site, tmp_path: Path, change: dict[str, str],
                                                expected: str) -> None:
    env = {**kiosk_env(site, tmp_path, free_port()), **{k: v.replace("{tmp}", str(tmp_path))
                                                        for k, v in change.items()}}
    assert expected in both_refuse(["kiosk"], KIOSK_EXAMPLE, env, tmp_path)


# --------------------------------------------------------------------------------------------------- bridge

def bridge_env(site: Site) -> dict[str, str]:
    """The bridge example on this machine: the broker on loopback, the CA `deploy broker` made, its password."""
    return {"MOTCUA_MQTT__HOST": "127.0.0.1", "MOTCUA_MQTT__PORT": str(site.lan_port),
            "MOTCUA_MQTT__CA_FILE": str(site.broker_dir / "certs" / "ca.crt"),
            "MOTCUA_MQTT__PASSWORD": site.password("bridge-1")}


def test_the_shipped_bridge_example_is_refused_until_the_ca_is_there_then_it_runs(site: Site, tmp_path: Path
                                                                                   ) -> None:
    said = both_refuse(["bridge"], BRIDGE_EXAMPLE, {}, tmp_path)
    assert "mqtt.ca_file" in said and "/etc/motcua/ca.crt" in said and "`motcua deploy broker`" in said
    result = accepted(BRIDGE_EXAMPLE, bridge_env(site), tmp_path)
    assert result.stdout.startswith("OK: bridge, 3 devices") and "is not there now" in result.stdout
    run_bridge(BRIDGE_EXAMPLE, bridge_env(site), tmp_path, site)


def test_the_same_file_checked_for_another_process_is_refused_as_that_process_would(site: Site,
                                                                                      tmp_path: Path) -> None:
    # `--for` names the process: the bridge's file is no kiosk config, and the kiosk says so the same way
    said = refusal(motcua(["config", "check", "--for", "kiosk", str(BRIDGE_EXAMPLE)], bridge_env(site), tmp_path))
    assert refusal(motcua(["kiosk", "--config", str(BRIDGE_EXAMPLE)], bridge_env(site), tmp_path)) == said


BRIDGE_BROKEN = [
    ("unknown-kind", (('kind = "rating_pad"', 'kind = "coffee_machine"'),), {}, "devices[2].kind:"),
    ("cert-missing", (), {"MOTCUA_MQTT__CERT_FILE": "/nonexistent/bridge.crt"}, "mqtt.cert_file:"),
    ("ca-not-a-cert", (), {"MOTCUA_MQTT__CA_FILE": str(BRIDGE_EXAMPLE)}, "mqtt.ca_file:"),
    ("keepalive-text", (("tls = true", 'tls = true\nkeepalive_s = "often"'),), {}, "mqtt.keepalive_s:"),
]


@pytest.mark.parametrize(("changes", "env", "expected"), [c[1:] for c in BRIDGE_BROKEN],
                         ids=[c[0] for c in BRIDGE_BROKEN])
def test_a_broken_bridge_config_is_refused_alike(site: Site, tmp_path: Path, changes: tuple[tuple[str, str], ...],
                                                 env: dict[str, str], expected: str) -> None:
    config = edited(tmp_path, BRIDGE_EXAMPLE, "bridge.toml", *changes)
    assert expected in both_refuse(["bridge"], config, {**bridge_env(site), **env}, tmp_path)


def test_a_province_config_is_pointed_at_its_own_check(tmp_path: Path) -> None:
    said = refusal(motcua(["config", "check", str(DEPLOY / "province.example.toml")], {}, tmp_path))
    assert "motcua province check" in said
