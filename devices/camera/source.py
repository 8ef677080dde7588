"""Frame sources: the FrameSource port, OpenCV capture, and a simulator replaying images or a video file.

OpenCV is imported lazily so a kiosk without a camera does not load it.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


@runtime_checkable
class FrameSource(Protocol):
    name: str

    def read(self) -> np.ndarray | None:
        """The next frame (BGR or grey uint8), or None when there is none (end of replay, camera gone)."""
        ...

    def close(self) -> None: ...


class CameraError(Exception):
    """A camera that cannot be opened."""


class OpenCvCamera:
    """A real camera through cv2.VideoCapture (V4L2 on Linux)."""

    def __init__(self, index: int | str, width: int | None = None, height: int | None = None,
                 name: str | None = None) -> None:
        import cv2

        self.name = name or f"camera:{index}"
        self._cv2 = cv2
        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            raise CameraError(f"cannot open camera {index!r}")
        if width:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self.failures = 0

    def read(self) -> np.ndarray | None:
        ok, frame = self._cap.read()
        if not ok:
            self.failures += 1
            return None
        return frame

    def close(self) -> None:
        self._cap.release()


class SimulatedCamera:
    """Replays frames: given arrays, a folder of images (sorted by name), or a video file. ``loop`` repeats;
    ``fps`` paces reads like a real camera (0 = as fast as asked, for tests)."""

    def __init__(self, frames: Sequence[np.ndarray] | None = None, directory: Path | None = None,
                 video: Path | None = None, loop: bool = False, fps: float = 0.0, name: str = "sim-camera") -> None:
        self.name = name
        self.loop = loop
        self.fps = fps
        self._frames: list[np.ndarray] = list(frames or [])
        self._video: Any = None
        self._video_path = video
        if directory is not None:
            import cv2

            paths = sorted(p for p in Path(directory).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            for p in paths:
                img = cv2.imread(str(p), cv2.IMREAD_COLOR)
                if img is None:
                    log.warning("%s: skipping unreadable image %s", name, p)
                    continue
                self._frames.append(img)
        if video is not None:
            self._open_video()
        elif not self._frames:
            raise CameraError(f"{name}: nothing to replay (no frames, empty folder?)")
        self._index = 0
        self._last_at: float | None = None

    def _open_video(self) -> None:
        import cv2

        self._video = cv2.VideoCapture(str(self._video_path))
        if not self._video.isOpened():
            raise CameraError(f"{self.name}: cannot open video {self._video_path}")

    def read(self) -> np.ndarray | None:
        if self.fps > 0 and self._last_at is not None:
            wait = self._last_at + 1.0 / self.fps - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # models the camera's frame period, not a test wait
        self._last_at = time.monotonic()
        if self._video is not None:
            ok, frame = self._video.read()
            if not ok and self.loop:
                self._video.release()
                self._open_video()
                ok, frame = self._video.read()
            return frame if ok else None
        if self._index >= len(self._frames):
            if not self.loop:
                return None
            self._index = 0
        frame = self._frames[self._index]
        self._index += 1
        return frame

    def close(self) -> None:
        if self._video is not None:
            self._video.release()
