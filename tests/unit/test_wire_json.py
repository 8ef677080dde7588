"""The wire/store JSON encoder and the cached timestamp formatter give exactly what the stdlib would."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from contracts import messages
from contracts.messages import VN_TZ, dumps, format_at

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

PAYLOADS = [
    {"ticket": {"id": "20261123-ho-tich-23", "number": "A023", "priority": None, "recalls": 0, "printed": True,
                "kiosk": "Kiốt sảnh 1", "note": "Tư pháp – Hộ tịch \"quote\" \\ \n\t\u0001 /"}, "counter": "5"},
    [1, -2, 2**62, "", [], {}, None, False],
    {"emoji": "😀", "zero": "\u0000", "nested": [{"a": [{"b": "đ"}]}]},
]


@pytest.mark.parametrize("obj", PAYLOADS)
def test_dumps_matches_the_stdlib_compact_encoding(obj: object) -> None:
    assert dumps(obj) == json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def test_dumps_falls_back_for_what_a_fast_encoder_refuses() -> None:
    big = {"n": 2**70}
    assert json.loads(dumps(big)) == big


def test_dumps_without_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(messages, "_orjson", None)
    assert dumps(PAYLOADS[0]) == json.dumps(PAYLOADS[0], ensure_ascii=False, separators=(",", ":"))


def test_format_at_cache_gives_the_uncached_text_for_every_zone() -> None:
    base = datetime(2026, 11, 23, 7, 30, 15, 123456, tzinfo=VN_TZ)
    for moment in (base, base.astimezone(UTC), base.astimezone(timezone(timedelta(hours=-5))),
                   base.replace(microsecond=0), base + timedelta(seconds=1)):
        expected = moment.astimezone(VN_TZ).replace(microsecond=0).isoformat()
        assert format_at(moment) == expected
        assert format_at(moment) == expected      # second call: from the cache
    assert format_at(base) == "2026-11-23T07:30:15+07:00"


def test_format_at_still_refuses_naive_timestamps() -> None:
    with pytest.raises(messages.MessageError):
        format_at(datetime(2026, 11, 23, 7, 30))


def test_format_at_cache_stays_bounded() -> None:
    start = datetime(2026, 1, 1, tzinfo=VN_TZ)
    for i in range(messages._FORMATTED_MAX + 10):
        format_at(start + timedelta(seconds=i))
    assert len(messages._FORMATTED) <= messages._FORMATTED_MAX


def test_snapshot_json_is_what_asdict_gave() -> None:
    from dataclasses import asdict

    from contracts.messages import CallInfo, CallsSnapshot, CommandReply, CounterState, ServiceState

    objs = [CounterState(5, "1", "Quầy 1", "open", None, "canbo", "A001", "t1", "called", "2026-11-23T08:00:00+07:00"),
            ServiceState(7, "ho-tich", "Tư pháp – Hộ tịch", 3, 12, "A002", True),
            CommandReply("call-next", "c1", True, result={"ticket": {"a": [1, 2]}})]
    for obj in objs:
        assert obj.to_json() == json.dumps(asdict(obj), ensure_ascii=False)
        assert type(obj).from_json(obj.to_json()) == obj
    calls = CallsSnapshot(3, (CallInfo("t1", "A001", "ho-tich", "1", "Quầy 1", "2026-11-23T08:00:00+07:00", 1),))
    assert calls.to_json() == json.dumps({"seq": 3, "calls": [asdict(c) for c in calls.calls]}, ensure_ascii=False)
    assert CallsSnapshot.from_json(calls.to_json()) == calls
