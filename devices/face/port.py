"""The FaceEngine port: what a face-lookup caller needs from a camera frame, and the values it gets back.

A frame goes in (a BGR uint8 array from a ``devices.camera`` FrameSource); out come face boxes, landmark samples for
the liveness check and a 128-d template. No photo is ever kept by an engine: a frame is read, turned into numbers
and dropped. Pure types only here; the real engine (mediapipe + dlib) and the simulator implement the Protocol.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

EMBEDDING_DIM = 128


class FaceError(Exception):
    """A frame that cannot give one usable face; ``code`` names why (for the screen and the audit trail)."""

    code = "face_error"


class NoFace(FaceError):
    code = "no_face"


class ManyFaces(FaceError):
    code = "many_faces"


class FaceTooSmall(FaceError):
    code = "too_small"


@dataclass(frozen=True, slots=True)
class FaceBox:
    """A detected face in pixels (top-left x, y, width, height) with the detector's score 0..1."""

    x: int
    y: int
    w: int
    h: int
    score: float


@dataclass(frozen=True, slots=True)
class LivenessSample:
    """What one frame says about a live face: eye openness (eye aspect ratio, both eyes) and head yaw in degrees
    (positive = the citizen turned to their left, as seen from the camera: nose towards the image's right)."""

    ear: float
    yaw_deg: float


@runtime_checkable
class FaceEngine(Protocol):
    """detect → landmarks → 128-d embedding. Implementations are not required to be thread-safe across calls
    from several threads; callers serialise (the kiosk has one camera loop)."""

    name: str

    def detect(self, frame: np.ndarray) -> list[FaceBox]:
        """Every face in the frame, largest first (empty list when none)."""
        ...

    def sample(self, frame: np.ndarray) -> LivenessSample | None:
        """Landmark measures of the one face in the frame for the liveness check, or None (no face / several)."""
        ...

    def embed(self, frame: np.ndarray) -> np.ndarray:
        """The 128-d float32 template of the one face in the frame; raises NoFace, ManyFaces or FaceTooSmall."""
        ...

    def close(self) -> None: ...
