"""Lease caps (issue 11): one lease at most 100 numbers, one kiosk at most 200 of a service a day, every kiosk
together at most half the service's range — two requests can no longer take a service's whole day."""
from __future__ import annotations

import pytest
from hub_center import MONDAY_0800, make_center

from contracts.errors import ErrorCode, MotcuaError
from queue_server.adapters.memory_store import MemoryStore
from queue_server.app.ports import FixedClock
from queue_server.app.queue_service import QueueService
from queue_server.domain.transitions import MAX_LEASE_SIZE, MAX_LEASED_PER_KIOSK

pytestmark = pytest.mark.unit


def _code(fn: object, *args: object) -> str:
    with pytest.raises(MotcuaError) as err:
        fn(*args)  # type: ignore[operator]
    return str(err.value.code)


def test_leases_are_capped_per_lease_per_kiosk_and_per_service() -> None:
    svc = QueueService(make_center(), MemoryStore(), FixedClock(MONDAY_0800))
    try:
        assert _code(svc.lease_numbers, "k1", "ho-tich", MAX_LEASE_SIZE + 1) == ErrorCode.BAD_REQUEST
        svc.lease_numbers("k1", "ho-tich", 100)
        svc.lease_numbers("k1", "ho-tich", 100)
        assert _code(svc.lease_numbers, "k1", "ho-tich", 1) == ErrorCode.QUOTA_REACHED    # 200 for k1 today
        svc.lease_numbers("k2", "ho-tich", 100)
        svc.lease_numbers("k3", "ho-tich", 100)
        svc.lease_numbers("k4", "ho-tich", 99)                       # 499 of 999: just under half
        assert _code(svc.lease_numbers, "k5", "ho-tich", 1) == ErrorCode.QUOTA_REACHED    # half the range
        assert MAX_LEASED_PER_KIOSK == 200
        # the hub itself keeps issuing past every lease
        assert svc.issue_ticket("ho-tich").ticket.number.number == 500
        svc.lease_numbers("k1", "dat-dai", 50)                       # another service: its own caps
    finally:
        svc.close()
