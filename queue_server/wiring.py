"""Builds one running hub from settings: SQLite store → QueueService → SSE broadcaster, MQTT adapter → Flask app,
served by waitress (web/server.py). The only place that knows how the parts fit (adapters are chosen and plugged
into the app's ports here, and nowhere in app/); other teams' blueprints and the integration with the main system
(dossier mirror, working calendar, outbox relay, dossier blueprint) are added here.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask

from queue_server.adapters.config_log import ConfigLog
from queue_server.adapters.device_registry import DeviceRegistry
from queue_server.adapters.dossier_mirror import DossierMirror
from queue_server.adapters.holidays_source import BUILTIN_DIR, load_calendar
from queue_server.adapters.main_system import ProvincialMainSystem
from queue_server.adapters.mqtt import MqttAdapter
from queue_server.adapters.outbox import FetchAggregates, FetchEvents, HttpSender, OutboxRelay
from queue_server.adapters.ratings_store import RatingsStore
from queue_server.adapters.restore_mark import RestoreMarkStore
from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app.dossier_service import DossierService, DossierSyncPoller
from queue_server.app.lease_hold import LeaseHold
from queue_server.app.live_config import LiveConfig, service_center
from queue_server.app.live_config import replay as replay_config
from queue_server.app.ports import Clock, SystemClock
from queue_server.app.queue_service import QueueService
from queue_server.app.ratings_service import RatingsService, make_submit_rating_command
from queue_server.config import HubSettings
from queue_server.domain.model import CenterDef
from queue_server.domain.ratings import scale_from_levels
from queue_server.domain.working_time import WorkingCalendar
from queue_server.web import create_app
from queue_server.web.dossiers import create_dossiers_blueprint
from queue_server.web.edge import BODY_CEILING_BYTES
from queue_server.web.ratings import make_ratings_blueprint
from queue_server.web.server import HttpServer
from queue_server.web.sse import Broadcaster
from runtime.settings import IntegrationSettings

log = logging.getLogger(__name__)


def default_blueprints(settings: HubSettings, display: Callable[[], Any] | None = None) -> list[Blueprint]:
    """Blueprints of other parts (display pages, staff console, manager board...) present in this tree.

    Each is optional so the hub runs while those parts are being built; the lead wires new ones here.
    """
    found: list[Blueprint] = []
    try:
        from displays.blueprint import make_displays_blueprint
    except ImportError:
        log.info("displays are not installed: no /display pages")
    else:
        # the voice: a recorded announcer's pack first; otherwise espeak-ng speaks each call as one whole clip,
        # made when the call is planned and cached in the voice dir (the blueprint makes the chime at start)
        found.append(make_displays_blueprint(voice_dir(settings), settings.display.recorded_voice_dir,
                                             settings=display or settings.display))
    try:
        from kiosk.tracking_blueprint import create_tracking_blueprint
    except ImportError:
        log.info("kiosk package not installed: no /t/<ticket> tracking page")
    else:
        found.append(create_tracking_blueprint())
    return found


def voice_dir(settings: HubSettings) -> Path:
    return settings.display.voice_dir or settings.store_path.parent / "voice"


def hub_speaker(settings: HubSettings) -> Any:
    """The optional announcer on the hub's own sound device ([display] hub_speaker), or None."""
    if settings.display.hub_speaker == "off":
        return None
    from displays.audio_out import HubAnnouncer, make_sink
    from displays.voice_pack import VoicePack

    pack = VoicePack.for_hall(settings.display.recorded_voice_dir, voice_dir(settings))
    return HubAnnouncer(pack, make_sink(settings.display.hub_speaker), repeats=settings.display.repeats,
                        backlog=settings.display.backlog)


def integration_config(settings: HubSettings) -> IntegrationSettings:
    """The [integration] settings, or defaults that keep the dossier mirror and outbox beside the store."""
    if settings.integration is not None:
        return settings.integration
    base = settings.store_path.parent
    return IntegrationSettings(mirror_path=base / "dossiers.sqlite3", outbox_path=base / "outbox.sqlite3")


