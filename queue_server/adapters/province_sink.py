"""The province sink (issue 17): a second outbox relay beside the main system's, delivering the same hub events,
HMAC-signed with the province key, idempotent by event id, in seq order, in batches, to ``motcua province``.

Its own SQLite file (``outbox-province.sqlite3`` beside the store) holds its cursor and items, so the province
being down never holds back the main system's outbox, and vice versa. The province answers every delivery with
its progress; ``replay_from`` in that answer (a gap it found) makes the relay re-send from that seq — the hub
reaches the province, never the other way round, so this works from behind a site's NAT. The signed
``POST /api/v1/province/replay`` endpoint (queue_server/web/province.py) does the same for an operator.

Must not: touch the hub's store (reads events through ``fetch_events`` only), or block the main outbox.
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from queue_server.adapters.outbox import (
    DeliveryError,
    FetchEvents,
    HttpSender,
    OutboxItem,
    OutboxRelay,
    OutboxSettings,
)

log = logging.getLogger(__name__)

MIN_KEY_LENGTH = 16
PLACEHOLDER_KEYS = frozenset({"CHANGE-ME", "change-me", "changeme", "secret"})


class ProvinceConfigError(ValueError):
    """A ``[province]`` table the hub cannot run with; the message names the key."""


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


def parse_province(raw: Mapping[str, Any], store_path: Path, base_dir: Path | None = None,
                   environ: Mapping[str, str] | None = None) -> ProvinceSinkSettings | None:
    """The hub's ``[province]`` table; None when absent or ``enabled = false``. The key comes from ``key``,
    ``key_file`` or ``key_env`` (the name of an environment variable), never logged."""
    table = dict(raw)
    environ = os.environ if environ is None else environ
    enabled = table.pop("enabled", True)
    if not isinstance(enabled, bool):
        raise ProvinceConfigError("province.enabled: expected true or false")
    url = table.pop("url", "")
    key = table.pop("key", "")
    key_file = table.pop("key_file", "")
    key_env = table.pop("key_env", "")
    center = table.pop("center_id", "")
    outbox_path = table.pop("outbox_path", "")
    batch_size = table.pop("batch_size", 200)
    verify_tls = table.pop("verify_tls", True)
    if table:
        raise ProvinceConfigError(f"province.{min(table)}: unknown key")
    if not enabled or not (url or key or key_file or key_env):
        return None
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise ProvinceConfigError("province.url: expected an http(s) URL of the province's /api/v1/events")
    for name, value in (("key", key), ("key_file", key_file), ("key_env", key_env), ("center_id", center),
                        ("outbox_path", outbox_path)):
        if not isinstance(value, str):
            raise ProvinceConfigError(f"province.{name}: expected a string")
    if sum(bool(v) for v in (key, key_file, key_env)) != 1:
        raise ProvinceConfigError("province: set exactly one of key, key_file, key_env (the center's HMAC key)")
    if key_file:
        path = Path(key_file)
        path = base_dir / path if not path.is_absolute() and base_dir is not None else path
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise ProvinceConfigError(f"province.key_file: cannot read {path}: {err.strerror}") from None
    elif key_env:
        key = environ.get(key_env, "")
        if not key:
            raise ProvinceConfigError(f"province.key_env: the environment variable {key_env} is not set")
    if key in PLACEHOLDER_KEYS or len(key) < MIN_KEY_LENGTH:
        raise ProvinceConfigError(f"province.key: use a random key of at least {MIN_KEY_LENGTH} characters "
                                  "(e.g. `openssl rand -hex 32`), the same as in the province config")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= 1000:
        raise ProvinceConfigError("province.batch_size: expected an integer from 1 to 1000")
    if not isinstance(verify_tls, (bool, str)):
        raise ProvinceConfigError("province.verify_tls: expected true, false or a CA file path")
    place = Path(outbox_path) if outbox_path else store_path.parent / "outbox-province.sqlite3"
    if outbox_path and not place.is_absolute() and base_dir is not None:
        place = base_dir / place
    return ProvinceSinkSettings(url=url, key=key, center=center, outbox_path=place, batch_size=batch_size,
                                verify_tls=verify_tls)


class ProvinceSender(HttpSender):
    """HttpSender whose successful answers are read: the province's ``replay_from`` starts a replay."""

    relay: OutboxRelay | None = None

    def _answer(self, status: int, text: str) -> None:
        self._check(status, text)
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            return
        replay = answer.get("replay_from") if isinstance(answer, dict) else None
        if isinstance(replay, int) and not isinstance(replay, bool) and replay >= 1 and self.relay is not None:
            log.warning("province: a gap before seq %s; replaying from %d", answer.get("max_seq"), replay)
            self.relay.request_replay(replay)

    def send(self, item: OutboxItem) -> None:
        body = ('{"events":[' + item.payload + "]}").encode()
        self._answer(*self.post(self.settings.events_url, body, self._headers(item.key, item.center, body, item.seq)))

    def send_batch(self, items: Sequence[OutboxItem]) -> None:
        body = ('{"events":[' + ",".join(i.payload for i in items) + "]}").encode()
        key = f"batch:{items[0].key}:{items[-1].key}"
        self._answer(*self.post(self.settings.events_url, body, self._headers(key, items[0].center, body)))


def build_province_relay(settings: ProvinceSinkSettings, center: str, fetch_events: FetchEvents,
                         **relay_kw: Any) -> OutboxRelay:
    """The relay for the province sink: start() it, and add ``relay.wake`` as a queue-service listener."""
    sender = ProvinceSender(settings.outbox_settings())
    relay = OutboxRelay(settings.outbox_path, settings.center or center, fetch_events, sender,
                        settings.outbox_settings(), **relay_kw)
    sender.relay = relay
    return relay


__all__ = ["DeliveryError", "ProvinceConfigError", "ProvinceSender", "ProvinceSinkSettings", "build_province_relay",
           "parse_province"]
