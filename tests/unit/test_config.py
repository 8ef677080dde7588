"""Config: the example center loads and is realistic; every mistake is a ConfigError naming the exact key."""
from __future__ import annotations

import copy
import io
import json
import tomllib
from contextlib import redirect_stderr, redirect_stdout
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from queue_server.__main__ import main
from queue_server.config import ConfigError, load_settings, settings_from_dict

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "center.example.toml"


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def broken(raw: dict[str, Any], change: Any) -> str:
    data = copy.deepcopy(raw)
    change(data)
    with pytest.raises(ConfigError) as info:
        settings_from_dict(data)
    return info.value.message


def test_example_center_is_a_realistic_provincial_center() -> None:
    s = load_settings(EXAMPLE, environ={})
    c = s.center
    assert "Trung tâm Phục vụ hành chính công" in c.name
    assert len(c.services) >= 10 and len(c.counters) >= 12
    names = {sv.name for sv in c.services}
    assert {"Tư pháp – Hộ tịch", "Đất đai", "Đăng ký kinh doanh", "Xây dựng",
            "Lao động – Thương binh và Xã hội"} <= names
    assert len({sv.prefix for sv in c.services}) == len(c.services)
    assert all(p.legal_basis for p in c.priorities)
    assert any("Luật Người cao tuổi 2009" in p.legal_basis for p in c.priorities)
    assert any("Luật Người khuyết tật 2010" in p.legal_basis for p in c.priorities)
    for weekday in range(5):
        assert [(w.start, w.end) for w in c.sessions[weekday]] == [(time(7, 30), time(11, 30)),
                                                                   (time(13, 30), time(17, 0))]
    assert 5 not in c.sessions and 6 not in c.sessions
    assert {u.role for u in s.users} == {"staff", "manager", "admin"}


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["counters"][3]["services"].__setitem__(1, "dat-dai2"),
     "counters[3].services[1]: unknown service 'dat-dai2'"),
    (lambda d: d["mqtt"].__setitem__("port", "abc"), "mqtt.port: expected an integer, got str"),
    (lambda d: d["mqtt"].__setitem__("port", 70000), "mqtt.port: must be <= 65535, got 70000"),
    (lambda d: d["mqtt"].__setitem__("prot", 1), "mqtt.prot: unknown key"),
    (lambda d: d["services"][1].__setitem__("prefix", "A"), "services[1].prefix: prefix 'A' already used by 'ho-tich'"),
    (lambda d: d["services"][0].__setitem__("code", "Hộ tịch"),
     "services[0].code: 'Hộ tịch' must be a lowercase slug (a-z, 0-9, '_', '.', '-')"),
    (lambda d: d["policy"].__setitem__("kind", "random"), "policy.kind: 'random' is not one of strict, interleave, weighted"),
    (lambda d: d["working_hours"][0].__setitem__("sessions", [["11:30", "07:30"]]),
     "working_hours[0].sessions[0]: ends before it starts"),
    (lambda d: d["working_hours"][0].__setitem__("days", ["mon", "monday"]),
     "working_hours[0].days[1]: 'monday' is not one of mon, tue, wed, thu, fri, sat, sun"),
    (lambda d: d["users"][0].__setitem__("role", "root"), "users[0].role: 'root' is not one of staff, manager, admin"),
    (lambda d: d["users"][0].__setitem__("password_hash", "hunter2"),
     "users[0].password_hash: not a werkzeug password hash (make one with `motcua user hash-password`)"),
    (lambda d: d["priorities"][0].pop("legal_basis"), "priorities[0].legal_basis: missing"),
    (lambda d: d.pop("center"), "center.id: missing"),
    (lambda d: d["security"].__setitem__("device_keys", ["short"]),
     "security.device_keys[0]: expected a string of at least 16 characters"),
    (lambda d: d["http"].__setitem__("threads", True), "http.threads: expected an integer, got a boolean"),
])
def test_mistakes_name_the_key(raw: dict[str, Any], change: Any, message: str) -> None:
    assert broken(raw, change) == message


def test_a_service_no_counter_serves_is_refused(raw: dict[str, Any]) -> None:
    def drop_tra_ket_qua(d: dict[str, Any]) -> None:
        for c in d["counters"]:
            c["services"] = [s for s in c["services"] if s != "tra-ket-qua"] or ["ho-tich"]
    assert broken(raw, drop_tra_ket_qua) == "services: 'tra-ket-qua' is served by no counter"


