"""Assembles the integration parts from the ``[integration]`` config table: working calendar, dossier mirror and
service, the main-system adapter, the outbox relay and the dossier blueprint, so wiring is a few lines.

Reads no files itself except through the adapters it builds (calendar override files, SQLite files).
The settings (IntegrationConfig = runtime.settings.IntegrationSettings) are read with the rest of the hub's
config; ``parse_integration`` reads the table alone and raises IntegrationConfigError naming the key.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint

from queue_server.adapters.dossier_mirror import DossierMirror
from queue_server.adapters.holidays_source import BUILTIN_DIR, load_calendar
from queue_server.adapters.main_system import ProvincialMainSystem
from queue_server.adapters.outbox import FetchAggregates, FetchEvents, HttpSender, OutboxRelay
from queue_server.app.dossier_service import DossierService, DossierSyncPoller
from queue_server.app.ports import Clock
from queue_server.domain.model import CenterDef
from queue_server.domain.working_time import WorkingCalendar
from queue_server.web.auth import require
from queue_server.web.dossiers import create_dossiers_blueprint
from runtime.settings import ConfigError, IntegrationSettings, PushAuth
from runtime.settings.integration import parse_integration as _parse

__all__ = ["Integration", "IntegrationConfig", "IntegrationConfigError", "PushAuth", "build_integration",
           "load_working_calendar", "parse_integration"]


class IntegrationConfigError(ValueError):
    """A bad ``[integration]`` key; the message names it."""


# The settings type lives in the one settings model (runtime.settings); the old name stays for callers.
IntegrationConfig = IntegrationSettings


def parse_integration(raw: Mapping[str, Any]) -> IntegrationConfig:
    """The ``[integration]`` table alone (see docs/integration.md for every key)."""
    try:
        return _parse(dict(raw))
    except ConfigError as err:
        raise IntegrationConfigError(err.message) from err


@dataclass
class Integration:
    calendar: WorkingCalendar
    mirror: DossierMirror
    service: DossierService
    blueprint: Blueprint
    relay: OutboxRelay | None = None
    poller: DossierSyncPoller | None = None

    def start(self) -> None:
        if self.relay is not None:
            self.relay.start()
        if self.poller is not None:
            self.poller.start()

    def stop(self) -> None:
        if self.poller is not None:
            self.poller.stop()
        if self.relay is not None:
            self.relay.close()
        self.mirror.close()


def load_working_calendar(cfg: IntegrationConfig, center: CenterDef, clock: Clock,
                          years: Sequence[int] | None = None) -> WorkingCalendar:
    """The VN holidays merged with the built-in and the admin's override files, two years either side of now."""
    this_year = clock.now().year
    dirs = [BUILTIN_DIR] + ([cfg.calendar_dir] if cfg.calendar_dir else [])
    return load_calendar(years or range(this_year - 2, this_year + 3), dirs,
                         sessions=center.sessions or None, forward_cutoff=cfg.forward_cutoff)


def build_integration(cfg: IntegrationConfig, center: CenterDef, clock: Clock, fetch_events: FetchEvents,
                      fetch_aggregates: FetchAggregates | None = None, years: Sequence[int] | None = None,
                      calendar: WorkingCalendar | None = None) -> Integration:
    """Everything wired but not started: register ``.blueprint``, add ``.relay.wake`` as a QueueService
    listener, call ``.start()`` after the hub is up and ``.stop()`` on shutdown."""
    if calendar is None:
        calendar = load_working_calendar(cfg, center, clock, years)
    mirror = DossierMirror(cfg.mirror_path)
    main = ProvincialMainSystem(cfg.main_system) if cfg.main_system else None
    service = DossierService(mirror, calendar, clock, main, cfg.dossiers)
    relay = None
    if cfg.outbox is not None:
        sender = HttpSender(cfg.outbox, main.outbox_headers if main is not None else None,
                            main.forget_token if main is not None else None)
        relay = OutboxRelay(cfg.outbox_path, center.id, fetch_events, sender, cfg.outbox,
                            fetch_aggregates=fetch_aggregates,
                            on_result=lambda ok, err: service.link.ok(clock.now()) if ok
                            else service.link.failed(clock.now(), err))
    blueprint = create_dossiers_blueprint(service, rate_limit=cfg.rate_limit, push_auth=cfg.push,
                                          trust_forwarded_for=cfg.trust_forwarded_for,
                                          metrics=relay.metrics if relay else None, require_role=require)
    poller = DossierSyncPoller(service, cfg.sync_every_s) if main is not None and cfg.sync_every_s > 0 else None
    return Integration(calendar, mirror, service, blueprint, relay, poller)
