"""Benchmark: the espeak-ng fallback voice — first start, per-call synthesis, disk — and, when an offline Vietnamese
speech recogniser is given, how many words of our calls it gets wrong per way of speaking them.

Part 1 (always): a first start on an empty voice dir (``ensure_built``: what the hub does at start; "before": the
per-word pack a first start used to make), then N new calls
planned as the hall display plans them (``VoicePack.plan``: each synthesised whole, normalised, cached) and the same
calls again (cache hits); disk use of the pack and of a full call cache (CALLS_KEPT clips).

Part 2 (with ``--asr-python``): the word error rate (WER) of an offline recogniser on the same calls rendered as
  - ``words_f3_140``: one clip per word/phrase, joined (the fallback before this change: vi+f3 at 140 wpm);
  - ``words_f3_120``: the same at 120 wpm;
  - ``whole_f3_140``, ``whole_f3_120``, ``whole_f5_120``: the whole call sentence in one espeak-ng run;
  the shipped fallback is ``whole_<DEFAULT_VOICE>_<DEFAULT_SPEED>``. The recogniser is NOT a project dependency and is
  never downloaded by this script: ``viet-asr`` (PyPI wheel with its model inside, used as a measuring instrument
  only; ../shared/research/vietnamese-tts.md: 7.9 % WER on natural Vietnamese speech, unclear licence — do not ship)
  installed in a venv of its own, e.g. ``python3 -m venv /tmp/asr && /tmp/asr/bin/pip install viet-asr numpy``,
  then ``--asr-python /tmp/asr/bin/python``. It runs in that interpreter as a child process reading wav paths.
  A recogniser is not a listener: the figures rank the ways of speaking, they do not say what a citizen hears.

Last line printed: one JSON object with unit-carrying keys.

    .venv/bin/python bench/voice_wer.py [--calls 24] [--asr-python /tmp/asr/bin/python]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from displays.announcements import PHRASES, Announcement, make_announcement, split_ticket_code
from displays.loudness import RATE, read_wav, write_wav
from displays.vietnamese_numbers import LETTER_NAMES, read_counter, read_number
from displays.voice_pack import (
    CALLS_DIR,
    CALLS_KEPT,
    DEFAULT_SPEED,
    DEFAULT_VOICE,
    VoicePack,
    build,
    ensure_built,
    synthesise,
)

PREFIXES = "ABCDEFGHKLMNT"           # the example center's services
COUNTERS = [str(n) for n in range(1, 15)]

ASR_CHILD = r"""
import json, sys
from vietasr import Pipeline
asr = Pipeline.preset("transcribe")
for line in sys.stdin:
    path = line.strip()
    if path:
        print(json.dumps({"path": path, "text": asr.transcribe(path).text}), flush=True)
