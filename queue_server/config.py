"""The hub's settings: a thin re-export of ``runtime.settings`` (the one settings model; see there), plus the hub's
machine check ``check_can_run`` that knows how to read the working calendar's override files.

Imports no web, store, MQTT or outbox module: ``motcua config check`` stays a settings-only command.
"""
from __future__ import annotations

from pathlib import Path

from contracts.ratings import RatingLevel
from queue_server.adapters.holidays_source import CalendarFileError, read_override_file
from runtime.settings import (
    DEFAULT_RATING_SCALE,
    ENV_PREFIX,
    ROLES,
    WEEKDAYS,
    ConfigError,
    DisplaySettings,
    HttpSettings,
    HubSettings,
    IntegrationSettings,
    MqttSettings,
    RatingCriterion,
    SecuritySettings,
    UserDef,
    apply_env_overrides,
    load_settings,
    settings_from_dict,
    working_hours_json,
)
from runtime.settings.checks import check_hub_can_run

__all__ = [
    "DEFAULT_RATING_SCALE", "ENV_PREFIX", "ROLES", "WEEKDAYS", "ConfigError", "DisplaySettings", "HttpSettings",
    "HubSettings", "IntegrationSettings", "MqttSettings", "RatingCriterion", "RatingLevel", "SecuritySettings",
    "UserDef", "apply_env_overrides", "check_can_run", "load_settings", "settings_from_dict", "working_hours_json",
]


def _calendar_file(path: Path) -> None:
    try:
        read_override_file(path)
    except CalendarFileError as err:
        raise ValueError(str(err)) from err


def check_can_run(settings: HubSettings) -> None:
    """What only this machine can answer, so that a config ``motcua config check`` accepts also starts the hub:
    store paths writable and not directories, TLS files that load, calendar override files that load."""
    check_hub_can_run(settings, calendar_file=_calendar_file)
