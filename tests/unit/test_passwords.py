"""Weak password hashes are refused by the config (issue 11); the demo password is recognised."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from queue_server.config import ConfigError, settings_from_dict
from runtime.passwords import DEMO_PASSWORD, uses_demo_password, weak_hash_reason

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("method", ["pbkdf2:sha256:1", "pbkdf2:sha256:1000", "scrypt:1024:8:1"])
def test_cheap_hashes_are_refused_by_the_config(method: str) -> None:
    weak = generate_password_hash("x", method=method)
    assert weak_hash_reason(weak) is not None
    raw = tomllib.loads((ROOT / "deploy" / "center.example.toml").read_text(encoding="utf-8"))
    raw["users"][0]["password_hash"] = weak
    with pytest.raises(ConfigError, match=r"users\[0\]\.password_hash: .*too weak"):
        settings_from_dict(raw, strict_hashes=True)


def test_strong_hashes_pass_and_the_demo_password_is_recognised() -> None:
    assert weak_hash_reason(generate_password_hash("x", method="pbkdf2:sha256:600000")) is None
    demo = generate_password_hash(DEMO_PASSWORD)
    assert weak_hash_reason(demo) is None and uses_demo_password(demo)
    assert not uses_demo_password(generate_password_hash("another one"))
