"""Active liveness from landmark samples: a blink or the asked head turn passes; a still face (a photo) fails."""
from __future__ import annotations

import math

import numpy as np
import pytest

from devices.face.liveness import Challenge, check, sample_from_mesh
from devices.face.port import LivenessSample
from devices.face.simulator import SimulatedFaceEngine, blink_sequence, still_sequence, turn_sequence

pytestmark = pytest.mark.unit


def samples(frames, engine=None):
    engine = engine or SimulatedFaceEngine()
    return [engine.sample(f) for f in frames]


def test_blink_passes_still_fails() -> None:
    assert check(samples(blink_sequence("A")), Challenge.BLINK).live
    result = check(samples(still_sequence("A")), Challenge.BLINK)
    assert not result.live and result.reason == "no_blink"


def test_turn_must_be_in_the_asked_direction() -> None:
    left = samples(turn_sequence("A", "left"))
    assert check(left, Challenge.TURN_LEFT).live
    assert not check(left, Challenge.TURN_RIGHT).live
    assert check(samples(turn_sequence("A", "right")), Challenge.TURN_RIGHT).live
    assert not check(samples(still_sequence("A")), Challenge.TURN_LEFT).live


def test_spoof_fault_and_missing_frames_fail() -> None:
    spoof = SimulatedFaceEngine(fault="spoof")
    assert not check(samples(blink_sequence("A"), spoof), Challenge.BLINK).live
    assert not check(samples(turn_sequence("A"), spoof), Challenge.TURN_LEFT).live
    assert check([None, None, LivenessSample(0.3, 0)], Challenge.BLINK).reason == "too_few_frames"


def test_a_shut_eye_at_the_end_is_not_a_blink() -> None:
    # closing the eyes and keeping them shut (or a photo swapped for another) must reopen to count
    seq = [LivenessSample(0.3, 0.0)] * 8 + [LivenessSample(0.05, 0.0)] * 4
    assert not check(seq, Challenge.BLINK).live


def _mesh(ear: float, yaw_deg: float) -> np.ndarray:
    """A synthetic 468-point mesh with the eye and cheek points placed for a given EAR and yaw."""
    pts = np.zeros((468, 3))
    for outer, inner, up1, up2, lo1, lo2, cx in ((33, 133, 159, 158, 145, 153, -30.0), (263, 362, 386, 385, 374, 380, 30.0)):
        pts[outer] = (cx - 15, 0, 0)
        pts[inner] = (cx + 15, 0, 0)
        for up, lo in ((up1, lo1), (up2, lo2)):
            pts[up] = (cx, -ear * 15, 0)
            pts[lo] = (cx, ear * 15, 0)
    a = math.radians(yaw_deg)
    pts[234] = (-70 * math.cos(a), 0, -70 * math.sin(a))
    pts[454] = (70 * math.cos(a), 0, 70 * math.sin(a))
    return pts


def test_sample_from_mesh_measures_ear_and_yaw() -> None:
    s = sample_from_mesh(_mesh(0.3, 20.0))
    assert s.ear == pytest.approx(0.3)
    assert s.yaw_deg == pytest.approx(20.0)
    with pytest.raises(ValueError):
        sample_from_mesh(np.zeros((10, 3)))
