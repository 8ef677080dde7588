"""Where settings come from: a TOML file and ``MOTCUA_<SECTION>__<KEY>`` environment overrides, the same scheme
for every process (hub, kiosk, bridge). Reads the file and the environment it is given; logs nothing (what it
noticed, such as a deprecated spelling, is returned as notes for the process to log once).

Override values are read by the type of the key they set: text keys take the value as it is (a password of
digits stays text), true/false keys also take yes/no/on/off/1/0, other keys take a TOML value (``1884``,
``[1, 2]``) and otherwise the text, which validation then refuses with the key's name.
"""
from __future__ import annotations

import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

ENV_PREFIX = "MOTCUA_"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def read_toml(path: str | Path) -> dict[str, Any]:
    """The file as a dict, or a one-line ConfigError (missing, a directory, unreadable, not UTF-8, not TOML)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: no such file") from err
    except IsADirectoryError as err:
        raise ConfigError(f"{path}: is a directory, not a config file") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text") from err
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror or err})") from err
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err


@dataclass
class Overrides:
    """What the environment changed: ``origins`` maps a dotted key to the deprecated variable that set it."""

    origins: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _hint(schema: Any, keys: list[str]) -> Any:
    """The declared type of ``schema.keys[0].keys[1]...``, or None when the schema does not say."""
    kind: Any = schema
    for key in keys:
        kind = _strip(kind)
        if not (isinstance(kind, type) and is_dataclass(kind)):
            return None
        hints = typing.get_type_hints(kind, include_extras=True)
        if key not in {f.name for f in fields(kind)}:
            return None
        kind = hints[key]
    return _strip(kind)


def _strip(kind: Any) -> Any:
    """``Annotated[X, ...]`` → X; ``X | None`` → X."""
    while True:
        origin = typing.get_origin(kind)
        if origin is typing.Annotated:
            kind = typing.get_args(kind)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(kind) if a is not type(None)]
            if len(args) != 1:
                return kind
            kind = args[0]
        else:
            return kind


def _value(text: str, kind: Any) -> Any:
    if kind is str or kind is Path:
        return text
    if kind is bool:
        low = text.strip().lower()
        if low in _TRUE or low in _FALSE:
            return low in _TRUE
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _set(raw: dict[str, Any], keys: list[str], value: Any, name: str) -> None:
    node = raw
    for k in keys[:-1]:
        child = node.setdefault(k, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{name}: {k} is not a table")
        node = child
    node[keys[-1]] = value


def apply_env_overrides(raw: dict[str, Any], environ: Mapping[str, str], schema: Any, *,
                        top_level: str | None = None,
                        legacy: Mapping[str, tuple[str, ...]] | None = None,
                        legacy_prefix: str | None = None) -> Overrides:
    """Apply ``MOTCUA_<SECTION>__<KEY>[__<KEY>...]`` to ``raw`` in place.

    ``schema`` is the process's file schema (a dataclass whose fields are the tables). A section it does not have
    belongs to another process sharing the environment: skipped, with a note. ``top_level`` names the pseudo-section
    whose keys sit at the top of the file (the kiosk's ``id``: ``MOTCUA_KIOSK__ID``). ``legacy`` maps an old exact
    variable name to its key path; ``legacy_prefix`` (``MOTCUA_KIOSK_``) marks ``<PREFIX><SECTION>_<KEY>`` as a
    deprecated spelling of the new one.
    """
    out = Overrides()
    known = {f.name for f in fields(schema)}
    for name, text in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        keys: list[str] | None = None
        deprecated = False
        if legacy and name in legacy:
            keys, deprecated = list(legacy[name]), True
        elif legacy_prefix and name.startswith(legacy_prefix) and not name.startswith(legacy_prefix + "_"):
            rest = name[len(legacy_prefix):].lower()
            section, _, key = rest.partition("_")
            if rest == "id" and top_level is not None:
                keys, deprecated = ["id"], True
            elif section in known and key:
                keys, deprecated = [section, key], True
        elif "__" in name:
            parts = [k.lower() for k in name[len(ENV_PREFIX):].split("__")]
            if any(not k for k in parts):
                raise ConfigError(f"{name}: empty key segment")
            if top_level is not None and parts[0] == top_level:
                parts = parts[1:]
            elif parts[0] not in known:
                out.notes.append(f"{name} ignored: this process has no [{parts[0]}] table")
                continue
            keys = parts
        if not keys:
            continue       # MOTCUA_CONFIG and the like are not overrides
        _set(raw, keys, _value(text, _hint(schema, keys)), name)
        if deprecated:
            new = ENV_PREFIX + "__".join(k.upper() for k in ([top_level] if top_level and len(keys) == 1 else [])
                                        + keys)
            out.origins[".".join(keys)] = name
            out.notes.append(f"{name} is a deprecated spelling: use {new}")
    return out


def resolve(path: Path, base_dir: Path | None) -> Path:
    """A relative path in a config file is relative to that file."""
    return base_dir / path if base_dir is not None and not path.is_absolute() else path
