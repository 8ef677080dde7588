"""The bridge's settings: which device sits on which port at which counter, and how to reach the broker.

Loaded from TOML plus ``MOTCUA_BRIDGE_*`` environment overrides; validated with clear errors. No I/O beyond
reading the file.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.topics import TopicError, slug
from firmware_bridge.protocol.profiles import profile_named
from runtime.mqtt import MqttSettings

# Rating pad key 1, 2, 3 → the hub's rating values (3 = Rất hài lòng, 2 = Hài lòng, 1 = Không hài lòng).
DEFAULT_RATING_LEVELS = (3, 2, 1)
# Keypad key → hub command (cmd/<command>, names from queue_server.adapters.mqtt); pause toggles pause / resume.
DEFAULT_KEY_COMMANDS = {
    "next": "call-next", "recall": "recall", "no_show": "no-show", "start": "start",
    "complete": "complete", "transfer": "transfer", "pause": "pause",
}


class BridgeConfigError(ValueError):
    """A setting that is missing or wrong; the message names it (``devices[1].kind: ...``)."""


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
    # TLS to a broker on another machine (deploy/mosquitto.conf accepts LAN clients only over TLS, port 8883)
    mqtt_tls: bool = False
    mqtt_tls_ca: str | None = None
    mqtt_tls_cert: str | None = None
    mqtt_tls_key: str | None = None
    baudrate: int = 115200
    missed_heartbeats: int = 3          # a device is offline after this many heartbeat periods of silence
    reopen_interval_s: float = 0.25     # how often a missing port is looked for again
    retry_after_s: float = 0.25
    rating_levels: tuple[int, ...] = DEFAULT_RATING_LEVELS   # key 1 = first level
    rating_timeout_s: int = 120
    key_commands: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_KEY_COMMANDS))
    command_timeout_s: float = 5.0

    def mqtt_settings(self) -> MqttSettings:
        return MqttSettings(host=self.mqtt_host, port=self.mqtt_port, username=self.mqtt_username,
                            password=self.mqtt_password, tls=self.mqtt_tls, tls_ca=self.mqtt_tls_ca,
                            tls_cert=self.mqtt_tls_cert, tls_key=self.mqtt_tls_key, keepalive=15)

    def redacted(self) -> dict[str, Any]:
        return {"center": self.center, "mqtt": f"{self.mqtt_host}:{self.mqtt_port}",
                "tls": self.mqtt_settings().uses_tls,
                "user": self.mqtt_username, "password": "***" if self.mqtt_password else None,
                "devices": [f"{d.id}({d.kind})@{d.port}->counter {d.counter}" for d in self.devices]}


def _get(obj: dict[str, Any], key: str, kind: Any, where: str, default: Any = ...) -> Any:
    if key not in obj:
        if default is ...:
            raise BridgeConfigError(f"{where}{key}: missing")
        return default
    value = obj[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BridgeConfigError(f"{where}{key}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _existing(path: str | None, key: str) -> str | None:
    """A certificate or key file that must be there when the bridge starts (a TLS error later is obscure)."""
    if path is not None and not Path(path).is_file():
        raise BridgeConfigError(f"{key}: no such file: {path}")
    return path


def settings_from_dict(raw: dict[str, Any], env: dict[str, str] | None = None) -> BridgeSettings:
    env = dict(os.environ) if env is None else env
    b = raw.get("bridge", {})
    if not isinstance(b, dict):
        raise BridgeConfigError("bridge: expected a table")
    center = env.get("MOTCUA_BRIDGE_CENTER") or _get(b, "center", str, "bridge.")
    mqtt_port_raw = env.get("MOTCUA_BRIDGE_MQTT_PORT")
    if mqtt_port_raw:
        try:
            mqtt_port = int(mqtt_port_raw)
        except ValueError as err:
            raise BridgeConfigError("MOTCUA_BRIDGE_MQTT_PORT: expected an integer") from err
    else:
        mqtt_port = _get(b, "mqtt_port", int, "bridge.", 1883)
    devices = []
    raw_devices = raw.get("devices", [])
    if not isinstance(raw_devices, list):
        raise BridgeConfigError("devices: expected an array of tables")
    seen_ids: set[str] = set()
    seen_ports: set[str] = set()
    for i, d in enumerate(raw_devices):
        where = f"devices[{i}]."
        if not isinstance(d, dict):
            raise BridgeConfigError(f"devices[{i}]: expected a table")
        binding = DeviceBinding(_get(d, "id", str, where), _get(d, "kind", str, where),
                                _get(d, "port", str, where), str(_get(d, "counter", (str, int), where)),
                                _get(d, "transfer_to", str, where, None))
        try:
            slug(binding.id, "id")
            slug(binding.counter, "counter")
            profile_named(binding.kind)
        except (TopicError, ValueError) as err:
            raise BridgeConfigError(f"{where}{err}") from err
        if binding.id in seen_ids or binding.port in seen_ports:
            raise BridgeConfigError(f"{where}: duplicate id or port ({binding.id}, {binding.port})")
        seen_ids.add(binding.id)
        seen_ports.add(binding.port)
        devices.append(binding)
    levels = _get(b, "rating_levels", list, "bridge.", list(DEFAULT_RATING_LEVELS))
    if not levels or not all(isinstance(x, int) and not isinstance(x, bool) for x in levels) or len(levels) > 4:
        raise BridgeConfigError("bridge.rating_levels: expected 1 to 4 integer rating values (key 1 first)")
    keys = dict(DEFAULT_KEY_COMMANDS)
    keys.update(_get(b, "key_commands", dict, "bridge.", {}))
    try:
        slug(center, "center")
    except TopicError as err:
        raise BridgeConfigError(f"bridge.{err}") from err
    return BridgeSettings(
        center=center, devices=tuple(devices),
        mqtt_host=env.get("MOTCUA_BRIDGE_MQTT_HOST") or _get(b, "mqtt_host", str, "bridge.", "127.0.0.1"),
        mqtt_port=mqtt_port,
        mqtt_username=_get(b, "mqtt_username", str, "bridge.", None),
        mqtt_password=env.get("MOTCUA_BRIDGE_MQTT_PASSWORD") or _get(b, "mqtt_password", str, "bridge.", None),
        mqtt_tls=_get(b, "mqtt_tls", bool, "bridge.", False),
        mqtt_tls_ca=_existing(_get(b, "mqtt_tls_ca", str, "bridge.", None), "bridge.mqtt_tls_ca"),
        mqtt_tls_cert=_existing(_get(b, "mqtt_tls_cert", str, "bridge.", None), "bridge.mqtt_tls_cert"),
        mqtt_tls_key=_existing(_get(b, "mqtt_tls_key", str, "bridge.", None), "bridge.mqtt_tls_key"),
        baudrate=_get(b, "baudrate", int, "bridge.", 115200),
        missed_heartbeats=_get(b, "missed_heartbeats", int, "bridge.", 3),
        reopen_interval_s=_get(b, "reopen_interval_s", float, "bridge.", 0.25),
        rating_levels=tuple(levels),
        rating_timeout_s=_get(b, "rating_timeout_s", int, "bridge.", 120),
        command_timeout_s=_get(b, "command_timeout_s", float, "bridge.", 5.0),
        key_commands=keys,
    )


def load_settings(path: str | Path, env: dict[str, str] | None = None) -> BridgeSettings:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise BridgeConfigError(f"{path}: {err}") from err
    return settings_from_dict(raw, env)
