"""What every blueprint shares: the documented-route decorator, strict JSON body and query validation, and
the hub context object (settings, service, tokens, broadcaster) stored on the Flask app.

Every JSON route of the hub is declared with ``route``: its guards (guards.py), its body and query specs, its
success schema (schemas.py) and its refusals, in one place. Validation happens here, before any command reaches
a service, so bad input never causes a write. The same specs feed the OpenAPI document (openapi.py), so the docs
cannot drift from the checks.
"""
from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from flask import Blueprint, current_app, g, request

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import MAX_JSON_DEPTH, json_depth
from queue_server.web import guards
from queue_server.web.guards import RateLimiter, Session, TokenStore

if TYPE_CHECKING:
    from queue_server.app.queue_service import QueueService
    from queue_server.config import HubSettings
    from queue_server.web.sse import Broadcaster

API_PREFIX = "/api/v1"


@dataclass
class HubContext:
    settings: HubSettings
    service: QueueService
    tokens: TokenStore
    broadcaster: Broadcaster
    mqtt: Any = None                 # anything with a ``connected`` bool, or None when MQTT is off
    devices: Any = None              # the DeviceRegistry (printers, scanners, counter devices), or None
    live: Any = None                 # the LiveConfig (admin's live changes), or None in a bare test app
    keepalive_s: float = 15.0
    notifier: Any = None             # the NotificationService when [notifications] is set (contacts at the kiosk)
    # issuing per device key (or address): guards.ISSUE_LIMIT
    issue_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(guards.ISSUE_LIMIT))
    # "Cần hỗ trợ" per device key (or address): guards.HELP_LIMIT
    help_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(guards.HELP_LIMIT))
    # one per hub started (GET /health ``boot``): a kiosk that sees it change re-reports today's leases once, which
    # a hub restored from an earlier backup needs (it lost what it granted and merged after the backup)
    boot: str = field(default_factory=lambda: secrets.token_hex(8))


def hub() -> HubContext:
    ctx: HubContext = current_app.extensions["motcua"]
    return ctx


def require(role: str) -> Session:
    """The hub's role check (bearer token from its token store): what ``route(role=...)`` applies."""
    return guards.require_role(hub().tokens, role)


def bad_request(message: str) -> MotcuaError:
    return MotcuaError(ErrorCode.BAD_REQUEST, message)


# ---------------------------------------------------------------------------------------- field specs

_TYPE_NAMES = {str: "string", int: "integer", bool: "boolean", list: "array", dict: "object", float: "number"}


