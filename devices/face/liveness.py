"""Active liveness from a sequence of landmark samples: the kiosk asks for a blink or a head turn and this says
whether the frames show it. Pure (numpy only), no clock: the caller decides how many frames make the window.

Why an active challenge: a printed photo or a still screen cannot blink or turn; FaceMesh gives 468 points per
frame in ~3.5 ms on one core (wave2-anchors A.2), so a 2-3 s window costs little. It does not stop a replayed
video; docs/face.md says so, and the kiosk picks the challenge at random so a clip made for one does not fit.

Measures (FaceMesh indices):
- eye aspect ratio (EAR): lid-to-lid height over corner-to-corner width, mean of both eyes; ~0.25-0.35 open,
  below ~0.6 of the open value when shut.
- yaw: angle of the line between the two cheek points (234 → 454) around the vertical axis, from their depth.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from devices.face.port import LivenessSample

# (outer corner, inner corner, upper lid ×2, lower lid ×2) of each eye in the FaceMesh topology
_LEFT_EYE = (33, 133, 159, 158, 145, 153)
_RIGHT_EYE = (263, 362, 386, 385, 374, 380)
_CHEEKS = (234, 454)
MESH_POINTS = 468


class Challenge(StrEnum):
    BLINK = "blink"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"


@dataclass(frozen=True, slots=True)
class LivenessPolicy:
    """``blink_ratio``: a shut eye's EAR below this share of the open EAR; ``turn_deg``: yaw swing needed (a public
    implementation gates at 12° to block a held-up photo; 15° here); ``min_frames``: samples needed at all."""

    blink_ratio: float = 0.6
    reopen_ratio: float = 0.85
    turn_deg: float = 15.0
    min_frames: int = 5


@dataclass(frozen=True, slots=True)
class LivenessResult:
    live: bool
    reason: str                  # "blink", "turn", or why not: "too_few_frames", "no_blink", "no_turn"
    ear_open: float | None = None
    ear_min: float | None = None
    yaw_span_deg: float | None = None


def _eye_ratio(points: np.ndarray, idx: tuple[int, int, int, int, int, int]) -> float:
    outer, inner, up1, up2, lo1, lo2 = (points[i] for i in idx)
    width = float(np.linalg.norm(outer[:2] - inner[:2]))
    if width <= 0:
        return 0.0
    return float(np.linalg.norm(up1[:2] - lo1[:2]) + np.linalg.norm(up2[:2] - lo2[:2])) / (2.0 * width)


def sample_from_mesh(points: np.ndarray) -> LivenessSample:
    """One frame's measures from FaceMesh points (468×3 in one unit for x, y and z, e.g. pixels)."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] < MESH_POINTS or pts.shape[1] < 3:
        raise ValueError(f"expected {MESH_POINTS}×3 FaceMesh points, got {pts.shape}")
    ear = (_eye_ratio(pts, _LEFT_EYE) + _eye_ratio(pts, _RIGHT_EYE)) / 2.0
    left, right = pts[_CHEEKS[0]], pts[_CHEEKS[1]]
    yaw = math.degrees(math.atan2(float(right[2] - left[2]), float(right[0] - left[0])))
    return LivenessSample(ear=ear, yaw_deg=yaw)


def check(samples: Sequence[LivenessSample | None], challenge: Challenge,
          policy: LivenessPolicy = LivenessPolicy()) -> LivenessResult:
    """Did the face in these frames do what was asked? Frames without one face (None) are skipped, but the
    window must still hold ``min_frames`` real samples."""
    seen = [s for s in samples if s is not None]
    if len(seen) < policy.min_frames:
        return LivenessResult(False, "too_few_frames")
    ears = np.array([s.ear for s in seen])
    yaws = np.array([s.yaw_deg for s in seen])
    open_ear = float(np.percentile(ears, 80))
    span = float(yaws.max() - yaws.min())
    if challenge is Challenge.BLINK:
        ok = _blinked(ears, open_ear, policy)
        return LivenessResult(ok, "blink" if ok else "no_blink", open_ear, float(ears.min()), span)
    # a turn: away from where the face started, in the asked direction, by turn_deg
    start = float(np.median(yaws[: max(2, len(yaws) // 5)]))
    moved = (yaws - start) if challenge is Challenge.TURN_LEFT else (start - yaws)
    ok = float(moved.max()) >= policy.turn_deg
    return LivenessResult(ok, "turn" if ok else "no_turn", open_ear, float(ears.min()), span)


def _blinked(ears: np.ndarray, open_ear: float, policy: LivenessPolicy) -> bool:
    """Open, then shut (below blink_ratio of open), then open again: a still photo never dips; a photo moved
    about jitters by a few percent only."""
    if open_ear <= 0:
        return False
    shut = np.flatnonzero(ears < policy.blink_ratio * open_ear)
    if shut.size == 0:
        return False
    first, last = int(shut[0]), int(shut[-1])
    opened_before = bool((ears[:first] >= policy.reopen_ratio * open_ear).any())
    opened_after = bool((ears[last + 1:] >= policy.reopen_ratio * open_ear).any())
    return opened_before and opened_after
