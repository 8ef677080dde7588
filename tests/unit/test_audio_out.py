"""Hub-side voice with the simulated sound device: order, repeats, recalls, faults, bad events."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contracts.messages import Envelope
from displays.audio_out import HubAnnouncer, SimulatedSink, call_from_event, make_sink
from displays.voice_pack import VoicePack, build

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]   # runs espeak-ng and sox


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> VoicePack:
    folder = tmp_path_factory.mktemp("voice")
    build(folder)
    return VoicePack.for_hall(None, folder)       # as the hub's wiring makes it: each call synthesised whole


def _event(seq: int, number: str, counter: str, recalls: int = 0, kind: str = "ticket.called") -> dict[str, Any]:
    return {"id": f"e{seq}", "seq": seq, "type": kind, "center": "c", "at": "2026-11-23T08:00:00+07:00",
            "data": {"ticket": {"id": f"t-{number}", "number": number, "recalls": recalls, "counter": counter},
                     "counter": counter, "counter_name": f"Quầy {counter}"}}


def test_calls_are_played_in_order_repeated_and_recalls_again(pack: VoicePack) -> None:
    sink = SimulatedSink()
    announcer = HubAnnouncer(pack, sink, repeats=2)
    try:
        announcer.on_events([_event(1, "A001", "1"), _event(2, "A002", "2"), _event(3, "X", "1", kind="ticket.done")])
        announcer.on_events([Envelope.from_dict(_event(4, "A001", "1", recalls=1, kind="ticket.recalled")),
                             _event(1, "A001", "1")])          # a replay of seq 1 is not spoken again
        played = sink.wait_for(6)
        assert [p.label for p in played] == ["A001#1", "A001#2", "A002#1", "A002#2", "A001#1", "A001#2"]
        assert all(p.duration_s > 1.0 for p in played)
    finally:
        announcer.close()
    assert len(sink.played) == 6


def test_a_device_failure_skips_one_play_and_goes_on(pack: VoicePack) -> None:
    sink = SimulatedSink()
    sink.fail_next = 1
    announcer = HubAnnouncer(pack, sink, repeats=1)
    try:
        announcer.on_events([_event(1, "A001", "1"), _event(2, "B002", "3")])
        assert [p.label for p in sink.wait_for(1)] == ["B002#1"]
    finally:
        announcer.close()


def test_bad_call_events_are_ignored() -> None:
    assert call_from_event({"type": "ticket.called", "data": {"ticket": {"number": "??"}, "counter": "1"}}) is None
    assert call_from_event({"type": "ticket.called"}) is None
    assert call_from_event("garbage") is None
    a = call_from_event(_event(1, "C105", "12", recalls=2, kind="ticket.recalled"))
    assert a is not None and a.recall == 2 and a.clips[1] == "phrase-invite-again"


def test_sink_choice(tmp_path: Path) -> None:
    assert isinstance(make_sink("sim://audio"), SimulatedSink)
    assert make_sink("aplay:hw:1,0").argv == ["aplay", "-q", "-D", "hw:1,0", "-"]  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        make_sink("speaker")
