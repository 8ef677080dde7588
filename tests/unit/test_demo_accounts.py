"""The example's accounts on the public demo password: a hub without --lab refuses them at start (the check
`config check` runs too), `motcua user set-password` replaces one account's hash in the file and nothing else,
and the demo logs in with a password made for its run. Tests doing real scrypt work (~0.1 s a hash) or the CLI
on files are marked adapter, the rest unit."""
from __future__ import annotations

import io
import tomllib
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from werkzeug.security import check_password_hash, generate_password_hash

from queue_server.__main__ import main
from queue_server.config import ConfigError, check_hub_can_start, load_settings
from runtime import passwords
from runtime.passwords import DEMO_PASSWORD, demo_password_users
from runtime.settings.users_file import UsersFileError, set_password_hash

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "center.example.toml"
ACCOUNTS = ["canbo1", "canbo2", "canbo3", "canbo4", "quanly", "quantri"]
KEYS = {"MOTCUA_SECURITY__DEVICE_KEYS": '["a-device-key-long-enough-for-the-hub"]'}
# a cheap hash of the demo password (pbkdf2, few rounds): these tests build settings in memory, not from a file
CHEAP_DEMO = generate_password_hash(DEMO_PASSWORD, method="pbkdf2:sha256:1000")


def _example(tmp_path: Path, text: str | None = None) -> Path:
    path = tmp_path / "center.toml"
    source = EXAMPLE.read_text(encoding="utf-8") if text is None else text
    path.write_text(source.replace('path = "/var/lib/motcua/hub.sqlite3"', 'path = "hub.db"'), encoding="utf-8")
    return path


@pytest.mark.adapter
def test_the_shipped_accounts_are_the_demo_password_and_a_keyed_hub_refuses_them(tmp_path: Path) -> None:
    settings = load_settings(_example(tmp_path), environ=KEYS)
    with pytest.raises(ConfigError) as err:
        check_hub_can_start(settings)
    said = err.value.message
    assert "\n" not in said and said.index("mật khẩu mẫu") < said.index("public demo password")   # vi first
    assert "tài khoản " + ", ".join(ACCOUNTS) in said
    assert f"`motcua user set-password --config {tmp_path / 'center.toml'} canbo1`" in said and "--lab" in said
    check_hub_can_start(settings, lab=True)               # a test bench keeps them (the hub warns)


@pytest.mark.unit
def test_demo_passwords_are_checked_once_per_distinct_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = passwords.uses_demo_password
    monkeypatch.setattr(passwords, "uses_demo_password", lambda h: calls.append(h) or real(h))
    other = generate_password_hash("a real one", method="pbkdf2:sha256:1000")
    users = [("a", CHEAP_DEMO), ("b", other), ("c", CHEAP_DEMO), ("d", other), ("e", CHEAP_DEMO)]
    assert demo_password_users(users) == ["a", "c", "e"]
    assert sorted(calls) == sorted([CHEAP_DEMO, other])


@pytest.mark.unit
def test_set_password_changes_that_account_line_only() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    new_hash = generate_password_hash("x", method="pbkdf2:sha256:1000")
    out = set_password_hash(text, "quanly", new_hash)
    old_lines, new_lines = text.splitlines(), out.splitlines()
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    assert len(changed) == 1 and new_lines[changed[0]] == f'password_hash = "{new_hash}"'
    users = tomllib.loads(out)["users"]
    assert [u["password_hash"] == new_hash for u in users] == [u == "quanly" for u in ACCOUNTS]


@pytest.mark.unit
def test_set_password_adds_a_missing_hash_line_keeps_crlf_and_refuses_what_it_cannot_edit_safely() -> None:
    text = ('# người dùng\r\n[center]\r\nid = "x"\r\n\r\n[[users]]\r\nusername = "a"\r\nrole = "staff"\r\n\r\n'
            '[[users]]  # quản lý\r\nusername = "b"\r\nrole = "manager"\r\npassword_hash = "old"\r\n')
    out = set_password_hash(set_password_hash(text, "a", "h1"), "b", "h2")
    assert out.replace('password_hash = "h1"\r\n', "", 1).replace('"h2"', '"old"') == text
    assert [u["password_hash"] for u in tomllib.loads(out)["users"]] == ["h1", "h2"]
    with pytest.raises(UsersFileError, match="no account 'c'"):
        set_password_hash(text, "c", "h")
    inline = 'users = [{username = "a", role = "staff", password_hash = "old"}]\n'
    with pytest.raises(UsersFileError, match="by hand"):
        set_password_hash(inline, "a", "h")
    # a multi-line string that looks like a table header: the read-back catches the mis-edit
    tricky = ('[[users]]\nusername = "a"\nnote = """\n[[users]]\npassword_hash = "not a key"\n"""\n'
              'password_hash = "old"\n')
    with pytest.raises(UsersFileError):
        set_password_hash(tricky, "a", "h")


