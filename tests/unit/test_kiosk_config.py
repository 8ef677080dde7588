"""Kiosk config (TOML + env overrides, clear errors), the keyboard-wedge scanner buffer, hours text, and the
package boundaries (kiosk never imports queue_server; presenters never import Kivy)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kiosk.config import ConfigError, load_settings, settings_from_dict
from kiosk.devices_wiring import KeyboardWedge
from kiosk.presenters.catalog import format_hours

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]
ROOT = Path(__file__).resolve().parents[2]


def test_example_config_loads_with_env_overrides() -> None:
    s = load_settings(ROOT / "deploy" / "kiosk.example.toml",
                      env={"MOTCUA_KIOSK_HUB_URL": "http://10.1.1.1:8080", "MOTCUA_KIOSK_SCREEN_FULLSCREEN": "no",
                           "MOTCUA_KIOSK_OFFLINE_LEASE_SIZE": "80", "MOTCUA_KIOSK_HUB_DEVICE_KEY": "k-123"})
    assert s.hub.url == "http://10.1.1.1:8080" and s.screen.fullscreen is False and s.offline.lease_size == 80
    assert s.id == "kiosk-1" and s.devices.printer.startswith("escpos-net://")
    assert s.redacted()["hub"]["device_key"] == "***"


@pytest.mark.parametrize(("data", "message"), [
    ({"screen": {"width": "wide"}}, "screen.width: expected an integer"),
    ({"screen": {"fullscreen": "perhaps"}}, "screen.fullscreen: expected true or false"),
    ({"hub": {"url": "10.0.0.2:8080"}}, "hub.url: expected http:// or https://"),
    ({"hub": {"colour": "red"}}, "hub.colour: unknown setting"),
    ({"printer": {}}, "printer: unknown section"),
    ({"screen": {"font_regular": "/nope.ttf"}}, "screen.font_regular: font file"),
    ({"behaviour": {"idle_timeout_s": 1}}, "behaviour.idle_timeout_s: expected at least 5"),
])
def test_bad_config_gets_a_clear_error(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("/", "/")):
        settings_from_dict(data, env={})


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "none.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[hub\nurl=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad, env={})


def test_keyboard_wedge_splits_codes_on_enter() -> None:
    got: list[str] = []
    wedge = KeyboardWedge(got.append, max_len=40)
    wedge.feed("000.00.12.H38-")
    wedge.feed("261118-0007\r\n\n")
    wedge.feed("x" * 100 + "\n")
    assert got == ["000.00.12.H38-261118-0007", "x" * 40]


def test_hours_text_from_the_hub_config() -> None:
    week = {d: [["07:30", "11:30"], ["13:30", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    week["sat"] = [["07:30", "11:30"]]
    assert format_hours(week) == "Thứ Hai – Thứ Sáu: 07:30–11:30, 13:30–17:00; Thứ Bảy: 07:30–11:30"
    assert format_hours(week, "en").startswith("Monday – Friday: 07:30–11:30")
    assert format_hours(None) == "" and format_hours("garbage") == ""


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_kiosk_talks_to_the_hub_only_through_http_and_presenters_have_no_kivy() -> None:
    for path in (ROOT / "kiosk").rglob("*.py"):
        bad = {n for n in _imports(path) if n.split(".")[0] == "queue_server"}
        assert not bad, f"{path} imports {bad}"
    for path in (ROOT / "kiosk" / "presenters").rglob("*.py"):
        bad = {n for n in _imports(path) if n.split(".")[0] == "kivy"}
        assert not bad, f"{path} imports {bad}"
    assert _imports(ROOT / "kiosk" / "tracking_blueprint.py") <= {"__future__", "re", "pathlib", "flask"}