def test_env_overrides_are_typed_and_secrets_are_redacted(tmp_path: Path) -> None:
    env = {"MOTCUA_MQTT__PORT": "1884", "MOTCUA_MQTT__PASSWORD": "s3cr3t-pa55", "MOTCUA_HTTP__HOST": "127.0.0.1",
           "MOTCUA_CONFIG": "ignored", "OTHER__X": "1"}
    s = load_settings(EXAMPLE, environ=env)
    assert s.mqtt.port == 1884 and s.mqtt.password == "s3cr3t-pa55" and s.http.host == "127.0.0.1"
    text = json.dumps(s.redacted(), ensure_ascii=False)
    assert "s3cr3t-pa55" not in text and "scrypt" not in text
    with pytest.raises(ConfigError, match=r"^mqtt\.port: expected an integer, got str$"):
        load_settings(EXAMPLE, environ={"MOTCUA_MQTT__PORT": "many"})


def test_relative_store_path_is_relative_to_the_config_file(tmp_path: Path, raw: dict[str, Any]) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace('path = "/var/lib/motcua/hub.sqlite3"', 'path = "data/hub.db"')
    (tmp_path / "center.toml").write_text(text, encoding="utf-8")
    assert load_settings(tmp_path / "center.toml", environ={}).store_path == tmp_path / "data" / "hub.db"


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "missing.toml", environ={})
    (tmp_path / "bad.toml").write_text("[center\nid = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path / "bad.toml", environ={})


def test_cli_config_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the shipped example has no device keys: refused as `motcua hub` refuses it, naming the command to run
    err = io.StringIO()
    with redirect_stderr(err):
        assert main(["config", "check", str(EXAMPLE)]) == 2
    assert f"`motcua deploy device-keys --config {EXAMPLE}`" in err.getvalue()
    # with keys in the environment (what `deploy device-keys` writes for the hub's EnvironmentFile) it passes
    monkeypatch.setenv("MOTCUA_SECURITY__DEVICE_KEYS", '["key-made-for-this-test-0001"]')
    # ... once its accounts have real passwords (the shipped ones are the public demo password: refused)
    err = io.StringIO()
    with redirect_stderr(err):
        assert main(["config", "check", str(EXAMPLE)]) == 2
    assert "`motcua user set-password --config" in err.getvalue()
    from deploy_support import with_real_passwords

    (tmp_path / "real.toml").write_text(with_real_passwords(EXAMPLE.read_text(encoding="utf-8")), encoding="utf-8")
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["config", "check", str(tmp_path / "real.toml")]) == 0
    assert "OK: Trung tâm Phục vụ hành chính công tỉnh Quảng Trị" in out.getvalue()
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text(encoding="utf-8").replace('services = ["dat-dai"]', 'services = ["dat-dai2"]'),
                   encoding="utf-8")
    err = io.StringIO()
    with redirect_stderr(err):
        assert main(["config", "check", str(bad)]) == 2
    assert "config error: counters[2].services[0]: unknown service 'dat-dai2'" in err.getvalue()


def test_cli_hash_password_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    from werkzeug.security import check_password_hash

    monkeypatch.setattr("sys.stdin", io.StringIO("mật-khẩu-dài\n"))
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["user", "hash-password", "--stdin"]) == 0
    assert check_password_hash(out.getvalue().strip(), "mật-khẩu-dài")


CRITERIA = [{"code": "thai-do", "label": "Thái độ phục vụ", "label_en": "Attitude"},
            {"code": "thoi-gian", "label": "Thời gian giải quyết"}]


