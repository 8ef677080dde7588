"""`motcua face ...` and `motcua config check` with [face]: a key is needed before the hub may start, it is made
with mode 600 and never overwritten; list and delete work on the real files."""
from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest
from deploy_support import with_real_passwords

from queue_server.__main__ import main

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def config(tmp_path: Path) -> Path:
    text = (ROOT / "deploy" / "center.example.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    assert "face" not in raw
    path = tmp_path / "center.toml"
    text = with_real_passwords(  # as deployed: device keys and real passwords for the accounts
        text.replace("device_keys = []", 'device_keys = ["key-made-for-this-test-0001"]'))
    path.write_text(text + f'\n[face]\nenabled = true\nkey_path = "{tmp_path / "keys" / "face.key"}"\n'
                    f'gallery_path = "{tmp_path / "data" / "face.sqlite3"}"\n', encoding="utf-8")
    return path


def test_key_needed_created_0600_then_list_and_delete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path)
    assert main(["config", "check", str(cfg)]) == 2
    assert "motcua face init-key" in capsys.readouterr().err
    assert main(["face", "init-key", "--config", str(cfg)]) == 0
    key = tmp_path / "keys" / "face.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    assert main(["face", "init-key", "--config", str(cfg)]) == 0 and key.read_bytes() == before
    assert main(["config", "check", str(cfg)]) == 0
    capsys.readouterr()
    assert main(["face", "list", "--config", str(cfg)]) == 0
    assert capsys.readouterr().out.strip() == "[]"
    assert main(["face", "delete", "fs_0000", "--by", "canbo1", "--config", str(cfg)]) == 1
    assert main(["face", "purge", "--config", str(cfg)]) == 0
    key.chmod(0o644)
    assert main(["config", "check", str(cfg)]) == 2
    assert "chmod 600" in capsys.readouterr().err
