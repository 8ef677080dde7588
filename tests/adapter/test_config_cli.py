"""Whatever `motcua config check` accepts, `motcua hub` starts with; whatever it refuses, both refuse the same way.

Dozens of broken configs (wrong types, NaN and infinite numbers, limits below 1, timeouts <= 0, hosts and URLs
that do not parse, store paths that are directories, missing or broken TLS and calendar files, bad overrides) go
to both commands through the real CLI in a subprocess: each must exit with code 2 and one line naming the key,
never a traceback. The shipped example configs (hub, kiosk, bridge) must pass.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "center.example.toml"
STORE_LINE = 'path = "/var/lib/motcua/hub.sqlite3"'
MAIN = '\n[integration.main_system]\nbase_url = "https://dvc.example.gov.vn"\n'

Edit = Callable[[str, Path], str]


def sub(old: str, new: str) -> Edit:
    def edit(text: str, _: Path) -> str:
        assert old in text, old
        return text.replace(old, new, 1)
    return edit


def add(extra: str) -> Edit:
    return lambda text, d: text + "\n" + extra.replace("{dir}", str(d)) + "\n"


def broken_calendar(text: str, d: Path) -> str:
    (d / "cal").mkdir()
    (d / "cal" / "vn-2027.toml").write_text('[[off]]\ndate = "2027-02-30"\nname = "Sai ngày"\n', encoding="utf-8")
    return text + f'\n[integration]\ncalendar_dir = "{d / "cal"}"\n'


def not_a_cert(text: str, d: Path) -> str:
    (d / "ca.pem").write_text("không phải chứng chỉ\n", encoding="utf-8")
    return sub("tls = false", f'tls = true\nca_file = "{d / "ca.pem"}"')(text, d)


# (id, edit of the example text, extra environment, what the one line must contain)
CASES: list[tuple[str, Edit, dict[str, str], str]] = [
    ("port-text", sub("port = 1883", 'port = "abc"'), {}, "mqtt.port: expected an integer, got str"),
    ("port-range", sub("port = 1883", "port = 70000"), {}, "mqtt.port: must be <= 65535, got 70000"),
    ("unknown-key", sub("port = 1883", "port = 1883\nprot = 1"), {}, "mqtt.prot: unknown key"),
    ("nan-service-time", sub("avg_service_min = 12", "avg_service_min = nan"), {},
     "services[0].avg_service_min: expected a finite number, got nan"),
    ("inf-service-time", sub("avg_service_min = 12", "avg_service_min = inf"), {},
     "services[0].avg_service_min: expected a finite number, got inf"),
    ("zero-service-time", sub("avg_service_min = 12", "avg_service_min = 0"), {},
     "services[0].avg_service_min: must be >= 0.1"),
    ("nan-bonus", sub("priority_bonus_min = 15", "priority_bonus_min = nan"), {},
     "policy.priority_bonus_min: expected a finite number"),
    ("quota-zero", sub("daily_quota = 300", "daily_quota = 0"), {}, "services[0].daily_quota: must be >= 1, got 0"),
    ("threads-zero", sub("threads = 32", "threads = 0"), {}, "http.threads: must be >= 2, got 0"),
    ("http-host", sub('host = "0.0.0.0"', 'host = "999.1.1.1"'), {},
     "http.host: '999.1.1.1' is not an IP address or a host name"),
    ("mqtt-host-url", sub('host = "127.0.0.1"', 'host = "mqtt://broker"'), {}, "mqtt.host: 'mqtt://broker' is not"),
    ("keepalive-zero", sub("keepalive_s = 30", "keepalive_s = 0"), {}, "mqtt.keepalive_s: must be >= 5, got 0"),
    ("recall-delay-negative", sub("recall_delay_s = 30", "recall_delay_s = -1"), {},
     "rules.recall_delay_s: must be >= 0, got -1"),
    ("token-ttl-zero", sub("token_ttl_min = 720", "token_ttl_min = 0"), {}, "security.token_ttl_min: must be >= 1"),
    ("window-zero", sub("window_min = 10", "window_min = 0"), {}, "ratings.window_min: must be >= 1, got 0"),
    ("log-level", sub('level = "INFO"', 'level = "LOUD"'), {}, "logging.level: 'LOUD' is not DEBUG"),
    ("volume", sub("volume = 1.0", "volume = 2.0"), {}, "display.volume: must be <= 1"),
    ("blink-negative", sub("blink_ms = 6000", "blink_ms = -5"), {}, "display.blink_ms: must be >= 0"),
    ("hub-speaker", sub('hub_speaker = "off"', 'hub_speaker = "loud"'), {}, "display.hub_speaker: 'loud' is not"),
    ("recorded-voice-missing", sub('hub_speaker = "off"', 'hub_speaker = "off"\nrecorded_voice_dir = "no-pack"'), {},
     "display.recorded_voice_dir:"),
    ("unknown-service", sub('services = ["dat-dai"]', 'services = ["dat-dai2"]'), {},
     "counters[2].services[0]: unknown service 'dat-dai2'"),
    ("center-id", sub('id = "hcc-quang-tri"', 'id = "HCC Quảng Trị"'), {}, "center.id: 'HCC Quảng Trị' must be"),
    ("session-time", sub('sessions = [["07:30", "11:30"]', 'sessions = [["7:30", "11:30"]'), {},
     'working_hours[0].sessions[0][0]: expected "HH:MM"'),
    ("role", sub('role = "staff"', 'role = "root"'), {}, "users[0].role: 'root' is not one of staff, manager, admin"),
    ("store-is-directory", sub(STORE_LINE, 'path = "."'), {}, "store.path:"),
    ("store-under-a-file", sub(STORE_LINE, 'path = "center.toml/hub.sqlite3"'), {}, "store.path:"),
    ("store-not-a-database", sub(STORE_LINE, 'path = "center.toml"'), {}, "center.toml is not an SQLite database"),
    ("outbox-not-a-database", add('[integration]\noutbox_path = "{dir}/center.toml"'), {},
     "integration.outbox_path: "),
    ("ca-missing", sub("tls = false", 'tls = true\nca_file = "/nonexistent/ca.pem"'), {},
     "mqtt.ca_file: /nonexistent/ca.pem: no such file"),
    ("ca-not-a-cert", not_a_cert, {}, "is not a CA certificate file"),
    ("cert-missing", sub("tls = false", 'tls = true\ncert_file = "/nonexistent/hub.crt"'), {},
     "mqtt.cert_file: /nonexistent/hub.crt: no such file"),
    ("key-without-cert", sub("tls = false", 'tls = true\nkey_file = "/nonexistent/hub.key"'), {},
     "mqtt.key_file: set without mqtt.cert_file"),
    ("calendar-broken", broken_calendar, {}, "integration.calendar_dir: vn-2027.toml"),
    ("calendar-missing", add('[integration]\ncalendar_dir = "{dir}/no-calendar"'), {},
     "integration.calendar_dir:"),
    ("mirror-is-directory", add('[integration]\nmirror_path = "{dir}"'), {}, "integration.mirror_path:"),
    ("cutoff", add('[integration]\nforward_cutoff = "25:00"'), {}, "integration.forward_cutoff: expected HH:MM"),
    ("sync-negative", add("[integration]\nsync_every_s = -5"), {}, "integration.sync_every_s: must be >= 0"),
    ("lookup-rate-zero", add("[integration]\nlookup_per_minute = 0"), {},
     "integration.lookup_per_minute: must be > 0"),
    ("lookup-burst-zero", add("[integration]\nlookup_burst = 0"), {}, "integration.lookup_burst: must be >= 1"),
    ("main-url", add('[integration.main_system]\nbase_url = "ftp://dvc"'), {},
     "integration.main_system.base_url: expected an http:// or https:// URL"),
    ("main-timeout-zero", add(MAIN + "timeout_s = 0"), {}, "integration.main_system.timeout_s: must be > 0"),
    ("main-ca-missing", add(MAIN + 'verify_tls = "/nonexistent/province-ca.pem"'), {},
     "integration.main_system.verify_tls: /nonexistent/province-ca.pem: no such file"),
    ("outbox-attempts-zero", add(MAIN + "[integration.outbox]\nmax_attempts = 0"), {},
     "integration.outbox.max_attempts: must be >= 1, got 0"),
    ("outbox-timeout-negative", add(MAIN + "[integration.outbox]\ntimeout_s = -1"), {},
     "integration.outbox.timeout_s: must be > 0, got -1"),
    ("outbox-poll-inf", add(MAIN + "[integration.outbox]\npoll_interval_s = inf"), {},
     "integration.outbox.poll_interval_s: expected a finite number"),
    ("env-port", lambda t, d: t, {"MOTCUA_MQTT__PORT": "many"}, "mqtt.port: expected an integer, got str"),
    ("env-threads", lambda t, d: t, {"MOTCUA_HTTP__THREADS": "1"}, "http.threads: must be >= 2, got 1"),
    ("not-toml", sub("[center]", "[center"), {}, "not valid TOML"),
]


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([sys.executable, "-m", "queue_server", *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired as err:     # the hub started: the broken config was accepted
        raise AssertionError(f"{args[0]} accepted the config and kept running: {err.stderr!r}") from None


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    env.update({"PYTHONPATH": str(ROOT)}, **extra)
    return env


def _both(config: Path, cwd: Path, extra: dict[str, str]) -> list[subprocess.CompletedProcess[str]]:
    commands = [["config", "check", str(config)], ["hub", "--config", str(config), "--port", "0"]]
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda args: _run(args, cwd, _env(extra)), commands))


@pytest.mark.parametrize(("edit", "env", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_config_check_and_hub_refuse_a_broken_config_in_one_line(tmp_path: Path, edit: Edit, env: dict[str, str],
                                                                  expected: str) -> None:
    config = tmp_path / "center.toml"
    # the edit first (some edit the store line), then the shipped store path becomes one under tmp_path
    text = edit(EXAMPLE.read_text(encoding="utf-8"), tmp_path)
    config.write_text(text.replace(STORE_LINE, 'path = "data/hub.sqlite3"'), encoding="utf-8")
    for result in _both(config, tmp_path, env):
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, (result.args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr + result.stdout
        assert len(lines) == 1 and lines[0].startswith("config error: "), result.stderr
        assert expected in lines[0], lines[0]


def test_a_directory_or_a_missing_file_is_one_line_too(tmp_path: Path) -> None:
    for target, expected in ((tmp_path, "is a directory, not a config file"), (tmp_path / "nope.toml", "no such file")):
        for result in _both(target, tmp_path, {}):
            assert result.returncode == 2 and "Traceback" not in result.stderr
            assert result.stderr.strip() == f"config error: {target}: {expected}"


def test_the_example_configs_pass(tmp_path: Path) -> None:
    # the shipped store path is /var/lib/motcua: checked writable only where the hub would really run
    # and its first steps done: device keys in the hub's environment, real passwords for its demo accounts
    # (without them: tests/e2e/test_config_runs.py, which sets them with `motcua user set-password`)
    from deploy_support import with_real_passwords

    center = tmp_path / "center.toml"
    center.write_text(with_real_passwords(EXAMPLE.read_text(encoding="utf-8")), encoding="utf-8")
    env = _env({"MOTCUA_STORE__PATH": str(tmp_path / "hub.sqlite3"),
                "MOTCUA_SECURITY__DEVICE_KEYS": '["key-made-for-this-test-0001"]'})
    result = subprocess.run([sys.executable, "-m", "queue_server", "config", "check", str(center)], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: Trung tâm Phục vụ hành chính công tỉnh Quảng Trị")

    from firmware_bridge.config import check_can_run, load_settings
    from kiosk.config import load_settings as load_kiosk

    # the center's CA (/etc/motcua/ca.crt) is only on a real bridge PC: a throwaway one stands in
    ca = tmp_path / "ca.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "ca.key"),
                    "-out", str(ca), "-days", "2", "-subj", "/CN=motcua test CA"], check=True, capture_output=True,
                   timeout=60)
    example = tmp_path / "bridge.toml"
    example.write_text((ROOT / "deploy" / "bridge.example.toml").read_text(encoding="utf-8")
                       .replace("/etc/motcua/ca.crt", str(ca)), encoding="utf-8")
    bridge = load_settings(example, env={})
    check_can_run(bridge)
    assert bridge.mqtt_tls and bridge.mqtt_tls_ca == str(ca) and bridge.mqtt_port == 8883
    assert bridge.center == "hcc-quang-tri" and {d.kind for d in bridge.devices} == {
        "staff_keypad", "led_display", "rating_pad"} and bridge.notes == ()
    kiosk = load_kiosk(ROOT / "deploy" / "kiosk.example.toml", env={})
    assert kiosk.id == "kiosk-1" and kiosk.notes == ()


def test_config_check_imports_no_web_store_or_mqtt_module() -> None:
    code = ("import sys, queue_server.__main__, queue_server.config; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug', 'waitress', 'paho') "
            "or m.startswith(('queue_server.web', 'queue_server.app', 'queue_server.adapters.outbox', "
            "'queue_server.adapters.sqlite_store', 'queue_server.adapters.mqtt'))); print(bad)")
    out = subprocess.run([sys.executable, "-c", code], env=_env({}), capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
