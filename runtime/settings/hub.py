"""The hub's settings: one frozen HubSettings from the center's TOML file plus ``MOTCUA_<SECTION>__<KEY>``
overrides. The file's tables are validated by their dataclasses below (types, ranges, slugs, hosts); what
spans tables (a counter naming an unknown service, a prefix used twice) is checked here after. Every problem is
a ConfigError naming the exact key (``counters[3].services[1]: unknown service 'dat-dai2'``).

Reads the config file and the environment, nothing else: it imports no web, store or MQTT module. What only
the machine can answer (writable store directory, TLS files, calendar files) is in ``checks``.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, TypeAdapter, ValidationError

from contracts.center import (
    CenterDef,
    CounterDef,
    CounterId,
    PolicyDef,
    PolicyKind,
    PriorityCategory,
    ServiceCode,
    ServiceDef,
    TicketRules,
    WorkingSession,
)
from contracts.ratings import DEFAULT_LEVELS, RatingLevel

from .common import DisplaySettings, MqttSettings
from .errors import ConfigError, from_validation_error
from .fields import TABLE, Bool, Host, Int, Label, NonEmpty, Number, OptionalLabel, Prefix, Slug, Text
from .integration import IntegrationSettings, IntegrationTable, integration_from_table
from .province import ProvinceSinkSettings, ProvinceTable, province_from_table
from .source import Overrides, apply_env_overrides, read_toml, resolve

ROLES = ("staff", "manager", "admin")          # in rising order of power
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_RATING_SCALE = DEFAULT_LEVELS
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_PASSWORD_HASH = re.compile(r"^(scrypt|pbkdf2)[:$]")


# ------------------------------------------------------------------------------------------ settings objects

@dataclass(frozen=True, slots=True)
class HttpSettings:
    __pydantic_config__ = TABLE

    host: Host = "127.0.0.1"
    port: Annotated[Int, Field(ge=0, le=65535)] = 8080     # 0 = any free port
    threads: Annotated[Int, Field(ge=2, le=512)] = 32      # waitress workers; each open SSE stream holds one
    max_body_bytes: Annotated[Int, Field(ge=1024)] = 65536
    # true only when a reverse proxy the center controls sits in front and sets X-Forwarded-For; otherwise any
    # client could name its own address and dodge the per-address login throttle
    trust_forwarded_for: Bool = False


@dataclass(frozen=True, slots=True)
class UserDef:
    username: str
    role: str                        # staff / manager / admin
    password_hash: str               # werkzeug.security hash; `motcua user hash-password` makes one
    display_name: str = ""
    disabled: bool = False           # kept for the record (the audit names them) but cannot log in


def _device_key(value: Any) -> Any:
    if not isinstance(value, str) or len(value) < 16:
        raise ValueError("expected a string of at least 16 characters")
    return value


@dataclass(frozen=True, slots=True)
class TabletPairing:
    """A rating tablet paired to a counter (issue 11): with device keys set, a web rating for ``counter`` needs
    this ``key`` (X-Device-Key). Rating pads rate over MQTT through their counter's bridge."""

    __pydantic_config__ = TABLE

    counter: NonEmpty
    key: Annotated[str, BeforeValidator(_device_key)]


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    __pydantic_config__ = TABLE

    device_keys: tuple[Annotated[str, BeforeValidator(_device_key)], ...] = ()   # set: kiosks send X-Device-Key
    token_ttl_min: Annotated[Int, Field(ge=1, le=7 * 24 * 60)] = 720             # one working day plus margin
    tablets: tuple[TabletPairing, ...] = ()                                      # [[security.tablets]]

    def tablet_keys(self, counter: str) -> tuple[str, ...]:
        return tuple(t.key for t in self.tablets if t.counter == counter)


@dataclass(frozen=True, slots=True)
class RatingCriterion:
    """An optional aspect rated on the same scale (e.g. thái độ phục vụ); none by default."""

    __pydantic_config__ = TABLE

    code: Slug                           # the key in a rating's ``criteria``
    label: Label
    label_en: OptionalLabel = ""


