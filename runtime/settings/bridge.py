"""The serial bridge's settings: which device sits on which port at which counter, and how to reach the broker.

One frozen BridgeSettings from the bridge's TOML file ([bridge], [mqtt] — the same keys as the hub's —, and
[[devices]]) plus ``MOTCUA_<SECTION>__<KEY>`` overrides. The older spellings still read, each with a note to log:
``[bridge] mqtt_host/mqtt_port/mqtt_username/mqtt_password`` and ``MOTCUA_BRIDGE_CENTER``,
``MOTCUA_BRIDGE_MQTT_HOST/PORT/USERNAME/PASSWORD``. Reads the file and the environment; opens no port.
Device kinds are checked against the bridge's profiles by firmware_bridge.config (this module knows no profile).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, TypeAdapter, ValidationError

from contracts.ratings import DEFAULT_LEVELS
from runtime.mqtt import MqttSettings as MqttClientSettings

from .common import MqttSettings
from .errors import ConfigError, from_validation_error
from .fields import TABLE, AtLeastOne, Bool, Host, Int, Port, Seconds, Slug, Text
from .source import apply_env_overrides, read_toml

# Rating pad key 1, 2, 3 → the hub's rating values (3 = Rất hài lòng, 2 = Hài lòng, 1 = Không hài lòng).
DEFAULT_RATING_LEVELS = tuple(level.value for level in DEFAULT_LEVELS)
# Keypad key → hub command (cmd/<command>, names from queue_server.adapters.mqtt); pause toggles pause / resume.
DEFAULT_KEY_COMMANDS = {
    "next": "call-next", "recall": "recall", "no_show": "no-show", "start": "start",
    "complete": "complete", "transfer": "transfer", "pause": "pause",
}
# [bridge] mqtt_<old> → [mqtt] <new>
_LEGACY_MQTT = {"host": "host", "port": "port", "username": "username", "password": "password", "tls": "tls",
                "tls_ca": "ca_file", "tls_cert": "cert_file", "tls_key": "key_file"}
LEGACY_ENV = {"MOTCUA_BRIDGE_CENTER": ("bridge", "center"), "MOTCUA_BRIDGE_MQTT_HOST": ("mqtt", "host"),
              "MOTCUA_BRIDGE_MQTT_PORT": ("mqtt", "port"), "MOTCUA_BRIDGE_MQTT_USERNAME": ("mqtt", "username"),
              "MOTCUA_BRIDGE_MQTT_PASSWORD": ("mqtt", "password")}


@dataclass(frozen=True, slots=True)
class DeviceBinding:
    id: str
    kind: str          # rating_pad / led_display / staff_keypad
    port: str          # stable path, e.g. /dev/serial/by-id/usb-motcua_pad-05-if00
    counter: str
    transfer_to: str | None = None   # keypads: the service the transfer key sends a citizen to


@dataclass(frozen=True, slots=True)
class BridgeSettings:
    center: str
    devices: tuple[DeviceBinding, ...]
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    baudrate: int = 115200
    missed_heartbeats: int = 3          # a device is offline after this many heartbeat periods of silence
    reopen_interval_s: float = 0.25     # how often a missing port is looked for again
    retry_after_s: float = 0.25
    rating_levels: tuple[int, ...] = DEFAULT_RATING_LEVELS   # key 1 = first level
    rating_timeout_s: int = 120
    key_commands: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_KEY_COMMANDS))
    command_timeout_s: float = 5.0
    # TLS to a broker on another machine (deploy/mosquitto.conf accepts LAN clients only over TLS, port 8883)
    mqtt_tls: bool = False
    mqtt_tls_ca: str | None = None
    mqtt_tls_cert: str | None = None
    mqtt_tls_key: str | None = None
    notes: tuple[str, ...] = ()          # what loading noticed (a deprecated spelling...): logged once at start

    @property
    def mqtt(self) -> MqttSettings:
        """The broker connection as the [mqtt] settings type the hub has too."""
        return MqttSettings(True, self.mqtt_host, self.mqtt_port, self.mqtt_username, self.mqtt_password,
                            self.mqtt_tls, self.mqtt_tls_ca, None, 15, self.mqtt_tls_cert, self.mqtt_tls_key)

    def mqtt_settings(self) -> MqttClientSettings:
        """What the MQTT client (runtime.mqtt) connects with."""
        return MqttClientSettings(host=self.mqtt_host, port=self.mqtt_port, username=self.mqtt_username,
                                  password=self.mqtt_password, tls=self.mqtt_tls, tls_ca=self.mqtt_tls_ca,
                                  tls_cert=self.mqtt_tls_cert, tls_key=self.mqtt_tls_key, keepalive=15)

    def redacted(self) -> dict[str, Any]:
        return {"center": self.center, "mqtt": f"{self.mqtt_host}:{self.mqtt_port}", "tls": self.mqtt_tls,
                "user": self.mqtt_username, "password": "***" if self.mqtt_password else None,
                "devices": [f"{d.id}({d.kind})@{d.port}->counter {d.counter}" for d in self.devices]}


def _counter(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _levels(value: tuple[int, ...]) -> tuple[int, ...]:
    if not 1 <= len(value) <= 4:
        raise ValueError("expected 1 to 4 integer rating values (key 1 first)")
    return value


@dataclass(frozen=True, slots=True)
class DeviceTable:
    __pydantic_config__ = TABLE

    id: Slug
    kind: Slug
    port: Text
    counter: Annotated[Slug, BeforeValidator(_counter)]
    transfer_to: Slug | None = None


@dataclass(frozen=True, slots=True)
class BridgeTable:
    __pydantic_config__ = TABLE

    center: Slug
    mqtt_host: Host | None = None         # deprecated: [mqtt] host
    mqtt_port: Port | None = None         # deprecated: [mqtt] port
    mqtt_username: Text | None = None     # deprecated: [mqtt] username
    mqtt_password: Text | None = None     # deprecated: [mqtt] password
    mqtt_tls: Bool | None = None          # deprecated: [mqtt] tls
    mqtt_tls_ca: Text | None = None       # deprecated: [mqtt] ca_file
    mqtt_tls_cert: Text | None = None     # deprecated: [mqtt] cert_file
    mqtt_tls_key: Text | None = None      # deprecated: [mqtt] key_file
    baudrate: Annotated[Int, Field(ge=1200)] = 115200
    missed_heartbeats: AtLeastOne = 3
    reopen_interval_s: Seconds = 0.25
    retry_after_s: Seconds = 0.25
    rating_levels: Annotated[tuple[Int, ...], AfterValidator(_levels)] = DEFAULT_RATING_LEVELS
    rating_timeout_s: AtLeastOne = 120
    key_commands: dict[Text, Text] = field(default_factory=dict)
    command_timeout_s: Seconds = 5.0


@dataclass(frozen=True, slots=True)
class BridgeFile:
    __pydantic_config__ = TABLE

    bridge: BridgeTable
    mqtt: MqttSettings = field(default_factory=lambda: MqttSettings(keepalive_s=15))
    devices: tuple[DeviceTable, ...] = ()


@cache
def _adapter() -> TypeAdapter[BridgeFile]:
    return TypeAdapter(BridgeFile)


def settings_from_dict(raw: dict[str, Any], env: Mapping[str, str] | None = None) -> BridgeSettings:
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    data.setdefault("bridge", {})
    overrides = apply_env_overrides(data, os.environ if env is None else env, BridgeFile, legacy=LEGACY_ENV)
    bridge_raw = data["bridge"] if isinstance(data["bridge"], dict) else {}
    mqtt_raw = data.get("mqtt") if isinstance(data.get("mqtt"), dict) else {}
    try:
        f = _adapter().validate_python(data)
    except ValidationError as err:
        raise from_validation_error(err, origins=overrides.origins) from None
    notes = list(overrides.notes)
    mqtt = {new: getattr(f.mqtt, new) for new in _LEGACY_MQTT.values()}
    where = {new: f"mqtt.{new}" for new in _LEGACY_MQTT.values()}
    for old, new in _LEGACY_MQTT.items():
        if f"mqtt_{old}" in bridge_raw:
            notes.append(f"[bridge] mqtt_{old} is a deprecated spelling: use [mqtt] {new}")
            if new not in (mqtt_raw or {}):
                mqtt[new] = getattr(f.bridge, f"mqtt_{old}")
                where[new] = f"bridge.mqtt_{old}"
    for name in ("ca_file", "cert_file", "key_file"):     # named files must be there (checks.py loads them)
        if mqtt[name] and not Path(mqtt[name]).is_file():
            hint = (" (chứng chỉ CA của trung tâm / the center's CA: copy certs/ca.crt that `motcua deploy broker` "
                    "wrote on the hub)") if name == "ca_file" else ""
            raise ConfigError(f"{where[name]}: no such file: {mqtt[name]}{hint}")
    devices: list[DeviceBinding] = []
    for i, d in enumerate(f.devices):
        if any(x.id == d.id or x.port == d.port for x in devices):
            raise ConfigError(f"devices[{i}]: duplicate id or port ({d.id}, {d.port})")
        devices.append(DeviceBinding(d.id, d.kind, d.port, d.counter, d.transfer_to))
    b = f.bridge
    return BridgeSettings(
        center=b.center, devices=tuple(devices), mqtt_host=mqtt["host"], mqtt_port=mqtt["port"],
        mqtt_username=mqtt["username"], mqtt_password=mqtt["password"], baudrate=b.baudrate,
        missed_heartbeats=b.missed_heartbeats, reopen_interval_s=float(b.reopen_interval_s),
        retry_after_s=float(b.retry_after_s), rating_levels=tuple(b.rating_levels),
        rating_timeout_s=b.rating_timeout_s, key_commands={**DEFAULT_KEY_COMMANDS, **b.key_commands},
        command_timeout_s=float(b.command_timeout_s), mqtt_tls=mqtt["tls"], mqtt_tls_ca=mqtt["ca_file"],
        mqtt_tls_cert=mqtt["cert_file"], mqtt_tls_key=mqtt["key_file"], notes=tuple(notes))


def load_settings(path: str | Path, env: Mapping[str, str] | None = None) -> BridgeSettings:
    return settings_from_dict(read_toml(path), env)
