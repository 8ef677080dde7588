"""Composes face lookup on the hub when ``[face] enabled``: the encrypted gallery, the service, the purge job and
the blueprint. Kept out of wiring.py (which only calls ``build_face``) so the hub builds without the face extra.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Blueprint

log = logging.getLogger(__name__)


@dataclass
class FaceParts:
    service: Any
    blueprint: Blueprint
    purger: Any
    engine: Any = None

    def start(self) -> None:
        self.purger.start()

    def stop(self) -> None:
        self.purger.stop()
        if self.engine is not None:
            self.engine.close()
        self.service.close()


def new_face_service(gallery: Any, clock: Any, *, policy: Any = None, retention: Any = None,
                     record_event: Any = None, lookup: Any = None) -> Any:
    """A FaceService over ``gallery`` with the numpy template index (``policy``: threshold and margin)."""
    from devices.face.matching import TemplateIndex
    from queue_server.app.face_service import FaceService, FaceSettings

    settings = FaceSettings(retention) if retention is not None else FaceSettings()
    return FaceService(gallery, clock, TemplateIndex(policy=policy), settings=settings, record_event=record_event,
                       lookup=lookup)


def build_face(settings: Any, record_event: Any, lookup: Any, clock: Any) -> FaceParts | None:
    """None when ``[face]`` is absent or off. A missing or open key file stops the hub with the key error's
    sentence (``motcua config check`` says the same), rather than running with face lookup silently off."""
    cfg = getattr(settings, "face", None)
    if cfg is None or not cfg.enabled:
        return None
    from devices.face import FaceEngineUnavailable, open_face_engine
    from queue_server.adapters.face_gallery import FaceGallery, FaceKeyError
    from queue_server.app.face_service import FacePurger
    from queue_server.config import ConfigError
    from queue_server.web import guards
    from queue_server.web.common import hub, require
    from queue_server.web.face import create_face_blueprint

    try:
        gallery = FaceGallery(cfg.gallery_path, cfg.key_path)
        service = new_face_service(gallery, clock, policy=cfg.policy, retention=cfg.retention,
                                   record_event=record_event, lookup=lookup)
        engine = open_face_engine(cfg.engine) if cfg.engine else None
    except (FaceKeyError, FaceEngineUnavailable) as err:
        # a sentence, not a traceback: the hub stops with "config error: ..." like any other bad setting
        raise ConfigError(f"face: {err}") from err
    def check_device() -> None:      # kiosk writes: X-Device-Key when the hub has device keys (or a staff login)
        ctx = hub()
        guards.check_device_key(ctx.settings.security.device_keys, ctx.tokens)

    bp = create_face_blueprint(service, require_role=require, check_device=check_device, engine=engine)
    return FaceParts(service, bp, FacePurger(service, cfg.purge_every_min * 60.0), engine)