@dataclass(frozen=True, slots=True)
class HubSettings:
    center: CenterDef
    http: HttpSettings = field(default_factory=HttpSettings)
    store_path: Path = Path("var/motcua.sqlite3")
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    users: tuple[UserDef, ...] = ()
    security: SecuritySettings = field(default_factory=SecuritySettings)
    display: DisplaySettings = field(default_factory=DisplaySettings)
    rating_scale: tuple[RatingLevel, ...] = DEFAULT_RATING_SCALE
    rating_criteria: tuple[RatingCriterion, ...] = ()
    rating_window_min: int = 10          # [ratings] window_min: how long after completion a ticket may be rated
    log_level: str = "INFO"
    source: str = ""                     # the file it came from, for the log
    # [integration]: dossier mirror, working calendar, main-system link and outbox; None = defaults next to the
    # store (lookups answered from the mirror, no outbox)
    integration: IntegrationSettings | None = None
    observe_holidays: bool = True        # close on public holidays and announced days off, open on make-up days
    notes: tuple[str, ...] = ()          # what loading noticed (a deprecated spelling...): logged once at start
    # [province] (issue 17): the second outbox sink to `motcua province`; None = not configured
    province: ProvinceSinkSettings | None = None
    # [calendar]: days off and make-up working days the center announces itself, on top of the national calendar
    announced_days_off: frozenset[date] = frozenset()
    announced_makeup_days: frozenset[date] = frozenset()
    # [face] (issue 15): parsed by the hub's queue_server/face_config.py (queue_server.config adds it); None = off
    face: Any = None
    # [broker] (issue 11): the center's MQTT users, parsed by queue_server/mqtt_access.py (queue_server.config adds
    # it); None = a lab broker
    broker: Any = None
    # [bookings] / [notifications] (issue 16): parsed by queue_server/engagement_config.py (queue_server.config adds
    # them, like [face]); None = the feature is off
    bookings: Any = None
    notifications: Any = None

    def user(self, username: str) -> UserDef | None:
        return next((u for u in self.users if u.username == username), None)

    def redacted(self) -> dict[str, Any]:
        """A loggable summary: no password, hash, secret or device key ever appears in it."""
        c = self.center
        main = self.integration.main_system if self.integration is not None else None
        return {
            "source": self.source,
            "center": {"id": c.id, "name": c.name, "services": len(c.services), "counters": len(c.counters),
                       "priorities": [p.code for p in c.priorities], "policy": str(c.policy.kind)},
            "http": {"host": self.http.host, "port": self.http.port, "threads": self.http.threads,
                     "trust_forwarded_for": self.http.trust_forwarded_for},
            "store": str(self.store_path),
            "mqtt": self.mqtt.redacted(),
            "users": [f"{u.username}({u.role})" for u in self.users],
            "security": {"device_keys": f"{len(self.security.device_keys)} key(s)",
                         "token_ttl_min": self.security.token_ttl_min},
            "integration": {"main_system": main.base_url if main is not None else None,
                            "outbox": bool(self.integration is not None and self.integration.outbox is not None)},
            "province": {"url": self.province.url, "key": "***"} if self.province is not None else None,
            "bookings": {"services": sorted(self.bookings.rules.capacity)} if self.bookings is not None else None,
            "notifications": self.notifications.redacted() if self.notifications is not None else None,
        }


# ------------------------------------------------------------------------------------------ the file's tables

@dataclass(frozen=True, slots=True)
class CenterTable:
    __pydantic_config__ = TABLE

    id: Slug
    name: Label
    name_en: OptionalLabel = ""
    # false only for a test or a demo that must run on any date: the center then ignores public holidays
    observe_holidays: Bool = True


def _procedure(value: str) -> str:
    if not value.strip() or len(value) > 200:
        raise ValueError("expected the name of a procedure (text, 1–200 characters)")
    return value.strip()


