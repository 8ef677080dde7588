"""A FaceEngine simulator and the frames it reads, for tests and ``make demo`` (no camera, no model).

A simulated frame is an ordinary image (so ``devices.camera.SimulatedCamera`` can replay it and a screen can show
it) whose first row carries a small header: who is in front of the camera, how many faces, eye openness and yaw.
The simulated engine reads that header instead of running a model. Templates are deterministic per identity
(seeded from its name) with a little per-frame noise, so the same person matches across frames and two people
are far apart, as with the real model.

Fault injection: frames with no face or two faces, a spoof (a still face that never blinks or turns: a printed
photo), and an engine-wide ``fault`` that forces one of those whatever the frame says.
"""
from __future__ import annotations

import hashlib
import struct

import numpy as np

from devices.face.port import EMBEDDING_DIM, FaceBox, LivenessSample, ManyFaces, NoFace

_MAGIC = b"MCSF"
_HEADER = struct.Struct("<4sBHhH")         # magic, faces, ear×1000, yaw×10, frame number
HEIGHT, WIDTH = 120, 160
# scale of a simulated template: two people land ~0.9 apart, one person's frames ~0.1 apart (dlib-like figures)
_PERSON_SCALE = 0.9 / np.sqrt(2 * EMBEDDING_DIM)
_FRAME_NOISE = 0.008

FAULTS = ("no_face", "two_faces", "spoof")


def make_frame(identity: str | None, *, faces: int = 1, ear: float = 0.3, yaw_deg: float = 0.0,
               number: int = 0) -> np.ndarray:
    """A BGR frame showing ``identity`` (None or faces=0: an empty scene)."""
    frame = np.full((HEIGHT, WIDTH, 3), 200, dtype=np.uint8)
    who = (identity or "").encode()[: WIDTH * 3 - _HEADER.size - 1]
    count = faces if identity else 0
    header = _HEADER.pack(_MAGIC, count, round(ear * 1000), round(yaw_deg * 10), number & 0xFFFF)
    raw = header + bytes([len(who)]) + who
    frame.reshape(-1)[: len(raw)] = np.frombuffer(raw, dtype=np.uint8)
    for k in range(count):      # a grey oval per face, so a preview shows something
        cx, cy = WIDTH // 2 + (k * 50 - 25 * (count - 1)), HEIGHT // 2 + 5
        yy, xx = np.ogrid[:HEIGHT, :WIDTH]
        inside = ((xx - cx) / 22.0) ** 2 + ((yy - cy) / 30.0) ** 2 <= 1.0
        inside[0] = False
        frame[inside] = (150, 170, 210)
    return frame


def read_frame(frame: np.ndarray) -> tuple[str | None, int, float, float, int]:
    """(identity, faces, ear, yaw, number) from a simulated frame; an unknown image reads as an empty scene."""
    flat = np.ascontiguousarray(frame).reshape(-1)
    if flat.size < _HEADER.size + 1 or bytes(flat[:4]) != _MAGIC:
        return None, 0, 0.0, 0.0, 0
    _, faces, ear, yaw, number = _HEADER.unpack(bytes(flat[: _HEADER.size]))
    n = int(flat[_HEADER.size])
    who = bytes(flat[_HEADER.size + 1: _HEADER.size + 1 + n]).decode(errors="replace")
    return (who or None), faces, ear / 1000.0, yaw / 10.0, number


def blink_sequence(identity: str, frames: int = 12, start: int = 0) -> list[np.ndarray]:
    """Eyes open, shut for two frames in the middle, open again."""
    mid = frames // 2
    return [make_frame(identity, ear=0.08 if i in (mid, mid + 1) else 0.3, number=start + i) for i in range(frames)]


def turn_sequence(identity: str, direction: str = "left", frames: int = 12, degrees: float = 25.0,
                  start: int = 0) -> list[np.ndarray]:
    """The head turns smoothly to the citizen's left (positive yaw) or right, then back."""
    sign = 1.0 if direction == "left" else -1.0
    half = frames / 2
    return [make_frame(identity, yaw_deg=sign * degrees * (1 - abs(i - half) / half), number=start + i)
            for i in range(frames)]


def still_sequence(identity: str, frames: int = 12, start: int = 0) -> list[np.ndarray]:
    """A printed photo held up: the same face, eyes open, never turning."""
    return [make_frame(identity, number=start + i) for i in range(frames)]


def person_template(identity: str) -> np.ndarray:
    """The identity's noise-free template (what every frame of it scatters around)."""
    seed = int.from_bytes(hashlib.sha256(identity.encode()).digest()[:8], "little")
    vector: np.ndarray = (np.random.default_rng(seed).standard_normal(EMBEDDING_DIM) * _PERSON_SCALE).astype(np.float32)
    return vector


class SimulatedFaceEngine:
    """Reads the simulated frames' headers. ``fault``: one of FAULTS, forced on every frame."""

    name = "sim-face"

    def __init__(self, fault: str | None = None) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"fault={fault!r}: expected one of {', '.join(FAULTS)}")
        self.fault = fault
        self.calls = 0

    def _read(self, frame: np.ndarray) -> tuple[str | None, int, float, float, int]:
        self.calls += 1
        who, faces, ear, yaw, number = read_frame(frame)
        if self.fault == "no_face":
            return None, 0, 0.0, 0.0, number
        if self.fault == "two_faces" and who:
            return who, 2, ear, yaw, number
        if self.fault == "spoof" and who:
            return who, faces, 0.3, 0.0, 0      # a photo: no blink, no turn, the very same pixels each frame
        return who, faces, ear, yaw, number

    def detect(self, frame: np.ndarray) -> list[FaceBox]:
        who, faces, *_ = self._read(frame)
        return [FaceBox(40 + 50 * k, 30, 44, 60, 0.99) for k in range(faces if who else 0)]

    def sample(self, frame: np.ndarray) -> LivenessSample | None:
        who, faces, ear, yaw, _ = self._read(frame)
        if not who or faces != 1:
            return None
        return LivenessSample(ear=ear, yaw_deg=yaw)

    def embed(self, frame: np.ndarray) -> np.ndarray:
        who, faces, _, _, number = self._read(frame)
        if not who or faces == 0:
            raise NoFace("no face in the frame")
        if faces > 1:
            raise ManyFaces(f"{faces} faces in the frame")
        seed = int.from_bytes(hashlib.sha256(f"{who}#{number}".encode()).digest()[:8], "little")
        noise = np.random.default_rng(seed).standard_normal(EMBEDDING_DIM) * _FRAME_NOISE
        return (person_template(who) + noise).astype(np.float32)

    def close(self) -> None:
        pass
