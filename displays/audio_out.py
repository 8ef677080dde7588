"""Optional hub-side voice: speaks calls through the hub machine's sound device (aplay or sox `play`).

The hall display's browser is the main speaker; this is for centers that wire the hall's amplifier to the hub.
``HubAnnouncer.on_events`` is a QueueService listener (it takes the committed envelopes) and returns at once: a
worker thread assembles one wav per call from the voice pack and plays it through an ``AudioSink``.
Sinks: ``CommandSink`` (a real device through aplay/play) and ``SimulatedSink`` (records what it would play,
with fault injection). Pick one with ``make_sink("auto" | "aplay" | "aplay:hw:1,0" | "play" | "sim://audio")``.
Must not import queue_server: envelopes arrive as contracts.messages.Envelope or plain dicts.
"""
from __future__ import annotations

import io
import logging
import shutil
import subprocess
import threading
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from displays.announcements import Announcement, AnnouncementQueue, make_announcement
from displays.vietnamese_numbers import NumberReadingError
from displays.voice_pack import VoicePack, VoicePackError

log = logging.getLogger(__name__)

CALL_EVENTS = frozenset({"ticket.called", "ticket.recalled"})


class AudioError(Exception):
    """The sound device refused or failed; the announcer logs it and goes on with the next call."""


class AudioSink(Protocol):
    def play(self, wav: bytes, label: str) -> None:
        """Play a whole wav and return when it has finished; raise AudioError on failure."""


class CommandSink:
    """Plays through an external player reading a wav on stdin (aplay -q -, or sox's play -q -t wav -)."""

    def __init__(self, argv: Sequence[str], timeout_s: float = 60.0) -> None:
        self.argv = list(argv)
        self.timeout_s = timeout_s

    def play(self, wav: bytes, label: str) -> None:
        try:
            done = subprocess.run(self.argv, input=wav, capture_output=True, timeout=self.timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise AudioError(f"{self.argv[0]}: {err}") from err
        if done.returncode != 0:
            raise AudioError(f"{self.argv[0]} exited {done.returncode}: {done.stderr.decode(errors='replace')[:200]}")


@dataclass(frozen=True, slots=True)
class PlayedAudio:
    label: str
    duration_s: float
    frames: int


class SimulatedSink:
    """Records what it would play. ``fail_next`` makes the next play raise (a device unplugged)."""

    def __init__(self) -> None:
        self.played: list[PlayedAudio] = []
        self.fail_next = 0
        self._cond = threading.Condition()

    def play(self, wav: bytes, label: str) -> None:
        with self._cond:
            if self.fail_next:
                self.fail_next -= 1
                raise AudioError("simulated device failure")
            with wave.open(io.BytesIO(wav)) as reader:
                frames = reader.getnframes()
                duration = frames / float(reader.getframerate())
            self.played.append(PlayedAudio(label, duration, frames))
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[PlayedAudio]:
        """Block until ``count`` plays were recorded (for tests); returns them."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.played) >= count, timeout):
                raise TimeoutError(f"{len(self.played)} of {count} plays after {timeout}s")
            return list(self.played)


def make_sink(spec: str = "auto") -> AudioSink:
    """``auto`` = aplay if installed, else sox's play, else a simulator (with a warning)."""
    if spec.startswith("sim://"):
        return SimulatedSink()
    if spec.startswith("aplay"):
        device = spec.partition(":")[2]
        return CommandSink(["aplay", "-q", *(["-D", device] if device else []), "-"])
    if spec == "play":
        return CommandSink(["play", "-q", "-t", "wav", "-"])
    if spec == "auto":
        if shutil.which("aplay"):
            return CommandSink(["aplay", "-q", "-"])
        if shutil.which("play"):
            return CommandSink(["play", "-q", "-t", "wav", "-"])
        log.warning("no aplay or play on this machine: hub-side voice is simulated")
        return SimulatedSink()
    raise ValueError(f"audio sink {spec!r}: expected auto, aplay[:device], play or sim://audio")


def call_from_event(event: Any) -> Announcement | None:
    """The announcement for a call event (Envelope or dict), None for any other event or a bad one."""
    as_dict = event.to_dict() if hasattr(event, "to_dict") else event
    if not isinstance(as_dict, dict) or as_dict.get("type") not in CALL_EVENTS:
        return None
    data = as_dict.get("data") or {}
    ticket = data.get("ticket") or {}
    counter = data.get("counter") or ticket.get("counter")
    try:
        return make_announcement(str(ticket.get("id", "")), str(ticket.get("number", "")), str(counter or ""),
                                 int(ticket.get("recalls") or 0))
    except (NumberReadingError, ValueError, TypeError) as err:
        log.warning("cannot announce event seq=%s: %s", as_dict.get("seq"), err)
        return None


class HubAnnouncer:
    """Speaks every call on the hub's sound device, one at a time, ``repeats`` times each."""

    def __init__(self, pack: VoicePack, sink: AudioSink, repeats: int = 2, backlog: int = 3) -> None:
        self.pack = pack
        self.sink = sink
        self._queue = AnnouncementQueue(repeats=repeats, backlog=backlog)
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="motcua-voice", daemon=True)
        self._thread.start()

    def on_events(self, events: Iterable[Any]) -> None:
        """QueueService listener: queue the calls and return at once (never blocks a command)."""
        calls = [a for a in (call_from_event(e) for e in events) if a is not None]
        if not calls:
            return
        with self._cond:
            for announcement in calls:
                self._queue.add(announcement)
            self._cond.notify_all()

    __call__ = on_events

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                play = None
                while not self._closed and (play := self._queue.next_play()) is None:
                    self._cond.wait()
                if self._closed:
                    return
            assert play is not None
            label = f"{play.announcement.number}#{play.repeat}"
            try:
                self.sink.play(self.pack.assemble(self.pack.plan(play.announcement)), label)
            except (AudioError, VoicePackError) as err:
                log.error("voice: %s not played: %s", label, err)
            finally:
                with self._cond:
                    self._queue.finished()
