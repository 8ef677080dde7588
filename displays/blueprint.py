"""Flask blueprint serving the hall and counter displays, the staff console, the manager board and the voice clips.

Imports only flask, displays' own pure modules and its settings type (runtime.settings): the pages talk to the
hub over HTTP and SSE (/api/v1), never through queue_server's internals, so the same files could be served by
any web server in front of the hub.
Routes: /display/hall, /display/counter/<id>, /console, /manager, /displays/static/<file>,
/displays/fonts/<NotoSans-*.ttf>, /displays/settings.json, /voice/<clip>.wav, /voice/plan.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request, send_from_directory

from displays.announcements import make_announcement
from displays.vietnamese_numbers import NumberReadingError
from displays.voice_pack import VoicePack, VoicePackError, ensure_built
from runtime.settings import DisplaySettings  # one type for the hub's [display] and the pages

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent / "web"
FONT_DIR = Path("/usr/share/fonts/truetype/noto")
FONTS = frozenset({"NotoSans-Regular.ttf", "NotoSans-Bold.ttf"})
PAGES = {"hall": "hall.html", "counter": "counter.html", "console": "console.html", "manager": "manager.html",
         "admin": "admin.html", "audit": "audit.html"}


def make_displays_blueprint(voice_dir: str | Path, recorded_voice_dir: str | Path | None = None,
                            settings: DisplaySettings | Callable[[], DisplaySettings] | None = None,
                            font_dir: str | Path = FONT_DIR,
                            build_missing: bool = True) -> Blueprint:
    """The blueprint; register it at the root (its URLs are absolute). Clips come from ``recorded_voice_dir``
    first, then from ``voice_dir`` (made at install by ``python -m displays.voice_cli build``; with
    ``build_missing`` the chime is made now if that step did not run, and calls the recorded pack cannot say are
    synthesised whole with espeak-ng when planned; without it, nothing is synthesised)."""
    bp = Blueprint("displays", __name__)
    if build_missing:
        try:
            made = ensure_built(voice_dir)
        except (OSError, VoicePackError) as err:
            log.warning("voice pack %s could not be built: %s (calls will be shown, not spoken)", voice_dir, err)
        else:
            if made:
                log.info("voice pack %s: made %d missing clips", voice_dir, len(made))
    # the recorded announcer first; else each call is synthesised whole (when build_missing allows espeak-ng here)
    pack = VoicePack.for_hall(recorded_voice_dir, voice_dir, synthesise=build_missing)
    # a callable: the hub's live [display] (the admin changes the notice without a restart)
    fixed = settings if isinstance(settings, DisplaySettings) else DisplaySettings()
    live_cfg: Callable[[], DisplaySettings] = settings if callable(settings) else (lambda: fixed)
    fonts = Path(font_dir)

    def page(name: str) -> Response:
        response = send_from_directory(WEB_DIR, PAGES[name], max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @bp.get("/display/hall")
    def hall() -> Response:
        return page("hall")

    @bp.get("/display/counter/<counter_id>")
    def counter(counter_id: str) -> Response:
        return page("counter")

    @bp.get("/console")
    def console() -> Response:
        return page("console")

    @bp.get("/manager")
    def manager() -> Response:
        return page("manager")

    @bp.get("/admin")
    def admin() -> Response:
        return page("admin")

    @bp.get("/audit")
    def audit() -> Response:
        return page("audit")

    @bp.get("/displays/settings.json")
    def settings_json() -> Response:
        return jsonify(live_cfg().for_pages())

    @bp.get("/displays/static/<path:name>")
    def static_file(name: str) -> Response:
        # send_from_directory refuses paths that leave WEB_DIR.
        response = send_from_directory(WEB_DIR, name, max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @bp.get("/displays/fonts/<name>")
    def font(name: str) -> Response:
        # A route rather than a copy: the fonts package stays the single source, upgraded with the OS.
        if name not in FONTS or not (fonts / name).is_file():
            abort(404)
        return send_from_directory(fonts, name, max_age=86400)

    @bp.get("/voice/<clip>.wav")
    def voice_clip(clip: str) -> Response:
        path = pack.path(clip)
        if path is None:
            return _error(404, "not_found", f"no voice clip {clip!r}")
        return send_from_directory(path.parent, path.name, mimetype="audio/wav", max_age=3600)

    @bp.get("/voice/plan")
    def voice_plan() -> Response:
        args = request.args
        try:
            recall = int(args.get("recall", "0") or 0)
            announcement = make_announcement(args.get("ticket_id", ""), args.get("number", ""),
                                             args.get("counter", ""), recall)
        except (NumberReadingError, ValueError) as err:
            return _error(400, "bad_request", str(err))
        clips = pack.plan(announcement)
        body: dict[str, Any] = {"text": announcement.text, "spoken": announcement.spoken,
                                "clips": list(clips), "missing": pack.missing(clips)}
        return jsonify(body)

    return bp


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response
