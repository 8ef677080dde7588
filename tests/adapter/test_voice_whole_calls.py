"""The espeak-ng fallback speaks each call as one whole clip (issue 13 point 7): the call sentence synthesised at
once with the best measured settings, made when the call is planned, cached on disk (bounded), every clip at the
chime's loudness (sox's own RMS figure within 1 dB); a recorded announcer who can say the call is used first; the
hub-side player and `motcua voice` use the same plan. Real espeak-ng, sox, wav files and subprocesses."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from displays.announcements import CHIME, make_announcement
from displays.voice_pack import (
    CALLS_DIR,
    DEFAULT_SPEED,
    DEFAULT_VOICE,
    VoicePack,
    WholeCallVoice,
    build,
    ensure_built,
)

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(180),
              pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                                 reason="espeak-ng and sox are installed by the Makefile's apt target")]

ROOT = Path(__file__).resolve().parents[2]


def sox_rms_db(path: Path) -> float:
    out = subprocess.run(["sox", str(path), "-n", "stats"], capture_output=True, text=True, check=True).stderr
    match = re.search(r"RMS lev dB\s+(-?[\d.]+)", out)
    assert match, out
    return float(match.group(1))


def seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def espeak_alone_s(text: str, tmp: Path) -> float:
    """How long espeak-ng itself takes to say ``text`` with the fallback's settings, silence trimmed."""
    raw, trimmed = tmp / "alone.wav", tmp / "alone-trimmed.wav"
    subprocess.run(["espeak-ng", "-v", DEFAULT_VOICE, "-s", str(DEFAULT_SPEED), "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), str(trimmed), "silence", "1", "0.01", "0.5%", "reverse", "silence", "1", "0.01",
                    "0.5%", "reverse"], check=True)
    return seconds(trimmed)


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    folder = tmp_path / "voice"
    assert build(folder) == [CHIME]                  # ahead of time: the chime only, a first start stays quick
    return folder


def test_a_call_is_the_chime_and_one_whole_clip_at_the_chimes_loudness(generated: Path, tmp_path: Path) -> None:
    manifest = json.loads((generated / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["espeak"] == {"voice": "vi+f3", "speed": 120}          # what bench/voice_wer.py measured best
    pack = VoicePack.for_hall(None, generated)
    calls = [make_announcement("t1", "A023", "5"), make_announcement("t2", "B1005", "12", recall=1),
             make_announcement("t3", "C1", "1")]
    levels = {"chime": sox_rms_db(generated / "chime.wav")}
    for call in calls:
        clips = pack.plan(call)
        words = call.spoken.split()
        assert len(clips) == 2 and clips[0] == CHIME, clips                 # far fewer pieces than words
        assert len(words) >= 11 and len(call.clips) >= 6                    # (the per-word plan of the same call)
        path = pack.path(clips[1])
        assert path is not None and path.parent == generated / CALLS_DIR
        # one file holding the whole sentence: as long as espeak-ng reading it in one go (not one word of it)
        alone = espeak_alone_s(call.spoken, tmp_path)
        assert 0.9 * alone < seconds(path) < 1.1 * alone + 0.1, (call.spoken, seconds(path), alone)
        levels[call.number] = sox_rms_db(path)
    assert max(levels.values()) - min(levels.values()) <= 1.0, levels     # the chime no louder than the words
    # a call and its recall are different clips; the same call again is the same file, not made twice
    assert pack.plan(calls[0])[1] != pack.plan(make_announcement("t1", "A023", "5", recall=1))[1]
    first = pack.path(pack.plan(calls[0])[1])
    assert first is not None
    os.utime(first, (1, 1))
    assert pack.plan(calls[0]) == pack.plan(make_announcement("t9", "A023", "5"))
    assert first.stat().st_mtime > 1                                        # reused (and marked recently used)


def test_the_cache_of_whole_calls_is_bounded_and_keeps_the_recent_ones(tmp_path: Path) -> None:
    voice = WholeCallVoice(tmp_path / "calls", kept=3)
    names = [voice.ensure(make_announcement("t", f"A{n}", "1").spoken) for n in range(1, 6)]
    assert len(set(names)) == 5
    kept = sorted(p.stem for p in (tmp_path / "calls").glob("*.wav"))
    assert kept == sorted(names[-3:])
    assert not list((tmp_path / "calls").glob(".*"))                       # no half-written clip left behind


def test_a_recorded_announcer_who_can_say_the_call_goes_first(generated: Path, tmp_path: Path) -> None:
    recorded = tmp_path / "recorded"
    build(recorded, words=True)                                             # a stand-in for an imported pack
    pack = VoicePack.for_hall(recorded, generated)
    call = make_announcement("t", "A023", "5")
    assert pack.plan(call) == call.clips                                    # the announcer's own words
    assert not pack.missing(pack.plan(call))
    (recorded / "num-ba.wav").unlink()                                      # a pack that cannot say "ba"
    clips = pack.plan(call)
    assert len(clips) == 2 and clips[1].startswith("say-")                 # one voice per call, never mixed
    assert pack.plan(make_announcement("t", "A020", "5")) == make_announcement("t", "A020", "5").clips


def test_without_synthesis_the_plan_names_the_word_clips(generated: Path) -> None:
    pack = VoicePack.for_hall(None, generated, synthesise=False)
    call = make_announcement("t", "A023", "5")
    assert pack.plan(call) == call.clips and "num-hai" in pack.missing(call.clips)
    assert not (generated / CALLS_DIR).exists()


def test_first_start_makes_only_the_chime(tmp_path: Path) -> None:
    made = ensure_built(tmp_path / "voice")
    assert made == [CHIME] and ensure_built(tmp_path / "voice") == []
    assert sorted(p.name for p in (tmp_path / "voice").iterdir()) == ["chime.wav", "manifest.json"]


def test_another_voice_does_not_reuse_the_old_clips(generated: Path) -> None:
    call = make_announcement("t", "A023", "5")
    old = VoicePack.for_hall(None, generated).plan(call)[1]
    build(generated, voice="vi+f5", speed=130)
    pack = VoicePack.for_hall(None, generated)
    assert pack.whole is not None and (pack.whole.voice, pack.whole.speed) == ("vi+f5", 130)
    new = pack.plan(call)[1]
    assert new != old and pack.path(old) is None


def test_motcua_voice_on_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def voice(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "queue_server", "voice", *args], capture_output=True, text=True,
                              timeout=60, env=env, cwd=tmp_path, check=False)

    script = voice("script")
    assert script.returncode == 0
    assert "Xin mời công dân có số thứ tự" in script.stdout and "mươi" in script.stdout and "mười" in script.stdout
    built = voice("build", str(tmp_path / "gen"))
    assert built.returncode == 0 and (tmp_path / "gen" / "chime.wav").is_file(), built.stderr
    check = voice("check", str(tmp_path / "gen"))
    assert check.returncode == 1 and "missing num-hai.wav" in check.stdout    # a generated pack is no recording
    (tmp_path / "reading.wav").write_bytes(b"not a wav at all")
    bad = voice("import", str(tmp_path / "reading.wav"), "--dir", str(tmp_path / "pack"))
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "pack").exists()
