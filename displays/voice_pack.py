"""Voice packs: the clips a call is spoken from — a center's recorded announcer first, espeak-ng otherwise.

A recorded pack (``motcua voice import``, displays/voice_import.py) is one clip per phrase, number word and letter,
joined per call; it is used for every call it can say whole. Otherwise the call is spoken by espeak-ng as ONE
whole clip (``WholeCallVoice``): the call sentence synthesised at once, so espeak-ng gives it one intonation
instead of ~15 separately read words, with the settings that measured best (bench/voice_wer.py). Those clips are
made on demand, when a call is planned (~20–80 ms), normalised to the chime's loudness and cached on disk
(bounded: the oldest go first). ``python -m displays.voice_cli build DIR`` makes the chime (and, with ``--words``,
the old per-word espeak pack); ``check DIR`` lists the clips a recorded pack lacks. Must not speak to a sound
device or the network: files and child processes (espeak-ng, sox) only.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from displays.announcements import ALL_CLIPS, CHIME, Announcement, clip_texts
from displays.loudness import RATE, TARGET_RMS_DB, normalise_folder, normalised, read_wav, write_wav

log = logging.getLogger(__name__)

CLIP_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MANIFEST = "manifest.json"


class VoicePackError(Exception):
    """A missing tool, a clip that could not be made, or a clip name that is not one of ours."""


def valid_clip_name(name: str) -> bool:
    return bool(CLIP_NAME.match(name or ""))


@dataclass(frozen=True, slots=True)
class VoicePack:
    """Clip lookup over folders in order (a recorded pack first, then the generated one), and the clip plan of a
    call: the recorded announcer's clips when they can say it all, else one whole espeak-ng clip (``whole``)."""

    folders: tuple[Path, ...]
    recorded: Path | None = None
    whole: WholeCallVoice | None = None

    @staticmethod
    def from_dirs(*dirs: str | Path | None) -> VoicePack:
        """Lookup only, no synthesis: ``plan`` gives the per-word clips (the recorded-pack layout)."""
        return VoicePack(tuple(Path(d) for d in dirs if d))

    @staticmethod
    def for_hall(recorded: str | Path | None, generated: str | Path, synthesise: bool = True) -> VoicePack:
        """The hub's pack: ``recorded`` first; calls it cannot say are synthesised whole into ``generated``/calls
        with the settings of ``generated``'s manifest (if ``synthesise`` and espeak-ng and sox are installed)."""
        folder = Path(generated)
        whole = None
        if synthesise and shutil.which("espeak-ng") and shutil.which("sox"):
            voice, speed = pack_settings(folder)
            whole = WholeCallVoice(folder / CALLS_DIR, voice, speed)
        return VoicePack(tuple(Path(d) for d in (recorded, generated) if d), Path(recorded) if recorded else None,
                         whole)

    def path(self, clip: str) -> Path | None:
        """The wav for ``clip``, or None; a name that is not a clip name never reaches the file system."""
        if not valid_clip_name(clip):
            return None
        if self.whole is not None and WHOLE_CLIP.match(clip):
            return self.whole.path(clip)
        for folder in self.folders:
            candidate = folder / f"{clip}.wav"
            if candidate.is_file():
                return candidate
        return None

    def plan(self, announcement: Announcement) -> tuple[str, ...]:
        """The clips to play for a call. The recorded announcer when every word of this call is in the recorded
        pack (one voice per call: never a person and a robot in one sentence); otherwise the chime and one whole
        espeak-ng clip of the call, made now if it is not cached; the per-word clips when nothing can synthesise."""
        words = [clip for clip in announcement.clips if clip != CHIME]
        if self.recorded is not None and all((self.recorded / f"{clip}.wav").is_file() for clip in words):
            return announcement.clips
        if self.whole is not None:
            try:
                return (CHIME, self.whole.ensure(announcement.spoken))
            except (OSError, VoicePackError) as err:
                log.error("voice: the call %s could not be synthesised: %s", announcement.number, err)
        return announcement.clips

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


# The espeak-ng settings that measured best: bench/voice_wer.py (an offline recogniser's word error rate on our
# calls; ../shared/research/vietnamese-tts.md found vi+f3 the best variant and slower better than espeak's 175 wpm).
# A recorded announcer is far better still: `motcua voice script` / `motcua voice import`.
DEFAULT_VOICE = "vi+f3"
DEFAULT_SPEED = 120
CALLS_DIR = "calls"           # under the generated pack: whole-call clips made on demand
CALLS_KEPT = 120              # whole-call clips kept on disk (~260 KB each: ~30 MB at most); the oldest go first
WHOLE_CLIP = re.compile(r"^say-[0-9a-f]{20}$")


