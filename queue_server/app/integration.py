"""The ``[integration]`` config table: working calendar, dossier mirror, main-system link and outbox settings.

Parsing only; ``queue_server.wiring.build_integration`` assembles the parts. ``parse_integration`` raises
IntegrationConfigError (a ValueError) naming the exact key; the hub's config loader may wrap it in ConfigError.
The settings types it gathers still live beside their adapters (to move into the one settings model).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import time
from pathlib import Path
from typing import Any

from queue_server.adapters.main_system import MainSystemSettings
from queue_server.adapters.outbox import OutboxSettings
from queue_server.app.dossier_service import DossierSettings
from queue_server.web.dossiers import PushAuth, RateLimit

__all__ = ["IntegrationConfig", "IntegrationConfigError", "PushAuth", "RateLimit", "parse_integration"]


class IntegrationConfigError(ValueError):
    """A bad ``[integration]`` key; the message names it."""


@dataclass(frozen=True, slots=True)
class IntegrationConfig:
    mirror_path: Path = Path("var/dossiers.sqlite3")
    outbox_path: Path = Path("var/outbox.sqlite3")
    calendar_dir: Path | None = None          # admin override files vn-YYYY.toml (win over the built-in ones)
    forward_cutoff: time | None = time(15, 0)
    push: PushAuth = field(default_factory=PushAuth)
    rate_limit: RateLimit = field(default_factory=RateLimit)
    trust_forwarded_for: bool = False
    dossiers: DossierSettings = field(default_factory=DossierSettings)
    main_system: MainSystemSettings | None = None
    outbox: OutboxSettings | None = None
    sync_every_s: float = 0.0                 # > 0: poll the main system's status-sync call (no pushes)


def _pick(cls: type, raw: Mapping[str, Any], where: str, **extra: Any) -> Any:
    """Build a settings dataclass from a table, refusing unknown keys and wrong types with the key's name."""
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise IntegrationConfigError(f"{where}.{key}: unknown key (expected one of {sorted(known)})")
        default = known[key].default
        if isinstance(default, bool) and not isinstance(value, bool):
            raise IntegrationConfigError(f"{where}.{key}: expected true or false")
        if isinstance(default, (int, float)) and not isinstance(default, bool) and (
                isinstance(value, bool) or not isinstance(value, (int, float))):
            raise IntegrationConfigError(f"{where}.{key}: expected a number")
        if isinstance(default, str) and not isinstance(value, str):
            raise IntegrationConfigError(f"{where}.{key}: expected a string")
        kwargs[key] = value
    kwargs.update(extra)
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise IntegrationConfigError(f"{where}: {err}") from err


def parse_integration(raw: Mapping[str, Any]) -> IntegrationConfig:
    """The ``[integration]`` table (see docs/integration.md for every key)."""
    raw = dict(raw)
    main_raw = raw.pop("main_system", None)
    outbox_raw = raw.pop("outbox", None)
    cfg: dict[str, Any] = {}
    for key in ("mirror_path", "outbox_path", "calendar_dir"):
        if key in raw:
            value = raw.pop(key)
            if not isinstance(value, str) or not value:
                raise IntegrationConfigError(f"integration.{key}: expected a path")
            cfg[key] = Path(value)
    if "forward_cutoff" in raw:
        value = raw.pop("forward_cutoff")
        if value in ("", "off", None):
            cfg["forward_cutoff"] = None
        else:
            try:
                cfg["forward_cutoff"] = time.fromisoformat(str(value))
            except ValueError as err:
                raise IntegrationConfigError("integration.forward_cutoff: expected HH:MM or \"off\"") from err
    push_tokens = raw.pop("push_tokens", [])
    if not isinstance(push_tokens, list) or not all(isinstance(t, str) and t for t in push_tokens):
        raise IntegrationConfigError("integration.push_tokens: expected a list of strings")
    push_secret = raw.pop("push_hmac_secret", "")
    if not isinstance(push_secret, str):
        raise IntegrationConfigError("integration.push_hmac_secret: expected a string")
    cfg["push"] = PushAuth(hmac_secret=push_secret, tokens=tuple(push_tokens))
    limit = {k: raw.pop(k) for k in ("lookup_per_minute", "lookup_burst") if k in raw}
    cfg["rate_limit"] = _pick(RateLimit, {k.removeprefix("lookup_"): v for k, v in limit.items()},
                              "integration.lookup")
    if "sync_every_s" in raw:
        value = raw.pop("sync_every_s")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise IntegrationConfigError("integration.sync_every_s: expected seconds >= 0 (0 = off)")
        cfg["sync_every_s"] = float(value)
    if "trust_forwarded_for" in raw:
        if not isinstance(raw["trust_forwarded_for"], bool):
            raise IntegrationConfigError("integration.trust_forwarded_for: expected true or false")
        cfg["trust_forwarded_for"] = raw.pop("trust_forwarded_for")
    dossier_keys: dict[str, Any] = {k: raw.pop(k) for k in ("pull_on_miss", "stale_after_s") if k in raw}
    cfg["dossiers"] = _pick(DossierSettings, dossier_keys, "integration")
    if raw:
        raise IntegrationConfigError(f"integration.{min(raw)}: unknown key")
    main: MainSystemSettings | None = None
    if main_raw is not None:
        if not isinstance(main_raw, Mapping) or not isinstance(main_raw.get("base_url"), str):
            raise IntegrationConfigError("integration.main_system.base_url: missing")
        if main_raw.get("auth", "token") not in ("token", "session", "none"):
            raise IntegrationConfigError("integration.main_system.auth: expected token, session or none")
        main = _pick(MainSystemSettings, main_raw, "integration.main_system")
        cfg["main_system"] = main
    if outbox_raw is not None and main is not None:
        if not isinstance(outbox_raw, Mapping):
            raise IntegrationConfigError("integration.outbox: expected a table")
        table = dict(outbox_raw)
        if table.pop("enabled", True) is not False:
            cfg["outbox"] = _pick(OutboxSettings, table, "integration.outbox",
                                  events_url=table.get("events_url", main.events_url),
                                  hmac_secret=table.get("hmac_secret", main.hmac_secret),
                                  verify_tls=table.get("verify_tls", main.verify_tls))
    elif main is not None:
        cfg["outbox"] = OutboxSettings(events_url=main.events_url, hmac_secret=main.hmac_secret,
                                       verify_tls=main.verify_tls)
    return IntegrationConfig(**cfg)
