"""Live edits of a center's settings: the editable sections as TOML-shaped values (``document``), one section
replaced and re-validated by the very rules ``motcua config check`` applies (``apply_section``), and a TOML
writer so the live center can be written back to a file (``dump_toml``).

A change is always a whole section (``services``, ``counters``, ``priorities``, ``users``, ``working_hours``,
``calendar``, ``rating_scale``, ``display``): the candidate is the current center's document with that section
replaced, validated by ``settings_from_dict``; a refusal is the same one-line ConfigError naming the key that
``config check`` prints. Pure: reads and writes nothing.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from .errors import ConfigError
from .hub import WEEKDAYS, HubSettings, settings_from_dict

SECTIONS = ("services", "counters", "priorities", "users", "working_hours", "calendar", "rating_scale", "display")
# [display] keys an admin changes live; the rest (folders, the hub's speaker) stay file-and-restart settings
DISPLAY_LIVE = ("notice", "wait_warning_min", "calls_shown")


def document(settings: HubSettings, *, secrets: bool = True) -> dict[str, Any]:
    """The editable sections of ``settings`` as the config file writes them. ``secrets=False`` leaves the
    password hashes out (what an event or a page may carry)."""
    c = settings.center
    services = []
    for s in c.services:
        row: dict[str, Any] = {"code": s.code, "prefix": s.prefix, "name": s.name, "name_en": s.name_en,
                               "number_start": s.number_start, "number_end": s.number_end}
        if s.daily_quota is not None:
            row["daily_quota"] = s.daily_quota
        row["stop_issuing_before_close_min"] = s.stop_issuing_before_close_min
        row["avg_service_min"] = s.avg_service_min
        if s.offline_from is not None:
            row["offline_from"] = s.offline_from
        if s.procedures:
            row["procedures"] = list(s.procedures)
        services.append(row)
    users = []
    for u in settings.users:
        user: dict[str, Any] = {"username": u.username, "role": u.role, "display_name": u.display_name}
        if u.disabled:
            user["disabled"] = True
        if secrets:
            user["password_hash"] = u.password_hash
        users.append(user)
    return {
        "services": services,
        "counters": [{"id": q.id, "name": q.name, "services": list(q.services)} for q in c.counters],
        "priorities": [{"code": p.code, "label": p.label, "label_en": p.label_en, "legal_basis": p.legal_basis}
                       for p in c.priorities],
        "users": users,
        "working_hours": _working_hours(settings),
        "calendar": {"days_off": [d.isoformat() for d in sorted(settings.announced_days_off)],
                     "makeup_days": [d.isoformat() for d in sorted(settings.announced_makeup_days)]},
        "rating_scale": [{"value": r.value, "label": r.label, "label_en": r.label_en} for r in settings.rating_scale],
        "display": {k: getattr(settings.display, k) for k in DISPLAY_LIVE},
    }


def _working_hours(settings: HubSettings) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for day, spans in sorted(settings.center.sessions.items()):
        sessions = [[s.start.strftime("%H:%M"), s.end.strftime("%H:%M")] for s in spans]
        same = next((g for g in groups if g["sessions"] == sessions), None)
        if same is not None:
            same["days"].append(WEEKDAYS[day])
        else:
            groups.append({"days": [WEEKDAYS[day]], "sessions": sessions})
    return groups


def _base(settings: HubSettings) -> dict[str, Any]:
    c = settings.center
    return {
        "center": {"id": c.id, "name": c.name, "name_en": c.name_en, "observe_holidays": settings.observe_holidays},
        "policy": {"kind": str(c.policy.kind), "interleave_normal": c.policy.interleave_normal,
                   "priority_bonus_min": c.policy.priority_bonus_min,
                   "priority_across_services": c.policy.priority_across_services},
        "rules": {"recalls_before_no_show": c.rules.recalls_before_no_show,
                  "recall_delay_s": c.rules.recall_delay_s, "max_reactivations": c.rules.max_reactivations},
    }


def apply_sections(settings: HubSettings, changes: Mapping[str, Any]) -> HubSettings:
    """``settings`` with each named section replaced by its value (TOML-shaped), validated together as
    ``config check`` would (a new service and the counter that serves it are one change); raises ConfigError
    naming the key. Users must carry their ``password_hash``."""
    raw = {**_base(settings), **document(settings)}
    if not changes:
        raise ConfigError("sections: nothing to change")
    for section, value in changes.items():
        if section not in SECTIONS:
            raise ConfigError(f"{section}: not a section that can be changed live ({', '.join(SECTIONS)})")
        if section == "display":
            if not isinstance(value, dict):
                raise ConfigError("display: expected a table")
            unknown = sorted(set(value) - set(DISPLAY_LIVE))
            if unknown:
                raise ConfigError(f"display.{unknown[0]}: not a key that can be changed live")
            value = {**raw["display"], **value}
        raw[section] = value
    if not raw["rating_scale"]:
        raw.pop("rating_scale")
    new = settings_from_dict(raw)
    return replace(settings, center=new.center, users=new.users, rating_scale=new.rating_scale,
                   announced_days_off=new.announced_days_off, announced_makeup_days=new.announced_makeup_days,
                   display=replace(settings.display, **{k: getattr(new.display, k) for k in DISPLAY_LIVE}))


def apply_section(settings: HubSettings, section: str, value: Any) -> HubSettings:
    return apply_sections(settings, {section: value})


# ------------------------------------------------------------------------------------------------ TOML out

def dump_toml(data: dict[str, Any]) -> str:
    """A TOML document for ``data`` (tables, arrays of tables, strings, numbers, booleans, dates, arrays):
    plain keys first, then tables, then arrays of tables, in the dict's order."""
    out: list[str] = []
    _table(out, [], data)
    return "\n".join(out).lstrip("\n") + "\n"


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _table(out: list[str], path: list[str], data: dict[str, Any]) -> None:
    plain = {k: v for k, v in data.items() if not isinstance(v, dict) and not _is_table_array(v)}
    if path and (plain or not data):
        out.append(f"\n[{'.'.join(_key(p) for p in path)}]")
    for k, v in plain.items():
        if v is not None:
            out.append(f"{_key(k)} = {_value(v)}")
    for k, v in data.items():
        if isinstance(v, dict):
            _table(out, [*path, k], v)
    for k, v in data.items():
        if _is_table_array(v):
            for item in v:
                out.append(f"\n[[{'.'.join(_key(p) for p in [*path, k])}]]")
                for ik, iv in item.items():
                    if _is_table_array(iv):
                        raise ConfigError(f"{k}: nested tables inside an array are not written")
                    # a table inside an item is written inline (``device_counters = { pad-1 = "1" }``)
                    if iv is not None:
                        out.append(f"{_key(ik)} = {_value(iv)}")


def _key(k: str) -> str:
    return k if k and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in k) else _string(k)


def _string(s: str) -> str:
    escaped = s.replace("\\", "\\\\").replace('"', '\\"')
    for ch, rep in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        escaped = escaped.replace(ch, rep)
    return '"' + "".join(c if ord(c) >= 0x20 and c != "\x7f" else f"\\u{ord(c):04x}" for c in escaped) + '"'


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ConfigError(f"{v!r}: not a finite number")
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items() if x is not None) + "}"
    return _string(str(v))
