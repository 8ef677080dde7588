"""Live edits of the settings: a section replaced and validated by the rules `config check` applies; the TOML
writer gives back a file that validates to the same center."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from runtime.settings import ConfigError, settings_from_dict
from runtime.settings.edit import apply_section, apply_sections, document, dump_toml

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "center.example.toml"


def _settings():  # type: ignore[no-untyped-def]
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw["users"] = [{"username": "quantri", "role": "admin", "password_hash": "pbkdf2:sha256:1000$x$y"}]
    return settings_from_dict(raw)


def test_a_service_added_is_validated_and_applied() -> None:
    s = _settings()
    services = document(s)["services"] + [{"code": "moi", "prefix": "Z", "name": "Dịch vụ mới"}]
    counters = document(s)["counters"]
    with pytest.raises(ConfigError, match=r"^services: 'moi' is served by no counter"):
        apply_section(s, "services", services)    # served by no counter: the same rule as config check
    counters[0]["services"].append("moi")
    with pytest.raises(ConfigError, match=r"^counters\[0\]\.services\[\d\]: unknown service 'moi'"):
        apply_section(s, "counters", counters)
    new = apply_sections(s, {"services": services, "counters": counters})
    assert new.center.service("moi") is not None and "moi" in new.center.counters[0].services


def test_refusals_name_the_key() -> None:
    s = _settings()
    services = document(s)["services"]
    services[1]["prefix"] = services[0]["prefix"]
    with pytest.raises(ConfigError, match=r"^services\[1\]\.prefix: prefix"):
        apply_section(s, "services", services)
    with pytest.raises(ConfigError, match=r"^display\.notice: expected a string"):
        apply_section(s, "display", {"notice": 5})
    with pytest.raises(ConfigError, match=r"^calendar\.days_off\[0\]: expected a date"):
        apply_section(s, "calendar", {"days_off": ["mai"], "makeup_days": []})


def test_notice_and_calendar_change() -> None:
    s = apply_section(_settings(), "display", {"notice": "Nghỉ trưa 11:30 – 13:30"})
    assert s.display.notice == "Nghỉ trưa 11:30 – 13:30"
    s = apply_section(s, "calendar", {"days_off": ["2026-12-24"], "makeup_days": ["2026-12-26"]})
    assert [d.isoformat() for d in s.announced_days_off] == ["2026-12-24"]


def test_dump_round_trips() -> None:
    s = _settings()
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw.update(document(s))
    raw["display"] = {**raw.get("display", {}), "notice": 'Có "ngoặc" và \\ gạch'}
    again = settings_from_dict(tomllib.loads(dump_toml(raw)))
    assert again.center == s.center
    assert again.display.notice == 'Có "ngoặc" và \\ gạch'
