"""The hold on new offline leases after a restore (queue_server/app/lease_hold.py): a hub started on a store
`motcua restore` marked refuses POST /leases for a minute with a retryable 503 (Vietnamese first), lets hand-ins and
re-reports through, then clears the mark once; a store without the mark is never held."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from hub_center import MONDAY_0800, make_center

from contracts.errors import ErrorCode
from queue_server.adapters.memory_store import MemoryStore
from queue_server.app.lease_hold import RESTORE_HOLD_S, LeaseHold, LeasesOnHold
from queue_server.app.ports import FixedClock
from queue_server.app.queue_service import QueueService

pytestmark = pytest.mark.unit


class Marks:
    """The RestoreMarks port in memory; counts the clears."""

    def __init__(self, backup: str | None, fail: bool = False) -> None:
        self.backup = backup
        self.cleared = 0
        self.fail = fail
        self.gone = threading.Event()

    def restored(self) -> str | None:
        return self.backup

    def clear(self) -> None:
        self.cleared += 1
        if self.fail:
            raise OSError("disk full")
        self.backup = None
        self.gone.set()


def test_a_plain_start_is_never_held() -> None:
    marks = Marks(None)
    hold = LeaseHold(marks, FixedClock(MONDAY_0800))
    assert not hold.active
    hold.check()
    assert hold.release_if_over() and marks.cleared == 0


def test_a_restored_start_holds_new_leases_for_the_grace_then_clears_the_mark_once() -> None:
    clock = FixedClock(MONDAY_0800)
    marks = Marks("motcua-hcc-20261123-120000")
    center = make_center()
    svc = QueueService(center, MemoryStore(), clock)
    svc.lease_hold = hold = LeaseHold(marks, clock)
    try:
        with pytest.raises(LeasesOnHold) as refused:
            svc.lease_numbers("k1", "ho-tich", 20)
        err = refused.value
        assert err.code is ErrorCode.LEASES_ON_HOLD and err.http_status == 503
        assert err.retry_after_s == RESTORE_HOLD_S
        assert err.message.startswith("Máy chủ vừa được khôi phục") and " / the hub was just restored" in err.message
        # the holder's re-report of a block the restored hub forgot is adopted during the hold
        day = f"{MONDAY_0800:%Y%m%d}"
        kept = svc.merge_leased(f"{day}-ho-tich-801-820", [{"number": 801, "issued_at": MONDAY_0800}], "k2")
        assert [t.number.number for t in kept] == [801]
        clock.advance(timedelta(seconds=RESTORE_HOLD_S - 1))
        with pytest.raises(LeasesOnHold) as refused:
            svc.lease_numbers("k1", "ho-tich", 20)
        assert refused.value.retry_after_s == 1
        assert not hold.release_if_over() and marks.cleared == 0
        clock.advance(timedelta(seconds=1))
        lease = svc.lease_numbers("k1", "ho-tich", 20)
        assert lease.first > 820                                 # not the re-reported block
        assert marks.cleared == 1 and marks.backup is None and not hold.active
        svc.lease_numbers("k1", "dat-dai", 20)
        assert hold.release_if_over() and marks.cleared == 1     # once
    finally:
        svc.close()


def test_the_periodic_release_clears_the_mark_without_any_lease_asked() -> None:
    clock = FixedClock(MONDAY_0800)
    marks = Marks("b")
    hold = LeaseHold(marks, clock, hold_s=10)
    assert not hold.release_if_over()
    clock.advance(timedelta(seconds=10))
    assert hold.release_if_over() and marks.backup is None


def test_the_hubs_background_check_clears_the_mark_once_the_hold_is_over() -> None:
    clock = FixedClock(MONDAY_0800)
    marks = Marks("b")
    hold = LeaseHold(marks, clock, hold_s=10)
    hold.start(every_s=0.01)
    try:
        assert not marks.gone.wait(0.05)          # the hub's clock has not moved: held
        clock.advance(timedelta(seconds=10))
        assert marks.gone.wait(10) and marks.cleared == 1
    finally:
        hold.stop()


def test_a_mark_that_cannot_be_cleared_does_not_hold_the_leases_beyond_the_grace() -> None:
    clock = FixedClock(MONDAY_0800)
    marks = Marks("b", fail=True)
    hold = LeaseHold(marks, clock, hold_s=10)
    clock.advance(timedelta(seconds=11))
    hold.check()                                  # logged; grants go on (the next start would hold again)
    hold.check()
    assert marks.cleared == 1 and not hold.active
