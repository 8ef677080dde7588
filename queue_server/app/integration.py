"""The ``[integration]`` settings under their old names: the types and their validation live in the one settings
model (``runtime.settings.integration``; IntegrationConfig = IntegrationSettings), ``queue_server.wiring``
assembles the parts. ``parse_integration`` reads the table alone and raises IntegrationConfigError naming the key.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.settings import ConfigError, IntegrationSettings, PushAuth, RateLimit
from runtime.settings.integration import parse_integration as _parse

__all__ = ["IntegrationConfig", "IntegrationConfigError", "PushAuth", "RateLimit", "parse_integration"]


class IntegrationConfigError(ValueError):
    """A bad ``[integration]`` key; the message names it."""


IntegrationConfig = IntegrationSettings


def parse_integration(raw: Mapping[str, Any]) -> IntegrationConfig:
    """The ``[integration]`` table alone (see docs/configuration.md and docs/integration.md for every key)."""
    try:
        return _parse(dict(raw))
    except ConfigError as err:
        raise IntegrationConfigError(err.message) from err
