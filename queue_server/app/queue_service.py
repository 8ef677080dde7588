"""QueueService: the hub's use cases for one center, a façade over the writer, the commands and the queries.

- ``writer.py``: one thread serialises every command and group-commits batches through the EventStore port;
- ``commands.py``: issue, call, recall, … (the write side);
- ``queries.py``: snapshots, states, waits, today's figures (the read side, under the writer's lock).
Any EventStore works: SqliteStore in the hub, MemoryStore in fast unit tests. Must not: talk MQTT or HTTP,
import an adapter, or read the wall clock (the Clock port does).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Self

from contracts.messages import Envelope, event_id
from queue_server.app.commands import IssueResult, QueueCommands
from queue_server.app.ports import Clock, EventListener, EventStore
from queue_server.app.queries import QueueQueries, TicketView
from queue_server.app.writer import Reconfigure, Writer
from queue_server.domain.model import CenterDef
from queue_server.domain.transitions import QueueState

__all__ = ["IssueResult", "QueueService", "TicketView", "event_id"]


class QueueService(QueueCommands, QueueQueries):
    """Thread-safe façade of one center's queue. Create once per process; ``close()`` on shutdown."""

    def __init__(self, center: CenterDef, store: EventStore, clock: Clock, *, silent_after_s: float = 0) -> None:
        self.store = store
        self.clock = clock
        self._writer = Writer(center, store, clock)
        # counter presence (console heartbeats, counter commands): in memory only, see domain.counter_presence
        self.silent_after_s = silent_after_s
        self._seen: dict[str, datetime] = {}
        self._started = clock.now()

    @property
    def center(self) -> CenterDef:
        """The live center definition (an admin's change swaps it through the writer)."""
        return self._writer.center

    def reconfigure(self, center: CenterDef, data: dict[str, Any], applied: Callable[[], None] | None = None,
                    guard: Callable[[QueueState], None] | None = None) -> Envelope:
        """Swap in a new center definition with its ``config.changed`` event (one commit, between two
        commands); ``guard`` checks the live state first (raising refuses the change), ``applied`` runs under
        the writer's lock once it is durable. Returns the event."""
        envelope: Envelope = self._writer.submit(Reconfigure(center, dict(data), applied, guard))
        return envelope

    def add_listener(self, fn: EventListener) -> None:
        self._writer.add_listener(fn)

    def on_storage_change(self, fn: Callable[[bool], None]) -> None:
        """``fn(ok)`` when commits start failing on a full disk (False) and when they succeed again (True)."""
        self._writer.on_storage = fn

    def remove_listener(self, fn: EventListener) -> None:
        self._writer.remove_listener(fn)

    def close(self) -> None:
        """Finish queued commands, stop the writer, close the store."""
        self._writer.close()

    def rebuild(self) -> None:
        """Rebuild the store's projections from the event log and reload the live state from them."""
        self._writer.rebuild()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