"""


def sample_calls(n: int, seed: int) -> list[Announcement]:
    """Calls of an ordinary day: numbers mostly under 300, some larger, one in five a recall."""
    rng = random.Random(seed)
    calls = []
    for i in range(n):
        number = rng.choice([rng.randint(1, 30), rng.randint(1, 300), rng.randint(1, 999), rng.randint(1000, 1200)])
        calls.append(make_announcement(f"t{i}", f"{rng.choice(PREFIXES)}{number:03d}", rng.choice(COUNTERS),
                                       recall=1 if i % 5 == 4 else 0))
    return calls


def dir_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def part_synthesis(calls: list[Announcement], work: Path) -> dict[str, float]:
    folder = work / "voice"
    t0 = time.perf_counter()
    ensure_built(folder)
    first_start_ms = (time.perf_counter() - t0) * 1000
    pack_kb = dir_bytes(folder) / 1024
    t0 = time.perf_counter()
    build(work / "words", words=True)          # what a first start made before: every per-word clip
    words_ms = (time.perf_counter() - t0) * 1000
    pack = VoicePack.for_hall(None, folder)
    new_ms, hit_ms = [], []
    for call in calls:
        t = time.perf_counter()
        pack.plan(call)
        new_ms.append((time.perf_counter() - t) * 1000)
    for call in calls:
        t = time.perf_counter()
        pack.plan(call)
        hit_ms.append((time.perf_counter() - t) * 1000)
    clips = list((folder / CALLS_DIR).glob("*.wav"))
    mean_kb = statistics.mean(p.stat().st_size for p in clips) / 1024
    secs = statistics.mean(len(read_wav(p)) / RATE for p in clips)
    return {"first_start_ms": round(first_start_ms, 1), "first_start_pack_kb": round(pack_kb, 1),
            "first_start_before_ms": round(words_ms, 1), "word_pack_kb": round(dir_bytes(work / "words") / 1024, 1),
            "new_call_p50_ms": round(statistics.median(new_ms), 1),
            "new_call_max_ms": round(max(new_ms), 1),
            "cached_call_p50_ms": round(statistics.median(hit_ms), 3),
            "call_clip_kb": round(mean_kb, 1), "call_clip_s": round(secs, 2),
            "call_cache_full_mb": round(mean_kb * CALLS_KEPT / 1024, 1)}


def word_texts(call: Announcement) -> list[str]:
    """The per-word plan of a call as texts (what the old fallback synthesised clip by clip)."""
    letters, value = split_ticket_code(call.number)
    invite = PHRASES["phrase-invite-again" if call.recall else "phrase-invite"]
    return [invite, *(LETTER_NAMES[x] for x in letters), *read_number(value), PHRASES["phrase-to-counter"],
            *read_counter(call.counter)]


def render(mode: str, call: Announcement, work: Path, cache: dict[tuple[str, str, int], np.ndarray]) -> Path:
    """The call as the recogniser hears it: mode ``words_<variant>_<speed>`` or ``whole_<variant>_<speed>``."""
    kind, variant, speed = mode.split("_")
    voice = f"vi+{variant}"
    texts = word_texts(call) if kind == "words" else [call.spoken]
    pieces = [np.zeros(int(RATE * 0.3))]
    for text in texts:
        key = (voice, text, int(speed))
        if key not in cache:
            out = work / f"clip{len(cache)}.wav"
            synthesise(text, out, voice, int(speed))
            cache[key] = read_wav(out)
        pieces.append(cache[key])
    pieces.append(np.zeros(int(RATE * 0.3)))
    joined, out16 = work / "joined.wav", work / f"{mode}-{call.ticket_id}.wav"
    write_wav(joined, np.concatenate(pieces))
    # the recogniser wants 16 kHz; -D: no dither, so the same audio always decodes the same
    subprocess.run(["sox", "-D", str(joined), "-r", "16000", str(out16)], check=True, capture_output=True)
    return out16


def words_of(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", text.lower()).split()


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        prev, row[0] = row[0], i
        for j in range(1, len(hyp) + 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ref[i - 1] != hyp[j - 1]))
    return row[len(hyp)]


def part_wer(calls: list[Announcement], work: Path, asr_python: str, modes: list[str]) -> dict[str, float]:
    cache: dict[tuple[str, str, int], np.ndarray] = {}
    jobs = [(mode, call, render(mode, call, work, cache)) for mode in modes for call in calls]
    child = subprocess.run([asr_python, "-c", ASR_CHILD], input="\n".join(str(p) for _, _, p in jobs) + "\n",
                           capture_output=True, text=True, check=True, timeout=3600)
    heard = {}
    for line in child.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            heard[row["path"]] = row["text"]
    out: dict[str, float] = {}
    for mode in modes:
        errors = total = 0
        for m, call, path in jobs:
            if m == mode:
                ref = words_of(call.spoken)
                errors += edit_distance(ref, words_of(heard.get(str(path), "")))
                total += len(ref)
        out[f"wer_{mode}_pct"] = round(100 * errors / total, 1)
        print(f"{mode}: {errors}/{total} words wrong", file=sys.stderr)
    out["wer_words_total_count"] = total
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--asr-python", default=None, help="an interpreter that can `import vietasr` (optional)")
    args = parser.parse_args()
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        print("espeak-ng and sox are needed (the Makefile's apt target installs them)", file=sys.stderr)
        return 2
    calls = sample_calls(args.calls, args.seed)
    with tempfile.TemporaryDirectory(prefix="voice-bench-") as tmp:
        work = Path(tmp)
        result: dict[str, float | str] = {"calls_count": len(calls), **part_synthesis(calls, work)}
        if args.asr_python:
            shipped = f"whole_{DEFAULT_VOICE.split('+')[1]}_{DEFAULT_SPEED}"
            modes = sorted({"words_f3_140", "words_f3_120", "whole_f3_140", "whole_f3_120", "whole_f5_120", shipped})
            result.update(part_wer(calls, work, args.asr_python, modes))
            result["wer_shipped_pct"] = result[f"wer_{shipped}_pct"]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
