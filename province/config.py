"""The province service's settings: one TOML file (see docs/province.md and deploy/province.example.toml).

```toml
[province]
dsn = "host=127.0.0.1 dbname=motcua_province user=motcua"   # or dsn_env = "MOTCUA_PROVINCE_DSN"
host = "127.0.0.1"
port = 8090
wait_target_min = 30          # a ticket called within this counts as "on time" (an estimate)

[[centers]]
id = "tt-hcc"                 # the hub's [center] id
name = "Trung tâm Phục vụ hành chính công tỉnh"
tier = "province"             # province | district | commune
unit_code = "H15.50"
key_env = "MOTCUA_KEY_TT_HCC" # or key_file / key: the same HMAC key as the hub's [province] key
hub_url = ""                  # optional: https://hub/ for operator-started replays

[[users]]
username = "so-noi-vu"
password_hash = "scrypt:..."  # `motcua user hash-password`
role = "province_admin"       # sees every center
# role = "center_manager", center = "tt-hcc"   # sees only its center
```
Reads files and the environment only; raises ConfigError with a sentence that names the key.
"""
from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROLES = ("province_admin", "center_manager")
TIERS = ("province", "district", "commune", "")
MIN_KEY = 16
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class CenterConf:
    id: str
    name: str = ""
    tier: str = ""
    unit_code: str = ""
    key: str = field(default="", repr=False)
    hub_url: str = ""


@dataclass(frozen=True, slots=True)
class UserConf:
    username: str
    password_hash: str = field(repr=False)
    role: str
    center: str = ""

    def centers(self) -> list[str] | None:
        """None = every center."""
        return None if self.role == "province_admin" else [self.center]


@dataclass(frozen=True, slots=True)
class ProvinceConfig:
    dsn: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8090
    threads: int = 16
    wait_target_min: float = 30.0
    centers: tuple[CenterConf, ...] = ()
    users: tuple[UserConf, ...] = ()

    def center(self, center_id: str) -> CenterConf | None:
        return next((c for c in self.centers if c.id == center_id), None)

    def user(self, username: str) -> UserConf | None:
        return next((u for u in self.users if u.username == username), None)


def _take(table: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any, where: str) -> Any:
    value = table.pop(key, default)
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise ConfigError(f"{where}{key}: expected {getattr(kind, '__name__', 'a number')}")
    return value


def _secret(table: dict[str, Any], where: str, environ: Mapping[str, str], base: Path | None) -> str:
    key = _take(table, "key", str, "", where)
    key_env = _take(table, "key_env", str, "", where)
    key_file = _take(table, "key_file", str, "", where)
    if sum(bool(v) for v in (key, key_env, key_file)) != 1:
        raise ConfigError(f"{where}: set exactly one of key, key_env, key_file (the hub's [province] key)")
    if key_env:
        key = environ.get(key_env, "")
        if not key:
            raise ConfigError(f"{where}key_env: the environment variable {key_env} is not set")
    elif key_file:
        path = Path(key_file)
        path = base / path if base is not None and not path.is_absolute() else path
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise ConfigError(f"{where}key_file: cannot read {path}: {err.strerror}") from None
    if len(key) < MIN_KEY or key.lower() in ("change-me", "changeme"):
        raise ConfigError(f"{where}key: use a random key of at least {MIN_KEY} characters (openssl rand -hex 32)")
    return str(key)


def config_from_dict(raw: Mapping[str, Any], environ: Mapping[str, str] | None = None,
                     base: Path | None = None) -> ProvinceConfig:
    environ = os.environ if environ is None else environ
    raw = dict(raw)
    top = dict(raw.pop("province", {}) or {})
    centers_raw = raw.pop("centers", [])
    users_raw = raw.pop("users", [])
    if raw:
        raise ConfigError(f"{min(raw)}: unknown section")
    dsn = _take(top, "dsn", str, "", "province.")
    dsn_env = _take(top, "dsn_env", str, "", "province.")
    if dsn_env:
        dsn = environ.get(dsn_env, "")
        if not dsn:
            raise ConfigError(f"province.dsn_env: the environment variable {dsn_env} is not set")
    if not dsn:
        raise ConfigError("province.dsn: the PostgreSQL connection string is required (or dsn_env)")
    host = _take(top, "host", str, "127.0.0.1", "province.")
    port = _take(top, "port", int, 8090, "province.")
    threads = _take(top, "threads", int, 16, "province.")
    target = _take(top, "wait_target_min", (int, float), 30, "province.")
    if not 0 < port < 65536:
        raise ConfigError("province.port: expected 1..65535")
    if not 1 <= threads <= 256:
        raise ConfigError("province.threads: expected 1..256")
    if not 0 < target <= 24 * 60:
        raise ConfigError("province.wait_target_min: expected minutes > 0")
    if top:
        raise ConfigError(f"province.{min(top)}: unknown key")
    if not isinstance(centers_raw, list) or not isinstance(users_raw, list):
        raise ConfigError("centers and users: expected [[centers]] and [[users]] tables")
    centers: list[CenterConf] = []
    for i, c in enumerate(centers_raw):
        where = f"centers[{i}]."
        if not isinstance(c, dict):
            raise ConfigError(f"centers[{i}]: expected a table")
        c = dict(c)
        cid = _take(c, "id", str, "", where)
        if not _ID.match(cid):
            raise ConfigError(f"{where}id: {cid!r} is not a center id (lowercase letters, digits, - and _)")
        if any(x.id == cid for x in centers):
            raise ConfigError(f"{where}id: {cid!r} is listed twice")
        key = _secret(c, where, environ, base)
        tier = _take(c, "tier", str, "", where)
        if tier not in TIERS:
            raise ConfigError(f"{where}tier: {tier!r} is not province, district or commune")
        conf = CenterConf(cid, _take(c, "name", str, "", where), tier, _take(c, "unit_code", str, "", where), key,
                          _take(c, "hub_url", str, "", where))
        if c:
            raise ConfigError(f"{where}{min(c)}: unknown key")
        centers.append(conf)
    users: list[UserConf] = []
    for i, u in enumerate(users_raw):
        where = f"users[{i}]."
        if not isinstance(u, dict):
            raise ConfigError(f"users[{i}]: expected a table")
        u = dict(u)
        name = _take(u, "username", str, "", where)
        hashed = _take(u, "password_hash", str, "", where)
        role = _take(u, "role", str, "", where)
        center = _take(u, "center", str, "", where)
        if not name or not hashed or ":" not in hashed or "$" not in hashed:
            raise ConfigError(f"{where}: username and password_hash (from `motcua user hash-password`) are required")
        if role not in ROLES:
            raise ConfigError(f"{where}role: {role!r} is not province_admin or center_manager")
        if role == "center_manager" and not any(c.id == center for c in centers):
            raise ConfigError(f"{where}center: a center_manager needs the id of a listed center, got {center!r}")
        if u:
            raise ConfigError(f"{where}{min(u)}: unknown key")
        users.append(UserConf(name, hashed, role, center if role == "center_manager" else ""))
    return ProvinceConfig(dsn, host, port, threads, float(target), tuple(centers), tuple(users))


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> ProvinceConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: not valid UTF-8 TOML: {err}") from None
    return config_from_dict(raw, environ, path.resolve().parent)
