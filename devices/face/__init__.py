"""Face lookup devices: the FaceEngine port, the real engine (mediapipe BlazeFace + FaceMesh, dlib ResNet), a
simulator with fault injection, 1:N matching and active liveness. See docs/face.md.

Nothing here keeps a photo or talks to the hub; the gallery (encrypted templates, consent, deletion) lives on the
hub in queue_server/adapters/face_gallery.py. Heavy imports (mediapipe, dlib) happen only in ``open_face_engine``.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from devices.face.engine import FaceEngineUnavailable, face_extra_present
from devices.face.liveness import Challenge, LivenessPolicy, LivenessResult
from devices.face.matching import MatchPolicy, MatchResult, TemplateIndex, Verdict
from devices.face.port import (
    EMBEDDING_DIM,
    FaceBox,
    FaceEngine,
    FaceError,
    FaceTooSmall,
    LivenessSample,
    ManyFaces,
    NoFace,
)

__all__ = ["EMBEDDING_DIM", "Challenge", "FaceBox", "FaceEngine", "FaceEngineUnavailable", "FaceError",
           "FaceTooSmall", "LivenessPolicy", "LivenessResult", "LivenessSample", "ManyFaces", "MatchPolicy",
           "MatchResult", "NoFace", "TemplateIndex", "Verdict", "face_extra_present", "open_face_engine"]


def open_face_engine(spec: str) -> FaceEngine:
    """``mediapipe`` (the real engine; ``mediapipe?min_face_px=100&static=1``) or ``sim://face`` (simulator;
    ``sim://face?fault=spoof|no_face|two_faces``). ValueError with a sentence for anything else."""
    parts = urlsplit(spec.strip())
    params = dict(parse_qsl(parts.query))
    if parts.scheme == "sim":
        from devices.face.simulator import SimulatedFaceEngine

        return SimulatedFaceEngine(fault=params.get("fault") or None)
    if parts.path == "mediapipe" and not parts.scheme:
        from devices.face.engine import MediapipeDlibEngine

        try:
            min_px = int(params.get("min_face_px", "80"))
        except ValueError as err:
            raise ValueError(f"{spec}: min_face_px must be a whole number of pixels") from err
        return MediapipeDlibEngine(min_face_px=min_px, static=params.get("static") in ("1", "true", "yes"))
    raise ValueError(f"face engine {spec!r}: expected 'mediapipe' or 'sim://face[?fault=...]'")