# ------------------------------------------------------------------------------ integration with the main system
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


def load_working_calendar(cfg: IntegrationSettings, center: CenterDef, clock: Clock,
                          years: Sequence[int] | None = None) -> WorkingCalendar:
    """The VN holidays merged with the built-in and the admin's override files, two years either side of now."""
    this_year = clock.now().year
    dirs = [BUILTIN_DIR] + ([cfg.calendar_dir] if cfg.calendar_dir else [])
    return load_calendar(years or range(this_year - 2, this_year + 3), dirs,
                         sessions=center.sessions or None, forward_cutoff=cfg.forward_cutoff)


def dossier_calendar(national: WorkingCalendar, settings: HubSettings) -> WorkingCalendar:
    """The calendar dossier deadlines count in: the center's working hours, the national holidays and make-up days
    (with the admin's override files) and the days off / make-up days announced in ``[calendar]`` on top — the same
    working time the queue follows, rebuilt when an admin changes it live."""
    off = (set(national.days_off) - settings.announced_makeup_days) | settings.announced_days_off
    makeup = (set(national.working_days) - settings.announced_days_off) | settings.announced_makeup_days
    # a fresh memo: the per-year minute tables depend on the sessions and the days off
    return replace(national, sessions=dict(settings.center.sessions) or national.sessions,
                   days_off=frozenset(off), working_days=frozenset(makeup), _year_tables={})