@dataclass(frozen=True, slots=True)
class ServiceTable:
    __pydantic_config__ = TABLE

    code: Slug
    prefix: Prefix
    name: Label
    name_en: OptionalLabel = ""
    number_start: Annotated[Int, Field(ge=0)] = 1
    number_end: Annotated[Int, Field(ge=1, le=9999)] = 999
    daily_quota: Annotated[Int, Field(ge=1)] | None = None
    stop_issuing_before_close_min: Annotated[Int, Field(ge=0, le=600)] = 30
    avg_service_min: Annotated[Number, Field(ge=0.1)] = 10.0
    offline_from: Annotated[Int, Field(ge=0)] | None = None
    procedures: tuple[Annotated[OptionalLabel, AfterValidator(_procedure)], ...] = ()


def _counter_id(value: Any) -> Any:
    # `id = 5` is what people write for "Quầy 5"
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


@dataclass(frozen=True, slots=True)
class CounterTable:
    __pydantic_config__ = TABLE

    id: Annotated[Slug, BeforeValidator(_counter_id)]
    services: tuple[Text, ...]
    name: OptionalLabel | None = None


@dataclass(frozen=True, slots=True)
class PriorityTable:
    __pydantic_config__ = TABLE

    code: Slug
    label: Label
    legal_basis: Label
    label_en: OptionalLabel = ""


def _policy_kind(value: str) -> str:
    if value not in {k.value for k in PolicyKind}:
        raise ValueError(f"{value!r} is not one of strict, interleave, weighted")
    return value


@dataclass(frozen=True, slots=True)
class PolicyTable:
    __pydantic_config__ = TABLE

    kind: Annotated[Text, AfterValidator(_policy_kind)] = "strict"
    interleave_normal: Annotated[Int, Field(ge=1, le=100)] = 3
    priority_bonus_min: Annotated[Number, Field(ge=0)] = 15.0
    priority_across_services: Bool = True


@dataclass(frozen=True, slots=True)
class RulesTable:
    __pydantic_config__ = TABLE

    recalls_before_no_show: Annotated[Int, Field(ge=0, le=10)] = 2
    recall_delay_s: Annotated[Int, Field(ge=0)] = 30
    max_reactivations: Annotated[Int, Field(ge=0, le=10)] = 1


@dataclass(frozen=True, slots=True)
class WorkingHoursTable:
    __pydantic_config__ = TABLE

    days: list[Any]
    sessions: list[Any]


@dataclass(frozen=True, slots=True)
class StoreTable:
    __pydantic_config__ = TABLE

    path: NonEmpty = "var/motcua.sqlite3"


def _role(value: str) -> str:
    if value not in ROLES:
        raise ValueError(f"{value!r} is not one of {', '.join(ROLES)}")
    return value


def _password_hash(value: str) -> str:
    if not _PASSWORD_HASH.match(value):
        raise ValueError("not a werkzeug password hash (make one with `motcua user hash-password`)")
    return value


@dataclass(frozen=True, slots=True)
class UserTable:
    __pydantic_config__ = TABLE

    username: NonEmpty
    role: Annotated[Text, AfterValidator(_role)]
    password_hash: Annotated[NonEmpty, AfterValidator(_password_hash)]
    display_name: OptionalLabel = ""
    disabled: Bool = False


@dataclass(frozen=True, slots=True)
class RatingLevelTable:
    __pydantic_config__ = TABLE

    value: Annotated[Int, Field(ge=1, le=10)]
    label: Label
    label_en: OptionalLabel = ""