@dataclass(frozen=True)
class Field:
    kind: type | tuple[type, ...]    # a tuple: any of these (a pad may send counter 5 for "5")
    required: bool = False
    description: str = ""
    nullable: bool = False
    max_len: int = 200               # strings; list length for arrays; key count for objects
    minimum: int | None = None
    maximum: int | None = None
    items: Body | Field | None = None    # arrays: each item
    values: Field | None = None      # objects keyed by codes: each value

    @property
    def kinds(self) -> tuple[type, ...]:
        return self.kind if isinstance(self.kind, tuple) else (self.kind,)

    def _names(self) -> str:
        return " or ".join(_TYPE_NAMES[k] for k in self.kinds)

    def check(self, name: str, value: Any) -> Any:
        if value is None:
            if self.nullable:
                return None
            raise bad_request(f"{name}: must not be null")
        # bool is an int in Python, but `"size": true` is still a mistake
        if isinstance(value, bool) and bool not in self.kinds:
            raise bad_request(f"{name}: expected {self._names()}, got boolean")
        if not isinstance(value, self.kinds):
            raise bad_request(f"{name}: expected {self._names()}, got {_json_type(value)}")
        return self._check_value(name, value)

    def _check_value(self, name: str, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                raise bad_request(f"{name}: must not be empty")
            if len(value) > self.max_len:
                raise bad_request(f"{name}: longer than {self.max_len} characters")
        if isinstance(value, int) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                raise bad_request(f"{name}: must be >= {self.minimum}")
            if self.maximum is not None and value > self.maximum:
                raise bad_request(f"{name}: must be <= {self.maximum}")
        if isinstance(value, list):
            if len(value) > self.max_len:
                raise bad_request(f"{name}: more than {self.max_len} items")
            if isinstance(self.items, Body):
                return [self.items.check(item, f"{name}[{i}]") for i, item in enumerate(value)]
            if isinstance(self.items, Field):
                return [self.items.check(f"{name}[{i}]", item) for i, item in enumerate(value)]
        if isinstance(value, dict):
            if len(value) > self.max_len:
                raise bad_request(f"{name}: more than {self.max_len} keys")
            if self.values is not None:
                return {k: self.values.check(f"{name}.{k}", v) for k, v in value.items()}
        return value

    def schema(self) -> dict[str, Any]:
        names = [_TYPE_NAMES[k] for k in self.kinds] + (["null"] if self.nullable else [])
        out: dict[str, Any] = {"type": names[0] if len(names) == 1 else names}
        if self.description:
            out["description"] = self.description
        if str in self.kinds:
            out["minLength"] = 1
            out["maxLength"] = self.max_len
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if list in self.kinds:
            out["maxItems"] = self.max_len
            if self.items is not None:
                out["items"] = self.items.schema()
        if dict in self.kinds:
            out["maxProperties"] = self.max_len
            if self.values is not None:
                out["additionalProperties"] = self.values.schema()
        return out


@dataclass(frozen=True)
class Body:
    """A JSON object with exactly these fields (unknown fields are an error: a typo must not pass silently)."""

    fields: dict[str, Field] = field(default_factory=dict)
    one_of: tuple[str, ...] = ()     # exactly one of these fields must be present

    def check(self, obj: Any, where: str = "body") -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise bad_request(f"{where}: expected a JSON object, got {_json_type(obj)}")
        unknown = sorted(set(obj) - set(self.fields))
        if unknown:
            raise bad_request(f"{where}.{unknown[0]}: unknown field")
        out: dict[str, Any] = {}
        for name, spec in self.fields.items():
            if name not in obj:
                if spec.required:
                    raise bad_request(f"{where}.{name}: missing")
                continue
            out[name] = spec.check(f"{where}.{name}", obj[name])
        if self.one_of:
            given = [n for n in self.one_of if out.get(n) is not None]
            if len(given) != 1:
                raise bad_request(f"{where}: give exactly one of {', '.join(self.one_of)}")
        return out

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {n: f.schema() for n, f in self.fields.items()},
        }
        required = [n for n, f in self.fields.items() if f.required]
        if required:
            out["required"] = required
        if self.one_of:
            out["oneOf"] = [{"required": [n]} for n in self.one_of]
        return out


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in _TYPE_NAMES.items():
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return name
    return type(value).__name__


