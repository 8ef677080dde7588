"""The bridge's settings: ``runtime.settings.bridge`` (the one settings model; see there) plus the check only the
bridge can make, that each device's kind has a profile. The bridge imports nothing of queue_server."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from firmware_bridge.protocol.profiles import profile_named
from runtime.settings.bridge import (
    DEFAULT_KEY_COMMANDS,
    DEFAULT_RATING_LEVELS,
    BridgeSettings,
    DeviceBinding,
)
from runtime.settings.bridge import load_settings as _load
from runtime.settings.bridge import settings_from_dict as _from_dict
from runtime.settings.checks import check_mqtt_tls
from runtime.settings.errors import ConfigError

# the old name: every settings problem is one ConfigError, whichever process reads it
BridgeConfigError = ConfigError

__all__ = ["DEFAULT_KEY_COMMANDS", "DEFAULT_RATING_LEVELS", "BridgeConfigError", "BridgeSettings", "DeviceBinding",
           "check_can_run", "load_settings", "settings_from_dict"]


def _known_kinds(settings: BridgeSettings) -> BridgeSettings:
    for i, d in enumerate(settings.devices):
        try:
            profile_named(d.kind)
        except ValueError as err:
            raise ConfigError(f"devices[{i}].kind: {err}") from None
    return settings


def settings_from_dict(raw: dict[str, Any], env: Mapping[str, str] | None = None) -> BridgeSettings:
    return _known_kinds(_from_dict(raw, env))


def load_settings(path: str | Path, env: Mapping[str, str] | None = None) -> BridgeSettings:
    return _known_kinds(_load(path, env))


def check_can_run(settings: BridgeSettings) -> None:
    """TLS files that exist and load, before the bridge opens anything."""
    check_mqtt_tls(settings.mqtt_tls, settings.mqtt_tls_ca, settings.mqtt_tls_cert, settings.mqtt_tls_key, "mqtt")
