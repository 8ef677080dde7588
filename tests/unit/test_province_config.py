"""Province config and the Mosquitto bridge text: pure, no I/O."""
from __future__ import annotations

import pytest

from province.bridge import BridgeConfigError, BridgeSettings, bridge_conf, province_broker_conf
from province.config import ConfigError, config_from_dict

pytestmark = pytest.mark.unit

KEY = "0123456789abcdef0123"
HASH = "scrypt:32768:8:1$salt$abcdef"


def base(**over: object) -> dict:
    raw = {"province": {"dsn": "host=127.0.0.1 dbname=p"},
           "centers": [{"id": "xa-a", "key": KEY, "tier": "commune"}],
           "users": [{"username": "ql", "password_hash": HASH, "role": "center_manager", "center": "xa-a"}]}
    raw.update(over)
    return raw


def test_a_good_config_and_roles() -> None:
    cfg = config_from_dict(base(), environ={})
    assert cfg.center("xa-a").key == KEY and KEY not in repr(cfg)
    assert cfg.user("ql").centers() == ["xa-a"]
    admin = config_from_dict(base(users=[{"username": "a", "password_hash": HASH, "role": "province_admin"}]),
                             environ={})
    assert admin.user("a").centers() is None


@pytest.mark.parametrize("change, words", [
    ({"centers": [{"id": "xa-a", "key": "CHANGE-ME"}]}, "at least 16"),
    ({"centers": [{"id": "Xã A", "key": KEY}]}, "is not a center id"),
    ({"centers": [{"id": "xa-a", "key": KEY}, {"id": "xa-a", "key": KEY}]}, "listed twice"),
    ({"centers": [{"id": "xa-a", "key_env": "NOPE"}]}, "NOPE is not set"),
    ({"centers": [{"id": "xa-a", "key": KEY, "tier": "village"}]}, "tier"),
    ({"users": [{"username": "x", "password_hash": "scrypt:PASTE-HERE", "role": "province_admin"}]},
     "password_hash"),
    ({"users": [{"username": "x", "password_hash": HASH, "role": "center_manager", "center": "xa-z"}]},
     "a center_manager needs"),
    ({"users": [{"username": "x", "password_hash": HASH, "role": "boss"}]}, "is not province_admin"),
    ({"province": {}}, "province.dsn"),
    ({"province": {"dsn": "x", "prot": 1}}, "province.prot: unknown key"),
    ({"extra": {}}, "extra: unknown section"),
])
def test_bad_configs_are_named(change: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        config_from_dict(base(**change), environ={})


def test_the_shipped_example_is_refused_until_filled_in() -> None:
    import tomllib
    from pathlib import Path

    raw = tomllib.loads((Path(__file__).resolve().parents[2] / "deploy" / "province.example.toml").read_text())
    with pytest.raises(ConfigError):
        config_from_dict(raw, environ={})


def test_bridge_has_the_settings_that_lose_nothing() -> None:
    text = bridge_conf(BridgeSettings("xa-a", "tinh.example.vn", cafile="/etc/ca.crt", remote_username="xa-a",
                                      remote_password="pw-0123456789"))
    lines = set(text.splitlines())
    for must in ("cleansession false", "max_queued_messages 0", "persistence true", "autosave_on_changes true",
                 "notifications true", "topic motcua/v1/xa-a/event/# out 1", "topic motcua/v1/xa-a/state/# out 1",
                 "bridge_cafile /etc/ca.crt", "address tinh.example.vn:8883"):
        assert must in lines, must
    assert "max_queued_messages 0" in province_broker_conf().splitlines()


@pytest.mark.parametrize("settings, words", [
    (BridgeSettings("xa-a", "tinh.example.vn"), "needs TLS"),
    (BridgeSettings("xa-a", "127.0.0.1", remote_username="u"), "both"),
    (BridgeSettings("Xã A", "127.0.0.1"), "slug"),
    (BridgeSettings("xa-a", ""), "host"),
])
def test_bridge_refuses_unsafe_or_broken_settings(settings: BridgeSettings, words: str) -> None:
    with pytest.raises((BridgeConfigError, ValueError), match=words):
        bridge_conf(settings)