def synthesise(text: str, out: Path, voice: str = DEFAULT_VOICE, speed: int = DEFAULT_SPEED,
               gap_s: float = 0.06) -> None:
    """``text`` spoken by espeak-ng into ``out``: 22 050 Hz mono 16-bit, lead-in/tail silence trimmed, ``gap_s`` of
    silence after, at TARGET_RMS_DB (the chime's level). Written beside ``out`` and renamed: never half a clip."""
    espeak, sox = _tool("espeak-ng"), _tool("sox")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw, trimmed = Path(tmp) / "raw.wav", Path(tmp) / "trimmed.wav"
        _run([espeak, "-v", voice, "-s", str(speed), "-w", str(raw), text])
        _run([sox, str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(trimmed),
              "silence", "1", "0.01", "0.5%", "reverse", "silence", "1", "0.01", "0.5%", "reverse",
              "pad", "0", str(gap_s)])
        fd, partial = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".partial.wav", dir=out.parent)
        os.close(fd)
        try:
            write_wav(Path(partial), normalised(read_wav(trimmed)))
            os.replace(partial, out)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)


@dataclass(frozen=True)
class WholeCallVoice:
    """espeak-ng speaking each call as one whole clip, made when first asked for and kept in ``folder`` (the
    ``kept`` most recently used; two processes making the same clip at once both end with a whole file)."""

    folder: Path
    voice: str = DEFAULT_VOICE
    speed: int = DEFAULT_SPEED
    kept: int = CALLS_KEPT
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def clip_name(self, text: str) -> str:
        """The clip of ``text`` in this voice: a hash, so a changed voice or speed never reuses an old clip."""
        digest = hashlib.sha256(f"{self.voice}|{self.speed}|{text}".encode()).hexdigest()
        return f"say-{digest[:20]}"

    def path(self, clip: str) -> Path | None:
        candidate = self.folder / f"{clip}.wav"
        return candidate if WHOLE_CLIP.match(clip) and candidate.is_file() else None

    def ensure(self, text: str) -> str:
        """The clip name of ``text``, synthesised now unless it is on disk; raises VoicePackError if it cannot be."""
        clip = self.clip_name(text)
        out = self.folder / f"{clip}.wav"
        with self._lock:
            if out.is_file():
                try:
                    os.utime(out)          # recently used: kept longest
                except OSError:
                    pass
                return clip
            synthesise(text, out, self.voice, self.speed)
            self._prune()
        return clip

    def _prune(self) -> None:
        clips = [p for p in self.folder.glob("say-*.wav") if WHOLE_CLIP.match(p.stem)]
        if len(clips) <= self.kept:
            return
        clips.sort(key=lambda p: p.stat().st_mtime)
        for old in clips[: len(clips) - self.kept]:
            try:
                old.unlink()
            except OSError:
                pass


def pack_settings(folder: str | Path) -> tuple[str, int]:
    """The espeak-ng voice and speed a generated pack was built with (its manifest), else the defaults."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
        espeak = manifest.get("espeak") or {}
        voice, speed = espeak.get("voice"), espeak.get("speed")
        if isinstance(voice, str) and voice and isinstance(speed, int) and 80 <= speed <= 450:
            return voice, speed
    except (OSError, ValueError, AttributeError):
        pass
    return DEFAULT_VOICE, DEFAULT_SPEED


def build(folder: str | Path, voice: str = DEFAULT_VOICE, speed: int = DEFAULT_SPEED, force: bool = False,
          words: bool = False) -> list[str]:
    """Make what the espeak-ng fallback needs ahead in ``folder``: the chime, and the voice and speed the whole-call
    clips are made with (the manifest); with ``words`` also the old per-word clips (a stand-in recorded pack).
    Clips already there are kept unless ``force``; returns the clips made."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    sox = _tool("sox")
    _tool("espeak-ng")
    texts = clip_texts()
    made: list[str] = []
    if force or (voice, speed) != pack_settings(target):
        shutil.rmtree(target / CALLS_DIR, ignore_errors=True)      # whole-call clips of another voice
    with tempfile.TemporaryDirectory() as tmp:
        for clip in ALL_CLIPS if words else (CHIME,):
            out = target / f"{clip}.wav"
            if out.exists() and not force:
                continue
            if clip == CHIME:
                partial = target / f".{clip}.partial.wav"
                _make_chime(sox, partial, Path(tmp))
                partial.replace(out)      # never leave a half-written clip under its real name
            else:
                synthesise(texts[clip], out, voice, speed)
            made.append(clip)
    if made:
        # one loudness for every clip, the chime included (it was twice as loud as the words; some words 6 dB low)
        normalise_folder(target)
    manifest = {"voice": f"espeak-ng -v {voice} -s {speed}", "espeak": {"voice": voice, "speed": speed},
                "rate": RATE, "rms_dbfs": TARGET_RMS_DB,
                "calls": f"each call synthesised whole into {CALLS_DIR}/ when first needed",
                "clips": {clip: texts.get(clip, "(chime)") for clip in ALL_CLIPS
                          if (target / f"{clip}.wav").is_file()}}
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return made


def ensure_built(folder: str | Path) -> list[str]:
    """Make what the espeak-ng fallback needs ahead (the chime: milliseconds, so a first start stays quick), if
    espeak-ng and sox are here; returns the clips made, [] when there or the tools are missing."""
    if (Path(folder) / f"{CHIME}.wav").is_file() and (Path(folder) / MANIFEST).is_file():
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


