"""Payloads on the wire: the event envelope, event types, state snapshots and cmd/reply messages.

Every message is a frozen dataclass with ``to_json()`` / ``from_json()``; ``from_json`` validates and raises
MessageError with a clear reason, so a bad payload from a device never crashes a process.
"""
from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

try:   # optional speed-up (the hub extra installs it); the stdlib encoder gives the same text for our payloads
    import orjson as _orjson
except ImportError:   # pragma: no cover - exercised on machines without the hub extra
    _orjson = None  # type: ignore[assignment]

VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")


class MessageError(ValueError):
    """A payload that is not valid JSON or does not have the fields the contract requires."""


class EventType(StrEnum):
    TICKET_ISSUED = "ticket.issued"
    TICKET_CALLED = "ticket.called"
    TICKET_RECALLED = "ticket.recalled"
    TICKET_SERVING = "ticket.serving"
    TICKET_DONE = "ticket.done"
    TICKET_NO_SHOW = "ticket.no_show"
    TICKET_REACTIVATED = "ticket.reactivated"
    TICKET_TRANSFERRED = "ticket.transferred"
    TICKET_CANCELLED = "ticket.cancelled"
    TICKET_PRINT_RECORDED = "ticket.print_recorded"   # data.ticket.printed true/false, data.fault
    LEASE_GRANTED = "lease.granted"                   # a block of numbers reserved for an offline kiosk
    COUNTER_OPENED = "counter.opened"
    COUNTER_PAUSED = "counter.paused"
    COUNTER_CLOSED = "counter.closed"
    COUNTER_TAKEN_OVER = "counter.taken_over"         # data.from_staff: who had it open; data.staff: who took it
    RATING_SUBMITTED = "rating.submitted"
    DEVICE_ONLINE = "device.online"
    DEVICE_OFFLINE = "device.offline"
    DEVICE_FAULT = "device.fault"
    DOSSIER_UPDATED = "dossier.updated"
    HELP_REQUESTED = "help.requested"                 # a citizen pressed "Cần hỗ trợ" on a kiosk: data.kiosk
    HELP_ANSWERED = "help.answered"                   # staff went to that kiosk: data.kiosk, data.staff, data.staff_name


