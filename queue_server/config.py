"""Hub settings: one frozen object read from a TOML file plus ``MOTCUA_`` environment overrides.

Validated once at start; every problem is a ``ConfigError`` naming the exact key
(``counters[3].services[1]: unknown service 'dat-dai2'``). This module reads files and the environment and
nothing else: it never opens sockets or databases, and it logs nothing itself (``redacted()`` is what the CLI logs).
"""
from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from contracts.errors import ErrorCode, MotcuaError
from queue_server.domain.model import (
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
from runtime.passwords import weak_hash_reason

ENV_PREFIX = "MOTCUA_"
ROLES = ("staff", "manager", "admin")          # in rising order of power
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_PREFIX = re.compile(r"^[A-Z]{1,2}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class ConfigError(MotcuaError):
    """A config file or override that cannot be used; the message names the key."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.CONFIG_INVALID, message)


@dataclass(frozen=True, slots=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = 32                # waitress workers; each open SSE stream (a hall display) holds one
    max_body_bytes: int = 65536
    # true only when a reverse proxy the center controls sits in front and sets X-Forwarded-For; otherwise any
    # client could name its own address and dodge the per-address login throttle
    trust_forwarded_for: bool = False


@dataclass(frozen=True, slots=True)
class MqttSettings:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    client_id: str | None = None
    keepalive_s: int = 30


@dataclass(frozen=True, slots=True)
class UserDef:
    username: str
    role: str                        # staff / manager / admin
    password_hash: str               # werkzeug.security hash; `motcua user hash-password` makes one
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    device_keys: tuple[str, ...] = ()    # when set, kiosks must send X-Device-Key
    token_ttl_min: int = 720             # one working day plus margin
    # (counter, key): a rating tablet paired to a counter; with device keys set, a web rating for a counter needs
    # the key of a tablet paired to it (issue 11). Rating pads rate over MQTT through their counter's bridge.
    tablets: tuple[tuple[str, str], ...] = ()

    def tablet_keys(self, counter: str) -> tuple[str, ...]:
        return tuple(k for c, k in self.tablets if c == counter)


@dataclass(frozen=True, slots=True)
class DisplaySettings:
    notice: str = ""                     # a line scrolled on the hall display
    wait_warning_min: int = 30           # manager alert when someone has waited this long
    calls_shown: int = 8
    repeats: int = 2                     # each call is spoken this many times
    backlog: int = 3                     # with this many calls waiting to be spoken, repeats are dropped
    blink_ms: int = 6000                 # how long a new call blinks on the hall display
    sound: bool = True                   # the hall display speaks
    volume: float = 1.0
    voice_dir: Path | None = None        # generated clips (default: <store dir>/voice, made at start if missing)
    recorded_voice_dir: Path | None = None   # a recorded voice pack; its clips win over the generated ones
    hub_speaker: str = "off"             # also speak on the hub's sound device: off, auto, aplay[:device], play
    # an open counter whose console and keypad said nothing this long is flagged on the board and left out of
    # wait estimates (0 = never)
    silent_counter_min: int = 20


@dataclass(frozen=True, slots=True)
class RatingLevel:
    value: int
    label: str
    label_en: str


DEFAULT_RATING_SCALE = (
    RatingLevel(3, "Rất hài lòng", "Very satisfied"),
    RatingLevel(2, "Hài lòng", "Satisfied"),
    RatingLevel(1, "Không hài lòng", "Not satisfied"),
)


@dataclass(frozen=True, slots=True)
class RatingCriterion:
    """An optional aspect rated on the same scale (e.g. thái độ phục vụ); none by default."""

    code: str                            # a slug, the key in a rating's ``criteria``
    label: str
    label_en: str = ""


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
    # [integration]: dossier mirror, working calendar, main-system link and outbox (queue_server.app.integration);
    # None = defaults next to the store (lookups answered from the mirror, no outbox)
    integration: Any = None
    observe_holidays: bool = True        # close on public holidays and announced days off, open on make-up days
    # [province] (issue 17): the second outbox sink to `motcua province`; None = not configured
    province: Any = None
    # [broker] (issue 11): the center's MQTT users (queue_server.mqtt_access.BrokerInventory); None = lab broker
    broker: Any = None
    # [face] (issue 15 hook): face lookup settings, parsed by queue_server/face_config.py; None = off
    face: Any = None

    def user(self, username: str) -> UserDef | None:
        return next((u for u in self.users if u.username == username), None)

    def redacted(self) -> dict[str, Any]:
        """A loggable summary: no password, hash or device key ever appears in it."""
        c = self.center
        return {
            "source": self.source,
            "center": {"id": c.id, "name": c.name, "services": len(c.services), "counters": len(c.counters),
                       "priorities": [p.code for p in c.priorities], "policy": str(c.policy.kind)},
            "http": {"host": self.http.host, "port": self.http.port, "threads": self.http.threads,
                     "trust_forwarded_for": self.http.trust_forwarded_for},
            "store": str(self.store_path),
            "mqtt": {"enabled": self.mqtt.enabled, "host": self.mqtt.host, "port": self.mqtt.port,
                     "username": self.mqtt.username, "password": "***" if self.mqtt.password else None,
                     "tls": self.mqtt.tls},
            "users": [f"{u.username}({u.role})" for u in self.users],
            "security": {"device_keys": f"{len(self.security.device_keys)} key(s)",
                         "tablets": f"{len(self.security.tablets)} paired",
                         "token_ttl_min": self.security.token_ttl_min},
            "province": {"url": self.province.url, "key": "***"} if self.province is not None else None,
        }


# ---------------------------------------------------------------------------------------------- reading

def _procedures(items: list[Any], where: str) -> tuple[str, ...]:
    """A service's common procedures (thủ tục): non-empty texts, each at most 200 characters."""
    out: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip() or len(item) > 200:
            raise ConfigError(f"{where}[{i}]: expected the name of a procedure (text, 1–200 characters)")
        out.append(item.strip())
    return tuple(out)


def load_settings(path: str | Path, environ: Mapping[str, str] | None = None) -> HubSettings:
    """Read, override from the environment and validate; raise ConfigError on any problem."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: no such file") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err
    apply_env_overrides(raw, os.environ if environ is None else environ)
    base = path.resolve().parent
    return settings_from_dict(raw, base_dir=base, source=str(path), strict_hashes=True)


def apply_env_overrides(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    """``MOTCUA_MQTT__PORT=1884`` sets ``[mqtt] port``; values are read as TOML values, else as strings."""
    for name, text in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue       # MOTCUA_CONFIG and the like are not overrides
        keys = [k.lower() for k in name[len(ENV_PREFIX):].split("__")]
        if any(not k for k in keys):
            raise ConfigError(f"{name}: empty key segment")
        try:
            value: Any = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        node = raw
        for k in keys[:-1]:
            child = node.setdefault(k, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{name}: {k} is not a table")
            node = child
        node[keys[-1]] = value


class _Table:
    """A TOML table being read: typed getters that name the full key path, and a check for unknown keys."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{path or 'config'}: expected a table")
        self.data = data
        self.path = path
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def _get(self, name: str, kinds: tuple[type, ...], what: str, default: Any, required: bool) -> Any:
        self.seen.add(name)
        if name not in self.data:
            if required:
                raise ConfigError(f"{self.key(name)}: missing")
            return default
        value = self.data[name]
        if isinstance(value, bool) and bool not in kinds:
            raise ConfigError(f"{self.key(name)}: expected {what}, got a boolean")
        if not isinstance(value, kinds):
            raise ConfigError(f"{self.key(name)}: expected {what}, got {type(value).__name__}")
        return value

    def text(self, name: str, default: Any = None, *, required: bool = False, nonempty: bool = False) -> Any:
        value = self._get(name, (str,), "a string", default, required)
        if nonempty and (value is None or not value.strip()):
            raise ConfigError(f"{self.key(name)}: must not be empty")
        return value

    def integer(self, name: str, default: Any = None, *, required: bool = False, lo: int | None = None,
            hi: int | None = None) -> Any:
        value = self._get(name, (int,), "an integer", default, required)
        if value is not None:
            if lo is not None and value < lo:
                raise ConfigError(f"{self.key(name)}: must be >= {lo}, got {value}")
            if hi is not None and value > hi:
                raise ConfigError(f"{self.key(name)}: must be <= {hi}, got {value}")
        return value

    def num(self, name: str, default: float, *, lo: float = 0.0) -> float:
        value = self._get(name, (int, float), "a number", default, False)
        if value < lo:
            raise ConfigError(f"{self.key(name)}: must be >= {lo}, got {value}")
        return float(value)

    def flag(self, name: str, default: bool) -> bool:
        return bool(self._get(name, (bool,), "true or false", default, False))

    def array(self, name: str, *, required: bool = False) -> list[Any]:
        return list(self._get(name, (list,), "an array", [], required))

    def table(self, name: str) -> _Table:
        self.seen.add(name)
        return _Table(self.data.get(name, {}), self.key(name))

    def tables(self, name: str, *, required: bool = False) -> list[_Table]:
        items = self.array(name, required=required)
        return [_Table(item, f"{self.key(name)}[{i}]") for i, item in enumerate(items)]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise ConfigError(f"{self.key(unknown[0])}: unknown key")


def _slug(value: str, key: str) -> str:
    if not _SLUG.match(value):
        raise ConfigError(f"{key}: {value!r} must be a lowercase slug (a-z, 0-9, '_', '.', '-')")
    return value


def _hhmm(value: Any, key: str) -> time:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ConfigError(f"{key}: expected \"HH:MM\", got {value!r}")
    h, m = value.split(":")
    return time(int(h), int(m))


def _read_sessions(root: _Table) -> dict[int, tuple[WorkingSession, ...]]:
    sessions: dict[int, tuple[WorkingSession, ...]] = {}
    for t in root.tables("working_hours", required=True):
        days = t.array("days", required=True)
        spans = t.array("sessions", required=True)
        t.done()
        parsed: list[WorkingSession] = []
        for i, span in enumerate(spans):
            key = f"{t.key('sessions')}[{i}]"
            if not (isinstance(span, list) and len(span) == 2):
                raise ConfigError(f"{key}: expected [\"HH:MM\", \"HH:MM\"]")
            start, end = _hhmm(span[0], f"{key}[0]"), _hhmm(span[1], f"{key}[1]")
            if end <= start:
                raise ConfigError(f"{key}: ends before it starts")
            if parsed and start < parsed[-1].end:
                raise ConfigError(f"{key}: overlaps the session before it")
            parsed.append(WorkingSession(start, end))
        for i, day in enumerate(days):
            key = f"{t.key('days')}[{i}]"
            if day not in WEEKDAYS:
                raise ConfigError(f"{key}: {day!r} is not one of {', '.join(WEEKDAYS)}")
            index = WEEKDAYS.index(day)
            if index in sessions:
                raise ConfigError(f"{key}: {day} is listed twice")
            sessions[index] = tuple(parsed)
    return sessions


def settings_from_dict(raw: dict[str, Any], *, base_dir: Path | None = None, source: str = "",
                       strict_hashes: bool = False) -> HubSettings:
    """Validate an already-parsed config (tests build settings this way too). ``strict_hashes``: refuse cheap
    password hashes — on for every config file (load_settings: the hub, config check), off for settings a test
    builds in memory with deliberately cheap hashes."""
    root = _Table(raw, "")

    # center --------------------------------------------------------------------------------------------
    ct = root.table("center")
    center_id = _slug(ct.text("id", required=True), "center.id")
    center_name = ct.text("name", required=True, nonempty=True)
    center_name_en = ct.text("name_en", "", nonempty=False) or center_name
    # false only for a test or a demo that must run on any date: the center then ignores public holidays
    observe_holidays = ct.flag("observe_holidays", True)
    ct.done()

    services: list[ServiceDef] = []
    codes: set[str] = set()
    prefixes: dict[str, str] = {}
    for st in root.tables("services", required=True):
        code = _slug(st.text("code", required=True), st.key("code"))
        if code in codes:
            raise ConfigError(f"{st.key('code')}: duplicate service {code!r}")
        prefix = st.text("prefix", required=True)
        if not _PREFIX.match(prefix):
            raise ConfigError(f"{st.key('prefix')}: {prefix!r} must be one or two capital letters A-Z")
        if prefix in prefixes:
            raise ConfigError(f"{st.key('prefix')}: prefix {prefix!r} already used by {prefixes[prefix]!r}")
        start = st.integer("number_start", 1, lo=0)
        end = st.integer("number_end", 999, lo=1, hi=9999)
        if end < start:
            raise ConfigError(f"{st.key('number_end')}: {end} is below number_start {start}")
        offline_from = st.integer("offline_from", None, lo=0)
        if offline_from is not None and not start < offline_from <= end:
            raise ConfigError(f"{st.key('offline_from')}: {offline_from} must lie above number_start {start} and "
                              f"not above number_end {end} (kiosks lease their offline blocks from there)")
        services.append(ServiceDef(
            code=ServiceCode(code),
            name=st.text("name", required=True, nonempty=True),
            name_en=st.text("name_en", "") or code,
            prefix=prefix,
            number_start=start,
            number_end=end,
            daily_quota=st.integer("daily_quota", None, lo=1),
            stop_issuing_before_close_min=st.integer("stop_issuing_before_close_min", 30, lo=0, hi=600),
            avg_service_min=st.num("avg_service_min", 10.0, lo=0.1),
            offline_from=offline_from,
            procedures=_procedures(st.array("procedures"), st.key("procedures")),
        ))
        st.done()
        codes.add(code)
        prefixes[prefix] = code
    if not services:
        raise ConfigError("services: at least one service is needed")

    counters: list[CounterDef] = []
    counter_ids: set[str] = set()
    for qt in root.tables("counters", required=True):
        raw_id = qt.data.get("id")
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            qt.data["id"] = str(raw_id)          # `id = 5` is what people write for "Quầy 5"
        cid = _slug(qt.text("id", required=True), qt.key("id"))
        if cid in counter_ids:
            raise ConfigError(f"{qt.key('id')}: duplicate counter {cid!r}")
        served = qt.array("services", required=True)
        if not served:
            raise ConfigError(f"{qt.key('services')}: a counter must serve at least one service")
        for i, code in enumerate(served):
            if not isinstance(code, str):
                raise ConfigError(f"{qt.key('services')}[{i}]: expected a service code string")
            if code not in codes:
                raise ConfigError(f"{qt.key('services')}[{i}]: unknown service {code!r}")
            if served.index(code) != i:
                raise ConfigError(f"{qt.key('services')}[{i}]: {code!r} listed twice")
        counters.append(CounterDef(CounterId(cid), qt.text("name", f"Quầy {cid}"), tuple(ServiceCode(s) for s in served)))
        qt.done()
        counter_ids.add(cid)
    if not counters:
        raise ConfigError("counters: at least one counter is needed")
    unserved = [s.code for s in services if not any(s.code in c.services for c in counters)]
    if unserved:
        raise ConfigError(f"services: {unserved[0]!r} is served by no counter")

    priorities: list[PriorityCategory] = []
    for pt in root.tables("priorities"):
        code = _slug(pt.text("code", required=True), pt.key("code"))
        if any(p.code == code for p in priorities):
            raise ConfigError(f"{pt.key('code')}: duplicate priority {code!r}")
        priorities.append(PriorityCategory(code, pt.text("label", required=True, nonempty=True),
                                           pt.text("label_en", "") or code,
                                           pt.text("legal_basis", required=True, nonempty=True)))
        pt.done()

    pol = root.table("policy")
    kind_text = pol.text("kind", "strict")
    try:
        kind = PolicyKind(kind_text)
    except ValueError as err:
        raise ConfigError(f"policy.kind: {kind_text!r} is not one of strict, interleave, weighted") from err
    policy = PolicyDef(kind, pol.integer("interleave_normal", 3, lo=1, hi=100), pol.num("priority_bonus_min", 15.0),
                       pol.flag("priority_across_services", True))
    pol.done()

    ru = root.table("rules")
    rules = TicketRules(ru.integer("recalls_before_no_show", 2, lo=0, hi=10), ru.integer("recall_delay_s", 30, lo=0),
                        ru.integer("max_reactivations", 1, lo=0, hi=10))
    ru.done()

    sessions = _read_sessions(root)
    center = CenterDef(center_id, center_name, center_name_en, tuple(services), tuple(counters),
                       tuple(priorities), policy, rules, sessions)

    # process settings ----------------------------------------------------------------------------------
    ht = root.table("http")
    http = HttpSettings(ht.text("host", "127.0.0.1", nonempty=True), ht.integer("port", 8080, lo=0, hi=65535),
                        ht.integer("threads", 32, lo=2, hi=512), ht.integer("max_body_bytes", 65536, lo=1024),
                        ht.flag("trust_forwarded_for", False))
    ht.done()

    so = root.table("store")
    store_text = so.text("path", "var/motcua.sqlite3", nonempty=True)
    so.done()
    store_path = Path(store_text)
    if not store_path.is_absolute() and base_dir is not None:
        store_path = base_dir / store_path

    mq = root.table("mqtt")
    mqtt = MqttSettings(
        enabled=mq.flag("enabled", True),
        host=mq.text("host", "127.0.0.1", nonempty=True),
        port=mq.integer("port", 1883, lo=1, hi=65535),
        username=mq.text("username", None) or None,
        password=mq.text("password", None) or None,
        tls=mq.flag("tls", False),
        ca_file=mq.text("ca_file", None) or None,
        client_id=mq.text("client_id", None) or None,
        keepalive_s=mq.integer("keepalive_s", 30, lo=5, hi=3600),
    )
    mq.done()

    users: list[UserDef] = []
    for ut in root.tables("users"):
        name = ut.text("username", required=True, nonempty=True)
        if any(u.username == name for u in users):
            raise ConfigError(f"{ut.key('username')}: duplicate user {name!r}")
        role = ut.text("role", required=True)
        if role not in ROLES:
            raise ConfigError(f"{ut.key('role')}: {role!r} is not one of {', '.join(ROLES)}")
        pw_hash = ut.text("password_hash", required=True, nonempty=True)
        if not re.match(r"^(scrypt|pbkdf2)[:$]", pw_hash):
            raise ConfigError(f"{ut.key('password_hash')}: not a werkzeug password hash "
                              "(make one with `motcua user hash-password`)")
        weak = weak_hash_reason(pw_hash) if strict_hashes else None
        if weak is not None:
            raise ConfigError(f"{ut.key('password_hash')}: {weak}; make a new one with `motcua user hash-password`")
        users.append(UserDef(name, role, pw_hash, ut.text("display_name", "") or name))
        ut.done()

    sec = root.table("security")
    keys = sec.array("device_keys")
    for i, k in enumerate(keys):
        if not isinstance(k, str) or len(k) < 16:
            raise ConfigError(f"security.device_keys[{i}]: expected a string of at least 16 characters")
    ttl = sec.integer("token_ttl_min", 720, lo=1, hi=7 * 24 * 60)
    tablets: list[tuple[str, str]] = []
    for tt in sec.tables("tablets"):
        counter_id = tt.text("counter", required=True, nonempty=True)
        tablet_key = tt.text("key", required=True, nonempty=True)
        if counter_id not in {c.id for c in center.counters}:
            raise ConfigError(f"{tt.key('counter')}: unknown counter {counter_id!r}")
        if len(tablet_key) < 16:
            raise ConfigError(f"{tt.key('key')}: expected a string of at least 16 characters")
        tablets.append((counter_id, tablet_key))
        tt.done()
    security = SecuritySettings(tuple(keys), ttl, tuple(tablets))
    sec.done()

    dt = root.table("display")

    def folder(key: str) -> Path | None:
        text = dt.text(key, None)
        if not text:
            return None
        path = Path(text)
        return base_dir / path if not path.is_absolute() and base_dir is not None else path

    speaker = dt.text("hub_speaker", "off")
    if speaker not in ("off", "auto", "play") and not speaker.startswith(("aplay", "sim://")):
        raise ConfigError(f"display.hub_speaker: {speaker!r} is not off, auto, aplay[:device], play or sim://audio")
    display = DisplaySettings(dt.text("notice", ""), dt.integer("wait_warning_min", 30, lo=1),
                              dt.integer("calls_shown", 8, lo=1, hi=50), dt.integer("repeats", 2, lo=1, hi=5),
                              dt.integer("backlog", 3, lo=1, hi=50), dt.integer("blink_ms", 6000, lo=0, hi=60000),
                              dt.flag("sound", True), float(dt.num("volume", 1.0, lo=0.0)), folder("voice_dir"),
                              folder("recorded_voice_dir"), speaker,
                              silent_counter_min=dt.integer("silent_counter_min", 20, lo=0, hi=24 * 60))
    if display.volume > 1.0:
        raise ConfigError(f"display.volume: must be <= 1.0, got {display.volume}")
    dt.done()

    scale: list[RatingLevel] = []
    for rt in root.tables("rating_scale"):
        scale.append(RatingLevel(rt.integer("value", required=True, lo=1, hi=10),
                                 rt.text("label", required=True, nonempty=True), rt.text("label_en", "")))
        rt.done()
    if len({r.value for r in scale}) != len(scale):
        raise ConfigError("rating_scale: two levels share a value")
    criteria: list[RatingCriterion] = []
    for ct_ in root.tables("rating_criteria"):
        code = _slug(ct_.text("code", required=True), ct_.key("code"))
        if any(c.code == code for c in criteria):
            raise ConfigError(f"{ct_.key('code')}: duplicate rating criterion {code!r}")
        criteria.append(RatingCriterion(code, ct_.text("label", required=True, nonempty=True),
                                        ct_.text("label_en", "")))
        ct_.done()
    if len(criteria) > 6:          # each one is a row of big buttons on the tablet page
        raise ConfigError(f"rating_criteria: at most 6 criteria, got {len(criteria)}")
    rs = root.table("ratings")
    rating_window_min = rs.integer("window_min", 10, lo=1, hi=24 * 60)
    rs.done()

    log = root.table("logging")
    level = log.text("level", "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"logging.level: {level!r} is not DEBUG, INFO, WARNING or ERROR")
    log.done()

    integration = _read_integration(root, store_path, base_dir)
    province = _read_province(root, store_path, base_dir, center.id)
    broker = _read_broker(root, center)
    face = _read_face(root, store_path, base_dir)   # issue 15 hook

    root.done()
    return HubSettings(center=center, http=http, store_path=store_path, mqtt=mqtt, users=tuple(users),
                       security=security, display=display,
                       rating_scale=tuple(scale) or DEFAULT_RATING_SCALE, rating_criteria=tuple(criteria),
                       rating_window_min=rating_window_min, log_level=level, source=source,
                       integration=integration, observe_holidays=observe_holidays, province=province,
                       broker=broker, face=face)


def _read_broker(root: _Table, center: Any) -> Any:
    """``[broker]`` (issue 11): the center's MQTT users, validated by queue_server.mqtt_access (names the key)."""
    from queue_server.mqtt_access import BrokerConfigError, parse_broker

    root.seen.add("broker")
    try:
        return parse_broker(root.data.get("broker"), center.id, {c.id for c in center.counters})
    except BrokerConfigError as err:
        raise ConfigError(str(err)) from err


def _read_face(root: _Table, store_path: Path, base_dir: Path | None) -> Any:
    """``[face]`` (issue 15) is validated by queue_server/face_config.py; absent = face lookup off."""
    root.seen.add("face")
    if "face" not in root.data:
        return None
    from queue_server.face_config import FaceConfigError, parse_face

    try:
        return parse_face(root.data["face"], store_path=store_path, base_dir=base_dir)
    except FaceConfigError as err:
        raise ConfigError(str(err)) from err


def _read_province(root: _Table, store_path: Path, base_dir: Path | None, center_id: str) -> Any:
    """``[province]`` (issue 17) is validated by the province sink's own parser, which names the key."""
    from queue_server.adapters.province_sink import ProvinceConfigError, parse_province

    root.seen.add("province")
    table = root.data.get("province", {})
    if not isinstance(table, dict):
        raise ConfigError("province: expected a table")
    try:
        cfg = parse_province(table, store_path, base_dir)
    except ProvinceConfigError as err:
        raise ConfigError(str(err)) from err
    if cfg is not None and cfg.center and cfg.center != center_id:
        raise ConfigError(f"province.center_id: {cfg.center!r} is not this hub's center id {center_id!r} "
                          "(the province knows each hub by its [center] id)")
    return cfg


def _read_integration(root: _Table, store_path: Path, base_dir: Path | None) -> Any:
    """``[integration]`` is validated by its own parser (it names the key); relative paths follow the config file,
    and the dossier mirror and outbox default to files beside the hub's store."""
    from dataclasses import replace

    from queue_server.app.integration import IntegrationConfigError, parse_integration

    root.seen.add("integration")
    table = root.data.get("integration", {})
    if not isinstance(table, dict):
        raise ConfigError("integration: expected a table")
    try:
        cfg = parse_integration(table)
    except IntegrationConfigError as err:
        raise ConfigError(str(err)) from err

    def place(value: Path, key: str, default_name: str) -> Path:
        if key not in table:
            return store_path.parent / default_name
        return base_dir / value if not value.is_absolute() and base_dir is not None else value

    calendar_dir = cfg.calendar_dir
    if calendar_dir is not None and not calendar_dir.is_absolute() and base_dir is not None:
        calendar_dir = base_dir / calendar_dir
    return replace(cfg, mirror_path=place(cfg.mirror_path, "mirror_path", "dossiers.sqlite3"),
                   outbox_path=place(cfg.outbox_path, "outbox_path", "outbox.sqlite3"), calendar_dir=calendar_dir)


def working_hours_json(center: CenterDef) -> dict[str, list[list[str]]]:
    """``{"mon": [["07:30", "11:30"], ...]}`` for GET /config."""
    return {WEEKDAYS[d]: [[s.start.strftime("%H:%M"), s.end.strftime("%H:%M")] for s in spans]
            for d, spans in sorted(center.sessions.items())}
