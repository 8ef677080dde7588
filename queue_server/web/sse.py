"""In-process fan-out of committed event envelopes to Server-Sent-Event streams (hall and counter displays).

QueueService calls ``Broadcaster.publish`` after each commit (it is a service listener); each open stream has its
own bounded queue, so a slow display can never block a command: a stream that falls behind is closed and its
browser reconnects with Last-Event-ID, which resumes from the store (``events_after``). No I/O here.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator, Sequence

from contracts.messages import Envelope

log = logging.getLogger(__name__)


class StreamClosed(Exception):
    """The broadcaster shut down or this subscriber fell too far behind."""


class StreamsFull(Exception):
    """No stream slot left (for this client, or for the hub): the message says which."""


class Subscription:
    def __init__(self, owner: Broadcaster, max_batches: int, client: str = "") -> None:
        self._owner = owner
        self.client = client
        self._queue: queue.Queue[Sequence[Envelope] | None] = queue.Queue(max_batches)
        self.overflowed = False

    def _offer(self, batch: Sequence[Envelope] | None) -> None:
        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            self.overflowed = True

    def get(self, timeout: float) -> Sequence[Envelope]:
        """The next batch, or ``()`` after ``timeout`` seconds without one; StreamClosed when it must end."""
        if self.overflowed:
            raise StreamClosed("subscriber fell behind")
        try:
            batch = self._queue.get(timeout=timeout)
        except queue.Empty:
            return ()
        if batch is None:
            raise StreamClosed("broadcaster closed")
        return batch

    def close(self) -> None:
        self._owner._remove(self)


class Broadcaster:
    def __init__(self, max_batches: int = 1000) -> None:
        self._subs: set[Subscription] = set()
        self._lock = threading.Lock()
        self._max = max_batches
        self._closed = False

    def __call__(self, envelopes: Sequence[Envelope]) -> None:
        self.publish(envelopes)

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        if not envelopes:
            return
        batch = tuple(envelopes)
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub._offer(batch)

    def subscribe(self, client: str = "", *, per_client: int | None = None,
                  total: int | None = None) -> Subscription:
        """A new subscriber; with limits, checked and taken under one lock (StreamsFull when there is no slot),
        so one client cannot hold every slot by opening streams in parallel."""
        sub = Subscription(self, self._max, client)
        with self._lock:
            if total is not None and len(self._subs) >= total:
                raise StreamsFull(f"{total} event streams are open, the most this hub allows ([http] threads); "
                                  "use MQTT state topics for more screens")
            if per_client is not None and sum(1 for s in self._subs if s.client == client) >= per_client:
                raise StreamsFull(f"this client already has {per_client} event streams open (the most one "
                                  "address may hold); close one first")
            if self._closed:
                sub._offer(None)
            self._subs.add(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    def close(self) -> None:
        """End every open stream (hub shutdown) so their server threads return."""
        with self._lock:
            self._closed = True
            subs = list(self._subs)
        for sub in subs:
            sub._offer(None)


def sse_message(data: str, *, event: str | None = None, id: int | None = None) -> str:
    lines = []
    if event:
        lines.append(f"event: {event}")
    if id is not None:
        lines.append(f"id: {id}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return "\n".join(lines) + "\n\n"


def iter_batches(sub: Subscription, keepalive_s: float) -> Iterator[Sequence[Envelope]]:
    """Yield batches; ``()`` every ``keepalive_s`` of silence (the caller sends a comment line)."""
    while True:
        yield sub.get(keepalive_s)
