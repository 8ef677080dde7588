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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from queue_server.adapters.outbox import (
    DeliveryError,
    FetchEvents,
    HttpSender,
    OutboxItem,
    OutboxRelay,
)
from runtime.settings import ConfigError
from runtime.settings.province import ProvinceSinkSettings
from runtime.settings.province import parse_province as _parse

log = logging.getLogger(__name__)

class ProvinceConfigError(ValueError):
    """A ``[province]`` table the hub cannot run with; the message names the key."""


def parse_province(raw: Mapping[str, Any], store_path: Path, base_dir: Path | None = None,
                   environ: Mapping[str, str] | None = None) -> ProvinceSinkSettings | None:
    """The hub's ``[province]`` table alone (read with the rest of the hub's config by runtime.settings); None when
    absent or ``enabled = false``. The key comes from ``key``, ``key_file`` or ``key_env``, never logged."""
    try:
        return _parse(dict(raw), store_path, base_dir, environ)
    except ConfigError as err:
        raise ProvinceConfigError(err.message) from err


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

    def heartbeat(self, center: str) -> None:
        """An empty signed delivery: tells the province the link is up while the center has nothing to send."""
        body = b'{"events":[]}'
        self._answer(*self.post(self.settings.events_url, body, self._headers("heartbeat", center, body)))


HEARTBEAT_S = 60.0     # well under the province board's 10 minutes of silence before it says "out of contact"


class ProvinceRelay(OutboxRelay):
    """The outbox relay that also sends a heartbeat when it has delivered nothing for ``heartbeat_s``."""

    heartbeat_s = HEARTBEAT_S
    _contact_at = float("-inf")

    def _pass(self) -> int:
        delivered = super()._pass()
        now = self.clock()
        if delivered:
            self._contact_at = now
        elif now - self._contact_at >= self.heartbeat_s and isinstance(self.sender, ProvinceSender):
            self._contact_at = now                 # one try per period, answered or not
            try:
                self.sender.heartbeat(self.center)
            except DeliveryError as err:
                log.info("province: heartbeat failed: %s", err)
        return delivered


def build_province_relay(settings: ProvinceSinkSettings, center: str, fetch_events: FetchEvents,
                         **relay_kw: Any) -> OutboxRelay:
    """The relay for the province sink: start() it, and add ``relay.wake`` as a queue-service listener."""
    sender = ProvinceSender(settings.outbox_settings())
    relay = ProvinceRelay(settings.outbox_path, settings.center or center, fetch_events, sender,
                          settings.outbox_settings(), **relay_kw)
    sender.relay = relay
    return relay


__all__ = ["HEARTBEAT_S", "DeliveryError", "ProvinceConfigError", "ProvinceRelay", "ProvinceSender",
           "ProvinceSinkSettings", "build_province_relay", "parse_province"]
