"""Face lookup blueprint (/api/v1/face/...) and the counter's enrolment page (/face/enrol).

Thin: parsing and credentials here, rules in queue_server/app/face_service.py. Who may do what:
- the consent text: anyone (a kiosk shows it);
- enrolment, the list of enrolled citizens, staff deletion: a logged-in staff member (bearer token);
- a kiosk enrolment waiting for staff: made by a kiosk, listed and approved/rejected by staff;
- match, withdrawal after a match, reporting a refused look-up: a kiosk (X-Device-Key when the hub has
  device keys, like every kiosk write) and rate-limited per client;
- the purge and the audit trail: manager.
Templates come in (enrolment, match) and never go out: no route answers with one.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, request, send_from_directory

from contracts.errors import ErrorCode, MotcuaError
from queue_server.app.face_service import MAX_TEMPLATES, FaceService
from queue_server.web.guards import RateLimiter
from runtime.settings import RateLimit

PAGE_DIR = Path(__file__).resolve().parent / "face_page"
MAX_ENROL_BYTES = 1_500_000      # up to 3 camera frames as JPEG in base64
MAX_IMAGES = 3


def _body(limit: int | None = None) -> dict[str, Any]:
    if limit is not None:
        request.max_content_length = limit
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise MotcuaError(ErrorCode.BAD_REQUEST, "body: expected a JSON object")
    return data


MAX_PIXELS = 4096 * 4096


def _image_size(raw: bytes) -> tuple[int, int]:
    from io import BytesIO

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(BytesIO(raw)) as img:
            return img.size
    except (UnidentifiedImageError, OSError, ValueError):
        return 0, 0            # not an image: cv2 says so below


def _frames(images: Any) -> list[Any]:
    import cv2
    import numpy as np

    if not isinstance(images, list) or not images or len(images) > MAX_IMAGES:
        raise MotcuaError(ErrorCode.BAD_REQUEST, f"images: a list of 1 to {MAX_IMAGES} JPEG/PNG images in base64")
    frames = []
    for i, text in enumerate(images):
        if not isinstance(text, str):
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"images[{i}]: expected a base64 string")
        try:
            raw = base64.b64decode(text.split(",", 1)[-1], validate=True)   # a data: URL is fine too
        except (binascii.Error, ValueError) as err:
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"images[{i}]: not base64") from err
        width, height = _image_size(raw)
        if width * height > MAX_PIXELS:
            # checked from the header before decoding: a small file may declare a huge picture
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"images[{i}]: {width}×{height} is larger than a camera frame")
        frame = cv2.imdecode(np.frombuffer(raw, dtype=np.uint8), cv2.IMREAD_COLOR)
        if frame is None:
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"images[{i}]: not a JPEG or PNG image")
        frames.append(frame)
    return frames


def parse_templates(templates: Any) -> list[Any]:
    """1 to MAX_TEMPLATES lists of 128 finite numbers, as float32 templates; a sentence for anything else."""
    from devices.face.matching import check_template

    if not isinstance(templates, list) or not templates or len(templates) > MAX_TEMPLATES:
        raise MotcuaError(ErrorCode.BAD_REQUEST, f"templates: a list of 1 to {MAX_TEMPLATES} face templates")
    out = []
    for i, t in enumerate(templates):
        if not isinstance(t, list) or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in t):
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"templates[{i}]: expected a list of numbers")
        try:
            out.append(check_template(t))
        except ValueError as err:
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"templates[{i}]: {err}") from err
    return out


def create_face_blueprint(service: FaceService, *, require_role: Callable[[str], Any],
                          check_device: Callable[[], None], engine: Any = None,
                          rate_limit: RateLimit | None = None) -> Blueprint:
    """``engine``: a FaceEngine on the hub, for enrolment from camera images sent by the counter page; without
    it only templates computed elsewhere (a kiosk's engine) are accepted."""
    bp = Blueprint("face", __name__)
    limiter = RateLimiter(rate_limit or RateLimit(per_minute=20.0, burst=5))

    def limited() -> None:
        if limiter.take(request.remote_addr or "unknown") > 0:
            raise MotcuaError(ErrorCode.RATE_LIMITED, "too many face look-ups from this client; wait a minute")

    def answer(body: dict[str, Any]) -> Response:
        response = jsonify(body)
        response.headers["Cache-Control"] = "no-store"   # personal data
        return response

    @bp.get("/api/v1/face/consent")
    def consent() -> Response:
        return answer(service.consent())

    @bp.post("/api/v1/face/enrol")
    def enrol() -> Response:
        session = require_role("staff")
        body = _body(MAX_ENROL_BYTES)
        if "templates" in body:
            templates = parse_templates(body["templates"])
        elif "images" in body:
            if engine is None:
                raise MotcuaError(ErrorCode.BAD_REQUEST, "images: this hub has no face engine ([face] engine); "
                                                        "send templates from a kiosk")
            from devices.face.port import FaceError

            templates = []
            for frame in _frames(body["images"]):
                try:
                    templates.append(engine.embed(frame))
                except FaceError as err:
                    service.refuse(err.code, session.username, {"channel": "counter"})
                    raise MotcuaError(ErrorCode.BAD_REQUEST, f"images: {err.code}: {err}") from err
                # the frame goes out of scope here: no photo is kept
        else:
            raise MotcuaError(ErrorCode.BAD_REQUEST, "templates or images: one of them is needed")
        channel = body.get("channel", "counter")
        return answer(service.enrol(templates=templates, consent=body.get("consent"),
                                    codes=body.get("dossier_codes"), actor=session.username, channel=channel,
                                    link_to=body.get("link_to")))

    @bp.post("/api/v1/face/match")
    def match() -> Response:
        check_device()
        limited()
        body = _body()
        device = str(body.get("device") or request.remote_addr or "kiosk")[:64]
        templates = parse_templates([body.get("template")])
        return answer(service.match(templates[0], device=device, liveness=body.get("liveness")))

    @bp.post("/api/v1/face/refused")
    def refused() -> Response:
        check_device()
        limited()
        body = _body()
        reason = body.get("reason")
        if reason not in ("liveness", "no_face", "many_faces", "too_small", "declined"):
            raise MotcuaError(ErrorCode.BAD_REQUEST, "reason: liveness, no_face, many_faces, too_small or declined")
        service.refuse(reason, str(body.get("device") or request.remote_addr or "kiosk")[:64])
        return answer({"recorded": True})

    @bp.post("/api/v1/face/withdraw")
    def withdraw() -> Response:
        check_device()
        body = _body()
        if body.get("confirm") is not True:
            raise MotcuaError(ErrorCode.BAD_REQUEST, "confirm: must be true (the citizen confirmed the deletion)")
        device = str(body.get("device") or request.remote_addr or "kiosk")[:64]
        return answer(service.withdraw(body.get("withdraw_token"), device=device))

    @bp.post("/api/v1/face/kiosk-enrolments")
    def kiosk_enrolment() -> Response:
        check_device()
        limited()
        body = _body()
        device = str(body.get("device") or request.remote_addr or "kiosk")[:64]
        template = parse_templates([body.get("template")])[0]
        return answer(service.request_at_kiosk(template=template, consent=body.get("consent"),
                                               codes=body.get("dossier_codes"), device=device,
                                               liveness=body.get("liveness")))

    @bp.get("/api/v1/face/kiosk-enrolments")
    def kiosk_enrolments() -> Response:
        require_role("staff")
        return answer({"requests": service.kiosk_requests()})

    @bp.post("/api/v1/face/kiosk-enrolments/<request_id>/<decision>")
    def decide_kiosk_enrolment(request_id: str, decision: str) -> Response:
        session = require_role("staff")
        if decision not in ("approve", "reject"):
            raise MotcuaError(ErrorCode.NOT_FOUND, "approve or reject")
        body = request.get_json(silent=True) or {}
        link_to = body.get("link_to") if isinstance(body, dict) else None
        return answer(service.decide_kiosk_request(request_id[:32], approve=decision == "approve",
                                                   actor=session.username, link_to=link_to))

    @bp.get("/api/v1/face/subjects")
    def subjects() -> Response:
        require_role("staff")
        return answer({"subjects": service.subjects()})

    @bp.delete("/api/v1/face/subjects/<subject>")
    def delete(subject: str) -> Response:
        session = require_role("staff")
        return answer(service.delete(subject[:64], actor=session.username))

    @bp.post("/api/v1/face/purge")
    def purge() -> Response:
        require_role("manager")
        return answer({"purged": len(service.purge())})

    @bp.get("/api/v1/face/audit")
    def audit() -> Response:
        require_role("manager")
        return answer({"audit": service.gallery.audit_trail()})

    @bp.get("/face/enrol")
    def enrol_page() -> Response:
        response = send_from_directory(PAGE_DIR, "enrol.html", max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @bp.get("/face/enrol.js")
    def enrol_script() -> Response:
        return send_from_directory(PAGE_DIR, "enrol.js", max_age=0)

    return bp
