"""Event ids are RFC 9562 UUIDv7: unique, valid, and ordered by the event's time (index locality in the log)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from contracts.messages import VN_TZ
from queue_server.app.queue_service import event_id

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

AT = datetime(2026, 11, 23, 8, 0, tzinfo=VN_TZ)


def test_ids_are_unique_valid_uuid7_even_for_one_instant() -> None:
    ids = [event_id(AT) for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:200]:
        u = uuid.UUID(text)
        assert str(u) == text and u.version == 7 and u.variant == uuid.RFC_4122


def test_ids_carry_the_event_time_and_sort_by_it() -> None:
    first = event_id(AT)
    assert int(first.replace("-", "")[:12], 16) == int(AT.timestamp() * 1000)
    later = [event_id(AT + timedelta(seconds=s)) for s in range(1, 50)]
    assert later == sorted(later) and first < later[0]


def test_seeding_the_global_random_does_not_repeat_ids() -> None:
    import random

    random.seed(0)
    first = [event_id(AT) for _ in range(20)]
    random.seed(0)
    again = [event_id(AT) for _ in range(20)]
    assert not set(first) & set(again)
