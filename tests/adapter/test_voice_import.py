"""A voice pack from one continuous reading of the script: espeak-ng reads every line with pauses (a stand-in for
the center's announcer), `motcua voice import` cuts it into the right clips, normalises every clip and the chime to
one loudness (sox's own RMS figure within 1 dB), checks every call of the example center can be spoken, installs.
Real espeak-ng, sox and wav files."""
from __future__ import annotations

import re
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from displays.announcements import ALL_CLIPS, CHIME
from displays.loudness import RATE, normalised, read_wav, write_wav
from displays.voice_import import calls_need, import_recording, script
from displays.voice_pack import VoicePack, VoicePackError, build
from queue_server.config import load_settings

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(180),
              pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                                 reason="espeak-ng and sox are installed by the Makefile's apt target")]

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "center.example.toml"


def sox_rms_db(path: Path) -> float:
    out = subprocess.run(["sox", str(path), "-n", "stats"], capture_output=True, text=True, check=True).stderr
    match = re.search(r"RMS lev dB\s+(-?[\d.]+)", out)
    assert match, out
    return float(match.group(1))


def synthetic_reading(tmp: Path, lines: list[str], pause_s: float = 0.9) -> Path:
    """espeak-ng (vi+f3) reads each line; a second of silence between lines; quieter and louder lines mixed."""
    parts = [np.zeros(int(RATE * 0.5))]
    for i, text in enumerate(lines):
        wav = tmp / f"line{i}.wav"
        subprocess.run(["espeak-ng", "-v", "vi+f3", "-s", "140", "-w", str(wav), text], check=True)
        subprocess.run(["sox", str(wav), "-r", str(RATE), "-c", "1", "-b", "16", str(tmp / "r.wav")], check=True)
        # espeak says some letter names almost silently ("gi" peaks at -21 dBFS): bring each line to speech level
        # first, then make the announcer uneven (every third line 8 dB quieter), as a person reading is
        samples = normalised(read_wav(tmp / "r.wav"), -18.0) * (0.4 if i % 3 == 0 else 1.0)
        parts += [samples, np.zeros(int(RATE * pause_s))]
    out = tmp / "reading.wav"
    write_wav(out, np.concatenate(parts))
    return out


def test_import_a_synthetic_reading_of_the_script(tmp_path: Path) -> None:
    lines = script()
    recording = synthetic_reading(tmp_path, [text for _, text in lines])
    center = load_settings(EXAMPLE).center
    prefixes = [s.prefix for s in center.services]
    counters = [c.id for c in center.counters]
    pack = tmp_path / "voice-pack"
    report = import_recording(recording, pack, prefixes=prefixes, counters=counters)
    assert report.clips == len(ALL_CLIPS)
    assert VoicePack.from_dirs(pack).missing() == []
    assert not VoicePack.from_dirs(pack).missing(calls_need(prefixes, counters))   # every call of the center
    # the right clips: each clip is about as long as espeak's own reading of its line
    for i, (clip, _) in enumerate(lines[:8]):
        with wave.open(str(pack / f"{clip}.wav")) as w:
            clip_s = w.getnframes() / w.getframerate()
        with wave.open(str(tmp_path / f"line{i}.wav")) as w:
            spoken_s = w.getnframes() / w.getframerate()
        assert 0.4 * spoken_s < clip_s < 1.3 * spoken_s + 0.1, (clip, clip_s, spoken_s)
    levels = {clip: sox_rms_db(pack / f"{clip}.wav") for clip in ALL_CLIPS}
    assert max(levels.values()) - min(levels.values()) <= 1.0, levels            # the chime too
    assert CHIME in levels


def test_a_reading_with_a_line_missing_is_refused_and_nothing_installed(tmp_path: Path) -> None:
    lines = [text for _, text in script()][:-1]
    recording = synthetic_reading(tmp_path, lines, pause_s=0.8)
    pack = tmp_path / "voice-pack"
    with pytest.raises(VoicePackError, match=r"script has \d+ lines"):
        import_recording(recording, pack)
    assert not pack.exists()


def test_the_per_word_espeak_pack_uses_the_best_measured_voice_at_one_loudness(tmp_path: Path) -> None:
    # `motcua voice build --words`: the old per-word clips (the whole-call fallback: test_voice_whole_calls.py)
    made = build(tmp_path / "gen", words=True)
    assert len(made) == len(ALL_CLIPS)
    assert "vi+f3 -s 120" in (tmp_path / "gen" / "manifest.json").read_text(encoding="utf-8")
    levels = [sox_rms_db(tmp_path / "gen" / f"{clip}.wav") for clip in ALL_CLIPS]
    assert max(levels) - min(levels) <= 1.0
