"""Citizen ratings (đánh giá mức độ hài lòng): the scale, the rules for accepting a rating, aggregates. Pure.

Rules (DOMAIN.md, Decree 61 Art. 31, Thông tư 01/2018 Art. 12–14, Quảng Trị Art. 23):
- a rating rates the ticket just completed at a counter, within a window after completion;
- one rating per ticket, and each dossier code is rated only once, ever;
- the scale and optional criteria come from config; the default is three levels, values 3 / 2 / 1
  (Rất hài lòng / Hài lòng / Không hài lòng), the values the main system's /Vote aggregate counts.
No I/O, no clock reads: ``now`` is passed in. Storage enforces uniqueness again (a race can't slip past).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from contracts.errors import ErrorCode, MotcuaError
from contracts.ratings import DEFAULT_LEVELS, RatingLevel
from queue_server.domain.model import Ticket, TicketStatus

__all__ = [
    "DEFAULT_LEVELS", "Criterion", "Rating", "RatingLevel", "RatingScale", "aggregate", "check_rateable",
    "new_rating", "parse_criteria", "parse_level", "scale_from_levels",
]


@dataclass(frozen=True, slots=True)
class Criterion:
    code: str           # e.g. "thai-do", "thoi-gian"
    label: str
    label_en: str = ""


@dataclass(frozen=True, slots=True)
class RatingScale:
    levels: tuple[RatingLevel, ...] = DEFAULT_LEVELS
    criteria: tuple[Criterion, ...] = ()
    window_min: int = 10                 # how long after completion the ticket may still be rated
    max_dossier_codes: int = 10

    def __post_init__(self) -> None:
        if not self.levels:
            raise MotcuaError(ErrorCode.CONFIG_INVALID, "rating scale: at least one level")
        if len({lv.value for lv in self.levels}) != len(self.levels):
            raise MotcuaError(ErrorCode.CONFIG_INVALID, "rating scale: two levels share a value")
        if len({c.code for c in self.criteria}) != len(self.criteria):
            raise MotcuaError(ErrorCode.CONFIG_INVALID, "rating scale: two criteria share a code")
        if self.window_min < 1:
            raise MotcuaError(ErrorCode.CONFIG_INVALID, "rating scale: window_min must be at least 1")

    def level(self, value: int) -> RatingLevel | None:
        return next((lv for lv in self.levels if lv.value == value), None)


class _LevelLike(Protocol):
    @property
    def value(self) -> int: ...
    @property
    def label(self) -> str: ...
    @property
    def label_en(self) -> str: ...


def scale_from_levels(levels: Iterable[_LevelLike], criteria: Iterable[tuple[str, str, str]] = (),
                      window_min: int = 10) -> RatingScale:
    """Build a scale from the hub config's rating levels (anything with value/label/label_en) and criteria
    (``(code, label, label_en)`` from ``[[rating_criteria]]``)."""
    return RatingScale(tuple(RatingLevel(lv.value, lv.label, lv.label_en) for lv in levels) or DEFAULT_LEVELS,
                       tuple(Criterion(*c) for c in criteria), window_min)


@dataclass(frozen=True, slots=True)
class Rating:
    """One stored rating. ``criteria`` maps criterion code → level value."""

    id: str
    ticket_id: str
    ticket_number: str
    counter: str
    staff: str | None
    service: str
    day: date
    level: int
    at: datetime
    criteria: tuple[tuple[str, int], ...] = ()
    dossier_codes: tuple[str, ...] = ()
    source: str = ""                  # the rating pad or tablet it came from

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "ticket_id": self.ticket_id, "ticket_number": self.ticket_number,
                "counter": self.counter, "staff": self.staff, "service": self.service,
                "day": self.day.isoformat(), "level": self.level, "at": self.at.isoformat(),
                "criteria": dict(self.criteria), "dossier_codes": list(self.dossier_codes), "source": self.source}


def parse_level(raw: object, scale: RatingScale, what: str = "level") -> int:
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise MotcuaError(ErrorCode.BAD_REQUEST, f"{what}: expected one of {[lv.value for lv in scale.levels]}")
    try:
        value = int(raw)
    except ValueError as err:
        raise MotcuaError(ErrorCode.BAD_REQUEST, f"{what}: {raw!r} is not a level value") from err
    if scale.level(value) is None:
        raise MotcuaError(ErrorCode.BAD_REQUEST,
                          f"{what}: {value} is not on the scale {[lv.value for lv in scale.levels]}")
    return value


def parse_criteria(raw: object, scale: RatingScale) -> tuple[tuple[str, int], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise MotcuaError(ErrorCode.BAD_REQUEST, "criteria: expected an object {criterion: level}")
    known = {c.code for c in scale.criteria}
    out = []
    for code, value in raw.items():
        if code not in known:
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"criteria: unknown criterion {code!r}; known: {sorted(known)}")
        out.append((str(code), parse_level(value, scale, f"criteria.{code}")))
    return tuple(sorted(out))


def check_rateable(ticket: Ticket | None, counter: str, now: datetime, scale: RatingScale) -> Ticket:
    """The ticket a rating at ``counter`` rates now, or MotcuaError nothing_to_rate / rating_window_closed."""
    if ticket is None or ticket.status != TicketStatus.DONE or ticket.done_at is None:
        raise MotcuaError(ErrorCode.NOTHING_TO_RATE, f"counter {counter}: no completed ticket to rate")
    if now - ticket.done_at > timedelta(minutes=scale.window_min):
        raise MotcuaError(ErrorCode.RATING_WINDOW_CLOSED,
                          f"ticket {ticket.display} was completed more than {scale.window_min} min ago")
    return ticket


def new_rating(rating_id: str, ticket: Ticket, counter: str, level: int, now: datetime,
               criteria: tuple[tuple[str, int], ...] = (), dossier_codes: Sequence[str] = (),
               source: str = "") -> Rating:
    codes = tuple(dict.fromkeys(dossier_codes))   # the same code twice in one request is one code
    return Rating(rating_id, str(ticket.id), ticket.display, counter, ticket.staff, str(ticket.service),
                  ticket.day, level, now, criteria, codes, source)


@dataclass(slots=True)
class _Tally:
    count: int = 0
    total: int = 0
    levels: dict[str, int] = field(default_factory=dict)
    criteria: dict[str, _Tally] = field(default_factory=dict)   # criterion code → its own tally

    def add(self, level: int, criteria: Iterable[tuple[str, int]] = ()) -> None:
        self.count += 1
        self.total += level
        key = str(level)
        self.levels[key] = self.levels.get(key, 0) + 1
        for code, value in criteria:
            self.criteria.setdefault(code, _Tally()).add(value)

    def to_json(self, scale: RatingScale, with_criteria: bool = True) -> dict[str, Any]:
        best = max(lv.value for lv in scale.levels)
        top = self.levels.get(str(best), 0)
        out: dict[str, Any] = {
            "count": self.count, "levels": {str(lv.value): self.levels.get(str(lv.value), 0) for lv in scale.levels},
            "average": round(self.total / self.count, 3) if self.count else None,
            "top_share": round(top / self.count, 3) if self.count else None}
        if with_criteria:
            # every configured criterion appears (zero counts too) so boards need no special case; a criterion
            # removed from config but present in old ratings is still counted under its code
            codes = [c.code for c in scale.criteria] + sorted(set(self.criteria) - {c.code for c in scale.criteria})
            out["criteria"] = {code: self.criteria.get(code, _Tally()).to_json(scale, with_criteria=False)
                               for code in codes}
        return out


def aggregate(ratings: Iterable[Rating], scale: RatingScale, center: str = "") -> dict[str, Any]:
    """Counts per level, overall and per counter, staff, service and day (the manager board and /Vote push).

    Each tally also carries ``criteria``: per criterion code, the same counts over the ratings that rated it
    (criteria are optional, so a criterion's ``count`` may be below the overall ``count``)."""
    overall = _Tally()
    groups: dict[str, dict[str, _Tally]] = {"counters": {}, "staff": {}, "services": {}, "days": {}}
    for r in ratings:
        overall.add(r.level, r.criteria)
        for group, key in (("counters", r.counter), ("staff", r.staff or "-"), ("services", r.service),
                           ("days", r.day.isoformat())):
            groups[group].setdefault(key, _Tally()).add(r.level, r.criteria)
    out: dict[str, Any] = {"center": center, **overall.to_json(scale)}
    for group, tallies in groups.items():
        out[group] = {k: t.to_json(scale) for k, t in sorted(tallies.items())}
    out["scale"] = [{"value": lv.value, "label": lv.label, "label_en": lv.label_en} for lv in scale.levels]
    out["criteria_scale"] = [{"code": c.code, "label": c.label, "label_en": c.label_en} for c in scale.criteria]
    return out
