"""The outboxes' worker thread (queue_server.adapters.worker_loop): it drains while a pass does work, sleeps when one
does nothing until woken, logs an error it is told to survive and goes on, and stop() ends it."""
from __future__ import annotations

import logging
import sqlite3
import threading
import time

import pytest

from queue_server.adapters.worker_loop import WorkerLoop

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

LONG = 3600.0      # an idle wait no test ever reaches: only wake() or stop() ends it


def test_drains_then_sleeps_until_woken_survives_errors_and_stops(caplog: pytest.LogCaptureFixture) -> None:
    work = [3]                         # three passes with something to do, then nothing
    passes: list[int] = []
    fail_next = threading.Event()
    slept = threading.Semaphore(0)

    def one_pass() -> int:
        if fail_next.is_set():
            fail_next.clear()
            raise sqlite3.OperationalError("database is locked")
        did = 1 if work[0] > 0 else 0
        work[0] -= did
        passes.append(did)
        return did

    def idle_wait() -> float:
        slept.release()
        return LONG

    loop = WorkerLoop("test-loop", one_pass, idle_wait, survive=sqlite3.Error, failure="test loop: store error",
                      log=logging.getLogger("test.worker_loop"))
    loop.start()
    loop.start()                       # a second start while running starts nothing more
    assert slept.acquire(timeout=10)
    assert passes == [1, 1, 1, 0]      # drained without sleeping, then went to sleep
    assert [t.name for t in threading.enumerate()].count("test-loop") == 1

    fail_next.set()
    with caplog.at_level(logging.ERROR, logger="test.worker_loop"):
        loop.wake()
        assert slept.acquire(timeout=10)
    assert [r.getMessage() for r in caplog.records] == ["test loop: store error"]
    work[0] = 1
    loop.wake()                        # the loop outlived the error
    assert slept.acquire(timeout=10)
    assert passes[-2:] == [1, 0]

    assert loop.running
    loop.stop(timeout=10)
    assert not loop.running and "test-loop" not in [t.name for t in threading.enumerate()]


def test_an_error_it_is_not_told_to_survive_ends_the_thread() -> None:
    ended = threading.Event()

    def one_pass() -> int:
        ended.set()
        raise RuntimeError("a bug")

    loop = WorkerLoop("test-loop-bug", one_pass, lambda: LONG, survive=sqlite3.Error, failure="x",
                      log=logging.getLogger("test.worker_loop"))
    previous = threading.excepthook
    threading.excepthook = lambda args: None      # the thread's own report of the bug is not this test's output
    try:
        loop.start()
        assert ended.wait(10)
        deadline = time.monotonic() + 10
        while loop.running:                            # ended by the bug, not by stop()
            assert time.monotonic() < deadline
            time.sleep(0.005)
        loop.stop(timeout=10)
    finally:
        threading.excepthook = previous
    assert "test-loop-bug" not in [t.name for t in threading.enumerate()]
