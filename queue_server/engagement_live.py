"""The ``[bookings]`` and ``[notifications]`` keys an admin changes live from /admin (issue 16): per service the
places per slot, the slot length, the per-person limits, the check-in window, how far ahead and how close one may
book; the message templates, when "còn N người" is sent and how early the reminder goes.

``document`` renders them TOML-shaped (what /admin shows and ``config.changed`` records); ``apply`` re-validates a
change with the very parser ``motcua config check`` uses (queue_server.engagement_config, so the message names the
key the same way) and re-checks the services [bookings] names against the center's services after *any* live change
(a service removed while bookings name it is refused, naming both). ``held_bookings_problem`` refuses a change that
would leave bookings already made without their place (capacity lowered below them, a slot length or working hours
they no longer start on): existing bookings are never silently dropped. ``EngagementLive`` is the hook the live
admin (app/live_config.py) calls, and hands the new rules to the running booking and notification services.

What stays file-and-restart: turning the features on or off, the store paths, the sweep period, the placement
policy and every gateway setting (URLs, tokens: secrets never travel through the admin page or the event log).
No I/O of its own and no clock read: the booking service given to ``EngagementLive`` answers both.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from queue_server.app.notifications import TemplateError, check_templates
from queue_server.domain import bookings as bk
from queue_server.domain.bookings import Booking
from queue_server.domain.working_time import WorkingCalendar
from queue_server.engagement_config import EngagementConfigError, parse_bookings
from runtime.settings import ConfigError, HubSettings

BOOKINGS_LIVE = ("capacity", "slot_minutes", "per_person_per_day", "per_person_per_service_per_day", "early_min",
                 "late_min", "days_ahead", "min_notice_min")
NOTIFICATIONS_LIVE = ("templates", "turn_near_at", "reminder_before_min")
SECTIONS = ("bookings", "notifications")


def document(settings: HubSettings) -> dict[str, Any]:
    """The live-editable keys of the sections this center has turned on (none when a feature is off)."""
    out: dict[str, Any] = {}
    if settings.bookings is not None:
        r = settings.bookings.rules
        doc: dict[str, Any] = {"capacity": dict(r.capacity)}
        if r.slot_minutes is not None:
            doc["slot_minutes"] = r.slot_minutes
        for key in BOOKINGS_LIVE[2:]:
            doc[key] = getattr(r, key)
        out["bookings"] = doc
    if settings.notifications is not None:
        n = settings.notifications
        out["notifications"] = {"templates": dict(n.templates), "turn_near_at": n.turn_near_at,
                                "reminder_before_min": n.reminder_before_min}
    return out


def _table(section: str, value: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{section}: expected a table")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ConfigError(f"{section}.{unknown[0]}: not a key that can be changed live (set it in the config file "
                          "and restart / sửa trong tệp cấu hình rồi khởi động lại)")
    return value


def _not_on(section: str) -> ConfigError:
    return ConfigError(f"{section}: not turned on in this center's config file: add [{section}] there and restart "
                       f"(chưa bật [{section}] trong tệp cấu hình)")


def apply(settings: HubSettings, changes: Mapping[str, Any]) -> HubSettings:
    """``settings`` (whose center may just have changed) with the ``bookings`` / ``notifications`` changes applied,
    validated as ``config check`` does; raises ConfigError naming the key. With no change of its own it still
    re-checks that every service ``[bookings]`` names exists."""
    services = {str(s.code) for s in settings.center.services}
    if "bookings" in changes:
        if settings.bookings is None:
            raise _not_on("bookings")
        value = _table("bookings", changes["bookings"], BOOKINGS_LIVE)
        # the whole live part is given; a key left out takes config check's default, like a file without it
        try:
            parsed = parse_bookings(dict(value), services, settings.store_path, None)
        except EngagementConfigError as err:
            raise ConfigError(str(err)) from None
        assert parsed is not None
        rules = replace(settings.bookings.rules, **{k: getattr(parsed.rules, k) for k in BOOKINGS_LIVE})
        settings = replace(settings, bookings=replace(settings.bookings, rules=rules))
    elif settings.bookings is not None:
        for code in sorted(settings.bookings.rules.capacity):
            if code not in services:
                raise ConfigError(f"services: {code!r} cannot be removed: [bookings] capacity still lists it "
                                  f"(bỏ lĩnh vực này khỏi phần Đặt lịch hẹn trước / remove it from bookings first)")
    if "notifications" in changes:
        if settings.notifications is None:
            raise _not_on("notifications")
        value = _table("notifications", changes["notifications"], NOTIFICATIONS_LIVE)
        current = settings.notifications
        templates = value.get("templates", current.templates)
        if not isinstance(templates, dict) or not all(isinstance(v, str) for v in templates.values()):
            raise ConfigError("notifications.templates: expected a table of texts")
        try:
            merged = check_templates(templates)
        except TemplateError as err:
            raise ConfigError(str(err)) from None
        numbers = {}
        for key, hi in (("turn_near_at", 50), ("reminder_before_min", 7 * 24 * 60)):
            n = value.get(key, getattr(current, key))
            if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= hi:
                raise ConfigError(f"notifications.{key}: must be a whole number between 0 and {hi}, got {n!r}")
            numbers[key] = n
        settings = replace(settings, notifications=replace(current, templates=merged, **numbers))
    return settings


def held_bookings_problem(new: HubSettings, calendar: WorkingCalendar, held: Iterable[Booking],
                          now: datetime) -> str | None:
    """Why ``new`` would strand bookings already made for slots not yet started (``held``: those holding a place),
    in Vietnamese and English, or None. Checked on every live change while bookings are on: capacity lowered below
    what a slot holds, a slot length, working hours or announced day off a booking no longer starts a slot in."""
    if new.bookings is None:
        return None
    rules = new.bookings.rules
    counts: dict[tuple[str, datetime], int] = {}
    for b in held:
        if b.holds_a_place and b.slot_start >= now:
            counts[(b.service, b.slot_start)] = counts.get((b.service, b.slot_start), 0) + 1
    starts: dict[tuple[str, str], set[datetime]] = {}
    for (service, start), n in sorted(counts.items()):
        when = start.strftime("%d/%m/%Y %H:%M")
        cap = rules.capacity.get(service, 0)
        if cap <= 0:
            return (f"bookings.capacity.{service}: {n} booking(s) already held for {when}; this service must keep "
                    f"taking them (còn {n} lịch hẹn đã đặt lúc {when}: không thể bỏ nhận đặt lịch)")
        if cap < n:
            return (f"bookings.capacity.{service}: {cap} is below the {n} booking(s) already held for {when} "
                    f"(đã có {n} lịch hẹn lúc {when}, không thể giảm xuống {cap}; giữ ít nhất {n} "
                    f"/ keep at least {n})")
        key = (service, start.date().isoformat())
        if key not in starts:
            starts[key] = {s.start for s in bk.slots_on(calendar, rules, service, start.date())}
        if start not in starts[key]:
            return (f"bookings: a booking already held for {service} at {when} would no longer start a slot "
                    f"(slot length, working hours or a day off); keep it or move the change to after that day "
                    f"(lịch hẹn đã đặt lúc {when} sẽ không còn thuộc khung giờ nào)")
    return None


def changed(old: HubSettings, new: HubSettings) -> bool:
    """Whether a change touches what bookings depend on (anything but users, the notice or the rating scale)."""
    return (document(old) != document(new) or old.center.sessions != new.center.sessions
            or old.announced_days_off != new.announced_days_off
            or old.announced_makeup_days != new.announced_makeup_days)



class EngagementLive:
    """The hook LiveConfig calls for these two sections (queue_server.app.live_config.LiveExtension). ``bookings``
    (the BookingService, set once it is built) is where held bookings are read and where the new rules go;
    ``notifications`` (the NotificationService) takes the new templates; ``calendar_for(settings)`` is the working
    calendar slots follow under those settings. No I/O of its own: the booking store is read through ``bookings``."""

    sections: tuple[str, ...] = SECTIONS

    def __init__(self, calendar_for: Callable[[HubSettings], WorkingCalendar] | None = None) -> None:
        self.calendar_for = calendar_for
        self.bookings: Any = None
        self.notifications: Any = None

    def document(self, settings: HubSettings) -> dict[str, Any]:
        return document(settings)

    def apply(self, settings: HubSettings, changes: Mapping[str, Any]) -> HubSettings:
        return apply(settings, changes)

    def fence(self) -> AbstractContextManager[Any]:
        """LiveConfig holds this from before ``check`` until ``applied``: the booking service's rules lock, under
        which every booking is decided and stored, so none is made under the old capacity after the check counted
        the held ones (a slot would end up above its new capacity)."""
        return self.bookings.rules_lock if self.bookings is not None else nullcontext()

    def check(self, old: HubSettings, new: HubSettings) -> str | None:
        """Why the change would strand bookings already made (None: it may go ahead)."""
        if self.bookings is None or self.calendar_for is None or not changed(old, new):
            return None
        now = self.bookings.now()
        held = self.bookings.store.between(now.date(), now.date() + timedelta(days=400))
        return held_bookings_problem(new, self.calendar_for(new), held, now)

    def applied(self, new: HubSettings) -> None:
        """The running services take the new settings (under the writer's lock, with the config.changed event;
        LiveConfig still holds ``fence``, so this must not wait for it: it may run on the writer's thread)."""
        if self.bookings is not None and new.bookings is not None:
            if self.calendar_for is not None:
                self.bookings.calendar = self.calendar_for(new)
            self.bookings.rules = new.bookings.rules
            self.bookings.service_names = {str(s.code): s.name for s in new.center.services}
            self.bookings.service_names_en = {str(s.code): s.name_en for s in new.center.services}
        if self.notifications is not None and new.notifications is not None:
            n = new.notifications
            self.notifications.outbox.templates = dict(n.templates)
            self.notifications.rules = replace(self.notifications.rules, turn_near_at=n.turn_near_at,
                                               center_name=new.center.name)
            self.notifications.reminder_before_min = n.reminder_before_min
