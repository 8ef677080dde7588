"""Voice packs: the short clips announcements are assembled from, generated with espeak-ng or recorded.

``python -m displays.voice_cli build DIR`` synthesises every clip (espeak-ng ``-v vi``, chime with sox) at
install time; ``python -m displays.voice_cli check DIR`` lists the clips a recorded pack lacks. A recorded pack
is a folder of ``<clip>.wav`` files with the same names (see ``list``); clips it lacks fall back to the
generated pack. Nothing here runs at call time except reading files and joining wavs for hub-side playback.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from displays.announcements import ALL_CLIPS, CHIME, clip_texts
from displays.loudness import RATE, TARGET_RMS_DB, normalise_folder

CLIP_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MANIFEST = "manifest.json"


class VoicePackError(Exception):
    """A missing tool, a clip that could not be made, or a clip name that is not one of ours."""


def valid_clip_name(name: str) -> bool:
    return bool(CLIP_NAME.match(name or ""))


@dataclass(frozen=True, slots=True)
class VoicePack:
    """Clip lookup over folders in order: a recorded pack first (if any), then the generated one."""

    folders: tuple[Path, ...]

    @staticmethod
    def from_dirs(*dirs: str | Path | None) -> VoicePack:
        return VoicePack(tuple(Path(d) for d in dirs if d))

    def path(self, clip: str) -> Path | None:
        """The wav for ``clip``, or None; a name that is not a clip name never reaches the file system."""
        if not valid_clip_name(clip):
            return None
        for folder in self.folders:
            candidate = folder / f"{clip}.wav"
            if candidate.is_file():
                return candidate
        return None

    def missing(self, clips: Iterable[str] = ALL_CLIPS) -> list[str]:
        return [clip for clip in clips if self.path(clip) is None]

    def assemble(self, clips: Sequence[str]) -> bytes:
        """One wav made of ``clips`` in order (for hub-side playback); raises VoicePackError if one is missing."""
        paths = []
        for clip in clips:
            path = self.path(clip)
            if path is None:
                raise VoicePackError(f"clip {clip!r} is in no voice pack folder ({', '.join(map(str, self.folders))})")
            paths.append(path)
        return join_wavs(paths)


def join_wavs(paths: Sequence[Path]) -> bytes:
    """Concatenate wavs with the same format; a recorded pack in another format is converted with sox first."""
    out = io.BytesIO()
    params = None
    with wave.open(out, "wb") as writer:
        for path in paths:
            frames, these = _read_wav(path)
            key = (these.nchannels, these.sampwidth, these.framerate)
            if params is None:
                params = key
                writer.setnchannels(these.nchannels)
                writer.setsampwidth(these.sampwidth)
                writer.setframerate(these.framerate)
            elif key != params:
                frames = _convert(path, *params)
            writer.writeframes(frames)
        if params is None:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(RATE)
    return out.getvalue()


def _read_wav(path: Path) -> tuple[bytes, wave._wave_params]:
    try:
        with wave.open(str(path), "rb") as reader:
            return reader.readframes(reader.getnframes()), reader.getparams()
    except (wave.Error, EOFError) as err:
        raise VoicePackError(f"{path}: not a PCM wav ({err})") from err


def _convert(path: Path, channels: int, width: int, rate: int) -> bytes:
    sox = _tool("sox")
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "c.wav"
        _run([sox, str(path), "-r", str(rate), "-c", str(channels), "-b", str(width * 8), str(target)])
        return _read_wav(target)[0]


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise VoicePackError(f"{name} is not installed (the Makefile's apt target installs espeak-ng and sox)")
    return found


def _run(argv: list[str]) -> None:
    try:
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
    except subprocess.CalledProcessError as err:
        raise VoicePackError(f"{argv[0]} failed: {err.stderr.decode(errors='replace').strip()}") from err
    except subprocess.TimeoutExpired as err:
        raise VoicePackError(f"{argv[0]} timed out") from err


# The espeak-ng settings that measured best (research/vietnamese-tts.md: a recogniser got 65 % of the words of our
# calls wrong with vi+f3 at 140 wpm, 75–80 % with every other setting). A recorded announcer is far better:
# `motcua voice script` / `motcua voice import` (displays/voice_import.py).
DEFAULT_VOICE = "vi+f3"
DEFAULT_SPEED = 140


def build(folder: str | Path, voice: str = DEFAULT_VOICE, speed: int = DEFAULT_SPEED, force: bool = False) -> list[str]:
    """Make every clip that is missing in ``folder`` (all of them with ``force``); returns the clips made."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    espeak, sox = _tool("espeak-ng"), _tool("sox")
    texts = clip_texts()
    made: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        for clip in ALL_CLIPS:
            out = target / f"{clip}.wav"
            if out.exists() and not force:
                continue
            partial = target / f".{clip}.partial.wav"
            if clip == CHIME:
                _make_chime(sox, partial, Path(tmp))
            else:
                _run([espeak, "-v", voice, "-s", str(speed), "-w", str(raw), texts[clip]])
                # Trim espeak's lead-in/tail silence so words join tightly, then leave a short even gap.
                _run([sox, str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(partial),
                      "silence", "1", "0.01", "0.5%", "reverse", "silence", "1", "0.01", "0.5%", "reverse",
                      "pad", "0", "0.06"])
            partial.replace(out)      # never leave a half-written clip under its real name
            made.append(clip)
    if made:
        # one loudness for every clip, the chime included (it was twice as loud as the words; some words 6 dB low)
        normalise_folder(target)
    manifest = {"voice": f"espeak-ng -v {voice} -s {speed}", "rate": RATE, "rms_dbfs": TARGET_RMS_DB if made else None,
                "clips": {clip: texts.get(clip, "(chime)") for clip in ALL_CLIPS}}
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return made


def ensure_built(folder: str | Path) -> list[str]:
    """Make the clips ``folder`` lacks, if espeak-ng and sox are here (a start-time safety net for ``motcua demo``
    when the install step did not run); returns the clips made, [] when complete or the tools are missing."""
    if not VoicePack.from_dirs(folder).missing():
        return []
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        return []
    return build(folder)


def _make_chime(sox: str, out: Path, tmp: Path) -> None:
    # A two-tone "ding-dong" (E5 then C5) with a soft decay: it is heard over hall noise and is not a siren.
    ding, dong = tmp / "ding.wav", tmp / "dong.wav"
    fmt = ["-r", str(RATE), "-c", "1", "-b", "16"]
    _run([sox, "-n", *fmt, str(ding), "synth", "0.45", "sine", "659.25", "fade", "q", "0.01", "0.45", "0.4",
          "vol", "0.5"])
    _run([sox, "-n", *fmt, str(dong), "synth", "0.7", "sine", "523.25", "fade", "q", "0.01", "0.7", "0.65",
          "vol", "0.5"])
    _run([sox, str(ding), str(dong), *fmt, str(out), "pad", "0", "0.25"])


