"""The demo's face look-up: face lookup switched on with a fresh key in the demo's folder, a simulated citizen
enrolled at a counter (staff login, explicit consent, templates from the simulated camera) and then found at the
kiosk through the simulated camera: the presenter runs its blink challenge on the replayed frames, the template
goes to the hub, the dossier comes back with a masked name. Called by demo/run.py (three marked lines)."""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
CITIZEN = "Công dân mô phỏng / simulated citizen"


def with_face(settings: Any, workdir: Path) -> Any:
    """Face lookup on, the key in a ``keys/`` folder of its own (never beside the stores a backup copies)."""
    from queue_server.adapters.face_gallery import create_key_file
    from queue_server.face_config import FaceConfig

    cfg = FaceConfig(enabled=True, key_path=workdir / "keys" / "face.key",
                     gallery_path=workdir / "face" / "face.sqlite3", engine="sim://face")
    create_key_file(cfg.key_path)
    return replace(settings, face=cfg)


class _NoPrinter:
    """Nothing is printed by the face kiosk."""

    def print_job(self, job: Any) -> Any:
        raise RuntimeError("the demo's face kiosk prints nothing")


class _NoDesk:
    """The demo's face kiosk issues no tickets (the simulated morning does that)."""

    mode = "online"

    def numbers_left(self, service: str) -> int:
        return 0


def enrol_and_look_up(url: str, username: str, password: str, code: str,
                      device_key: str | None = None) -> dict[str, Any]:
    """Enrol at the counter, then look up at a kiosk through the simulated camera. Returns what happened."""
    import requests

    from devices.camera import SimulatedCamera
    from devices.face.liveness import Challenge
    from devices.face.simulator import SimulatedFaceEngine, blink_sequence, make_frame
    from kiosk.hub_client import HubClient
    from kiosk.presenters import Kiosk, ManualClock
    from queue_server.domain.face_consent import CONSENT_VERSION

    api = url + "/api/v1"
    engine = SimulatedFaceEngine()
    staff = requests.Session()
    token = staff.post(api + "/auth/login", json={"username": username, "password": password}, timeout=10)
    token.raise_for_status()
    staff.headers["Authorization"] = f"Bearer {token.json()['token']}"
    counter_camera = SimulatedCamera(frames=[make_frame(CITIZEN, number=n) for n in range(3)])
    templates = []
    while (frame := counter_camera.read()) is not None:
        templates.append([float(v) for v in engine.embed(frame)])
    enrolled = staff.post(api + "/face/enrol", timeout=10, json={
        "consent": {"accepted": True, "version": CONSENT_VERSION}, "dossier_codes": [code],
        "templates": templates, "channel": "counter"})
    enrolled.raise_for_status()

    clock = ManualClock()
    hub = HubClient(url, kiosk_id="kiosk-face", device_key=device_key)   # the demo's kiosks carry a device key
    kiosk = Kiosk(hub=hub, desk=_NoDesk(), printer=_NoPrinter(), clock=clock)   # type: ignore[arg-type]
    face = kiosk.attach_face(engine, hub, choose=lambda _c: Challenge.BLINK)
    clock.advance(1)
    kiosk.home.face()
    kiosk_camera = SimulatedCamera(frames=blink_sequence(CITIZEN, frames=12, start=10))
    while face.state == "capture" and (frame := kiosk_camera.read()) is not None:
        clock.advance(0.1)
        face.frame(frame)
    view = face.view()
    return {"enrolled": enrolled.json().get("subject"), "state": view.state, "lines": list(view.dossiers)}


def say_result(result: dict[str, Any], say: Any) -> None:
    if result.get("state") == "found":
        say("  Tra cứu bằng khuôn mặt / face look-up (ki-ốt mô phỏng, chớp mắt / simulated kiosk, blink): "
            + " | ".join(line.strip() for line in result["lines"]))
    else:
        say(f"  Tra cứu bằng khuôn mặt / face look-up: {result.get('state')} {result.get('error', '')}")
