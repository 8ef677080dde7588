"""ConfigError and the one-line messages made from the validation library's errors (``mqtt.port: expected an
integer, got str``). Knows nothing of any process's settings; reads nothing."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from contracts.errors import ErrorCode, MotcuaError


class ConfigError(MotcuaError):
    """A config file or override that cannot be used; the message names the key and fits on one line."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.CONFIG_INVALID, " ".join(message.split()))


def key_path(loc: Sequence[int | str], prefix: str = "") -> str:
    """``("counters", 3, "services", 1)`` → ``counters[3].services[1]``."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "dict"
    return type(value).__name__


def _n(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def describe(error: ErrorDetails, unknown: str = "unknown key") -> str:
    """What is wrong, in the project's words (the key is added by the caller)."""
    kind = error["type"]
    value = error.get("input")
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    got = _kind(value)
    match kind:
        case "missing" | "missing_argument" | "missing_keyword_only_argument":
            return "missing"
        case "unexpected_keyword_argument" | "extra_forbidden" | "unexpected_positional_argument":
            return unknown
        case "int_type" | "int_parsing" | "int_from_float":
            return f"expected an integer, got {got}"
        case "float_type" | "float_parsing":
            return f"expected a number, got {got}"
        case "finite_number":
            return f"expected a finite number, got {value!r}"
        case "bool_type" | "bool_parsing":
            return f"expected true or false, got {got}"
        case "string_type":
            return f"expected a string, got {got}"
        case "list_type" | "tuple_type" | "set_type" | "frozen_set_type" | "iterable_type":
            return f"expected an array, got {got}"
        case "dataclass_type" | "dict_type" | "model_type" | "model_attributes_type" | "dataclass_exact_type":
            return f"expected a table, got {got}"
        case "greater_than_equal":
            return f"must be >= {_n(ctx.get('ge'))}, got {value!r}"
        case "greater_than":
            return f"must be > {_n(ctx.get('gt'))}, got {value!r}"
        case "less_than_equal":
            return f"must be <= {_n(ctx.get('le'))}, got {value!r}"
        case "less_than":
            return f"must be < {_n(ctx.get('lt'))}, got {value!r}"
        case "string_too_short":
            return "must not be empty"
        case "string_too_long":
            return f"at most {ctx.get('max_length')} characters"
        case "too_short":
            return f"at least {ctx.get('min_length')} item(s), got {ctx.get('actual_length')}"
        case "too_long":
            return f"at most {ctx.get('max_length')} items, got {ctx.get('actual_length')}"
        case "literal_error" | "enum":
            return f"{value!r} is not one of {ctx.get('expected', '')}".replace("'", "")
        case "value_error" | "assertion_error":
            return str(ctx.get("error", error["msg"]))
    return f"{error['msg'][:1].lower()}{error['msg'][1:]}"


def from_validation_error(err: ValidationError, *, prefix: str = "", unknown: str = "unknown key",
                          origins: Mapping[str, str] | None = None) -> ConfigError:
    """The first error of ``err`` as one ConfigError line naming the key; ``origins`` maps a key to the
    (deprecated) environment variable that set it, named too so the operator finds it."""
    first = err.errors(include_url=False)[0]
    # union members and validator wrappers appear in loc as tags ("str", "function-after[...]"): not keys; no
    # settings key is named after a type
    loc = [p for p in first["loc"] if isinstance(p, int) or ("[" not in p and p not in ("str", "int", "bool"))]
    key = key_path(loc, prefix) or prefix or "config"
    message = f"{key}: {describe(first, unknown)}"
    if origins and key in origins:
        message += f" (from {origins[key]})"
    return ConfigError(message)
