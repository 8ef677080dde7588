"""The real FaceEngine: BlazeFace short-range (detection) and FaceMesh (landmarks for liveness) from the models
inside the mediapipe 0.10.14 wheel, and dlib's ResNet 128-d embedding from the face_recognition_models package.

Every model file comes from an installed registry package (make demo / make test install them); nothing is
downloaded at run time and nothing is vendored. mediapipe and dlib are imported when an engine is built, so a
kiosk without the ``face`` extra never loads them (``face_extra_present()`` says whether they are there).

Why BlazeFace and not dlib's HOG detector: 1.9 ms against 29 ms on one core and no false positive on the
astronaut's mission patch (wave2-anchors A.2); the dlib embedding of a BlazeFace box is the same person (distance
0.037 to the HOG box's). face_recognition_models is located with importlib, not imported: its __init__ needs
``pkg_resources``, which new setuptools no longer has.
"""
from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np

from devices.face.liveness import sample_from_mesh
from devices.face.port import FaceBox, FaceTooSmall, LivenessSample, ManyFaces, NoFace


class FaceEngineUnavailable(RuntimeError):
    """The ``face`` extra (mediapipe, dlib-bin, face_recognition_models) is not installed."""


def models_dir() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceEngineUnavailable("face_recognition_models is not installed (pip install -e '.[face]')")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def face_extra_present() -> bool:
    """mediapipe, dlib and the model files are installed (without importing them: that costs a second)."""
    try:
        folder = models_dir()
    except FaceEngineUnavailable:
        return False
    return all(importlib.util.find_spec(m) is not None for m in ("mediapipe", "dlib")) and \
        (folder / "dlib_face_recognition_resnet_model_v1.dat").is_file()


class MediapipeDlibEngine:
    """``min_face_px``: a face narrower than this is refused (too far for a reliable template). ``static``: each
    frame on its own (enrolment photos, tests) instead of FaceMesh tracking across a video stream."""

    name = "mediapipe-dlib"

    def __init__(self, *, min_face_px: int = 80, min_score: float = 0.6, static: bool = False) -> None:
        try:
            import dlib  # type: ignore[import-untyped,unused-ignore]
            from mediapipe.python.solutions import face_detection, face_mesh  # type: ignore[import-untyped]
        except ImportError as err:
            raise FaceEngineUnavailable(f"the face extra is not installed: {err}") from err
        folder = models_dir()
        self.min_face_px = min_face_px
        self._lock = threading.Lock()     # mediapipe graphs and dlib models are not shared between threads
        self._detector: Any = face_detection.FaceDetection(model_selection=0, min_detection_confidence=min_score)
        self._mesh: Any = face_mesh.FaceMesh(static_image_mode=static, max_num_faces=2, refine_landmarks=False,
                                             min_detection_confidence=0.5, min_tracking_confidence=0.5)
        self._dlib = dlib
        self._shape = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        self._net = dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat"))

    @staticmethod
    def _rgb(frame: np.ndarray) -> np.ndarray:
        if frame.ndim == 2:
            return np.ascontiguousarray(np.stack([frame] * 3, axis=-1))
        return np.ascontiguousarray(frame[:, :, 2::-1])      # BGR (OpenCV) → RGB, alpha dropped

    def _detect_rgb(self, rgb: np.ndarray) -> list[FaceBox]:
        h, w = rgb.shape[:2]
        result = self._detector.process(rgb)
        boxes = []
        for det in result.detections or []:
            rel = det.location_data.relative_bounding_box
            x, y = max(int(rel.xmin * w), 0), max(int(rel.ymin * h), 0)
            bw, bh = min(int(rel.width * w), w - x), min(int(rel.height * h), h - y)
            if bw > 0 and bh > 0:
                boxes.append(FaceBox(x, y, bw, bh, float(det.score[0])))
        return sorted(boxes, key=lambda b: b.w * b.h, reverse=True)

    def detect(self, frame: np.ndarray) -> list[FaceBox]:
        with self._lock:
            return self._detect_rgb(self._rgb(frame))

    def sample(self, frame: np.ndarray) -> LivenessSample | None:
        rgb = self._rgb(frame)
        h, w = rgb.shape[:2]
        with self._lock:
            result = self._mesh.process(rgb)
        faces = result.multi_face_landmarks or []
        if len(faces) != 1:
            return None
        # normalised x, y, z → one unit (z is on the scale of x in FaceMesh)
        pts = np.array([(p.x * w, p.y * h, p.z * w) for p in faces[0].landmark], dtype=np.float64)
        return sample_from_mesh(pts)

    def embed(self, frame: np.ndarray) -> np.ndarray:
        rgb = self._rgb(frame)
        with self._lock:
            boxes = self._detect_rgb(rgb)
            if not boxes:
                raise NoFace("no face in the frame")
            if len(boxes) > 1 and boxes[1].w >= 0.5 * boxes[0].w:
                # a second face near the first in size: someone beside the citizen; never guess whose
                raise ManyFaces(f"{len(boxes)} faces in the frame")
            box = boxes[0]
            if box.w < self.min_face_px:
                raise FaceTooSmall(f"face {box.w}px wide; at least {self.min_face_px}px needed")
            rect = self._dlib.rectangle(box.x, box.y, box.x + box.w, box.y + box.h)
            shape = self._shape(rgb, rect)
            vector = self._net.compute_face_descriptor(rgb, shape)
        return np.asarray(vector, dtype=np.float32)

    def close(self) -> None:
        with self._lock:
            self._detector.close()
            self._mesh.close()
