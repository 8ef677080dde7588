"""A center's own announcer as the voice: the script to read, and one continuous reading cut into clips.

``script()`` lists what to read, one line per clip, in order (the fixed phrases, every number word, every letter).
``import_recording(wav, target)`` cuts the reading at its pauses (numpy over 20 ms frames), checks there is one
piece per line, normalises every clip — and the chime — to one loudness (whole-clip RMS, what ``sox stats`` shows),
checks that every call the center can make (numbers 0–9999 of every prefix, every counter) can be spoken, and only
then installs the pack (written beside the target, then renamed into place: never half a pack). Pure file work, run
by an operator (``motcua voice import``), never at call time.
"""
from __future__ import annotations

import json
import math
import shutil
import tempfile
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from displays.announcements import ALL_CLIPS, CHIME, clip_texts, letter_clip, make_announcement
from displays.loudness import RATE, TARGET_RMS_DB, normalise_folder, normalised, write_wav
from displays.voice_pack import MANIFEST, VoicePackError, _make_chime, _run, _tool

FRAME_S = 0.02
MIN_PAUSE_S = 0.35        # a pause between two lines of the script is at least this long
MIN_PIECE_S = 0.12        # shorter bursts (a click, a breath) are not a line
PAD_S = 0.04


def script() -> list[tuple[str, str]]:
    """(clip, what to say) for every spoken clip, in reading order; the chime is made, not read."""
    texts = clip_texts()
    return [(clip, texts[clip]) for clip in ALL_CLIPS if clip != CHIME]


def script_text() -> str:
    """The sheet handed to the announcer: numbered lines, a pause of about a second after each."""
    lines = ["# Đọc lần lượt từng dòng, nghỉ khoảng 1 giây sau mỗi dòng. Read each line, then pause ~1 s.", ""]
    lines += [f"{i:3d}. {text}" for i, (_, text) in enumerate(script(), 1)]
    return "\n".join(lines) + "\n"


def calls_need(prefixes: Iterable[str], counters: Iterable[str], numbers: Iterable[int] = range(10000)) -> set[str]:
    """Every clip some call of the center uses: each prefix with numbers 0–9999, to each counter, call and recall."""
    prefixes, counters = list(prefixes), list(counters)
    need: set[str] = {CHIME}
    for n in numbers:
        need.update(make_announcement("x", f"A{n}", "1").clips)
    for prefix in prefixes:
        need.update(letter_clip(ch) for ch in prefix.upper())
    for counter in counters:
        need.update(make_announcement("x", "A1", counter, recall=1).clips)
    return need


@dataclass(frozen=True, slots=True)
class ImportReport:
    clips: int
    rms_db: dict[str, float]

    @property
    def spread_db(self) -> float:
        values = list(self.rms_db.values())
        return max(values) - min(values) if values else 0.0


def _read_mono(path: Path, tmp: Path) -> np.ndarray:
    """The recording as float samples at RATE, mono (converted with sox when it is anything else)."""
    try:
        with wave.open(str(path), "rb") as w:
            ok = w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() == RATE
            frames = w.readframes(w.getnframes()) if ok else b""
    except (wave.Error, EOFError, OSError) as err:
        raise VoicePackError(f"{path}: not a readable wav ({err})") from err
    if not ok:
        converted = tmp / "mono.wav"
        _run([_tool("sox"), str(path), "-r", str(RATE), "-c", "1", "-b", "16", str(converted)])
        with wave.open(str(converted), "rb") as w:
            frames = w.readframes(w.getnframes())
    return np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0


def split_by_pauses(samples: np.ndarray, rate: int = RATE) -> list[tuple[int, int]]:
    """(start, end) sample ranges of the spoken pieces: runs of frames above a threshold set from the recording's
    own levels, split where at least MIN_PAUSE_S is quiet; bursts under MIN_PIECE_S are dropped."""
    step = max(1, int(rate * FRAME_S))
    n = len(samples) // step
    if n == 0:
        return []
    rms = np.sqrt(np.mean(samples[: n * step].reshape(n, step) ** 2, axis=1) + 1e-12)
    loud = np.percentile(rms, 95)
    floor = np.percentile(rms, 10)
    threshold = max(floor * 4.0, loud * 0.06, 1e-4)
    voiced = rms > threshold
    pieces: list[tuple[int, int]] = []
    start: int | None = None
    quiet = 0
    min_quiet = math.ceil(MIN_PAUSE_S / FRAME_S)
    for i, v in enumerate(voiced):
        if v:
            if start is None:
                start = i
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet >= min_quiet:
                pieces.append((start, i - quiet + 1))
                start, quiet = None, 0
    if start is not None:
        pieces.append((start, n - quiet))
    min_frames = math.ceil(MIN_PIECE_S / FRAME_S)
    return [(a * step, b * step) for a, b in pieces if b - a >= min_frames]


def import_recording(recording: str | Path, target: str | Path, prefixes: Iterable[str] = (),
                     counters: Iterable[str] = ()) -> ImportReport:
    """Cut ``recording`` (the script read in order) into clips, normalise them, check every call, install."""
    target = Path(target)
    lines = script()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        samples = _read_mono(Path(recording), tmp)
        pieces = split_by_pauses(samples)
        if len(pieces) != len(lines):
            raise VoicePackError(
                f"found {len(pieces)} spoken pieces but the script has {len(lines)} lines: read every line once, "
                f"in order, with a pause of about a second after each (see `motcua voice script`)")
        staging = target.parent / f".{target.name}.importing"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        pad = np.zeros(int(RATE * PAD_S))
        for (clip, _), (a, b) in zip(lines, pieces, strict=True):
            write_wav(staging / f"{clip}.wav", normalised(np.concatenate([pad, samples[a:b], pad])))
        _make_chime(_tool("sox"), staging / f"{CHIME}.wav", tmp)
        levels = normalise_folder(staging)
        have = {p.stem for p in staging.glob("*.wav")}
        missing = sorted(calls_need(prefixes, counters) - have)
        if missing:
            shutil.rmtree(staging, ignore_errors=True)
            raise VoicePackError(f"the pack cannot say every call: missing {', '.join(missing)}")
        manifest = {"voice": f"recorded: {Path(recording).name}", "rate": RATE, "rms_dbfs": TARGET_RMS_DB,
                    "clips": {clip: text for clip, text in lines} | {CHIME: "(chime)"}}
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        old = target.parent / f".{target.name}.old"
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    return ImportReport(len(have), levels)