def _day(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")


Day = Annotated[date, BeforeValidator(_day)]


@dataclass(frozen=True, slots=True)
class CalendarTable:
    """``[calendar]``: the center's own announced days off and make-up working days (dates)."""

    __pydantic_config__ = TABLE

    days_off: tuple[Day, ...] = ()
    makeup_days: tuple[Day, ...] = ()


@dataclass(frozen=True, slots=True)
class RatingsTable:
    __pydantic_config__ = TABLE

    window_min: Annotated[Int, Field(ge=1, le=24 * 60)] = 10


def _level(value: str) -> str:
    if value.upper() not in LOG_LEVELS:
        raise ValueError(f"{value.upper()!r} is not DEBUG, INFO, WARNING or ERROR")
    return value.upper()


@dataclass(frozen=True, slots=True)
class LoggingTable:
    __pydantic_config__ = TABLE

    level: Annotated[Text, AfterValidator(_level)] = "INFO"


@dataclass(frozen=True, slots=True)
class HubFile:
    """The center's config file, table by table (in the order problems are reported)."""

    __pydantic_config__ = TABLE

    center: CenterTable
    services: tuple[ServiceTable, ...]
    counters: tuple[CounterTable, ...]
    working_hours: tuple[WorkingHoursTable, ...]
    priorities: tuple[PriorityTable, ...] = ()
    policy: PolicyTable = field(default_factory=PolicyTable)
    rules: RulesTable = field(default_factory=RulesTable)
    http: HttpSettings = field(default_factory=HttpSettings)
    store: StoreTable = field(default_factory=StoreTable)
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    users: tuple[UserTable, ...] = ()
    security: SecuritySettings = field(default_factory=SecuritySettings)
    display: DisplaySettings = field(default_factory=DisplaySettings)
    rating_scale: tuple[RatingLevelTable, ...] = ()
    rating_criteria: tuple[RatingCriterion, ...] = ()
    ratings: RatingsTable = field(default_factory=RatingsTable)
    logging: LoggingTable = field(default_factory=LoggingTable)
    integration: IntegrationTable = field(default_factory=IntegrationTable)
    province: ProvinceTable = field(default_factory=ProvinceTable)
    calendar: CalendarTable = field(default_factory=CalendarTable)
    face: dict[str, Any] | None = None   # validated by queue_server/face_config.py (queue_server.config)
    broker: dict[str, Any] | None = None  # validated by queue_server/mqtt_access.py (queue_server.config)
    bookings: dict[str, Any] | None = None        # validated by queue_server/engagement_config.py
    notifications: dict[str, Any] | None = None   # validated by queue_server/engagement_config.py


@cache
def _adapter() -> TypeAdapter[HubFile]:
    return TypeAdapter(HubFile)      # built on first use: ~40 ms, paid once per process


# ---------------------------------------------------------------------------------------------- reading

def load_settings(path: str | Path, environ: Mapping[str, str] | None = None) -> HubSettings:
    """Read, override from the environment and validate; raise ConfigError on any problem."""
    path = Path(path)
    raw = read_toml(path)
    env = os.environ if environ is None else environ
    overrides = apply_env_overrides(raw, env, HubFile)
    return settings_from_dict(raw, base_dir=path.resolve().parent, source=str(path), overrides=overrides,
                              environ=env)


def settings_from_dict(raw: dict[str, Any], *, base_dir: Path | None = None, source: str = "",
                       overrides: Overrides | None = None, environ: Mapping[str, str] | None = None
                       ) -> HubSettings:
    """Validate an already-parsed config (tests build settings this way too)."""
    data = dict(raw)
    data.setdefault("center", {})     # a missing [center] reads as its first missing key, center.id
    try:
        f = _adapter().validate_python(data)
    except ValidationError as err:
        raise from_validation_error(err, origins=overrides.origins if overrides else None) from None
    center = _center(f)
    store_path = resolve(Path(f.store.path), base_dir)
    d = f.display
    display = replace(d, volume=float(d.volume),     # folders relative to the config file, like the store
                      voice_dir=resolve(d.voice_dir, base_dir) if d.voice_dir else None,
                      recorded_voice_dir=resolve(d.recorded_voice_dir, base_dir) if d.recorded_voice_dir else None)
    users: list[UserDef] = []
    for i, u in enumerate(f.users):
        if any(x.username == u.username for x in users):
            raise ConfigError(f"users[{i}].username: duplicate user {u.username!r}")
        users.append(UserDef(u.username, u.role, u.password_hash, u.display_name or u.username, u.disabled))
    if len({r.value for r in f.rating_scale}) != len(f.rating_scale):
        raise ConfigError("rating_scale: two levels share a value")
    codes: set[str] = set()
    for i, c in enumerate(f.rating_criteria):
        if c.code in codes:
            raise ConfigError(f"rating_criteria[{i}].code: duplicate rating criterion {c.code!r}")
        codes.add(c.code)
    counter_ids = {c.id for c in center.counters}
    for i, t in enumerate(f.security.tablets):
        if t.counter not in counter_ids:
            raise ConfigError(f"security.tablets[{i}].counter: unknown counter {t.counter!r}")
    if len(f.rating_criteria) > 6:          # each one is a row of big buttons on the tablet page
        raise ConfigError(f"rating_criteria: at most 6 criteria, got {len(f.rating_criteria)}")
    both = sorted(set(f.calendar.days_off) & set(f.calendar.makeup_days))
    if both:
        i = f.calendar.makeup_days.index(both[0])
        raise ConfigError(f"calendar.makeup_days[{i}]: {both[0].isoformat()} is also a day off")
    return HubSettings(
        center=center, http=f.http, store_path=store_path, mqtt=f.mqtt, users=tuple(users), security=f.security,
        display=display,
        rating_scale=tuple(RatingLevel(r.value, r.label, r.label_en) for r in f.rating_scale) or DEFAULT_RATING_SCALE,
        rating_criteria=f.rating_criteria, rating_window_min=f.ratings.window_min, log_level=f.logging.level,
        source=source, integration=integration_from_table(f.integration, store_dir=store_path.parent,
                                                          base_dir=base_dir),
        observe_holidays=f.center.observe_holidays, notes=tuple(overrides.notes) if overrides else (),
        province=_province(f, store_path.parent, base_dir, os.environ if environ is None else environ),
        announced_days_off=frozenset(f.calendar.days_off), announced_makeup_days=frozenset(f.calendar.makeup_days))


def _province(f: HubFile, store_dir: Path, base_dir: Path | None,
              environ: Mapping[str, str]) -> ProvinceSinkSettings | None:
    sink = province_from_table(f.province, store_dir=store_dir, base_dir=base_dir, environ=environ)
    if sink is not None and sink.center and sink.center != f.center.id:
        raise ConfigError(f"province.center_id: {sink.center!r} is not this hub's center id {f.center.id!r} "
                          "(the province knows each hub by its [center] id)")
    return sink


def _center(f: HubFile) -> CenterDef:
    services: list[ServiceDef] = []
    prefixes: dict[str, str] = {}
    for i, s in enumerate(f.services):
        key = f"services[{i}]"
        if any(x.code == s.code for x in services):
            raise ConfigError(f"{key}.code: duplicate service {s.code!r}")
        if s.prefix in prefixes:
            raise ConfigError(f"{key}.prefix: prefix {s.prefix!r} already used by {prefixes[s.prefix]!r}")
        if s.number_end < s.number_start:
            raise ConfigError(f"{key}.number_end: {s.number_end} is below number_start {s.number_start}")
        if s.offline_from is not None and not s.number_start < s.offline_from <= s.number_end:
            raise ConfigError(f"{key}.offline_from: {s.offline_from} must lie above number_start {s.number_start} "
                              f"and not above number_end {s.number_end} (kiosks lease their offline blocks from there)")
        prefixes[s.prefix] = s.code
        services.append(ServiceDef(ServiceCode(s.code), s.name, s.name_en or s.code, s.prefix, s.number_start,
                                   s.number_end, s.daily_quota, s.stop_issuing_before_close_min,
                                   float(s.avg_service_min), s.offline_from, tuple(s.procedures)))
    if not services:
        raise ConfigError("services: at least one service is needed")
    codes = {s.code for s in services}
    counters: list[CounterDef] = []
    for i, c in enumerate(f.counters):
        key = f"counters[{i}]"
        if any(x.id == c.id for x in counters):
            raise ConfigError(f"{key}.id: duplicate counter {c.id!r}")
        if not c.services:
            raise ConfigError(f"{key}.services: a counter must serve at least one service")
        for j, code in enumerate(c.services):
            if code not in codes:
                raise ConfigError(f"{key}.services[{j}]: unknown service {code!r}")
            if c.services.index(code) != j:
                raise ConfigError(f"{key}.services[{j}]: {code!r} listed twice")
        counters.append(CounterDef(CounterId(c.id), c.name if c.name is not None else f"Quầy {c.id}",
                                   tuple(ServiceCode(s) for s in c.services)))
    if not counters:
        raise ConfigError("counters: at least one counter is needed")
    unserved = [s.code for s in services if not any(s.code in c.services for c in counters)]
    if unserved:
        raise ConfigError(f"services: {unserved[0]!r} is served by no counter")
    priorities: list[PriorityCategory] = []
    for i, p in enumerate(f.priorities):
        if any(x.code == p.code for x in priorities):
            raise ConfigError(f"priorities[{i}].code: duplicate priority {p.code!r}")
        priorities.append(PriorityCategory(p.code, p.label, p.label_en or p.code, p.legal_basis))
    policy = PolicyDef(PolicyKind(f.policy.kind), f.policy.interleave_normal, float(f.policy.priority_bonus_min),
                       f.policy.priority_across_services)
    rules = TicketRules(f.rules.recalls_before_no_show, f.rules.recall_delay_s, f.rules.max_reactivations)
    return CenterDef(f.center.id, f.center.name, f.center.name_en or f.center.name, tuple(services),
                     tuple(counters), tuple(priorities), policy, rules, _sessions(f.working_hours))


def _hhmm(value: Any, key: str) -> time:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ConfigError(f"{key}: expected \"HH:MM\", got {value!r}")
    h, m = value.split(":")
    return time(int(h), int(m))


def _sessions(tables: tuple[WorkingHoursTable, ...]) -> dict[int, tuple[WorkingSession, ...]]:
    sessions: dict[int, tuple[WorkingSession, ...]] = {}
    for n, t in enumerate(tables):
        parsed: list[WorkingSession] = []
        for i, span in enumerate(t.sessions):
            key = f"working_hours[{n}].sessions[{i}]"
            if not (isinstance(span, list) and len(span) == 2):
                raise ConfigError(f"{key}: expected [\"HH:MM\", \"HH:MM\"]")
            start, end = _hhmm(span[0], f"{key}[0]"), _hhmm(span[1], f"{key}[1]")
            if end <= start:
                raise ConfigError(f"{key}: ends before it starts")
            if parsed and start < parsed[-1].end:
                raise ConfigError(f"{key}: overlaps the session before it")
            parsed.append(WorkingSession(start, end))
        for i, day in enumerate(t.days):
            key = f"working_hours[{n}].days[{i}]"
            if day not in WEEKDAYS:
                raise ConfigError(f"{key}: {day!r} is not one of {', '.join(WEEKDAYS)}")
            index = WEEKDAYS.index(day)
            if index in sessions:
                raise ConfigError(f"{key}: {day} is listed twice")
            sessions[index] = tuple(parsed)
    return sessions


def working_hours_json(center: CenterDef) -> dict[str, list[list[str]]]:
    """``{"mon": [["07:30", "11:30"], ...]}`` for GET /config."""
    return {WEEKDAYS[d]: [[s.start.strftime("%H:%M"), s.end.strftime("%H:%M")] for s in spans]
            for d, spans in sorted(center.sessions.items())}