def read_body(spec: Body) -> dict[str, Any]:
    """Parse the request body strictly; an empty body counts as ``{}`` (for routes whose fields are optional)."""
    raw = request.get_data(cache=True)      # raises 413 past MAX_CONTENT_LENGTH
    if not raw.strip():
        return spec.check({})
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise bad_request(f"body: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise bad_request("body: not UTF-8") from err
    except ValueError as err:
        raise bad_request(f"body: malformed JSON ({err})") from err
    except RecursionError as err:      # "[[[[…" nested deeper than the parser goes
        raise bad_request("body: JSON nested too deeply") from err
    return spec.check(obj)


@dataclass(frozen=True)
class Query:
    """A query parameter: ``kind`` str, int or date (YYYY-MM-DD). Messages start with the parameter's name."""

    name: str
    kind: type
    description: str = ""
    minimum: int | None = None
    maximum: int | None = None
    required: bool = False
    max_len: int = 200

    def schema(self) -> dict[str, Any]:
        if self.kind is int:
            out: dict[str, Any] = {"type": "integer"}
            if self.minimum is not None:
                out["minimum"] = self.minimum
            if self.maximum is not None:
                out["maximum"] = self.maximum
            return out
        if self.kind is date:
            return {"type": "string", "format": "date"}
        return {"type": "string", "minLength": 1, "maxLength": self.max_len}


def read_query(specs: tuple[Query, ...]) -> dict[str, Any]:
    known = {q.name for q in specs}
    unknown = sorted(set(request.args) - known)
    if unknown:
        raise bad_request(f"{unknown[0]}: unknown query parameter")
    out: dict[str, Any] = {}
    for q in specs:
        text = request.args.get(q.name)
        if text is None or (q.kind is not str and text == ""):
            if q.required:
                raise bad_request(f"{q.name}: missing (?{q.name}=...)")
            continue
        value: Any
        if q.kind is int:
            try:
                value = int(text)
            except ValueError as err:
                raise bad_request(f"{q.name}: expected an integer, got {text!r}") from err
            if q.minimum is not None and value < q.minimum:
                raise bad_request(f"{q.name}: must be >= {q.minimum}")
            if q.maximum is not None and value > q.maximum:
                raise bad_request(f"{q.name}: must be <= {q.maximum}")
        elif q.kind is date:
            try:
                value = date.fromisoformat(text)
            except ValueError as err:
                raise bad_request(f"{q.name}: {text!r} is not a date YYYY-MM-DD") from err
        else:
            if not text.strip() or len(text) > q.max_len:
                raise bad_request(f"{q.name}: must be 1 to {q.max_len} characters")
            value = text
        out[q.name] = value
    return out


# ------------------------------------------------------------------------------------ documented routes

@dataclass(frozen=True)
class RouteDoc:
    summary: str
    tag: str
    role: str | None = None           # staff / manager / admin; None = public
    device_key: bool = False          # kiosk write: X-Device-Key when configured
    body: Body | None = None
    query: tuple[Query, ...] = ()
    ok: int = 200
    result: str = ""                  # what the 2xx answer holds, in words
    errors: tuple[ErrorCode, ...] = ()
    stream: bool = False
    # JSON Schema of the 2xx body (schemas.py). Every JSON route gives one; tests/adapter/test_api.py fails on a
    # route without (the hub still starts: a missing doc must not stop a center)
    response: dict[str, Any] | None = None
    signed: bool = False              # the main system's push: HMAC signature or its bearer token
    rate_limited: bool = False        # per-client rate limit (429 with Retry-After)
    media: str = ""                   # a file, not JSON (reports: xlsx, PDF, CSV, SVG): its media type


# endpoint ("blueprint.function") -> its documentation; openapi.py turns these into the served document.
ROUTE_DOCS: dict[str, RouteDoc] = {}

RoleCheck = Callable[[str], object]


def route(bp: Blueprint, rule: str, *, methods: tuple[str, ...] = ("GET",), summary: str,
          role: str | None = None, device_key: bool = False, body: Body | None = None,
          query: tuple[Query, ...] = (), ok: int = 200, result: str = "", response: dict[str, Any] | None = None,
          errors: tuple[ErrorCode, ...] = (), stream: bool = False, role_check: RoleCheck | None = None,
          guard: Callable[[], None] | None = None, limiter: RateLimiter | None = None, limited: str = "requests",
          signed: bool = False, max_body_bytes: int | None = None, media: str = "",
          ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view with its documentation, guards and strict input parsing in one place.

    Order: the role (``role_check``, default the hub's token check) or the device key; ``limiter`` (per client);
    ``guard`` (e.g. a signature over the raw body); then the body and query. The view receives ``body=`` (parsed)
    when a body spec is given and ``query=`` when query specs are given. ``max_body_bytes`` raises the app's
    body limit for this route (the main system's batched pushes).
    """
    doc = RouteDoc(summary, bp.name, role, device_key, body, query, ok, result, errors, stream, response,
                   signed, limiter is not None, media)

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def view(**kwargs: Any) -> Any:
            if role is not None:
                (role_check or require)(role)
            elif device_key:
                ctx = hub()
                guards.check_device_key(ctx.settings.security.device_keys, ctx.tokens)
            if limiter is not None:
                limiter.check(limited)
            if max_body_bytes is not None:
                request.max_content_length = max_body_bytes
            if guard is not None:
                guard()
            if body is not None:
                kwargs["body"] = read_body(body)
            if query:
                kwargs["query"] = read_query(query)
            return fn(**kwargs)

        ROUTE_DOCS[f"{bp.name}.{fn.__name__}"] = doc
        bp.add_url_rule(rule, fn.__name__, view, methods=list(methods))
        return fn

    return deco


def current_username() -> str | None:
    user = getattr(g, "user", None)
    return None if user is None else str(user.username)


def current_display_name() -> str | None:
    user = getattr(g, "user", None)
    return None if user is None else str(user.display_name or user.username)


def current_role() -> str | None:
    user = getattr(g, "user", None)
    return None if user is None else str(user.role)
