"""What the kiosk knows about the center: services (with live waiting counts), priorities, hours; no I/O here.

Built from the hub's GET /config and GET /services bodies (docs/api.md); kept between fetches so the screens
have something to show at once, and while the hub is unreachable.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    code: str
    name: str
    name_en: str
    prefix: str
    waiting: int | None = None
    estimated_wait_min: int | None = None
    accepting: bool = True
    reason: str | None = None
    wait_low_min: int | None = None          # the range the hub tells ("khoảng 20–30 phút")
    wait_high_min: int | None = None
    wait_served: bool | None = None          # False: no counter serves it now
    wait_past_close: bool = False            # the expected call falls after today's working hours
    procedures: tuple[str, ...] = ()         # common thủ tục, from the hub's config


@dataclass(frozen=True, slots=True)
class PriorityInfo:
    code: str
    label: str
    label_en: str
    legal_basis: str = ""


@dataclass(frozen=True, slots=True)
class Catalog:
    center_name: str = ""
    center_name_en: str = ""
    services: tuple[ServiceInfo, ...] = ()
    priorities: tuple[PriorityInfo, ...] = ()
    working_hours: Any = None
    live: bool = False                      # waiting counts are from the hub just now
    extra: dict[str, Any] = field(default_factory=dict)
    days_off: frozenset[str] = frozenset()      # ISO dates: public holidays and announced days off (from /config)
    makeup_days: frozenset[str] = frozenset()   # ISO dates worked although a weekend (Saturday 22/08/2026)
    bookings: bool = False                  # the center takes bookings: the home screen offers "Có lịch hẹn"
    policy: dict[str, Any] = field(default_factory=dict)   # the hub's [policy]: what the priority screen promises
    notify_phone: bool = False              # the hub texts citizens: the ticket screen offers "Nhắn tin khi …"

    def service(self, code: str) -> ServiceInfo | None:
        return next((s for s in self.services if s.code == code), None)

    def priority(self, code: str | None) -> PriorityInfo | None:
        return next((p for p in self.priorities if p.code == code), None)

    def results_service(self) -> ServiceInfo | None:
        """The service for collecting results (Trả kết quả): code ``tra-ket-qua`` or that name."""
        return next((s for s in self.services if s.code == "tra-ket-qua" or "tra ket qua" in fold(s.name)), None)

    @property
    def all_closed(self) -> bool:
        """True when the hub says no service is issuing now (outside hours): the out-of-hours screen."""
        return bool(self.services) and all(not s.accepting for s in self.services) and any(
            s.reason in (None, "service_closed", "closed", "outside_hours") for s in self.services)

    def open_at(self, moment: datetime) -> bool | None:
        """Inside a working session at ``moment`` by the hub's last known hours (``{"mon": [["07:30", "11:30"],
        ...]}``), or None when the hours are unknown; the hub's ``days_off`` (public holidays, announced days
        off) are closed and its ``makeup_days`` work the Monday hours. Only the guard the kiosk uses while the hub
        is unreachable: online, the hub decides."""
        spans = self._spans_on(moment.date())
        if spans is None:
            return None
        now = moment.strftime("%H:%M")
        return any(start <= now < end for start, end in spans)

    def _spans_on(self, day: date) -> list[tuple[str, str]] | None:
        """The day's sessions as ("07:30", "11:30") pairs by the hub's last known hours and calendar, or None when
        the hours are unknown."""
        hours = self.working_hours
        if not isinstance(hours, dict) or not any(k in _DAYS for k in hours):
            return None
        if day.isoformat() in self.days_off:
            return []
        weekday = _DAYS[day.weekday()]
        if day.isoformat() in self.makeup_days and not hours.get(weekday):
            weekday = _DAYS[0]
        return [(str(span[0]), str(span[1])) for span in hours.get(weekday) or []
                if isinstance(span, list | tuple) and len(span) == 2]

    def next_opening(self, moment: datetime) -> datetime | None:
        """When numbers are issued again after ``moment``: the next working session's start (Monday 07:30 on a
        Saturday, 13:30 in the lunch break, the day after Tết on Tết) by the hub's last known hours and calendar
        (which /config gives a year ahead); None if unknown. Refused inside a session, it is the stop-issuing time
        or the daily quotas: the first session of a later day."""
        inside = self.open_at(moment)
        for ahead in range(1 if inside else 0, 370):
            day = moment.date() + timedelta(days=ahead)
            spans = self._spans_on(day)
            if spans is None:
                return None
            for start, _end in sorted(spans):
                try:
                    at = datetime.combine(day, time.fromisoformat(start), tzinfo=moment.tzinfo)
                except ValueError:
                    continue
                if at > moment:
                    return at
        return None

    def day_off(self, moment: datetime) -> bool:
        """``moment`` falls on a public holiday or an announced day off (the hub's calendar)."""
        return moment.date().isoformat() in self.days_off

    def with_services(self, services: list[dict[str, Any]]) -> Catalog:
        """Merge a fresh GET /services body into the catalog (names from /config are kept when missing)."""
        known = {s.code: s for s in self.services}
        merged: list[ServiceInfo] = []
        for raw in services:
            if not isinstance(raw, dict) or not raw.get("code"):
                continue
            old = known.get(str(raw["code"]))
            merged.append(ServiceInfo(
                code=str(raw["code"]),
                name=str(raw.get("name") or (old.name if old else raw["code"])),
                name_en=str(raw.get("name_en") or (old.name_en if old else "")),
                prefix=str(raw.get("prefix") or (old.prefix if old else "")),
                waiting=_int(raw.get("waiting")),
                estimated_wait_min=_int(raw.get("estimated_wait_min")),
                wait_low_min=_int(raw.get("wait_low_min")), wait_high_min=_int(raw.get("wait_high_min")),
                wait_served=raw.get("wait_served") if isinstance(raw.get("wait_served"), bool) else None,
                wait_past_close=raw.get("wait_past_close") is True,
                procedures=old.procedures if old else (),
                accepting=bool(raw.get("accepting", True)),
                reason=raw.get("reason"),
            ))
        return replace(self, services=tuple(merged), live=True)

    def stale(self) -> Catalog:
        """The same catalog with live counts forgotten (hub unreachable): never show old numbers as current."""
        services = tuple(ServiceInfo(s.code, s.name, s.name_en, s.prefix, None, None, True, None,
                                     procedures=s.procedures) for s in self.services)
        return replace(self, services=services, live=False)

    @staticmethod
    def from_config(config: dict[str, Any]) -> Catalog:
        center = config.get("center") or {}
        services = tuple(
            ServiceInfo(code=str(s["code"]), name=str(s.get("name") or s["code"]), name_en=str(s.get("name_en") or ""),
                        prefix=str(s.get("prefix") or ""),
                        procedures=tuple(str(p) for p in s.get("procedures") or [] if isinstance(p, str)))
            for s in config.get("services") or [] if isinstance(s, dict) and s.get("code"))
        priorities = tuple(
            PriorityInfo(code=str(p["code"]), label=str(p.get("label") or p["code"]),
                         label_en=str(p.get("label_en") or ""), legal_basis=str(p.get("legal_basis") or ""))
            for p in config.get("priorities") or [] if isinstance(p, dict) and p.get("code"))
        return Catalog(str(center.get("name") or ""), str(center.get("name_en") or ""), services, priorities,
                       config.get("working_hours"), False, days_off=_dates(config.get("days_off")),
                       makeup_days=_dates(config.get("makeup_days")), bookings=config.get("bookings") is True,
                       policy=dict(config["policy"]) if isinstance(config.get("policy"), dict) else {},
                       notify_phone=_notify_phone(config.get("notifications")))


def _notify_phone(value: Any) -> bool:
    return isinstance(value, dict) and value.get("phone") is True


def _dates(value: Any) -> frozenset[str]:
    return frozenset(str(d) for d in value) if isinstance(value, list) else frozenset()


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {"vi": ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"),
              "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}


def _spans(sessions: Any) -> str:
    parts: list[str] = []
    for item in sessions if isinstance(sessions, list | tuple) else []:
        if isinstance(item, str):
            parts.append(item.replace("-", "–"))
        elif isinstance(item, list | tuple) and len(item) == 2:
            parts.append(f"{item[0]}–{item[1]}")
        elif isinstance(item, dict) and "start" in item and "end" in item:
            parts.append(f"{item['start']}–{item['end']}")
    return ", ".join(parts)


def day_name(moment: datetime | date, lang: str = "vi") -> str:
    """"Thứ Hai" / "Monday"."""
    return _DAY_NAMES["en" if lang == "en" else "vi"][moment.weekday()]


def format_hours(working_hours: Any, lang: str = "vi") -> str:
    """Working sessions as one short text, e.g. "Thứ Hai – Thứ Sáu: 07:30–11:30, 13:30–17:00" ("" if unknown).

    The hub's /config gives ``{"mon": [["07:30", "11:30"], ...], ...}``; plain session lists are accepted too.
    """
    names = _DAY_NAMES["en" if lang == "en" else "vi"]
    if isinstance(working_hours, dict) and any(k in _DAYS for k in working_hours):
        groups: list[tuple[list[int], str]] = []
        for i, day in enumerate(_DAYS):
            text = _spans(working_hours.get(day))
            if not text:
                continue
            if groups and groups[-1][1] == text and groups[-1][0][-1] == i - 1:
                groups[-1][0].append(i)
            else:
                groups.append(([i], text))
        out = []
        for days, text in groups:
            label = names[days[0]] if len(days) == 1 else f"{names[days[0]]} – {names[days[-1]]}"
            out.append(f"{label}: {text}")
        return "; ".join(out)
    if isinstance(working_hours, dict):
        working_hours = working_hours.get("sessions") or working_hours.get("hours")
    return _spans(working_hours)


def fold(text: str) -> str:
    """Lower case without diacritics, for searching: "Đăng ký khai sinh" → "dang ky khai sinh"."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).lower().split())