def dumps(obj: Any) -> str:
    """Compact JSON text with non-ASCII kept as is (Vietnamese stays readable): the wire and store format.

    orjson when installed (about 10x faster, and the hub encodes every event three times: store, MQTT, SSE);
    the stdlib otherwise, or for anything orjson refuses (an int beyond 64 bits), so the result never depends on
    which is present except for float spelling (``1e16`` vs ``1e+16``, both valid JSON).
    """
    if _orjson is not None:
        try:
            return _orjson.dumps(obj, option=_orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:
            pass
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


_FORMATTED: dict[datetime, str] = {}
_FORMATTED_MAX = 4096


def format_at(moment: datetime) -> str:
    """ISO 8601 in Vietnam time with an explicit +07:00 offset, to the second (no microseconds on the wire)."""
    # Cached: the hub formats the same few seconds over and over (a ticket's issued_at == queued_at, a burst of
    # commands shares one second); a hit costs a hash instead of astimezone + replace + isoformat (~3 us).
    # Equal instants in other zones hash and compare equal and format the same, so the key is safe.
    text = _FORMATTED.get(moment)
    if text is not None:
        return text
    if moment.tzinfo is None:
        raise MessageError("timestamps must be timezone-aware")
    text = moment.astimezone(VN_TZ).replace(microsecond=0).isoformat()
    if len(_FORMATTED) >= _FORMATTED_MAX:
        _FORMATTED.clear()
    _FORMATTED[moment] = text
    return text


def parse_at(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError) as err:
        raise MessageError(f"at: {text!r} is not an ISO 8601 timestamp") from err
    if moment.tzinfo is None:
        raise MessageError(f"at: {text!r} has no UTC offset")
    return moment


def _flat(obj: Any) -> dict[str, Any]:
    """``asdict`` for the flat snapshot dataclasses without its deep copy (the hub publishes these under load)."""
    return {name: getattr(obj, name) for name in obj.__slots__}


MAX_JSON_DEPTH = 32      # no motcua message nests deeper than a few levels; a "[[[[…" flood is refused first


def json_depth(raw: str | bytes) -> int:
    """How deep arrays and objects nest in a JSON text (brackets inside strings do not count); linear, no
    recursion, so a hostile payload costs one pass and never the parser's stack."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else raw
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _loads(raw: str | bytes) -> dict[str, Any]:
    if isinstance(raw, (str, bytes, bytearray)) and json_depth(raw) > MAX_JSON_DEPTH:
        raise MessageError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        obj = json.loads(raw)
    except (TypeError, ValueError, UnicodeDecodeError, RecursionError) as err:
        raise MessageError(f"not valid JSON: {err}") from err
    if not isinstance(obj, dict):
        raise MessageError("expected a JSON object")
    return obj


def _require(obj: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    if name not in obj:
        raise MessageError(f"{name}: missing")
    value = obj[name]
    # bool is an int in Python; a seq of `true` is still wrong.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise MessageError(f"{name}: expected {getattr(kind, '__name__', kind)}, got a boolean")
    if not isinstance(value, kind):
        raise MessageError(f"{name}: expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
    return value


# Not os.urandom per event: ids need uniqueness, not secrecy (they are published), and a syscall on the hub
# writer's path releases the GIL, which under load costs the writer a wait to get it back (~15 us per event). A
# private generator seeded from the OS, so nobody seeding the global ``random`` (Hypothesis, a simulation) repeats
# ids, and reseeded in a forked child.
_ID_BITS = random.Random()
os.register_at_fork(after_in_child=_ID_BITS.seed)


def event_id(at: datetime) -> str:
    """THE id of every event (queue events, ratings, device faults ...): a UUIDv7 (RFC 9562) for an event at
    ``at``: 48 bits of Unix milliseconds, then 74 random bits.

    Time-ordered ids keep the log's unique index on ``id`` growing at its right edge: a commit dirties one index
    page instead of one random page per event (WAL pages per commit of 3 issues 18.0 -> 16.7). Uniqueness
    comes from the random bits, so equal timestamps (whole seconds, a fixed test clock) are fine.
    """
    ms = int(at.timestamp() * 1000)
    rand = _ID_BITS.getrandbits(74)
    value = ((ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | (rand >> 62 & 0xFFF) << 64 | 0b10 << 62
             | rand & ((1 << 62) - 1))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True, slots=True)
class Envelope:
    """One stored state change: stored first, then published on ``event/<type>`` and pushed to the main system."""

    id: str
    seq: int
    type: str
    center: str
    at: str
    data: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def new(seq: int, type: str, center: str, at: datetime, data: dict[str, Any]) -> Envelope:
        return Envelope(event_id(at), seq, str(type), center, format_at(at), dict(data))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "seq": self.seq, "type": self.type, "center": self.center, "at": self.at,
                "data": self.data}

    def to_json(self) -> str:
        return dumps(self.to_dict())

    @staticmethod
    def from_dict(obj: dict[str, Any]) -> Envelope:
        seq = _require(obj, "seq", int)
        if seq < 1:
            raise MessageError("seq: must be >= 1")
        at = _require(obj, "at", str)
        parse_at(at)
        return Envelope(
            id=_require(obj, "id", str),
            seq=seq,
            type=_require(obj, "type", str),
            center=_require(obj, "center", str),
            at=at,
            data=_require(obj, "data", dict),
        )

    @staticmethod
    def from_json(raw: str | bytes) -> Envelope:
        return Envelope.from_dict(_loads(raw))



# Face data never leaves the center (DOMAIN.md; Law 91/2025/QH15 Art. 31): a face.* event keeps its place in the
# sequence — receivers check seqs for gaps — but goes out (outbox, province sink, MQTT, which a bridge may carry off
# site) with its data withheld: no subject, no linked dossier codes. The hub's own log keeps the whole event.
STAYS_IN_THE_CENTER = ("face.",)


def withhold_private(envelope: Envelope) -> Envelope:
    """The envelope as it may leave the hub's store: face events with their data withheld, the rest unchanged."""
    if envelope.type.startswith(STAYS_IN_THE_CENTER):
        return replace(envelope, data={"withheld": "face data stays in the center"})
    return envelope


# Logins are half a credential: what screens and devices hear (SSE, MQTT) carries display names only; the log keeps
# the logins for reports and the audit.
_LOGIN_KEYS = ("staff_login", "from_staff")


def public_envelope(envelope: Envelope) -> Envelope:
    """An envelope as the public event stream and MQTT carry it: private data withheld (see ``withhold_private``),
    no staff logins, and ``config.changed`` as the sections that changed only (screens refetch what they show; who
    changed what, and the user list, stay in the log and the audit)."""
    envelope = withhold_private(envelope)
    data = envelope.data
    if not isinstance(data, dict):
        return envelope
    if envelope.type == "config.changed":
        return replace(envelope, data={"sections": list(data.get("sections", []))})
    ticket = data.get("ticket")
    if not (any(k in data for k in _LOGIN_KEYS) or (isinstance(ticket, dict) and ticket.get("staff") is not None)):
        return envelope
    clean = {k: v for k, v in data.items() if k not in _LOGIN_KEYS}
    if isinstance(ticket, dict):
        clean["ticket"] = {**ticket, "staff": None}
    return replace(envelope, data=clean)

@dataclass(frozen=True, slots=True)
class CallInfo:
    """One call as a display shows it: ``A023`` → counter ``5``."""

    ticket_id: str
    number: str
    service: str
    counter: str
    counter_name: str
    at: str
    recall: int = 0


@dataclass(frozen=True, slots=True)
class CallsSnapshot:
    """Retained on ``state/calls``: newest first."""

    seq: int
    calls: tuple[CallInfo, ...]

    def to_json(self) -> str:
        return json.dumps({"seq": self.seq, "calls": [_flat(c) for c in self.calls]}, ensure_ascii=False)

    @staticmethod
    def from_json(raw: str | bytes) -> CallsSnapshot:
        obj = _loads(raw)
        calls = _require(obj, "calls", list)
        try:
            parsed = tuple(CallInfo(**c) for c in calls)
        except TypeError as err:
            raise MessageError(f"calls: {err}") from err
        return CallsSnapshot(_require(obj, "seq", int), parsed)


@dataclass(frozen=True, slots=True)
class CounterState:
    """Retained on ``state/counters/<id>``. ``status`` is open / paused / closed."""

    seq: int
    counter: str
    name: str
    status: str
    pause_reason: str | None = None
    staff: str | None = None                # the staff member's DISPLAY name (a login never reaches a screen)
    current_ticket: str | None = None       # display number, e.g. "A023"
    current_ticket_id: str | None = None
    current_status: str | None = None       # called / serving
    since: str | None = None
    # the ticket in hand is from an earlier working day (left at closing): numbers restart every day, so the hall
    # and the counter's LED do not show it — today's A001 is another citizen; the console still does
    held_over: bool = False

    def to_json(self) -> str:
        return json.dumps(_flat(self), ensure_ascii=False)

    @staticmethod
    def from_json(raw: str | bytes) -> CounterState:
        obj = _loads(raw)
        _require(obj, "counter", str)
        _require(obj, "status", str)
        names = {f.name for f in fields(CounterState)}
        return CounterState(**{k: v for k, v in obj.items() if k in names})


@dataclass(frozen=True, slots=True)
class ServiceState:
    """Retained on ``state/services/<code>``."""

    seq: int
    service: str
    name: str
    waiting: int
    estimated_wait_min: int                 # the expected wait (kept for old clients); show the range below
    last_called: str | None = None
    accepting: bool = True
    wait_low_min: int | None = None         # "khoảng 20–30 phút": the range a citizen is told
    wait_high_min: int | None = None
    served_now: bool = True                 # False: no open or paused counter serves it now
    wait_past_close: bool = False           # the expected call falls after today's working hours

    def to_json(self) -> str:
        return json.dumps(_flat(self), ensure_ascii=False)

    @staticmethod
    def from_json(raw: str | bytes) -> ServiceState:
        obj = _loads(raw)
        _require(obj, "service", str)
        _require(obj, "waiting", int)
        names = {f.name for f in fields(ServiceState)}
        return ServiceState(**{k: v for k, v in obj.items() if k in names})


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """On ``cmd/<command>``: ``args`` are the command's arguments, ``reply_to`` a correlation id."""

    command: str
    correlation_id: str
    args: dict[str, Any] = field(default_factory=dict)
    source: str = ""          # device or tool id, for the log

    def to_json(self) -> str:
        return json.dumps({"command": self.command, "correlation_id": self.correlation_id, "args": self.args,
                           "source": self.source}, ensure_ascii=False)

    @staticmethod
    def from_json(raw: str | bytes) -> CommandRequest:
        obj = _loads(raw)
        args, source = obj.get("args"), obj.get("source")
        return CommandRequest(
            command=_require(obj, "command", str),
            correlation_id=_require(obj, "correlation_id", str),
            args=args if isinstance(args, dict) else {},
            source=source if isinstance(source, str) else "",
        )


@dataclass(frozen=True, slots=True)
class CommandReply:
    """On ``reply/<command>``: ``ok`` with ``result``, or an ``error`` {code, message}."""

    command: str
    correlation_id: str
    ok: bool
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None

    def to_json(self) -> str:
        return json.dumps(_flat(self), ensure_ascii=False)

    @staticmethod
    def from_json(raw: str | bytes) -> CommandReply:
        obj = _loads(raw)
        return CommandReply(
            command=_require(obj, "command", str),
            correlation_id=_require(obj, "correlation_id", str),
            ok=_require(obj, "ok", bool),
            result=obj.get("result"),
            error=obj.get("error"),
        )


class Availability(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
