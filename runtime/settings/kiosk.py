"""The lobby kiosk's settings: one frozen KioskSettings from its TOML file (``id`` at the top, then [hub],
[screen], [behaviour], [devices], [offline]) plus ``MOTCUA_<SECTION>__<KEY>`` overrides (the top-level ``id``:
``MOTCUA_KIOSK__ID``). The old ``MOTCUA_KIOSK_<SECTION>_<KEY>`` spelling is still read, with a note to log.

Reads the file and the environment, and checks the font files exist; opens no device.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, TypeAdapter, ValidationError

from .errors import ConfigError, from_validation_error
from .fields import TABLE, AtLeastOne, Bool, Host, Int, Number, Port, Seconds, Text, check_url
from .source import apply_env_overrides, read_toml

FONT_DIR = Path("/usr/share/fonts/truetype/noto")


def _hub_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"expected http:// or https://, got {value!r}")
    return check_url(value)


def _printer_down(value: str) -> str:
    if value not in ("stop", "screen"):
        raise ValueError(f"expected stop or screen, got {value!r}")
    return value


def _idle(value: float) -> float:
    if value < 5:
        raise ValueError("expected at least 5 seconds")
    return value


@dataclass(frozen=True, slots=True)
class HubSection:
    __pydantic_config__ = TABLE

    url: Annotated[Text, AfterValidator(_hub_url)] = "http://127.0.0.1:8080"
    public_url: Text = ""                # what a phone on the LAN opens for the ticket QR; defaults to url
    device_key: Text = ""
    connect_timeout_s: Seconds = 0.8
    read_timeout_s: Seconds = 3.0


@dataclass(frozen=True, slots=True)
class ScreenSection:
    __pydantic_config__ = TABLE

    width: Annotated[Int, Field(ge=320)] = 1080
    height: Annotated[Int, Field(ge=320)] = 1920
    fullscreen: Bool = False
    dpi: Annotated[Number, Field(gt=0)] = 102.0      # physical pixels per inch of the panel (21.5" Full HD ≈ 102)
    min_target_mm: Annotated[Number, Field(gt=0)] = 15.0
    font_regular: Text = str(FONT_DIR / "NotoSans-Regular.ttf")
    font_bold: Text = str(FONT_DIR / "NotoSans-Bold.ttf")


@dataclass(frozen=True, slots=True)
class BehaviourSection:
    __pydantic_config__ = TABLE

    idle_timeout_s: Annotated[Seconds, AfterValidator(_idle)] = 60.0
    ticket_screen_s: Seconds = 20.0
    result_screen_s: Seconds = 90.0
    tap_guard_s: Annotated[Number, Field(ge=0)] = 0.6
    stale_after_min: AtLeastOne = 60


@dataclass(frozen=True, slots=True)
class DevicesSection:
    __pydantic_config__ = TABLE

    printer: Text = "sim://printer"
    scanner: Text = ""                   # "" = none
    camera: Text = ""
    # status read between jobs too: paper loaded or run out while idle
    printer_check_s: Annotated[Number, Field(ge=0.5, le=3600)] = 10.0
    # stop: no paper tickets, a sign says why; screen: number on screen only
    when_printer_down: Annotated[Text, AfterValidator(_printer_down)] = "stop"


@dataclass(frozen=True, slots=True)
class MqttSection:
    """The broker the kiosk reports its devices' health to (printer, scanner, camera), with a Last Will."""

    __pydantic_config__ = TABLE

    enabled: Bool = False
    host: Host = "127.0.0.1"
    port: Port = 1883
    username: Text = ""
    password: Text = ""
    tls: Bool = False
    tls_ca: Text = ""
    keepalive_s: Annotated[Int, Field(ge=2, le=600)] = 10     # the hub sees a dead kiosk within 1.5 x this
    center: Text = ""                    # the hub's center id (topics are per center); required when enabled


@dataclass(frozen=True, slots=True)
class OfflineSection:
    __pydantic_config__ = TABLE

    journal: Text = "var/kiosk-journal.sqlite"
    lease_size: AtLeastOne = 50
    reserve: Annotated[Int, Field(ge=0)] = 20
    maintain_every_s: Seconds = 10.0


@dataclass(frozen=True, slots=True)
class KioskSettings:
    __pydantic_config__ = TABLE

    id: Text = "kiosk-1"
    hub: HubSection = field(default_factory=HubSection)
    screen: ScreenSection = field(default_factory=ScreenSection)
    behaviour: BehaviourSection = field(default_factory=BehaviourSection)
    devices: DevicesSection = field(default_factory=DevicesSection)
    offline: OfflineSection = field(default_factory=OfflineSection)
    mqtt: MqttSection = field(default_factory=MqttSection)
    notes: tuple[str, ...] = ()          # what loading noticed (a deprecated spelling...): logged once at start

    @property
    def public_url(self) -> str:
        return self.hub.public_url or self.hub.url

    def redacted(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        for f in fields(self):
            if f.name in ("id", "notes"):
                continue
            section = getattr(self, f.name)
            out[f.name] = {g.name: getattr(section, g.name) for g in fields(section)}
        if out["hub"]["device_key"]:
            out["hub"]["device_key"] = "***"
        if out["mqtt"]["password"]:
            out["mqtt"]["password"] = "***"
        return out


SECTIONS = ("hub", "screen", "behaviour", "devices", "offline", "mqtt")


@cache
def _adapter() -> TypeAdapter[KioskSettings]:
    return TypeAdapter(KioskSettings)


def settings_from_dict(data: dict[str, Any], env: Mapping[str, str] | None = None) -> KioskSettings:
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    overrides = apply_env_overrides(raw, os.environ if env is None else env, KioskSettings, top_level="kiosk",
                                    legacy_prefix="MOTCUA_KIOSK_")
    unknown = sorted(set(raw) - set(SECTIONS) - {"id"})
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown section (known: id, {', '.join(SECTIONS)})")
    raw.pop("notes", None)
    try:
        settings = _adapter().validate_python(raw)
    except ValidationError as err:
        known = {name: ", ".join(f.name for f in fields(cls)) for name, cls in (
            ("hub", HubSection), ("screen", ScreenSection), ("behaviour", BehaviourSection),
            ("devices", DevicesSection), ("offline", OfflineSection), ("mqtt", MqttSection))}
        first = err.errors(include_url=False)[0]
        section = str(first["loc"][0]) if first["loc"] else ""
        unknown_text = f"unknown setting (known: {known[section]})" if section in known else "unknown setting"
        raise from_validation_error(err, unknown=unknown_text, origins=overrides.origins) from None
    if settings.mqtt.enabled and not settings.mqtt.center:
        raise ConfigError("mqtt.center: the hub's center id is required when mqtt.enabled (topics are per center)")
    for name in ("font_regular", "font_bold"):
        path = getattr(settings.screen, name)
        if not Path(path).is_file():
            raise ConfigError(f"screen.{name}: font file {path!r} not found (install fonts-noto-core)")
    return replace(settings, notes=tuple(overrides.notes))


def load_settings(path: str | Path | None, env: Mapping[str, str] | None = None) -> KioskSettings:
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = read_toml(path)
        except ConfigError as err:
            if "no such file" in err.message:
                raise ConfigError(f"{path}: config file not found") from None
            raise
    return settings_from_dict(data, env)
