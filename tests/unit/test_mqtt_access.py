"""The [broker] inventory's rules that keep one broker user = one live connection, and the hub's check of a
rating sent over MQTT (pure: no broker here; tests/adapter/test_broker_least_privilege.py runs a real one)."""
from __future__ import annotations

import re
from typing import Any

import pytest

from queue_server.mqtt_access import BrokerConfigError, acl_text, command_refusal, parse_broker

pytestmark = [pytest.mark.unit, pytest.mark.timeout(10)]

C = "hq"
COUNTERS = {"1", "2", "3", "4"}
B1 = {"user": "bridge-1", "role": "bridge", "counters": ["1", "2"], "devices": ["kp-1", "pad-1", "pad-2"],
      "device_counters": {"pad-1": "1", "pad-2": "2"}}
B2 = {"user": "bridge-2", "role": "bridge", "counters": ["3"], "devices": ["pad-3"]}


def inv(*clients: dict[str, Any]) -> Any:
    return parse_broker({"clients": list(clients or (B1, B2))}, C, COUNTERS)


@pytest.mark.parametrize(("clients", "key"), [
    ([B1, {**B2, "user": "bridge-1"}], "broker.clients[1].user"),                        # one user, two processes
    ([B1, {"user": "hub", "role": "display"}], "broker.clients[1].user"),                # the hub's own user
    ([B1, {**B2, "devices": ["bridge-1"]}], "'bridge-1' is both a user and a device"),   # a user is no device id
    ([{**B1, "devices": ["kp-1", "bridge-1"], "device_counters": {}}], "'bridge-1' is both a user and a device"),
    ([{**B1, "device_counters": {"pad-9": "1"}}], "broker.clients[0].device_counters.pad-9"),
    ([{**B1, "device_counters": {"pad-1": "3"}}], "broker.clients[0].device_counters.pad-1"),
    ([{**B1, "device_counters": ["pad-1"]}], "broker.clients[0].device_counters"),
])
def test_an_inventory_that_would_share_a_connection_or_mis_bind_a_pad_is_refused(clients: list[Any], key: str) -> None:
    with pytest.raises(BrokerConfigError, match=re.escape(key)):
        parse_broker({"clients": clients}, C, COUNTERS)


def test_each_process_may_write_its_own_availability_and_a_display_nothing() -> None:
    acl = acl_text(inv(B1, B2, {"user": "kiosk-1", "role": "kiosk", "devices": ["kiosk-1-printer"]},
                       {"user": "display-hall", "role": "display"}))
    blocks = {b.split("\n", 2)[1]: b for b in acl.split("\n\n") if b.startswith("# ")}
    assert f"topic write motcua/v1/{C}/devices/bridge-1/availability" in blocks["user bridge-1"]
    assert f"topic write motcua/v1/{C}/devices/kiosk-1/availability" in blocks["user kiosk-1"]
    assert "topic write" not in blocks["user display-hall"]


def rating(counter: str, source: str, **extra: Any) -> dict[str, Any]:
    return {"counter": counter, "level": 3, "source": source, **extra}


def test_a_rating_comes_only_from_a_bridges_pad_for_its_own_counter() -> None:
    i = inv()
    assert command_refusal(i, "1", "submit-rating", rating("1", "pad-1"), "pad-1") is None
    assert command_refusal(i, "2", "submit-rating", rating("2", "pad-2"), "pad-2") is None
    refused = {
        "pad bound to counter 1 rating counter 2": command_refusal(i, "2", "submit-rating", rating("2", "pad-1"), "pad-1"),
        "bridge-2's counter": command_refusal(i, "3", "submit-rating", rating("3", "pad-1"), "pad-1"),
        "a counter of no bridge": command_refusal(i, "4", "submit-rating", rating("4", "pad-1"), "pad-1"),
        "unscoped topic": command_refusal(i, "", "submit-rating", rating("1", "pad-1"), "pad-1"),
        "no source": command_refusal(i, "1", "submit-rating", {"counter": "1", "level": 3}, ""),
        "unknown device": command_refusal(i, "1", "submit-rating", rating("1", "tablet-1"), "tablet-1"),
        "payload source differs": command_refusal(i, "1", "submit-rating", rating("1", "pad-2"), "pad-1"),
        "dossier codes": command_refusal(i, "1", "submit-rating", rating("1", "pad-1", dossier_codes=["x"]), "pad-1"),
    }
    assert all(refused.values()), [k for k, v in refused.items() if not v]
    # a keypad pinned to a counter commands only that counter; an unpinned device any of its bridge's
    assert command_refusal(i, "2", "call-next", {"counter": "2"}, "pad-1") is not None
    assert command_refusal(i, "2", "call-next", {"counter": "2"}, "kp-1") is None
    # a bridge from before counter-scoped topics is told apart: the admin reads what to upgrade
    older = command_refusal(i, "", "call-next", {"counter": "2"}, "kp-1")
    assert older is not None and "older than this hub" in older and "nâng cấp bridge" in older
    # a lab hub without [broker]: only the payload/topic consistency is checked (ratings as before)
    assert command_refusal(None, "1", "submit-rating", {"counter": "1", "dossier_codes": ["x"]}, "console") is None


@pytest.mark.parametrize("user", ["bridge-1", "someone"])
def test_config_check_refuses_a_hub_connecting_as_another_user(tmp_path: Any, user: str) -> None:
    from pathlib import Path

    from queue_server.config import ConfigError, load_settings

    example = (Path(__file__).resolve().parents[2] / "deploy" / "center.example.toml").read_text(encoding="utf-8")
    assert 'username = "hub"' in example
    cfg = tmp_path / "center.toml"
    cfg.write_text(example.replace('username = "hub"', f'username = "{user}"', 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mqtt\.username: .*one broker user per process instance"):
        load_settings(cfg, environ={})


def test_the_kiosks_an_inventory_names() -> None:
    """POST /help accepts these ids: each kiosk user, and the kiosk id its devices are named after (a kiosk whose
    broker user is not its id); a bridge's devices and users are no kiosks."""
    inventory = inv(B1, {"user": "kiosk-1", "role": "kiosk", "devices": ["kiosk-1-printer"]},
                    {"user": "sanh-b", "role": "kiosk", "devices": ["kiosk-sanh-2-printer", "kiosk-sanh-2-camera",
                                                                    "may-in-le"]})
    assert inventory.kiosk_ids() == {"kiosk-1", "sanh-b", "kiosk-sanh-2"}
    assert inv(B1, B2).kiosk_ids() == frozenset()
