"""The ``[bookings]`` and ``[notifications]`` settings (issue 16), validated with key-naming errors.

Read by queue_server/config.py like ``[integration]``; when the one settings model (runtime/settings/, issue 10)
lands, these dataclasses move there as they are. A section that is absent means the feature is off: no booking
routes answer beyond "not enabled", no message is ever sent. Secrets (gateway tokens, passwords) are never logged.

Example::

    [bookings]
    capacity = { ho-tich = 4, dat-dai = 2 }   # places per slot; a service not listed takes no bookings
    slot_minutes = 30                          # omit: one slot per working session
    per_person_per_day = 2
    per_person_per_service_per_day = 1
    early_min = 30                             # check-in opens 30 min before the slot …
    late_min = 15                              # … and closes 15 min after it (then: no-show, the place is free)
    placement = "slot_time"                    # or "arrival" (a booked ticket queues when it checks in), or
                                               # "interleave": booked and walk-in tickets take turns …
    interleave_walk_ins = 2                    # … at most 2 walk-ins called between two booked tickets
    days_ahead = 14

    [notifications]
    public_base_url = "https://dichvucong.tinh.gov.vn/motcua/hcc-01"   # QR on tickets and links in messages
    turn_near_at = 3
    phone_channel = "sms"                      # or "zalo"
    [notifications.sms]
    url = "https://sms.example.vn/api/send"
    auth = "bearer"
    token = "..."
    [notifications.templates]
    called = "{center}: mời số {number} đến {counter}."

Pure parsing: no I/O except resolving paths the caller gives.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from queue_server.adapters.notifiers import SmsHttpSettings, SmtpSettings, ZaloZnsSettings
from queue_server.app.notifications import TemplateError, check_templates
from queue_server.domain.bookings import BookingRules

ZNS_URL = "https://business.openapi.zalo.me/message/template"
PLACEMENTS = ("slot_time", "arrival", "interleave")


class EngagementConfigError(ValueError):
    """A bad [bookings] / [notifications] key; the message names it."""


@dataclass(frozen=True)
class BookingSettings:
    rules: BookingRules
    path: Path
    sweep_every_s: float = 60.0


@dataclass(frozen=True)
class NotificationSettings:
    path: Path
    templates: Mapping[str, str]
    public_base_url: str = ""
    turn_near_at: int = 3
    phone_channel: str = "sms"
    reminder_before_min: int = 24 * 60
    retry_base_s: float = 2.0            # first retry after this, doubling up to retry_max_s
    retry_max_s: float = 600.0
    max_attempts: int = 12               # then a dead letter the manager can requeue
    sms: SmsHttpSettings | None = field(default=None, repr=False)
    zalo: ZaloZnsSettings | None = field(default=None, repr=False)
    email: SmtpSettings | None = field(default=None, repr=False)

    @property
    def channels(self) -> list[str]:
        return [name for name in ("sms", "zalo", "email") if getattr(self, name) is not None]

    def redacted(self) -> dict[str, Any]:
        return {"channels": self.channels, "public_base_url": self.public_base_url,
                "turn_near_at": self.turn_near_at, "phone_channel": self.phone_channel}


def _pop(table: dict[str, Any], key: str, path: str, kinds: tuple[type, ...], default: Any) -> Any:
    if key not in table:
        return default
    value = table.pop(key)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        names = "/".join(k.__name__ for k in kinds)
        raise EngagementConfigError(f"{path}.{key}: expected {names}, got {type(value).__name__}")
    return value


def _int(table: dict[str, Any], key: str, path: str, default: int, lo: int, hi: int) -> int:
    value = _pop(table, key, path, (int,), default)
    if not lo <= value <= hi:
        raise EngagementConfigError(f"{path}.{key}: must be between {lo} and {hi}, got {value}")
    return int(value)


def _done(table: dict[str, Any], path: str) -> None:
    if table:
        raise EngagementConfigError(f"{path}.{min(table)}: unknown key")


def _place(value: Any, key: str, base_dir: Path | None, default: Path) -> Path:
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip():
        raise EngagementConfigError(f"{key}: expected a path")
    p = Path(value)
    return p if p.is_absolute() or base_dir is None else base_dir / p


def parse_bookings(raw: Any, services: set[str], store_path: Path, base_dir: Path | None) -> BookingSettings | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise EngagementConfigError("bookings: expected a table")
    t = dict(raw)
    cap_raw = _pop(t, "capacity", "bookings", (dict,), {})
    capacity: dict[str, int] = {}
    for code, n in cap_raw.items():
        if code not in services:
            raise EngagementConfigError(f"bookings.capacity.{code}: no such service in [[services]]")
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 10_000:
            raise EngagementConfigError(f"bookings.capacity.{code}: expected a whole number of places 0..10000")
        capacity[code] = n
    slot = _pop(t, "slot_minutes", "bookings", (int,), None)
    if slot is not None and not 5 <= slot <= 600:
        raise EngagementConfigError(f"bookings.slot_minutes: must be between 5 and 600, got {slot}")
    placement = _pop(t, "placement", "bookings", (str,), "slot_time")
    if placement not in PLACEMENTS:
        raise EngagementConfigError(f"bookings.placement: {placement!r} is not one of {', '.join(PLACEMENTS)}")
    walk_ins = _int(t, "interleave_walk_ins", "bookings", 2, 1, 50)
    if "interleave_walk_ins" in raw and placement != "interleave":
        raise EngagementConfigError(f"bookings.interleave_walk_ins: only read with placement = \"interleave\" "
                                    f"(placement is {placement!r})")
    rules = BookingRules(
        capacity=capacity, slot_minutes=slot,
        per_person_per_day=_int(t, "per_person_per_day", "bookings", 2, 1, 50),
        per_person_per_service_per_day=_int(t, "per_person_per_service_per_day", "bookings", 1, 1, 50),
        early_min=_int(t, "early_min", "bookings", 30, 0, 24 * 60),
        late_min=_int(t, "late_min", "bookings", 15, 0, 24 * 60),
        days_ahead=_int(t, "days_ahead", "bookings", 14, 0, 366),
        min_notice_min=_int(t, "min_notice_min", "bookings", 0, 0, 7 * 24 * 60),
        placement=placement, interleave_walk_ins=walk_ins)
    path = _place(t.pop("path", None), "bookings.path", base_dir, store_path.parent / "bookings.sqlite3")
    sweep = _pop(t, "sweep_every_s", "bookings", (int, float), 60.0)
    if not 1 <= sweep <= 3600:
        raise EngagementConfigError(f"bookings.sweep_every_s: must be between 1 and 3600, got {sweep}")
    _done(t, "bookings")
    return BookingSettings(rules, path, float(sweep))


def _url(value: str, key: str) -> str:
    u = urlparse(value)
    if u.scheme not in ("http", "https") or not u.netloc:
        raise EngagementConfigError(f"{key}: expected an http(s) URL, got {value!r}")
    return value


def parse_notifications(raw: Any, store_path: Path, base_dir: Path | None) -> NotificationSettings | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise EngagementConfigError("notifications: expected a table")
    t = dict(raw)
    p = "notifications"
    base = _pop(t, "public_base_url", p, (str,), "").strip().rstrip("/")
    if base:
        _url(base, f"{p}.public_base_url")
    try:
        templates = check_templates(_pop(t, "templates", p, (dict,), {}))
    except TemplateError as err:
        raise EngagementConfigError(str(err)) from err
    phone_channel = _pop(t, "phone_channel", p, (str,), "sms")
    if phone_channel not in ("sms", "zalo"):
        raise EngagementConfigError(f"{p}.phone_channel: expected \"sms\" or \"zalo\", got {phone_channel!r}")
    sms = zalo = email = None
    if "sms" in t:
        s = dict(_pop(t, "sms", p, (dict,), {}))
        q = f"{p}.sms"
        auth = _pop(s, "auth", q, (str,), "none")
        if auth not in ("none", "bearer", "basic"):
            raise EngagementConfigError(f"{q}.auth: expected none, bearer or basic, got {auth!r}")
        body = _pop(s, "body_template", q, (str,), '{"to": "{to}", "text": "{text}"}')
        try:
            json.loads(body)
        except ValueError as err:
            raise EngagementConfigError(f"{q}.body_template: not JSON ({err})") from err
        sms = SmsHttpSettings(url=_url(_pop(s, "url", q, (str,), ""), f"{q}.url"), auth=auth,
                              token=_pop(s, "token", q, (str,), ""), username=_pop(s, "username", q, (str,), ""),
                              password=_pop(s, "password", q, (str,), ""), body_template=body,
                              strip_diacritics=_pop(s, "strip_diacritics", q, (bool,), False),
                              international=_pop(s, "international", q, (bool,), True),
                              timeout_s=float(_pop(s, "timeout_s", q, (int, float), 5.0)))
        if auth == "bearer" and not sms.token:
            raise EngagementConfigError(f"{q}.token: needed with auth = \"bearer\"")
        _done(s, q)
    if "zalo" in t:
        z = dict(_pop(t, "zalo", p, (dict,), {}))
        q = f"{p}.zalo"
        token = _pop(z, "access_token", q, (str,), "")
        if not token:
            raise EngagementConfigError(f"{q}.access_token: missing")
        ids = _pop(z, "template_ids", q, (dict,), {})
        zalo = ZaloZnsSettings(access_token=token, template_ids={str(k): str(v) for k, v in ids.items()},
                               url=_url(_pop(z, "url", q, (str,), ZNS_URL), f"{q}.url"),
                               timeout_s=float(_pop(z, "timeout_s", q, (int, float), 5.0)))
        _done(z, q)
    if "email" in t:
        e = dict(_pop(t, "email", p, (dict,), {}))
        q = f"{p}.email"
        host = _pop(e, "host", q, (str,), "")
        if not host:
            raise EngagementConfigError(f"{q}.host: missing")
        email = SmtpSettings(host=host, port=_int(e, "port", q, 587, 1, 65535),
                             starttls=_pop(e, "starttls", q, (bool,), True),
                             ssl_on_connect=_pop(e, "ssl_on_connect", q, (bool,), False),
                             username=_pop(e, "username", q, (str,), ""), password=_pop(e, "password", q, (str,), ""),
                             sender=_pop(e, "sender", q, (str,), "motcua@localhost"),
                             sender_name=_pop(e, "sender_name", q, (str,), "Trung tâm Phục vụ hành chính công"),
                             subject=_pop(e, "subject", q, (str,), "Thông báo từ Trung tâm Phục vụ hành chính công"),
                             timeout_s=float(_pop(e, "timeout_s", q, (int, float), 10.0)))
        _done(e, q)
    settings = NotificationSettings(
        path=_place(t.pop("path", None), f"{p}.path", base_dir, store_path.parent / "notifications.sqlite3"),
        templates=templates, public_base_url=base, turn_near_at=_int(t, "turn_near_at", p, 3, 0, 50),
        phone_channel=phone_channel, reminder_before_min=_int(t, "reminder_before_min", p, 24 * 60, 0, 7 * 24 * 60),
        retry_base_s=float(_pop(t, "retry_base_s", p, (int, float), 2.0)),
        retry_max_s=float(_pop(t, "retry_max_s", p, (int, float), 600.0)),
        max_attempts=_int(t, "max_attempts", p, 12, 1, 1000),
        sms=sms, zalo=zalo, email=email)
    _done(t, p)
    if not 0.01 <= settings.retry_base_s <= settings.retry_max_s <= 86400:
        raise EngagementConfigError(f"{p}.retry_base_s / retry_max_s: need 0.01 <= base <= max <= 86400")
    if not settings.channels:
        raise EngagementConfigError(f"{p}: no gateway configured (add [notifications.sms], .zalo or .email)")
    if phone_channel not in settings.channels and "email" not in settings.channels:
        raise EngagementConfigError(f"{p}.phone_channel: {phone_channel} has no gateway configured")
    return settings
