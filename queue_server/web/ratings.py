"""Ratings over HTTP: submit, what a counter may rate now, the day's aggregates, and the tablet rating page
``/rate/<counter>`` (Vietnamese first, big buttons, no CDN: everything inline).

``make_ratings_blueprint(service)`` returns a blueprint with absolute paths; register it as an extra blueprint.
Errors are ``{"error": {"code", "message"}}`` with the code's HTTP status, as everywhere in the hub.
"""
from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import date

from flask import Blueprint, Response, jsonify, request

from contracts.errors import ErrorCode, MotcuaError
from queue_server.app.ratings_service import RatingsService
from queue_server.web.common import ROUTE_DOCS, Query, RouteDoc

_RATING_ERRORS = (ErrorCode.NOTHING_TO_RATE, ErrorCode.RATING_WINDOW_CLOSED, ErrorCode.ALREADY_RATED,
                  ErrorCode.INVALID_DOSSIER_CODE, ErrorCode.UNKNOWN_COUNTER)
ROUTE_DOCS.update({
    "ratings.submit": RouteDoc("Rate the ticket just served at a counter (tablet, pad)", "ratings", ok=201,
                               errors=_RATING_ERRORS, result="{rating}"),
    "ratings.aggregates": RouteDoc("Rating counts per level, counter, staff, service and day", "ratings",
                                   role="manager", query=(Query("day", str, "YYYY-MM-DD, default today"),
                                                          Query("from", str, "range start"),
                                                          Query("to", str, "range end (inclusive)"))),
    "ratings.pending": RouteDoc("What a counter's rating pad or tablet may rate now", "ratings",
                                errors=(ErrorCode.UNKNOWN_COUNTER,)),
    "ratings.scale": RouteDoc("The configured rating scale and criteria", "ratings"),
})

# What the page says for each refusal (the API's messages stay English; UIs translate codes).
MESSAGES_VI = {
    str(ErrorCode.ALREADY_RATED): "Lượt phục vụ này đã được đánh giá. Xin cảm ơn!",
    str(ErrorCode.NOTHING_TO_RATE): "Chưa có lượt phục vụ nào để đánh giá.",
    str(ErrorCode.RATING_WINDOW_CLOSED): "Đã hết thời gian đánh giá cho lượt phục vụ này.",
    str(ErrorCode.INVALID_DOSSIER_CODE): "Mã hồ sơ không đúng định dạng.",
    str(ErrorCode.UNKNOWN_COUNTER): "Không tìm thấy quầy này.",
}


def make_ratings_blueprint(service: RatingsService,
                           require_role: Callable[[str], object] | None = None) -> Blueprint:
    """``require_role(role)`` raises when the caller lacks the role (the hub passes its auth check; aggregates
    name staff, so they are for managers)."""
    bp = Blueprint("ratings", __name__)

    @bp.errorhandler(MotcuaError)
    def _error(err: MotcuaError) -> tuple[Response, int]:
        return jsonify(err.to_json()), err.http_status

    @bp.post("/api/v1/ratings")
    def submit() -> tuple[Response, int]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise MotcuaError(ErrorCode.BAD_REQUEST, "body: expected a JSON object")
        unknown = set(body) - {"counter", "level", "criteria", "dossier_codes", "source"}
        if unknown:
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"body: unknown fields {sorted(unknown)}")
        counter = body.get("counter")
        if isinstance(counter, int) and not isinstance(counter, bool):
            counter = str(counter)
        source = body.get("source", "web")
        rating = service.submit(counter, body.get("level"), body.get("criteria"), body.get("dossier_codes"),
                                source=source if isinstance(source, str) else "web")
        return jsonify({"rating": rating.to_json()}), 201

    def _day(name: str) -> date | None:
        raw = request.args.get(name)
        try:
            return date.fromisoformat(raw) if raw else None
        except ValueError as err:
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"{name}: {raw!r} is not YYYY-MM-DD") from err

    @bp.get("/api/v1/ratings/aggregates")
    def aggregates() -> Response:
        """``?day=YYYY-MM-DD`` (default today) or ``?from=...&to=...`` (both included)."""
        if require_role is not None:
            require_role("manager")
        if "from" in request.args or "to" in request.args:
            first, last = _day("from"), _day("to")
            if first is None or last is None:
                raise MotcuaError(ErrorCode.BAD_REQUEST, "from and to: both are needed for a range")
            return jsonify(service.aggregates(first, last))
        return jsonify(service.aggregates(_day("day")))

    @bp.get("/api/v1/ratings/pending/<counter>")
    def pending(counter: str) -> Response:
        return jsonify(service.pending(counter))

    @bp.get("/api/v1/ratings/scale")
    def scale() -> Response:
        s = service.scale
        return jsonify({"levels": [{"value": lv.value, "label": lv.label, "label_en": lv.label_en} for lv in s.levels],
                        "criteria": [{"code": c.code, "label": c.label, "label_en": c.label_en} for c in s.criteria],
                        "window_min": s.window_min})

    @bp.get("/rate/<counter>")
    def page(counter: str) -> Response:
        return Response(rating_page(counter, service), mimetype="text/html")

    return bp


