"""Attaches face lookup to a kiosk when it can work: a camera is configured, the ``face`` extra is installed
(mediapipe, dlib, the models) and the hub has face lookup on (it answers GET /api/v1/face/consent). Otherwise the
home screen simply does not offer it. A simulated camera (``sim://camera``) gets the simulated engine."""
from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def attach_face(kiosk: Any, hub: Any, camera_url: str) -> bool:
    if not camera_url:
        return False
    from devices.face import face_extra_present, open_face_engine
    from kiosk.hub_client import HubError, HubUnavailable

    simulated = camera_url.startswith("sim://")
    if not simulated and not face_extra_present():
        log.info("face lookup not offered: the face extra is not installed")
        return False
    try:
        hub.face_consent()
    except (HubError, HubUnavailable) as err:
        log.info("face lookup not offered: the hub does not answer /face/consent (%s)", err)
        return False
    try:
        engine = open_face_engine("sim://face" if simulated else "mediapipe")
    except Exception as err:  # noqa: BLE001 - a kiosk without face lookup still issues tickets
        log.error("face lookup not offered: engine failed to start: %s", err)
        return False
    kiosk.attach_face(engine, hub)
    log.info("face lookup offered (engine %s)", engine.name)
    return True