def test_rating_criteria_and_window_default_to_none_and_ten_minutes(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data.pop("rating_criteria", None)
    data.pop("ratings", None)
    s = settings_from_dict(data)
    assert s.rating_criteria == () and s.rating_window_min == 10


def test_rating_criteria_and_window_are_read(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["rating_criteria"] = copy.deepcopy(CRITERIA)
    data["ratings"] = {"window_min": 15}
    s = settings_from_dict(data)
    assert [(c.code, c.label, c.label_en) for c in s.rating_criteria] == [
        ("thai-do", "Thái độ phục vụ", "Attitude"), ("thoi-gian", "Thời gian giải quyết", "")]
    assert s.rating_window_min == 15


def test_the_commented_criteria_in_the_example_are_valid(tmp_path: Path) -> None:
    """The example ships the criteria commented out; uncommented they must load as they are."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    start = lines.index("# [[rating_criteria]]")
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("#"))
    lines[start:end] = [ln[2:] if ln.startswith("# ") else "" for ln in lines[start:end]]
    (tmp_path / "center.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    s = load_settings(tmp_path / "center.toml", environ={})
    assert [c.code for c in s.rating_criteria] == ["thai-do", "thoi-gian", "huong-dan"]
    assert s.rating_criteria[0].label == "Thái độ phục vụ" and s.rating_criteria[2].label == "Hướng dẫn thủ tục"


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.__setitem__("rating_criteria", [*CRITERIA, {"code": "thai-do", "label": "Lần nữa"}]),
     "rating_criteria[2].code: duplicate rating criterion 'thai-do'"),
    (lambda d: d.__setitem__("rating_criteria", [{"code": "Thái độ", "label": "Thái độ"}]),
     "rating_criteria[0].code: 'Thái độ' must be a lowercase slug (a-z, 0-9, '_', '.', '-')"),
    (lambda d: d.__setitem__("rating_criteria", [{"code": "thai-do"}]), "rating_criteria[0].label: missing"),
    (lambda d: d.__setitem__("rating_criteria", [{"code": "thai-do", "label": " "}]),
     "rating_criteria[0].label: must not be empty"),
    (lambda d: d.__setitem__("rating_criteria", [{"code": "thai-do", "label": "Thái độ", "weight": 2}]),
     "rating_criteria[0].weight: unknown key"),
    (lambda d: d.__setitem__("rating_criteria", [{"code": 5, "label": "Thái độ"}]),
     "rating_criteria[0].code: expected a string, got int"),
    (lambda d: d.__setitem__("rating_criteria", {"code": "thai-do"}),
     "rating_criteria: expected an array, got dict"),
    (lambda d: d.__setitem__("rating_criteria", [{"code": f"c{i}", "label": "X"} for i in range(7)]),
     "rating_criteria: at most 6 criteria, got 7"),
    (lambda d: d.__setitem__("ratings", {"window_min": 0}), "ratings.window_min: must be >= 1, got 0"),
    (lambda d: d.__setitem__("ratings", {"window_min": "10"}), "ratings.window_min: expected an integer, got str"),
    (lambda d: d.__setitem__("ratings", {"window": 10}), "ratings.window: unknown key"),
])
def test_rating_criteria_mistakes_name_the_key(raw: dict[str, Any], change: Any, message: str) -> None:
    assert broken(raw, change) == message


def test_each_services_offline_range_is_configurable_and_checked(raw: dict[str, Any]) -> None:
    """Issue 13 point 2: kiosks' offline blocks come from [offline_from, number_end] of each service (set in
    config), so online numbering never skips; a value outside the range is refused naming the key."""
    data = copy.deepcopy(raw)
    data["services"][0]["offline_from"] = 500
    service = settings_from_dict(data).center.services[0]
    assert service.offline_from == 500
    assert settings_from_dict(copy.deepcopy(raw)).center.services[0].offline_from is None     # the top fifth
    message = broken(raw, lambda d: d["services"][0].__setitem__("offline_from", 5000))
    assert message.startswith("services[0].offline_from: 5000 must lie above number_start"), message


def test_an_enabled_face_engine_without_the_face_extra_is_refused_before_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from devices.face import engine
    from queue_server.adapters.face_gallery import create_key_file
    from queue_server.config import check_hub_can_start

    (tmp_path / "keys").mkdir()
    create_key_file(tmp_path / "keys" / "face.key")
    text = EXAMPLE.read_text(encoding="utf-8").replace('path = "/var/lib/motcua/hub.sqlite3"', 'path = "hub.db"')
    (tmp_path / "center.toml").write_text(text + f'\n[face]\nenabled = true\nkey_path = "{tmp_path / "keys" / "face.key"}"\n'
                                          'engine = "mediapipe"\n', encoding="utf-8")
    settings = load_settings(tmp_path / "center.toml", environ={})
    check_hub_can_start(settings, lab=True)
    monkeypatch.setattr(engine, "face_extra_present", lambda: False)
    with pytest.raises(ConfigError, match=r"^face: face.engine = \"mediapipe\" needs the face extra"):
        check_hub_can_start(settings, lab=True)
