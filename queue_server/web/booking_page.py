"""The hub's own phone-friendly booking page (issue 16): ``/dat-lich`` to book, ``/b/<code>`` to see or cancel one.

Serves one static page (queue_server/web/booking_web/) whose script calls the public booking API (web/bookings.py):
choose a service, a day and a slot, receive a one-time code by SMS / Zalo / e-mail, book, get the code and its QR
link; ``/b/<code>`` (the link in the confirmation) shows the booking and cancels it, and once it is checked in links
to its ticket's tracking page ``/t/<id>`` (which links back). Vietnamese first, English by a
button; no CDN, no web font, a strict Content-Security-Policy. Only registered when [bookings] is configured.
"""
from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

WEB_DIR = Path(__file__).resolve().parent / "booking_web"
_CODE = re.compile(r"[A-Za-z0-9]{6}")
CSP = ("default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'")


def create_booking_page_blueprint(api_prefix: str = "/api/v1") -> Blueprint:
    bp = Blueprint("booking_page", __name__)
    page = (WEB_DIR / "book.html").read_text(encoding="utf-8").replace("{{API}}", api_prefix.rstrip("/"))
    # the page's own files by a relative address (a relay may serve the hub under a path prefix)
    pages = {"dat-lich": page.replace("{{STATIC}}", "dat-lich/static"),
             "b": page.replace("{{STATIC}}", "../dat-lich/static")}

    def html(which: str = "dat-lich") -> Response:
        resp = Response(pages[which], mimetype="text/html")
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        return resp

    @bp.get("/dat-lich")
    def booking_page() -> Response:
        return html()

    @bp.get("/b/<code>")
    def booking_status_page(code: str) -> Response:
        if not _CODE.fullmatch(code):
            abort(404)
        return html("b")

    @bp.get("/dat-lich/static/<path:name>")
    def booking_static(name: str) -> Response:
        return send_from_directory(WEB_DIR, name, max_age=300)

    return bp