def build_integration(cfg: IntegrationSettings, center: CenterDef, clock: Clock, fetch_events: FetchEvents,
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
    # the look-up limit keys on the client the server resolved ([http] trust_forwarded_for, see build_hub)
    blueprint = create_dossiers_blueprint(service, rate_limit=cfg.rate_limit, push_auth=cfg.push,
                                          metrics=relay.metrics if relay else None)
    poller = DossierSyncPoller(service, cfg.sync_every_s) if main is not None and cfg.sync_every_s > 0 else None
    return Integration(calendar, mirror, service, blueprint, relay, poller)


# ------------------------------------------------------------------------------ bookings and notifications (16)
@dataclass
class Engagement:
    """Bookings and citizen notifications: the notification planner + outbox (an event listener: it never sends
    inside the writer), the booking service, and a periodic sweep (no-shows, reminders, yesterday's contacts)."""

    notifications: Any = None        # NotificationService
    bookings: Any = None             # BookingService
    blueprints: list[Blueprint] = field(default_factory=list)
    sweep_every_s: float = 60.0
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def sweep(self) -> None:
        """One pass: expired bookings become no-shows (their places free), reminders are queued, contacts of
        past days are purged. Safe to call from tests."""
        if self.bookings is not None:
            self.bookings.sweep()
            if self.notifications is not None:
                today = self.bookings.now().date()
                soon = self.bookings.store.on_day(today) + self.bookings.store.on_day(today + timedelta(days=1))
                self.notifications.remind(soon, self.bookings.service_names)
        if self.notifications is not None:
            clock = self.notifications.clock
            self.notifications.outbox.purge_contacts_before(clock.now().date().isoformat())

    def start(self) -> None:
        if self.notifications is not None:
            self.notifications.start()
        self._thread = threading.Thread(target=self._run, name="bookings-sweep", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.sweep_every_s):
            try:
                self.sweep()
            except Exception:  # the sweep comes again; the hub must not lose its thread to one bad row
                log.exception("bookings sweep failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        if self.notifications is not None:
            self.notifications.close()
        if self.bookings is not None:
            self.bookings.store.close()


def build_gateways(cfg: Any) -> dict[str, Any]:
    from queue_server.adapters.notifiers import SmsHttpGateway, SmtpGateway, ZaloZnsGateway

    gateways: dict[str, Any] = {}
    if cfg.sms is not None:
        gateways["sms"] = SmsHttpGateway(cfg.sms)
    if cfg.zalo is not None:
        gateways["zalo"] = ZaloZnsGateway(cfg.zalo)
    if cfg.email is not None:
        gateways["email"] = SmtpGateway(cfg.email)
    return gateways


def build_engagement(settings: HubSettings, service: QueueService, calendar: WorkingCalendar, clock: Clock,
                     push_auth: Any = None, gateways: dict[str, Any] | None = None,
                     otp_clock: Clock | None = None) -> Engagement | None:
    """None when neither [bookings] nor [notifications] is configured. ``gateways`` replaces the configured ones
    (tests plug the mock gateway's URL through settings instead whenever they can). ``otp_clock``: what one-time
    codes expire by when it is not ``clock`` (the demo's accelerated morning would void a code in a second)."""
    ncfg, bcfg = settings.notifications, settings.bookings
    if ncfg is None and bcfg is None:
        return None
    names: dict[str, str] = {str(s.code): s.name for s in settings.center.services}
    notifications = None
    base = ncfg.public_base_url if ncfg is not None else ""
    if ncfg is not None:
        from queue_server.adapters.notification_outbox import NotificationOutbox, RetryPolicy
        from queue_server.app.notification_service import NotificationService
        from queue_server.app.notifications import NotificationRules

        senders = gateways if gateways is not None else build_gateways(ncfg)
        outbox = NotificationOutbox(ncfg.path, senders,
                                    ncfg.templates, retry=RetryPolicy(ncfg.max_attempts, ncfg.retry_base_s,
                                                                      ncfg.retry_max_s),
                                    poll_interval_s=min(1.0, ncfg.retry_base_s))
        rules = NotificationRules(settings.center.name, ncfg.turn_near_at,
                                  track_url=lambda ticket_id: f"{base}/t/{ticket_id}" if base else "")
        notifications = NotificationService(outbox, rules, service, clock, phone_channel=ncfg.phone_channel,
                                            booking_url=lambda code: f"{base}/b/{code}" if base else code,
                                            reminder_before_min=ncfg.reminder_before_min, public_base_url=base,
                                            channels=tuple(senders))
        service.add_listener(notifications.on_events)
    bookings = None
    if bcfg is not None:
        from queue_server.adapters.booking_store import BookingStore
        from queue_server.app.booking_service import BookingService
        from queue_server.web.booking_page import create_booking_page_blueprint
        from queue_server.web.bookings import create_bookings_blueprint

        store = BookingStore(bcfg.path)
        bookings = BookingService(store, calendar, bcfg.rules, clock, service, salt=store.salt(),
                                  notifier=notifications, service_names=names,
                                  service_names_en={str(s.code): s.name_en for s in settings.center.services})
        codes = None
        if otp_clock is not None:
            from queue_server.app.one_time_codes import OneTimeCodes

            codes = OneTimeCodes(otp_clock)
        blueprint = create_bookings_blueprint(bookings, notifier=notifications, push_auth=push_auth, codes=codes)
        page = create_booking_page_blueprint()
        return Engagement(notifications, bookings, [blueprint, page], bcfg.sweep_every_s)
    return Engagement(notifications, bookings, [], 60.0)


# ------------------------------------------------------------------------------------------------------- the hub


@dataclass
class Hub:
    settings: HubSettings
    store: SqliteStore
    service: QueueService
    broadcaster: Broadcaster
    mqtt: MqttAdapter | None
    app: Flask
    integration: Any = None
    ratings: RatingsService | None = None
    speaker: Any = None
    province: Any = None          # the province sink's OutboxRelay (issue 17), when [province] is configured
    reports: Any = None           # reports (issue 14): the reporting read model and its feeder
    live: LiveConfig | None = None  # the admin's live changes
    face: Any = None                 # issue 15 hook: queue_server.face_wiring.FaceParts when [face] enabled
    engagement: Engagement | None = None   # bookings and notifications (issue 16), when configured
    lease_hold: LeaseHold | None = None    # after a restore: new offline blocks held a while (app/lease_hold.py)
    _server: HttpServer | None = field(default=None, repr=False)

    def start_background(self) -> None:
        """Start MQTT (never blocks on the broker)."""
        if self.mqtt is not None:
            self.mqtt.start()
        if self.integration is not None:
            self.integration.start()
        if self.province is not None:
            self.province.start()
        if self.reports is not None:
            self.reports.start()
        if self.face is not None:
            self.face.start()
        if self.engagement is not None:
            self.engagement.start()
        if self.lease_hold is not None:
            self.lease_hold.start()

    def make_server(self, host: str | None = None, port: int | None = None) -> HttpServer:
        http = self.settings.http
        self._server = HttpServer(self.app, host or http.host, http.port if port is None else port, http.threads,
                                  trust_forwarded_for=http.trust_forwarded_for,
                                  max_body_bytes=max(http.max_body_bytes, BODY_CEILING_BYTES))
        return self._server

    @property
    def port(self) -> int:
        return self._server.port if self._server is not None else self.settings.http.port

    def serve_forever(self) -> None:
        """Serve HTTP in this thread until ``stop()`` (or KeyboardInterrupt)."""
        if self._server is None:
            self.make_server()
        assert self._server is not None
        self._server.serve_forever()

    def serve_in_thread(self, host: str | None = None, port: int | None = None) -> int:
        return self.make_server(host, port).serve_in_thread()

    def stop(self) -> None:
        """Stop in the order that loses nothing and logs no error: no new requests, end the event streams, finish
        the answers in flight, close the server, flush MQTT, close the store."""
        if self._server is not None:
            self._server.stop(end_streams=self.broadcaster.close)
        else:
            self.broadcaster.close()
        if self.mqtt is not None:
            self.mqtt.stop()
        if self.integration is not None:
            self.integration.stop()
        if self.province is not None:
            self.province.close()
        if self.engagement is not None:
            self.engagement.stop()
        if self.lease_hold is not None:
            self.lease_hold.stop()
        if self.speaker is not None:
            self.speaker.close()
        if self.reports is not None:
            self.reports.stop()
        if self.face is not None:
            self.face.stop()
        self.service.close()
        if self.live is not None:
            self.live.repo.close()


def record_device_alerts(service: QueueService, changes: Iterable[Any]) -> None:
    """A device alert raised or cleared becomes an event in the log (so the manager board, SSE clients and the
    main system hear of a printer out of paper): device.offline / device.online for reachability, device.fault
    (``active`` true or false) for everything else."""
    for change in changes:
        alert = change.alert
        data = {"device": alert.device_id, "kind": alert.kind, "code": alert.code, "severity": alert.severity,
                "message_vi": alert.message_vi, "message_en": alert.message_en, "active": change.raised}
        if alert.code == "offline":
            service.record_event("device.offline" if change.raised else "device.online", data)
        else:
            service.record_event("device.fault", data)


def warn_demo_passwords(settings: HubSettings, *, background: bool = True) -> list[str]:
    """Log a loud warning for each user still on the demo password (``--lab`` only: without it the hub refuses
    them at start, queue_server.config.check_hub_can_start). In a thread by default: each distinct hash is a full
    scrypt check (~0.1 s), the hub need not wait for them."""
    from queue_server.config import demo_password_accounts

    found: list[str] = []

    def check() -> None:
        found.extend(demo_password_accounts(settings))
        if found:
            log.warning("!!! DEMO PASSWORDS in %s: users %s still log in with the demo password; set real ones "
                        "(`motcua user set-password --config FILE USERNAME`) / Tài khoản %s vẫn dùng mật khẩu mẫu: "
                        "hãy đổi ngay !!!", settings.source or "the config", ", ".join(found), ", ".join(found))

    if background:
        threading.Thread(target=check, name="demo-password-check", daemon=True).start()
    else:
        check()
    return found


def build_hub(settings: HubSettings, *, clock: Clock | None = None,
              extra_blueprints: Iterable[Blueprint] | None = None, keepalive_s: float = 15.0,
              gateways: dict[str, Any] | None = None, otp_clock: Clock | None = None) -> Hub:
    settings.store_path.parent.mkdir(parents=True, exist_ok=True)
    clock = clock or SystemClock()
    integration_cfg = integration_config(settings)
    if integration_cfg.trust_forwarded_for and not settings.http.trust_forwarded_for:
        # the proxy is resolved once, at the server, for every route: the older per-blueprint key means the same
        log.warning("[integration] trust_forwarded_for is read as [http] trust_forwarded_for (move it there)")
        settings = replace(settings, http=replace(settings.http, trust_forwarded_for=True))
    # the admin's live changes (config.changed events) on top of the TOML seed: a restart keeps them
    config_log = ConfigLog(settings.store_path)
    from queue_server.engagement_live import EngagementLive

    # [bookings] / [notifications] keys changed live: replayed like the other sections; the calendar slots follow
    # is set once the national one is loaded (below)
    engagement_live = EngagementLive()
    settings = replay_config(settings, config_log, engagement_live)
    calendar = load_working_calendar(integration_cfg, settings.center, clock)
    engagement_live.calendar_for = lambda s: dossier_calendar(calendar, s)
    # no tickets on Tết or an announced day off; a make-up Saturday issues like a weekday
    center = service_center(settings, calendar.days_off, calendar.working_days)
    store = SqliteStore(settings.store_path)
    service = QueueService(center, store, clock, silent_after_s=settings.display.silent_counter_min * 60)
    # started on a store `motcua restore` put back: new offline blocks wait until the kiosks re-reported theirs
    lease_hold = LeaseHold(RestoreMarkStore(settings.store_path), clock)
    if lease_hold.active:
        service.lease_hold = lease_hold
    live = LiveConfig(settings, service, config_log, calendar.days_off, calendar.working_days,
                      extension=engagement_live)
    broadcaster = Broadcaster()
    service.add_listener(broadcaster.publish)
    # bounded (MAX_DEVICES) against an invented-id flood; which devices may write at all is the broker's ACL
    inventory = settings.broker
    devices = DeviceRegistry(settings.center.id, owners=None if inventory is None else {
        **{client.user: client.user for client in inventory.clients},
        **{dev: client.user for client in inventory.clients for dev in client.devices}})
    # a full disk: a critical alert on the manager board until commits succeed again
    def storage_changed(ok: bool) -> None:
        devices.hub_storage(ok, service.clock.now())

    service.on_storage_change(storage_changed)
    mqtt: MqttAdapter | None = None
    if settings.mqtt.enabled:
        mqtt = MqttAdapter(settings.mqtt, settings.center.id, service,
                           access=getattr(settings, "broker", None))
        service.add_listener(mqtt.on_events)
        mqtt.device_registry = devices
        mqtt.on_device_alerts = lambda changes: record_device_alerts(service, changes)
    # Ratings: stored in their own tables of the hub's file (UNIQUE per ticket and per dossier code); each one
    # then enters the event log as rating.submitted so MQTT, SSE and the outbox see it like any other event.
    ratings = RatingsService(RatingsStore(settings.store_path), service.clock, service.last_completed,
                             publish=service.record_event,
                             scale=scale_from_levels(settings.rating_scale, window_min=settings.rating_window_min,
                                                     criteria=[(c.code, c.label, c.label_en)
                                                               for c in settings.rating_criteria]),
                             center=settings.center.id)
    if mqtt is not None:
        mqtt.commands.register("submit-rating", make_submit_rating_command(ratings))
    # Dossier lookup, the working calendar and the outbox to the main system are part of every hub.
    integration = build_integration(integration_cfg, settings.center, clock, fetch_events=service.events_after,
                                    fetch_aggregates=lambda: [ratings.aggregates()],
                                    calendar=dossier_calendar(calendar, settings))

    def dossiers_updated(changed: list[tuple[str, str]]) -> None:
        for code, status in changed:    # code and status only: no personal data in the event log
            service.record_event("dossier.updated", {"code": code, "status": status})

    integration.service.on_applied = dossiers_updated
    if integration.relay is not None:
        service.add_listener(integration.relay.wake)
    blueprints = (default_blueprints(settings, display=lambda: live.settings.display) if extra_blueprints is None
                  else list(extra_blueprints))
    blueprints += [integration.blueprint, make_ratings_blueprint(ratings)]
    # issue 15 hook: face lookup ([face] enabled) — own gallery file, own blueprint; follows dossier returns
    from queue_server.face_wiring import build_face

    try:
        face = build_face(settings, service.record_event, integration.service.lookup, clock)
    except Exception:
        integration.stop()        # nothing started yet: close what is open, then say why (config error)
        service.close()
        raise
    if face is not None:
        blueprints.append(face.blueprint)
        service.add_listener(face.service.on_events)
    # Province sink (issue 17): the same events, signed with the province key, to `motcua province`.
    province = None
    if settings.province is not None:
        from queue_server.adapters.province_sink import build_province_relay
        from queue_server.web.province import make_province_blueprint

        province = build_province_relay(settings.province, settings.center.id, service.events_after)
        service.add_listener(province.wake)
        blueprints.append(make_province_blueprint(province, settings.province.key))
    # Bookings and notifications (issue 16): the planner listens like a Publisher and only queues; pushes from
    # the portal are signed like dossier pushes (the same [integration] push credentials).
    # slots follow the center's own working time: its hours, the national calendar and its announced days
    engagement = build_engagement(settings, service, dossier_calendar(calendar, settings), clock,
                                  push_auth=getattr(integration_cfg, "push", None), gateways=gateways,
                                  otp_clock=otp_clock)
    if engagement is not None:
        blueprints += engagement.blueprints
        engagement_live.bookings = engagement.bookings
        engagement_live.notifications = engagement.notifications
    # staff sessions: token hashes in the hub's file, so a restart logs nobody out and a logout is final
    from queue_server.adapters.session_store import SessionStore

    app = create_app(settings, service, blueprints, broadcaster=broadcaster, mqtt=mqtt, keepalive_s=keepalive_s,
                     devices=devices, live=live, sessions=SessionStore(settings.store_path))
    if engagement is not None:
        app.extensions["motcua"].notifier = engagement.notifications
    speaker = hub_speaker(settings)
    if speaker is not None:
        service.add_listener(speaker.on_events)
    # --- reports (issue 14): read model beside the store, /api/v1/reports/..., /reports pages
    from queue_server.web.reports import make_reporting, report_names
    from queue_server.web.reports import register as register_reports
    reporting = make_reporting(settings, service, integration,
                               bookings=engagement.bookings if engagement is not None else None)
    register_reports(app, reporting)
    hub = Hub(settings, store, service, broadcaster, mqtt, app, integration, ratings, speaker, province, reporting,
              face=face, engagement=engagement, live=live, lease_hold=service.lease_hold)

    def swapped(new: HubSettings) -> None:
        # every holder of the settings sees the new ones at once (under the writer's lock, with the event)
        hub.settings = new
        app.extensions["motcua"].settings = new
        ratings.scale = scale_from_levels(new.rating_scale, window_min=new.rating_window_min,
                                          criteria=[(c.code, c.label, c.label_en) for c in new.rating_criteria])
        # dossier deadlines count in the same working time as the queue: new hours, days off and make-up days
        integration.service.calendar = dossier_calendar(calendar, new)
        # reports name services, counters and staff as the center now does (a user added live is not a login)
        reporting.service.names = report_names(new)
        reporting.service.center_name = new.center.name

    live.subscribe(swapped)
    return hub
