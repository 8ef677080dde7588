"""Lease caps (issue 11): one lease at most 100 numbers, one kiosk at most half of a service's offline region a
day — a kiosk (or a forged kiosk id) can no longer take every number the other kiosks need offline."""
from __future__ import annotations

import pytest
from hub_center import MONDAY_0800, make_center

from contracts.errors import ErrorCode, MotcuaError
from queue_server.adapters.memory_store import MemoryStore
from queue_server.app.ports import FixedClock
from queue_server.app.queue_service import QueueService
from queue_server.domain import numbering
from queue_server.domain.transitions import MAX_LEASE_SIZE

pytestmark = pytest.mark.unit


def _code(fn: object, *args: object) -> str:
    with pytest.raises(MotcuaError) as err:
        fn(*args)  # type: ignore[operator]
    return str(err.value.code)


def test_leases_are_capped_per_lease_and_per_kiosk() -> None:
    center = make_center()
    svc = QueueService(center, MemoryStore(), FixedClock(MONDAY_0800))
    ho_tich = center.services[0]
    region = ho_tich.number_end - numbering.offline_first(ho_tich) + 1
    assert region == 200
    try:
        assert _code(svc.lease_numbers, "k1", "ho-tich", MAX_LEASE_SIZE + 1) == ErrorCode.BAD_REQUEST
        svc.lease_numbers("k1", "ho-tich", 50)
        svc.lease_numbers("k1", "ho-tich", 50)
        assert _code(svc.lease_numbers, "k1", "ho-tich", 1) == ErrorCode.QUOTA_REACHED    # half the region
        svc.lease_numbers("k2", "ho-tich", 100)                      # another kiosk still gets its share
        assert _code(svc.lease_numbers, "k3", "ho-tich", 1) == ErrorCode.QUOTA_REACHED    # region used up
        assert svc.issue_ticket("ho-tich").ticket.number.number == 1  # the hub's own numbers are untouched
        svc.lease_numbers("k1", "dat-dai", 50)                       # another service: its own caps
    finally:
        svc.close()
