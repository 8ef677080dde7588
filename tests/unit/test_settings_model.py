"""The one settings model (runtime.settings): one override scheme for every process, overrides read by the key's
type, old spellings still read with a note, one DisplaySettings, rating levels defined once, numbers finite."""
from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from runtime.settings import ConfigError, load_settings, settings_from_dict
from runtime.settings.bridge import settings_from_dict as bridge_from_dict
from runtime.settings.kiosk import settings_from_dict as kiosk_from_dict

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "center.example.toml"
BRIDGE = {"bridge": {"center": "tt-hcc"},
          "devices": [{"id": "pad-05", "kind": "rating_pad", "port": "/dev/ttyACM0", "counter": 5}]}


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def test_overrides_are_read_by_the_type_of_their_key() -> None:
    s = load_settings(EXAMPLE, environ={"MOTCUA_MQTT__PASSWORD": "123456", "MOTCUA_MQTT__TLS": "no",
                                        "MOTCUA_HTTP__TRUST_FORWARDED_FOR": "yes", "MOTCUA_DISPLAY__NOTICE": "true",
                                        "MOTCUA_HTTP__PORT": "8081",
                                        "MOTCUA_INTEGRATION__MAIN_SYSTEM__BASE_URL": "https://dvc.example.vn",
                                        "MOTCUA_INTEGRATION__MAIN_SYSTEM__PASSWORD": "007"})
    assert s.mqtt.password == "123456" and s.mqtt.tls is False and s.http.trust_forwarded_for is True
    assert s.display.notice == "true" and s.http.port == 8081
    assert s.integration is not None and s.integration.main_system is not None
    assert s.integration.main_system.password == "007"
    assert s.integration.outbox is not None and s.integration.outbox.events_url.startswith("https://dvc.example.vn/")


def test_a_variable_for_another_process_is_skipped_with_a_note() -> None:
    s = load_settings(EXAMPLE, environ={"MOTCUA_SCREEN__WIDTH": "1920", "MOTCUA_CONFIG": "/etc/motcua/center.toml"})
    assert s.notes == ("MOTCUA_SCREEN__WIDTH ignored: this process has no [screen] table",)
    with pytest.raises(ConfigError, match=r"^mqtt\.prot: unknown key$"):
        load_settings(EXAMPLE, environ={"MOTCUA_MQTT__PROT": "1"})


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["services"][0].__setitem__("avg_service_min", float("nan")),
     "services[0].avg_service_min: expected a finite number, got nan"),
    (lambda d: d["services"][0].__setitem__("avg_service_min", float("inf")),
     "services[0].avg_service_min: expected a finite number, got inf"),
    (lambda d: d["policy"].__setitem__("priority_bonus_min", True),
     "policy.priority_bonus_min: expected a number, got a boolean"),
    (lambda d: d["http"].__setitem__("host", "http://0.0.0.0"), "http.host: 'http://0.0.0.0' is not an IP address"),
    (lambda d: d.__setitem__("integration", {"outbox_path": ""}), "integration.outbox_path: must not be empty"),
    (lambda d: d.__setitem__("integration", {"main_system": {"base_url": "https://x", "verify_tls": ""}}),
     "integration.main_system.verify_tls: expected true, false or the path of a CA bundle"),
])
def test_numbers_hosts_and_paths_are_checked(raw: dict[str, Any], change: Any, message: str) -> None:
    data = copy.deepcopy(raw)
    change(data)
    with pytest.raises(ConfigError) as info:
        settings_from_dict(data)
    assert info.value.message.startswith(message), info.value.message


def test_kiosk_new_and_old_spellings() -> None:
    s = kiosk_from_dict({}, env={"MOTCUA_HUB__URL": "http://10.0.0.2:8080", "MOTCUA_KIOSK__ID": "kiosk-2",
                                 "MOTCUA_SCREEN__FULLSCREEN": "on", "MOTCUA_HTTP__PORT": "8081"})
    assert (s.hub.url, s.id, s.screen.fullscreen) == ("http://10.0.0.2:8080", "kiosk-2", True)
    assert s.notes == ("MOTCUA_HTTP__PORT ignored: this process has no [http] table",)
    old = kiosk_from_dict({}, env={"MOTCUA_KIOSK_HUB_URL": "http://10.0.0.3:8080", "MOTCUA_KIOSK_ID": "k3"})
    assert old.hub.url == "http://10.0.0.3:8080" and old.id == "k3"
    assert "MOTCUA_KIOSK_HUB_URL is a deprecated spelling: use MOTCUA_HUB__URL" in old.notes
    assert "MOTCUA_KIOSK_ID is a deprecated spelling: use MOTCUA_KIOSK__ID" in old.notes


