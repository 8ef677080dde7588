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


def test_a_lease_of_today_the_hub_lost_is_adopted_back_from_its_kiosk() -> None:
    """A hub restored from a backup taken before it granted a lease: the kiosk holding it re-reports it (its kiosk
    id in the hand-in) and the hub adopts it back, so the block is never granted to another kiosk."""
    center = make_center()
    svc = QueueService(center, MemoryStore(), FixedClock(MONDAY_0800))
    lost = "20261123-ho-tich-800-819"
    paper = [{"number": 800, "issued_at": "2026-11-23T07:55:00+07:00"}]
    try:
        assert _code(svc.merge_leased, lost, paper) == ErrorCode.NOT_FOUND          # no kiosk named: unknown
        [ticket] = svc.merge_leased(lost, paper, "k1")
        assert (ticket.display, ticket.lease_id, ticket.kiosk) == ("A800", lost, "k1")
        seq = svc.last_seq
        assert [e.type for e in svc.store.events_after(0)] == ["lease.granted", "ticket.issued"]
        assert svc.merge_leased(lost, paper, "k1") == [ticket] and svc.last_seq == seq   # a re-report: nothing
        assert svc.merge_leased(lost, [], "k1") == [] and svc.last_seq == seq
        other = svc.lease_numbers("k2", "ho-tich", 20)
        assert other.first == 820                                                   # never k1's block again
        # what the hub would never have granted is not adopted
        assert _code(svc.merge_leased, "20261123-ho-tich-810-829", [], "k3") == ErrorCode.LEASE_CONFLICT  # overlap
        assert _code(svc.merge_leased, "20261123-ho-tich-5-9", [], "k3") == ErrorCode.LEASE_CONFLICT    # online part
        assert _code(svc.merge_leased, "20261123-ho-tich-900-1000", [], "k3") == ErrorCode.LEASE_CONFLICT
        assert _code(svc.merge_leased, "20261122-ho-tich-900-909", [], "k3") == ErrorCode.NOT_FOUND    # not today
        assert _code(svc.merge_leased, "20261123-khong-co-900-909", [], "k3") == ErrorCode.NOT_FOUND   # no service
        assert _code(svc.merge_leased, "20261123-ho-tich-0900-0909", [], "k3") == ErrorCode.NOT_FOUND  # not its id
        assert svc.last_seq == seq + 1                                              # only k2's lease
    finally:
        svc.close()