@pytest.mark.adapter
def test_cli_set_password_then_the_keyed_hub_accepts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _example(tmp_path)
    config.chmod(0o640)
    for user in ACCOUNTS[:-1]:
        monkeypatch.setattr("sys.stdin", io.StringIO(f"mật khẩu thật của {user}\n"))
        with redirect_stdout(io.StringIO()):
            assert main(["user", "set-password", "--config", str(config), user, "--stdin"]) == 0
    with pytest.raises(ConfigError, match=r"tài khoản quantri vẫn dùng .* accounts quantri still"):
        check_hub_can_start(load_settings(config, environ=KEYS))
    monkeypatch.setattr("sys.stdin", io.StringIO("mật khẩu quản trị\n"))
    with redirect_stdout(io.StringIO()):
        assert main(["user", "set-password", "--config", str(config), "quantri", "--stdin"]) == 0
    settings = load_settings(config, environ=KEYS)
    check_hub_can_start(settings)
    assert check_password_hash(settings.user("quantri").password_hash, "mật khẩu quản trị")
    assert (config.stat().st_mode & 0o777) == 0o640 and list(tmp_path.glob(".*.tmp")) == []


@pytest.mark.adapter
@pytest.mark.parametrize(("typed", "expected"), [("short\n", "at least 8"), (DEMO_PASSWORD + "\n", "public demo"),
                                                 ("long enough\n", "no account 'ghost'")])
def test_cli_set_password_refusals_leave_the_file_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        typed: str, expected: str) -> None:
    config = _example(tmp_path)
    before = config.read_bytes()
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    err = io.StringIO()
    user = "ghost" if "ghost" in expected else "canbo1"
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        assert main(["user", "set-password", "--config", str(config), user, "--stdin"]) == 2
    assert expected in err.getvalue() and config.read_bytes() == before


@pytest.mark.adapter
def test_the_demo_config_has_a_password_made_for_the_run(tmp_path: Path) -> None:
    from demo.settings import EXAMPLE_CONFIG, RUN_PASSWORD, demo_raw

    raw = demo_raw(EXAMPLE_CONFIG, tmp_path, 8080, None)
    assert RUN_PASSWORD != DEMO_PASSWORD and len(RUN_PASSWORD) >= 12
    hashes = {u["password_hash"] for u in raw["users"]}
    assert len(hashes) == 1 and check_password_hash(hashes.pop(), RUN_PASSWORD)
    assert demo_password_users((u["username"], u["password_hash"]) for u in raw["users"]) == []


@pytest.mark.adapter
def test_passwords_set_from_the_web_page_count_and_set_password_drops_a_stale_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from queue_server.adapters.config_log import ConfigLog

    config = _example(tmp_path, EXAMPLE.read_text(encoding="utf-8").replace(
        'username = "canbo4"', 'username = "canbo4"\ndisabled = true'))      # a disabled account cannot log in
    store = load_settings(config, environ=KEYS).store_path
    log_ = ConfigLog(store)                   # the hub's store: each changed their password on the web page
    live = generate_password_hash("đổi trên trang web 1", method="pbkdf2:sha256:1000")
    for user in ("canbo1", "canbo2", "canbo3", "quanly"):
        log_.set_credential(user, live, "2026-03-02T08:00:00+07:00")
    log_.close()
    with pytest.raises(ConfigError, match=r"tài khoản quantri vẫn dùng"):
        check_hub_can_start(load_settings(config, environ=KEYS))
    log_ = ConfigLog(store)
    log_.set_credential("quantri", live, "2026-03-02T08:00:00+07:00")
    log_.close()
    check_hub_can_start(load_settings(config, environ=KEYS))
    # the admin resets quanly's forgotten password in the file: the web page's one is dropped, the file's applies
    monkeypatch.setattr("sys.stdin", io.StringIO("mật khẩu mới của quản lý\n"))
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["user", "set-password", "--config", str(config), "quanly", "--stdin"]) == 0
    assert "the password set from the web page for quanly is dropped" in out.getvalue()
    log_ = ConfigLog(store)
    assert sorted(log_.credentials()) == ["canbo1", "canbo2", "canbo3", "quantri"]
    log_.close()
