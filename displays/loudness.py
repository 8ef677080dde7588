"""One loudness for every clip of a voice pack (whole-clip RMS, what ``sox stats`` shows), and 16-bit WAV I/O.

Used by the espeak-ng build (displays/voice_pack.py) and by the import of a recorded announcer
(displays/voice_import.py), so both end at the same level — the chime no louder than the words. File work only.
"""
from __future__ import annotations

import math
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from displays.announcements import ALL_CLIPS

RATE = 22050              # espeak-ng's native rate; every clip is normalised to it so wavs join without resampling
TARGET_RMS_DB = -20.0     # every clip's RMS level (dBFS): the chime no louder than the words


def rms_db(samples: np.ndarray) -> float:
    return 20.0 * math.log10(max(1e-9, float(np.sqrt(np.mean(samples ** 2)))))


def normalised(samples: np.ndarray, target_db: float = TARGET_RMS_DB) -> np.ndarray:
    """Scaled so the whole clip's RMS is ``target_db`` dBFS (peaks kept under full scale)."""
    gain = 10.0 ** ((target_db - rms_db(samples)) / 20.0)
    out: np.ndarray = samples * gain
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    if peak > 0.99:      # a clip this peaky would clip: soft-limit its peaks, then set its level again
        out = np.tanh(out / peak * 2.0) * 0.99 / math.tanh(2.0)
        out *= 10.0 ** ((target_db - rms_db(out)) / 20.0)
    return out


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> None:
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0


def normalise_folder(folder: Path, clips: Sequence[str] = ALL_CLIPS) -> dict[str, float]:
    """Bring every clip in ``folder`` (chime included) to TARGET_RMS_DB; returns each clip's level after."""
    levels: dict[str, float] = {}
    for clip in clips:
        path = folder / f"{clip}.wav"
        if path.is_file():
            samples = normalised(read_wav(path))
            write_wav(path, samples)
            levels[clip] = rms_db(read_wav(path))
    return levels
