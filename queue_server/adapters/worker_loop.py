"""The worker thread both outboxes run on (the notification outbox and the main-system relay): passes again at once
while a pass did work (draining a backlog), otherwise sleeps until woken or until the owner's idle wait is over.

It owns only the thread, its wake-up and its stop: what a pass does, how long to sleep (retries, backoff) and what
an error in a pass means are the owner's. An error of a type in ``survive`` is logged on the owner's logger with the
owner's sentence and the loop goes on; anything else ends the thread as it would end any thread.
Must not: touch a store, send anything, or decide a retry.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable


class WorkerLoop:
    def __init__(self, name: str, one_pass: Callable[[], int], idle_wait: Callable[[], float], *,
                 survive: type[BaseException] | tuple[type[BaseException], ...], failure: str,
                 log: logging.Logger) -> None:
        self.name = name
        self.one_pass = one_pass            # returns how much it did: 0 means "nothing more now, sleep"
        self.idle_wait = idle_wait          # seconds until the next pass is due
        self.survive = survive
        self.failure = failure
        self.log = log
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float) -> None:
        """Ask the loop to end after the pass in progress, and wait for it (at most ``timeout`` seconds)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            # cleared before the pass: a wake that comes during it makes the wait below return at once
            self._wake.clear()
            try:
                did = self.one_pass()
            except self.survive:
                self.log.exception(self.failure)
                did = 0
            if did and not self._stop.is_set():
                continue                       # more may be waiting: keep draining
            self._wake.wait(self.idle_wait())
