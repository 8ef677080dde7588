"""Announcement text and clip lists for a call, and the queue that plays calls one at a time.

Pure: no I/O, no clock, no audio. The hall display's browser and the hub-side player (audio_out.py) both
speak from the clip list made here, so the Vietnamese reading lives in one place.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from displays.vietnamese_numbers import (
    LETTER_NAMES,
    NumberReadingError,
    read_counter,
    read_number,
    split_ticket_code,
)

CHIME = "chime"
PHRASE_INVITE = "phrase-invite"
PHRASE_INVITE_AGAIN = "phrase-invite-again"
PHRASE_TO_COUNTER = "phrase-to-counter"

# What each phrase clip says; voice_pack.py synthesises exactly these.
PHRASES: dict[str, str] = {
    PHRASE_INVITE: "Xin mời công dân có số thứ tự",
    PHRASE_INVITE_AGAIN: "Xin mời lại công dân có số thứ tự",
    PHRASE_TO_COUNTER: "đến quầy số",
}

# One clip per number word. Clip names are ASCII; the tone is in the name where two words differ only by tone.
NUMBER_WORD_CLIPS: dict[str, str] = {
    "không": "num-khong", "một": "num-mot", "mốt": "num-mot-sac", "hai": "num-hai", "ba": "num-ba",
    "bốn": "num-bon", "tư": "num-tu", "năm": "num-nam", "lăm": "num-lam", "sáu": "num-sau", "bảy": "num-bay",
    "tám": "num-tam", "chín": "num-chin", "mười": "num-muoi-huyen", "mươi": "num-muoi", "trăm": "num-tram",
    "linh": "num-linh", "nghìn": "num-nghin", "triệu": "num-trieu", "tỷ": "num-ty",
}

_LETTER_SLUGS = {"Ă": "a-breve", "Â": "a-circ", "Đ": "dd", "Ê": "e-circ", "Ô": "o-circ", "Ơ": "o-horn",
                 "Ư": "u-horn"}


def letter_clip(letter: str) -> str:
    """``letter_clip("A") == "letter-a"``; ``letter_clip("Đ") == "letter-dd"``."""
    return "letter-" + _LETTER_SLUGS.get(letter, letter.lower())


LETTER_CLIPS: dict[str, str] = {letter_clip(letter): name for letter, name in LETTER_NAMES.items()}


def clip_texts() -> dict[str, str]:
    """Every spoken clip and the Vietnamese text it says (the chime is a sound, not text)."""
    texts = dict(PHRASES)
    texts.update({clip: word for word, clip in NUMBER_WORD_CLIPS.items()})
    texts.update(LETTER_CLIPS)
    return texts


ALL_CLIPS: tuple[str, ...] = (CHIME, *clip_texts())


@dataclass(frozen=True, slots=True)
class Announcement:
    """One call to speak: ``key`` tells repeats of the same call apart from a recall, which is a new call."""

    ticket_id: str
    number: str
    counter: str
    recall: int
    text: str
    spoken: str
    clips: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.ticket_id, self.counter, self.recall)


def _number_clips(n: int) -> list[str]:
    return [NUMBER_WORD_CLIPS[word] for word in read_number(n)]


def announcement_text(number: str, counter: str, recall: int = 0) -> str:
    """``"Xin mời công dân có số thứ tự A023 đến quầy số 5"`` — what the screen shows and the voice says."""
    invite = PHRASES[PHRASE_INVITE_AGAIN if recall else PHRASE_INVITE]
    return f"{invite} {number.strip().upper()} {PHRASES[PHRASE_TO_COUNTER]} {counter.strip()}"


def make_announcement(ticket_id: str, number: str, counter: str, recall: int = 0) -> Announcement:
    """Text, fully spelt-out spoken words and clip list for one call; raises NumberReadingError on a bad code."""
    letters, value = split_ticket_code(number)
    counter_words = read_counter(counter)
    invite = PHRASE_INVITE_AGAIN if recall else PHRASE_INVITE
    clips: list[str] = [CHIME, invite]
    clips += [letter_clip(letter) for letter in letters]
    clips += _number_clips(value)
    clips.append(PHRASE_TO_COUNTER)
    clips += _counter_clips(counter)
    spoken_number = " ".join([LETTER_NAMES[letter] for letter in letters] + read_number(value))
    spoken = f"{PHRASES[invite]} {spoken_number} {PHRASES[PHRASE_TO_COUNTER]} {' '.join(counter_words)}"
    return Announcement(ticket_id=ticket_id, number=number.strip().upper(), counter=counter.strip(),
                        recall=max(0, int(recall)), text=announcement_text(number, counter, recall),
                        spoken=spoken, clips=tuple(clips))


def _counter_clips(counter: str) -> list[str]:
    # Same choices as read_counter: digits are a number, "B2" is a letter and a number, "quay-12" is 12.
    text = counter.strip()
    if text.isdigit():
        return _number_clips(int(text))
    try:
        letters, value = split_ticket_code(text)
    except NumberReadingError:
        words = read_counter(text)          # raises if there is no number at all
        return [NUMBER_WORD_CLIPS[word] for word in words]
    return [letter_clip(letter) for letter in letters] + _number_clips(value)


@dataclass(frozen=True, slots=True)
class Play:
    """One playback of an announcement: ``repeat`` counts from 1 to the queue's ``repeats``."""

    announcement: Announcement
    repeat: int


class AnnouncementQueue:
    """Calls waiting to be spoken. Never overlaps: ``next_play`` gives nothing while one is playing.

    Each call is played ``repeats`` times in a row before the next call; a recall (a higher ``recall`` count)
    is a new call and is played again; the same call arriving twice (an SSE replay after a reconnect) is not.
    Under a burst (``backlog`` calls already waiting) repeats are dropped and new calls are played once, so
    the newest call is heard within a few announcements rather than minutes later.
    """

    def __init__(self, repeats: int = 2, remember: int = 200, backlog: int = 3) -> None:
        if repeats < 1:
            raise ValueError("repeats must be at least 1")
        self.repeats = repeats
        self.backlog = max(1, backlog)
        self._pending: deque[Play] = deque()
        self._playing: Play | None = None
        self._seen: deque[tuple[str, str, int]] = deque(maxlen=remember)

    def add(self, announcement: Announcement) -> bool:
        """Queue a call; False if this exact call (same ticket, counter and recall count) was already queued."""
        if announcement.key in self._seen:
            return False
        self._seen.append(announcement.key)
        repeats = self.repeats
        if len({play.announcement.key for play in self._pending}) >= self.backlog:
            self._pending = deque(play for play in self._pending if play.repeat == 1)
            repeats = 1
        for repeat in range(1, repeats + 1):
            self._pending.append(Play(announcement, repeat))
        return True

    def next_play(self) -> Play | None:
        """The next play to start, or None if one is still playing or nothing is waiting."""
        if self._playing is not None or not self._pending:
            return None
        self._playing = self._pending.popleft()
        return self._playing

    def finished(self) -> None:
        """The current play ended (or failed): the next may start."""
        self._playing = None

    @property
    def playing(self) -> Play | None:
        return self._playing

    def __len__(self) -> int:
        return len(self._pending)
