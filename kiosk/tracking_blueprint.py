"""The ticket tracking page the ticket's QR opens on a citizen's phone: ``/t/<ticket_id>`` on the hub.

A Flask blueprint factory that imports only flask; it serves one static page from kiosk/web/ whose script polls
the public ``GET /api/v1/tickets/<id>`` (docs/api.md). Why polling and not /api/v1/stream: every open SSE stream
holds one of the hub's worker threads (sized for the hall displays), and a hall full of phones would take them all;
a poll every 10 s from 200 phones is 20 cheap requests a second. The lead registers it:
``app.register_blueprint(create_tracking_blueprint())``.
"""
from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

WEB_DIR = Path(__file__).resolve().parent / "web"
_TICKET_ID = re.compile(r"[A-Za-z0-9._-]{1,80}")


def create_tracking_blueprint(api_prefix: str = "/api/v1", poll_s: int = 10) -> Blueprint:
    """``/t/<ticket_id>`` (the page) and ``/t/static/<file>`` (its script and style)."""
    bp = Blueprint("ticket_tracking", __name__)
    page = (WEB_DIR / "track.html").read_text(encoding="utf-8")
    page = page.replace("{{API}}", api_prefix.rstrip("/")).replace("{{POLL_S}}", str(int(poll_s)))

    @bp.get("/t/<ticket_id>")
    def tracking_page(ticket_id: str) -> Response:
        if not _TICKET_ID.fullmatch(ticket_id):
            abort(404)
        resp = Response(page, mimetype="text/html")
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Content-Security-Policy"] = ("default-src 'self'; style-src 'self'; script-src 'self'; "
                                                   "img-src 'self' data:; connect-src 'self'")
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        return resp

    @bp.get("/t/static/<path:name>")
    def tracking_static(name: str) -> Response:
        return send_from_directory(WEB_DIR, name, max_age=300)

    return bp
