"""Camera scanning end to end with the simulated camera: a folder of images and a video file (both generated
here), decoded into ScanEvents with duplicates suppressed."""
from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
import segno
from PIL import Image

from devices.camera import CameraScanner, CodeDecoder, SimulatedCamera, open_camera, open_camera_scanner
from devices.camera.source import CameraError
from devices.urls import DeviceUrlError

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]

RECEIPT = "https://dvc.example.gov.vn/tra-cuu?maHoSo=000.00.12.H38-241023-0001"
TICKET = "http://10.0.0.2:8080/t/01JDX3K9ZQ4T"


def frame_with(text: str | None, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    frame = np.full((size[1], size[0], 3), 170, np.uint8)
    if text is not None:
        buf = io.BytesIO()
        segno.make_qr(text, error="m").save(buf, kind="png", scale=4, border=4)
        qr = cv2.cvtColor(np.array(Image.open(buf).convert("L")), cv2.COLOR_GRAY2BGR)
        frame[60:60 + qr.shape[0], 100:100 + qr.shape[1]] = qr
    return frame


def test_replaying_a_folder_of_images(tmp_path: Path) -> None:
    frames = [None, RECEIPT, RECEIPT, RECEIPT, None, TICKET, "Hồ sơ – Nguyễn Thị Ánh Tuyết"]
    for i, text in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), frame_with(text))
    (tmp_path / "notes.txt").write_text("not an image")
    scanner = open_camera_scanner(f"sim://camera?dir={tmp_path}&max_rate=1000&dedupe_ms=60000")
    events = []
    while (event := scanner.read_scan(timeout=10)) is not None:
        events.append(event)
    scanner.close()
    assert [e.raw for e in events] == [RECEIPT, TICKET, "Hồ sơ – Nguyễn Thị Ánh Tuyết"]  # receipt held: once
    assert events[0].dossier_code is not None and events[0].dossier_code.normalized == "000.00.12.H38-241023-0001"
    assert events[1].ticket_ref == "01JDX3K9ZQ4T"
    assert events[0].source == "sim-camera"


def test_replaying_a_video_file(tmp_path: Path) -> None:
    video = tmp_path / "counter.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for text in [None] * 3 + [TICKET] * 5 + [None] * 2:
        writer.write(frame_with(text))
    writer.release()
    source = open_camera(f"sim://camera?video={video}")
    scanner = CameraScanner(source, CodeDecoder(max_rate_hz=1000, dedupe_s=60))
    first = scanner.read_scan(timeout=10)
    assert first is not None and first.ticket_ref == "01JDX3K9ZQ4T"
    assert scanner.read_scan(timeout=10) is None  # end of the video, the held code reported once
    assert scanner.decoder.frames_decoded == 10


def test_looping_replay_and_timeout() -> None:
    camera = SimulatedCamera(frames=[frame_with(None)], loop=True)
    scanner = CameraScanner(camera, CodeDecoder(max_rate_hz=1000))
    assert scanner.read_scan(timeout=0.2) is None  # nothing in view: returns at the timeout, never hangs


def test_bad_camera_urls_and_sources(tmp_path: Path) -> None:
    with pytest.raises(DeviceUrlError, match="dir"):
        open_camera("sim://camera")
    with pytest.raises(DeviceUrlError, match="roi"):
        open_camera_scanner(f"sim://camera?dir={tmp_path}&roi=1,2")
    with pytest.raises(CameraError, match="nothing to replay"):
        open_camera(f"sim://camera?dir={tmp_path}")
    with pytest.raises(CameraError, match="cannot open"):
        open_camera(f"sim://camera?video={tmp_path}/missing.avi")
