"""One settings model for every motcua process: the hub (center, HTTP, MQTT, store, users, displays, ratings,
integration), the kiosk and the serial bridge. Each reads a TOML file plus ``MOTCUA_<SECTION>__<KEY>``
environment overrides into one frozen object, validated at start with a one-line ConfigError naming the key.

Parsing and type checks are pydantic v2 validating plain frozen dataclasses (so ``dataclasses.replace`` and
positional construction keep working in tests); the rules that span tables are written out in each module.
Imports contracts and pydantic only: the kiosk and the bridge load their settings without importing the hub.
Submodules: ``hub``, ``kiosk``, ``bridge``, ``integration``, ``common``, ``checks`` (what only the machine can
answer: writable paths, TLS files), ``source`` (file and environment), ``errors``, ``fields``.
"""
from __future__ import annotations

from .common import DisplaySettings, MqttSettings
from .errors import ConfigError
from .hub import (
    DEFAULT_RATING_SCALE,
    ROLES,
    WEEKDAYS,
    HttpSettings,
    HubSettings,
    RatingCriterion,
    SecuritySettings,
    UserDef,
    load_settings,
    settings_from_dict,
    working_hours_json,
)
from .integration import (
    DossierSettings,
    IntegrationSettings,
    MainSystemSettings,
    OutboxSettings,
    PushAuth,
    RateLimit,
)
from .source import ENV_PREFIX, apply_env_overrides, read_toml

__all__ = [
    "DEFAULT_RATING_SCALE", "ENV_PREFIX", "ROLES", "WEEKDAYS", "ConfigError", "DisplaySettings", "DossierSettings",
    "HttpSettings", "HubSettings", "IntegrationSettings", "MainSystemSettings", "MqttSettings", "OutboxSettings",
    "PushAuth", "RateLimit", "RatingCriterion", "SecuritySettings", "UserDef", "apply_env_overrides",
    "load_settings", "read_toml", "settings_from_dict", "working_hours_json",
]
