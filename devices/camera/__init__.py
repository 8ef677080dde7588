"""Camera code reading: FrameSource (OpenCV or simulated), CodeDecoder (zxing-cpp, pyzbar fallback), and a
CameraScanner that turns decoded codes into ScanEvents like any other scanner."""
from __future__ import annotations

import time
from pathlib import Path

from devices.camera.decoder import CodeDecoder, Decoded, Roi
from devices.camera.source import CameraError, FrameSource, OpenCvCamera, SimulatedCamera
from devices.scanner.drivers import Clock, _now
from devices.scanner.model import ScanEvent, classify
from devices.urls import DeviceUrlError, camera_index, parse_device_url

__all__ = ["CameraError", "CameraScanner", "CodeDecoder", "Decoded", "FrameSource", "OpenCvCamera", "Roi",
           "SimulatedCamera", "open_camera", "open_camera_scanner"]


class CameraScanner:
    """A Scanner backed by a camera: reads frames, decodes (throttled, de-duplicated), yields ScanEvents."""

    def __init__(self, source: FrameSource, decoder: CodeDecoder | None = None, clock: Clock = _now) -> None:
        self.frames = source
        self.decoder = decoder or CodeDecoder()
        self.clock = clock
        self.source = source.name
        self._pending: list[Decoded] = []
        self._closed = False

    def read_scan(self, timeout: float | None = None) -> ScanEvent | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._pending:
            if self._closed or (deadline is not None and time.monotonic() >= deadline):
                return None
            frame = self.frames.read()
            if frame is None:
                return None  # replay finished or camera gone
            self._pending += self.decoder.decode(frame, time.monotonic())
        return classify(self._pending.pop(0).text, self.source, self.clock())

    def close(self) -> None:
        self._closed = True
        self.frames.close()


def _roi(text: str | None) -> Roi | None:
    if not text:
        return None
    try:
        x, y, w, h = (float(v) for v in text.split(","))
        return Roi(x, y, w, h)
    except ValueError as err:
        raise DeviceUrlError(f"roi={text!r}: expected x,y,w,h as fractions, e.g. 0.25,0.25,0.5,0.5") from err


def open_camera(url: str) -> FrameSource:
    """``camera://0?width=1280&height=720``, ``sim://camera?dir=frames/&loop=1``, ``sim://camera?video=a.mp4``."""
    u = parse_device_url(url, expect="camera")
    if u.is_simulated:
        folder, video = u.param("dir"), u.param("video")
        if not folder and not video:
            raise DeviceUrlError(f"{url}: sim://camera needs ?dir=<folder of images> or ?video=<file>")
        return SimulatedCamera(directory=Path(folder) if folder else None, video=Path(video) if video else None,
                               loop=u.bool_param("loop"), fps=u.float_param("fps", 0.0))
    return OpenCvCamera(camera_index(u), u.int_param("width", 0) or None, u.int_param("height", 0) or None)


def open_camera_scanner(url: str, clock: Clock = _now) -> CameraScanner:
    """The camera plus decoder options: ``roi=x,y,w,h``, ``max_rate=10`` (decodes/s), ``dedupe_ms=3000``,
    ``backends=zxing,pyzbar``."""
    u = parse_device_url(url, expect="camera")
    backends = tuple((u.param("backends") or "zxing,pyzbar").split(","))
    try:
        decoder = CodeDecoder(backends=backends, roi=_roi(u.param("roi")), max_rate_hz=u.float_param("max_rate", 10),
                              dedupe_s=u.int_param("dedupe_ms", 3000) / 1000)
    except ValueError as err:
        raise DeviceUrlError(f"{url}: {err}") from err
    return CameraScanner(open_camera(url), decoder, clock)