def test_bridge_takes_the_hub_mqtt_table_and_the_old_keys_with_a_note() -> None:
    s = bridge_from_dict({**BRIDGE, "mqtt": {"host": "10.0.0.2", "port": 8883, "tls": True}}, env={})
    assert (s.mqtt_host, s.mqtt_port, s.mqtt_tls, s.notes) == ("10.0.0.2", 8883, True, ())
    assert s.mqtt.host == "10.0.0.2" and s.mqtt.tls and s.devices[0].counter == "5"
    old = bridge_from_dict({**BRIDGE, "bridge": {"center": "tt-hcc", "mqtt_port": 1884}},
                           env={"MOTCUA_BRIDGE_MQTT_HOST": "10.0.0.9"})
    assert (old.mqtt_host, old.mqtt_port) == ("10.0.0.9", 1884)
    assert "[bridge] mqtt_port is a deprecated spelling: use [mqtt] port" in old.notes
    assert "MOTCUA_BRIDGE_MQTT_HOST is a deprecated spelling: use MOTCUA_MQTT__HOST" in old.notes
    both = bridge_from_dict({**BRIDGE, "bridge": {"center": "tt-hcc", "mqtt_port": 1884}}, env={"MOTCUA_MQTT__PORT": "1999"})
    assert both.mqtt_port == 1999               # the [mqtt] table (here from the environment) wins
    with pytest.raises(ConfigError, match=r"^mqtt\.port: expected an integer, got str \(from MOTCUA_BRIDGE_MQTT_PORT\)$"):
        bridge_from_dict(BRIDGE, env={"MOTCUA_BRIDGE_MQTT_PORT": "x"})


def test_one_display_settings_type_and_the_pages_see_only_their_fields(raw: dict[str, Any]) -> None:
    from displays.blueprint import DisplaySettings as PagesDisplay
    from runtime.settings import DisplaySettings

    assert PagesDisplay is DisplaySettings
    s = settings_from_dict(copy.deepcopy(raw), base_dir=Path("/etc/motcua"))
    assert s.display.calls_shown == 8 and DisplaySettings().calls_shown == 8
    page = s.display.for_pages()
    assert "voice_dir" not in page and "hub_speaker" not in page and page["repeats"] == 2


def test_rating_levels_are_defined_once() -> None:
    from contracts.ratings import DEFAULT_LEVELS
    from queue_server.domain import ratings
    from runtime.settings import DEFAULT_RATING_SCALE
    from runtime.settings.bridge import DEFAULT_RATING_LEVELS

    assert ratings.DEFAULT_LEVELS is DEFAULT_LEVELS and DEFAULT_RATING_SCALE is DEFAULT_LEVELS
    assert DEFAULT_RATING_LEVELS == (3, 2, 1)


@pytest.mark.parametrize(("where", "value"), [
    (("services", 0, "name"), "Hộ tịch\x1b@"),            # ESC @ resets the ticket printer
    (("services", 0, "procedures", 0), "Khai sinh\n"),
    (("counters", 0, "name"), "Quầy\x07 1"),
    (("priorities", 0, "label"), "Người cao tuổi\x00"),
    (("center", "name_en"), "Centre\r"),
])
def test_names_people_read_refuse_control_characters(raw: dict[str, Any], where: tuple[Any, ...],
                                                     value: str) -> None:
    # a name goes to the ESC/POS printer, the voice, the hall, the PDF and Excel reports
    bad = copy.deepcopy(raw)
    node: Any = bad
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    with pytest.raises(ConfigError, match="control character"):
        settings_from_dict(bad)
    fine = copy.deepcopy(raw)
    node = fine
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = "Tư pháp – Hộ tịch (A&B) «mới»"
    settings_from_dict(fine)