_COLORS = ["#1b7f3b", "#4a8f1f", "#b88600", "#b3261e"]   # best → worst, by position


def _color(i: int, n: int) -> str:
    """Green for the best level, red for the worst, whatever the number of levels."""
    return _COLORS[-1] if i == n - 1 and n > 1 else _COLORS[min(i, 2)]


def rating_page(counter: str, service: RatingsService) -> str:
    levels = sorted(service.scale.levels, key=lambda lv: -lv.value)
    buttons = "\n".join(
        f'<button class="lv" data-level="{lv.value}" style="background:{_color(i, len(levels))}" disabled>'
        f'<span class="vi">{html.escape(lv.label)}</span><span class="en">{html.escape(lv.label_en)}</span></button>'
        for i, lv in enumerate(levels))
    data = json.dumps({"counter": counter, "messages": MESSAGES_VI}, ensure_ascii=False)
    return _PAGE.replace("{{counter}}", html.escape(counter)).replace("{{buttons}}", buttons).replace(
        "{{data}}", data.replace("</", "<\\/"))


_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Đánh giá mức độ hài lòng — Quầy {{counter}}</title>
<style>
  html, body { margin: 0; height: 100%; font-family: "Noto Sans", "DejaVu Sans", sans-serif; background: #f4f6f8; }
  main { display: flex; flex-direction: column; height: 100%; padding: 3vh 4vw; box-sizing: border-box; }
  h1 { margin: 0 0 1vh; font-size: 4.4vh; color: #10324a; text-align: center; }
  .sub { text-align: center; font-size: 2.6vh; color: #445; margin-bottom: 2vh; }
  #status { text-align: center; font-size: 3.4vh; min-height: 5vh; color: #10324a; margin-bottom: 2vh; }
  .levels { flex: 1; display: flex; gap: 2vw; }
  button.lv { flex: 1; border: 0; border-radius: 2vh; color: #fff; cursor: pointer; display: flex;
    flex-direction: column; align-items: center; justify-content: center; gap: 1.5vh; touch-action: manipulation; }
  button.lv .vi { font-size: 5.5vh; font-weight: 700; }
  button.lv .en { font-size: 2.6vh; opacity: .85; }
  button.lv:disabled { filter: grayscale(1); opacity: .35; cursor: default; }
  .thanks { font-size: 5vh; font-weight: 700; color: #1b7f3b; }
</style></head>
<body><main>
  <h1>Quý vị hài lòng với sự phục vụ tại quầy {{counter}}?</h1>
  <div class="sub">How satisfied are you with the service at counter {{counter}}?</div>
  <div id="status" role="status" aria-live="polite">Đang kiểm tra…</div>
  <div class="levels">
{{buttons}}
  </div>
</main>
<script>
const CFG = {{data}};
const statusEl = document.getElementById("status");
const buttons = Array.from(document.querySelectorAll("button.lv"));
let busy = false, holdUntil = 0;
function setEnabled(on) { buttons.forEach(b => b.disabled = !on); }
function say(text, cls) { statusEl.textContent = text; statusEl.className = cls || ""; }
async function poll() {
  if (busy || Date.now() < holdUntil) return;
  try {
    const r = await fetch("/api/v1/ratings/pending/" + encodeURIComponent(CFG.counter), {cache: "no-store"});
    const j = await r.json();
    if (j.rateable) { setEnabled(true); say("Số " + j.ticket + " — mời quý vị chọn một mức đánh giá"); }
    else { setEnabled(false); say(CFG.messages[j.code] || (j.error ? j.error.message : "")); }
  } catch (e) { setEnabled(false); say("Mất kết nối — đang thử lại…"); }
}
buttons.forEach(b => b.addEventListener("click", async () => {
  if (busy) return;
  busy = true; setEnabled(false);
  try {
    const r = await fetch("/api/v1/ratings", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({counter: CFG.counter, level: Number(b.dataset.level), source: "tablet"})});
    const j = await r.json();
    if (r.ok) say("Cảm ơn quý vị đã đánh giá! / Thank you!", "thanks");
    else say(CFG.messages[j.error.code] || j.error.message);
  } catch (e) { say("Không gửi được — vui lòng thử lại"); }
  holdUntil = Date.now() + 4000; busy = false;
}));
poll(); setInterval(poll, 1500);
</script>
</body></html>
"""
