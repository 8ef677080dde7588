"""Kiosk settings: one frozen object from a TOML file plus ``MOTCUA_KIOSK_<SECTION>_<KEY>`` environment overrides,
validated at start with a clear ConfigError. Pure apart from reading the file; opens no device.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

FONT_DIR = Path("/usr/share/fonts/truetype/noto")


class ConfigError(ValueError):
    """A kiosk config value that cannot be used; the message names the key, e.g. ``screen.width: expected ...``."""


@dataclass(frozen=True, slots=True)
class HubSection:
    url: str = "http://127.0.0.1:8080"
    public_url: str = ""                 # what a phone on the LAN opens for the ticket QR; defaults to url
    device_key: str = ""
    connect_timeout_s: float = 0.8
    read_timeout_s: float = 3.0


@dataclass(frozen=True, slots=True)
class ScreenSection:
    width: int = 1080
    height: int = 1920
    fullscreen: bool = False
    dpi: float = 102.0                   # physical pixels per inch of the panel (21.5" Full HD ≈ 102)
    min_target_mm: float = 15.0
    font_regular: str = str(FONT_DIR / "NotoSans-Regular.ttf")
    font_bold: str = str(FONT_DIR / "NotoSans-Bold.ttf")


@dataclass(frozen=True, slots=True)
class BehaviourSection:
    idle_timeout_s: float = 60.0
    ticket_screen_s: float = 20.0
    result_screen_s: float = 90.0
    tap_guard_s: float = 0.6
    stale_after_min: int = 60


@dataclass(frozen=True, slots=True)
class DevicesSection:
    printer: str = "sim://printer"
    scanner: str = ""                    # "" = none
    camera: str = ""
    printer_check_s: float = 10.0        # status read between jobs too: paper loaded or run out while idle
    when_printer_down: str = "stop"      # stop: no paper tickets, a sign says why; screen: number on screen only


@dataclass(frozen=True, slots=True)
class MqttSection:
    """The broker the kiosk reports its devices' health to (printer, scanner, camera), with a Last Will."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    tls_ca: str = ""
    keepalive_s: int = 10                # the hub sees a dead kiosk within 1.5 x this
    center: str = ""                     # the hub's center id (topics are per center); required when enabled


@dataclass(frozen=True, slots=True)
class OfflineSection:
    journal: str = "var/kiosk-journal.sqlite"
    lease_size: int = 50
    reserve: int = 20
    maintain_every_s: float = 10.0


@dataclass(frozen=True, slots=True)
class KioskSettings:
    id: str = "kiosk-1"
    hub: HubSection = field(default_factory=HubSection)
    screen: ScreenSection = field(default_factory=ScreenSection)
    behaviour: BehaviourSection = field(default_factory=BehaviourSection)
    devices: DevicesSection = field(default_factory=DevicesSection)
    offline: OfflineSection = field(default_factory=OfflineSection)
    mqtt: MqttSection = field(default_factory=MqttSection)

    @property
    def public_url(self) -> str:
        return self.hub.public_url or self.hub.url

    def redacted(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        for f in fields(self):
            if f.name == "id":
                continue
            section = getattr(self, f.name)
            out[f.name] = {g.name: getattr(section, g.name) for g in fields(section)}
        if out["hub"]["device_key"]:
            out["hub"]["device_key"] = "***"
        if out["mqtt"]["password"]:
            out["mqtt"]["password"] = "***"
        return out


_SECTIONS = {"hub": HubSection, "screen": ScreenSection, "behaviour": BehaviourSection,
             "devices": DevicesSection, "offline": OfflineSection, "mqtt": MqttSection}


def _coerce(where: str, value: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if kind is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        try:
            return int(str(value), 10)
        except ValueError as err:
            raise ConfigError(f"{where}: expected an integer, got {value!r}") from err
    if kind is float:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{where}: expected a number, got {value!r}") from err
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected text, got {value!r}")
    return value


_KINDS = {"str": str, "int": int, "float": float, "bool": bool}


def _section(name: str, cls: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{name}: expected a table")
    known = {f.name: _KINDS[str(f.type)] for f in fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{name}.{key}: unknown setting (known: {', '.join(sorted(known))})")
        values[key] = _coerce(f"{name}.{key}", value, known[key])
    return cls(**values)


def settings_from_dict(data: dict[str, Any], env: dict[str, str] | None = None) -> KioskSettings:
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for key, value in (env if env is not None else os.environ).items():
        if not key.startswith("MOTCUA_KIOSK_"):
            continue
        rest = key[len("MOTCUA_KIOSK_"):].lower()
        if rest == "id":
            data["id"] = value
            continue
        section, _, name = rest.partition("_")
        if section in _SECTIONS and name:
            data.setdefault(section, {})
            if not isinstance(data[section], dict):
                raise ConfigError(f"{section}: expected a table")
            data[section][name] = value
    unknown = set(data) - set(_SECTIONS) - {"id"}
    if unknown:
        raise ConfigError(f"{min(unknown)}: unknown section (known: id, {', '.join(_SECTIONS)})")
    settings = KioskSettings(id=_coerce("id", data.get("id", "kiosk-1"), str))
    for name, cls in _SECTIONS.items():
        if name in data:
            settings = replace(settings, **{name: _section(name, cls, data[name])})
    _validate(settings)
    return settings


def _validate(s: KioskSettings) -> None:
    if not s.hub.url.startswith(("http://", "https://")):
        raise ConfigError(f"hub.url: expected http:// or https://, got {s.hub.url!r}")
    if s.screen.width < 320 or s.screen.height < 320:
        raise ConfigError("screen.width/height: expected at least 320 pixels")
    for name in ("font_regular", "font_bold"):
        path = getattr(s.screen, name)
        if not Path(path).is_file():
            raise ConfigError(f"screen.{name}: font file {path!r} not found (install fonts-noto-core)")
    if s.offline.lease_size < 1 or s.offline.reserve < 0:
        raise ConfigError("offline.lease_size: expected at least 1 (and reserve >= 0)")
    if s.behaviour.idle_timeout_s < 5:
        raise ConfigError("behaviour.idle_timeout_s: expected at least 5 seconds")
    if s.devices.when_printer_down not in ("stop", "screen"):
        raise ConfigError(f"devices.when_printer_down: expected stop or screen, got {s.devices.when_printer_down!r}")
    if not 0.5 <= s.devices.printer_check_s <= 3600:
        raise ConfigError("devices.printer_check_s: expected 0.5 to 3600 seconds")
    if s.mqtt.enabled:
        if not s.mqtt.center:
            raise ConfigError("mqtt.center: the hub's center id is required when mqtt.enabled (topics are per center)")
        if not 1 <= s.mqtt.port <= 65535:
            raise ConfigError(f"mqtt.port: expected 1-65535, got {s.mqtt.port}")
        if not 2 <= s.mqtt.keepalive_s <= 600:
            raise ConfigError("mqtt.keepalive_s: expected 2 to 600 seconds")


def load_settings(path: str | Path | None, env: dict[str, str] | None = None) -> KioskSettings:
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise ConfigError(f"{path}: config file not found") from err
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path}: not valid TOML: {err}") from err
    return settings_from_dict(data, env)
