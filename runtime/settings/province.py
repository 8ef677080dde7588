"""``[province]``: the hub's second outbox sink to ``motcua province`` (issue 17). The key comes from ``key``,
``key_file`` or ``key_env`` (the name of an environment variable) and is never logged. Reads the key file and the
environment it is given; nothing else."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from .errors import ConfigError, from_validation_error
from .fields import TABLE, Bool, FilePath, Int, Slug, Text, Url
from .integration import OutboxSettings, VerifyTls
from .source import resolve

MIN_KEY_LENGTH = 16
PLACEHOLDER_KEYS = frozenset({"CHANGE-ME", "change-me", "changeme", "secret"})


@dataclass(frozen=True, slots=True)
class ProvinceSinkSettings:
    url: str                                  # the province's events endpoint, e.g. https://.../api/v1/events
    key: str = field(default="", repr=False)  # this center's HMAC key, shared with the province config
    center: str = ""                          # the center id the province knows this hub by ("" = [center] id)
    outbox_path: Path = Path("var/outbox-province.sqlite3")
    batch_size: int = 200
    poll_interval_s: float = 1.0
    verify_tls: bool | str = True
    max_backoff_s: float = 60.0               # a province outage is retried at least this often

    def outbox_settings(self) -> OutboxSettings:
        return OutboxSettings(events_url=self.url, hmac_secret=self.key, batch_size=self.batch_size,
                              poll_interval_s=self.poll_interval_s, verify_tls=self.verify_tls,
                              fetch_limit=max(500, self.batch_size), deliver_per_pass=max(500, self.batch_size),
                              max_backoff_s=self.max_backoff_s, max_attempts=1_000_000)


@dataclass(frozen=True, slots=True)
class ProvinceTable:
    __pydantic_config__ = TABLE

    enabled: Bool = True
    url: Text = ""
    key: Text = ""
    key_file: Text = ""
    key_env: Text = ""
    center_id: Slug | None = None
    outbox_path: FilePath | None = None
    batch_size: Annotated[Int, Field(ge=1, le=1000)] = 200
    verify_tls: VerifyTls = True


def province_from_table(t: ProvinceTable, *, store_dir: Path, base_dir: Path | None,
                        environ: Mapping[str, str]) -> ProvinceSinkSettings | None:
    """None when absent or ``enabled = false``."""
    if not t.enabled or not (t.url or t.key or t.key_file or t.key_env):
        return None
    try:
        TypeAdapter(Url).validate_python(t.url)
    except ValidationError:
        raise ConfigError("province.url: expected an http(s) URL of the province's /api/v1/events") from None
    if sum(bool(v) for v in (t.key, t.key_file, t.key_env)) != 1:
        raise ConfigError("province: set exactly one of key, key_file, key_env (the center's HMAC key)")
    key = t.key
    if t.key_file:
        path = resolve(Path(t.key_file), base_dir)
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise ConfigError(f"province.key_file: cannot read {path}: {err.strerror}") from None
    elif t.key_env:
        key = environ.get(t.key_env, "")
        if not key:
            raise ConfigError(f"province.key_env: the environment variable {t.key_env} is not set")
    if key in PLACEHOLDER_KEYS or len(key) < MIN_KEY_LENGTH:
        raise ConfigError(f"province.key: use a random key of at least {MIN_KEY_LENGTH} characters "
                          "(e.g. `openssl rand -hex 32`), the same as in the province config")
    place = resolve(t.outbox_path, base_dir) if t.outbox_path else store_dir / "outbox-province.sqlite3"
    return ProvinceSinkSettings(url=t.url, key=key, center=t.center_id or "", outbox_path=place,
                                batch_size=t.batch_size, verify_tls=t.verify_tls)


def parse_province(raw: Any, store_path: Path, base_dir: Path | None = None,
                   environ: Mapping[str, str] | None = None) -> ProvinceSinkSettings | None:
    """The ``[province]`` table alone (tests and tools)."""
    try:
        table = TypeAdapter(ProvinceTable).validate_python(raw)
    except ValidationError as err:
        raise from_validation_error(err, prefix="province") from None
    return province_from_table(table, store_dir=store_path.parent, base_dir=base_dir,
                               environ=os.environ if environ is None else environ)
