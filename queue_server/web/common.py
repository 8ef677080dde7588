"""What every blueprint shares: the documented-route decorator, strict JSON body and query validation, and
the hub context object (settings, service, tokens, broadcaster) stored on the Flask app.

Validation happens here, before any command reaches QueueService, so bad input never causes a write.
The same field specs feed the OpenAPI document (openapi.py), so the docs cannot drift from the checks.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Blueprint, current_app, g, request

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import MAX_JSON_DEPTH, json_depth

if TYPE_CHECKING:
    from queue_server.app.queue_service import QueueService
    from queue_server.config import HubSettings
    from queue_server.web.auth import TokenStore
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
    keepalive_s: float = 15.0


def hub() -> HubContext:
    ctx: HubContext = current_app.extensions["motcua"]
    return ctx


def bad_request(message: str) -> MotcuaError:
    return MotcuaError(ErrorCode.BAD_REQUEST, message)


# ---------------------------------------------------------------------------------------- field specs

_TYPE_NAMES = {str: "string", int: "integer", bool: "boolean", list: "array", dict: "object", float: "number"}


@dataclass(frozen=True)
class Field:
    kind: type
    required: bool = False
    description: str = ""
    nullable: bool = False
    max_len: int = 200               # strings; list length for arrays
    minimum: int | None = None
    maximum: int | None = None
    items: Body | None = None        # arrays of objects

    def check(self, name: str, value: Any) -> Any:
        if value is None:
            if self.nullable:
                return None
            raise bad_request(f"{name}: must not be null")
        # bool is an int in Python, but `"size": true` is still a mistake
        if isinstance(value, bool) and self.kind is not bool:
            raise bad_request(f"{name}: expected {_TYPE_NAMES[self.kind]}, got boolean")
        if not isinstance(value, self.kind):
            raise bad_request(f"{name}: expected {_TYPE_NAMES[self.kind]}, got {_json_type(value)}")
        return self._check_value(name, value)

    def _check_value(self, name: str, value: Any) -> Any:
        if self.kind is str:
            if not value.strip():
                raise bad_request(f"{name}: must not be empty")
            if len(value) > self.max_len:
                raise bad_request(f"{name}: longer than {self.max_len} characters")
        if self.kind is int:
            if self.minimum is not None and value < self.minimum:
                raise bad_request(f"{name}: must be >= {self.minimum}")
            if self.maximum is not None and value > self.maximum:
                raise bad_request(f"{name}: must be <= {self.maximum}")
        if self.kind is list:
            if len(value) > self.max_len:
                raise bad_request(f"{name}: more than {self.max_len} items")
            if self.items is not None:
                return [self.items.check(item, f"{name}[{i}]") for i, item in enumerate(value)]
        return value

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": [_TYPE_NAMES[self.kind], "null"] if self.nullable else _TYPE_NAMES[self.kind]}
        if self.description:
            out["description"] = self.description
        if self.kind is str:
            out["minLength"] = 1
            out["maxLength"] = self.max_len
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.kind is list:
            out["maxItems"] = self.max_len
            if self.items is not None:
                out["items"] = self.items.schema()
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
    name: str
    kind: type
    description: str = ""
    minimum: int | None = None
    maximum: int | None = None


def read_query(specs: tuple[Query, ...]) -> dict[str, Any]:
    known = {q.name for q in specs}
    unknown = sorted(set(request.args) - known)
    if unknown:
        raise bad_request(f"query.{unknown[0]}: unknown parameter")
    out: dict[str, Any] = {}
    for q in specs:
        text = request.args.get(q.name)
        if text is None:
            continue
        if q.kind is int:
            try:
                value: Any = int(text)
            except ValueError as err:
                raise bad_request(f"query.{q.name}: expected an integer, got {text!r}") from err
            if q.minimum is not None and value < q.minimum:
                raise bad_request(f"query.{q.name}: must be >= {q.minimum}")
            if q.maximum is not None and value > q.maximum:
                raise bad_request(f"query.{q.name}: must be <= {q.maximum}")
        else:
            if not text or len(text) > 200:
                raise bad_request(f"query.{q.name}: must be 1 to 200 characters")
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
    result: str = ""                  # what the 2xx answer holds (free text, see docs/api.md)
    errors: tuple[ErrorCode, ...] = ()
    stream: bool = False


# endpoint ("blueprint.function") -> its documentation; openapi.py turns these into the served document.
ROUTE_DOCS: dict[str, RouteDoc] = {}


def route(bp: Blueprint, rule: str, *, methods: tuple[str, ...] = ("GET",), summary: str,
          role: str | None = None, device_key: bool = False, body: Body | None = None,
          query: tuple[Query, ...] = (), ok: int = 200, result: str = "",
          errors: tuple[ErrorCode, ...] = (), stream: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view with its documentation, role check and strict input parsing in one place.

    The view receives ``body=`` (parsed) when a body spec is given and ``query=`` when query specs are given.
    """
    doc = RouteDoc(summary, bp.name, role, device_key, body, query, ok, result, errors, stream)

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def view(**kwargs: Any) -> Any:
            from queue_server.web.auth import check_device_key, require

            if role is not None:
                require(role)
            elif device_key:
                check_device_key()
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
