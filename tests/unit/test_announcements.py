"""Announcement text, clip lists and the announcement queue (order, repeats, recalls, no overlap)."""
from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest

from displays.announcements import (
    ALL_CLIPS,
    AnnouncementQueue,
    announcement_text,
    clip_texts,
    make_announcement,
)
from displays.vietnamese_numbers import NumberReadingError
from displays.voice_pack import VoicePack, VoicePackError, join_wavs, valid_clip_name

pytestmark = pytest.mark.unit


def test_text_is_the_standard_sentence() -> None:
    assert announcement_text("A023", "5") == "Xin mời công dân có số thứ tự A023 đến quầy số 5"
    assert announcement_text("a023", "5", recall=1) == "Xin mời lại công dân có số thứ tự A023 đến quầy số 5"


def test_clips_spell_the_call() -> None:
    a = make_announcement("20261123-ho-tich-23", "A023", "5")
    assert a.clips == ("chime", "phrase-invite", "letter-a", "num-hai", "num-muoi", "num-ba",
                       "phrase-to-counter", "num-nam")
    assert a.spoken == "Xin mời công dân có số thứ tự a hai mươi ba đến quầy số năm"
    b = make_announcement("t", "B1005", "12", recall=2)
    assert b.clips[1] == "phrase-invite-again"
    assert b.clips[2:] == ("letter-b", "num-mot", "num-nghin", "num-khong", "num-tram", "num-linh", "num-nam",
                           "phrase-to-counter", "num-muoi-huyen", "num-hai")
    assert make_announcement("t", "C021", "24").clips[3:] == (
        "num-hai", "num-muoi", "num-mot-sac", "phrase-to-counter", "num-hai", "num-muoi", "num-tu")


def test_every_clip_an_announcement_can_use_is_in_the_pack_vocabulary() -> None:
    for number in ("A001", "Z9999", "Đ105", "W24", "Y15"):
        for counter in ("1", "25", "B3", "quay-104"):
            assert set(make_announcement("t", number, counter).clips) <= set(ALL_CLIPS)
    assert all(valid_clip_name(c) for c in ALL_CLIPS)
    assert len(set(ALL_CLIPS)) == len(ALL_CLIPS)
    # Words that differ only by tone must be different clips.
    texts = clip_texts()
    assert texts["num-muoi"] == "mươi" and texts["num-muoi-huyen"] == "mười" and texts["num-mot-sac"] == "mốt"


@pytest.mark.parametrize(("number", "counter"), [("", "1"), ("A", "1"), ("A1", "lễ tân")])
def test_bad_calls_get_a_clear_error(number: str, counter: str) -> None:
    with pytest.raises(NumberReadingError):
        make_announcement("t", number, counter)


def _plays(queue: AnnouncementQueue) -> list[tuple[str, int, int]]:
    out = []
    while (play := queue.next_play()) is not None:
        assert queue.next_play() is None, "a second play started while one was playing"
        out.append((play.announcement.number, play.announcement.recall, play.repeat))
        queue.finished()
    return out


def test_queue_plays_in_order_repeats_and_never_overlaps() -> None:
    q = AnnouncementQueue(repeats=2)
    assert q.add(make_announcement("t1", "A001", "1"))
    assert q.add(make_announcement("t2", "A002", "2"))
    first = q.next_play()
    assert first is not None and first.announcement.number == "A001"
    assert q.next_play() is None                    # still playing
    q.add(make_announcement("t3", "B001", "3"))     # arrives mid-play: queued, not started
    assert q.next_play() is None
    q.finished()
    assert _plays(q) == [("A001", 0, 2), ("A002", 0, 1), ("A002", 0, 2), ("B001", 0, 1), ("B001", 0, 2)]


def test_recall_plays_again_but_a_replayed_call_does_not() -> None:
    q = AnnouncementQueue(repeats=1)
    assert q.add(make_announcement("t1", "A001", "1"))
    assert not q.add(make_announcement("t1", "A001", "1"))      # same call replayed after a reconnect
    assert q.add(make_announcement("t1", "A001", "1", recall=1))
    assert _plays(q) == [("A001", 0, 1), ("A001", 1, 1)]
    assert q.add(make_announcement("t1", "A001", "1", recall=2))
    assert _plays(q) == [("A001", 2, 1)]


def test_a_burst_drops_repeats_so_the_newest_call_is_heard_soon() -> None:
    q = AnnouncementQueue(repeats=2, backlog=2)
    q.add(make_announcement("t1", "A001", "1"))
    first = q.next_play()                             # A001#1 playing; A001#2 pending (1 call waiting)
    assert first is not None
    q.add(make_announcement("t2", "A002", "2"))       # 2 calls waiting now: A001#2, A002#1, A002#2
    q.add(make_announcement("t3", "A003", "3"))       # burst: repeats dropped, A003 once
    q.finished()
    assert _plays(q) == [("A002", 0, 1), ("A003", 0, 1)]
    q.add(make_announcement("t4", "A004", "4"))       # calm again: repeated
    assert _plays(q) == [("A004", 0, 1), ("A004", 0, 2)]


def test_queue_refuses_zero_repeats() -> None:
    with pytest.raises(ValueError):
        AnnouncementQueue(repeats=0)


def _tone(path: Path, frames: int, rate: int = 22050) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x01\x00" * frames)


def test_pack_lookup_prefers_the_recorded_folder_and_joins_wavs(tmp_path: Path) -> None:
    recorded, generated = tmp_path / "rec", tmp_path / "gen"
    recorded.mkdir()
    generated.mkdir()
    _tone(generated / "chime.wav", 100)
    _tone(generated / "num-nam.wav", 50)
    _tone(recorded / "num-nam.wav", 70)
    pack = VoicePack.from_dirs(recorded, generated)
    assert pack.path("num-nam") == recorded / "num-nam.wav"
    assert pack.path("chime") == generated / "chime.wav"
    assert pack.path("../etc/passwd") is None and pack.path("num-hai") is None
    assert "num-hai" in pack.missing()
    with wave.open(io.BytesIO(pack.assemble(["chime", "num-nam", "chime"]))) as w:
        assert w.getnframes() == 270 and w.getframerate() == 22050
    with pytest.raises(VoicePackError):
        pack.assemble(["chime", "num-hai"])
    with wave.open(io.BytesIO(join_wavs([]))) as w:
        assert w.getnframes() == 0
