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
from typing import Any

from flask import Blueprint, Response, jsonify

from contracts.errors import ErrorCode, MotcuaError
from queue_server.app.ratings_service import RatingsService
from queue_server.web.common import Body, Field, Query, require, route
from queue_server.web.schemas import obj, ref

_RATING_ERRORS = (ErrorCode.NOTHING_TO_RATE, ErrorCode.RATING_WINDOW_CLOSED, ErrorCode.ALREADY_RATED,
                  ErrorCode.INVALID_DOSSIER_CODE, ErrorCode.UNKNOWN_COUNTER, ErrorCode.UNAUTHENTICATED)

SUBMIT = Body({
    "counter": Field((str, int), True, "the counter id (a pad may send 5 for \"5\")", max_len=64),
    "level": Field(int, True, "a level of GET /ratings/scale"),
    "criteria": Field(dict, False, "criterion code -> level (optional)", nullable=True, max_len=20,
                      values=Field(int)),
    "dossier_codes": Field(list, False, "codes of the dossiers handled in this visit", nullable=True, max_len=20,
                           items=Field(str, max_len=80)),
    "source": Field(str, False, "tablet, pad-05 …, for the reports", max_len=64),
})
AGGREGATE_QUERY = (Query("day", date, "YYYY-MM-DD, default today"), Query("from", date, "range start"),
                   Query("to", date, "range end (inclusive)"))

# What the page says for each refusal (the API's messages stay English; UIs translate codes).
MESSAGES_VI = {
    str(ErrorCode.ALREADY_RATED): "Lượt phục vụ này đã được đánh giá. Xin cảm ơn!",
    str(ErrorCode.NOTHING_TO_RATE): "Chưa có lượt phục vụ nào để đánh giá.",
    str(ErrorCode.RATING_WINDOW_CLOSED): "Đã hết thời gian đánh giá cho lượt phục vụ này.",
    str(ErrorCode.INVALID_DOSSIER_CODE): "Mã hồ sơ không đúng định dạng.",
    str(ErrorCode.UNKNOWN_COUNTER): "Không tìm thấy quầy này.",
}


def _check_tablet(counter: str) -> None:
    """With device keys set (issue 11), a web rating for a counter needs the key of a tablet paired to that counter
    (``[[security.tablets]]``); otherwise anyone on the LAN could rate a ticket before the citizen does. Rating pads
    rate over MQTT through their counter's bridge (the broker's ACL and the hub's command check)."""
    from flask import current_app, request

    from queue_server.web.guards import device_key_ok

    ctx = current_app.extensions.get("motcua")
    security = getattr(getattr(ctx, "settings", None), "security", None)
    if security is None or not security.device_keys:
        return                          # a lab hub (motcua hub --lab): ratings stay open as writes do
    if device_key_ok(request.headers.get("X-Device-Key", ""), security.tablet_keys(counter)):
        return
    raise MotcuaError(ErrorCode.UNAUTHENTICATED, f"Máy tính bảng này chưa được ghép với quầy {counter}. / "
                                                 f"Only a tablet paired to counter {counter} may rate it "
                                                 "(X-Device-Key of [[security.tablets]]).")


def make_ratings_blueprint(service: RatingsService,
                           require_role: Callable[[str], object] = require,
                           criteria_wait_s: int = 12) -> Blueprint:
    """``require_role(role)`` raises when the caller lacks the role (by default the hub's own token check;
    aggregates name staff, so they are for managers). ``criteria_wait_s``: when criteria are configured, how long
    the tablet page waits (a visible countdown) for the optional criteria before it sends the rating by itself."""
    bp = Blueprint("ratings", __name__)

    @bp.errorhandler(MotcuaError)
    def _error(err: MotcuaError) -> tuple[Response, int]:
        return jsonify(err.to_json()), err.http_status

    @route(bp, "/api/v1/ratings", methods=("POST",), summary="Rate the ticket just served at a counter (tablet, pad)",
           body=SUBMIT, ok=201, errors=_RATING_ERRORS, result="{rating}", response=obj({"rating": ref("Rating")}))
    def submit(body: dict[str, Any]) -> tuple[Response, int]:
        counter = body["counter"]
        _check_tablet(str(counter))
        rating = service.submit(str(counter), body["level"], body.get("criteria"), body.get("dossier_codes"),
                                source=body.get("source") or "web")
        return jsonify({"rating": rating.to_json()}), 201

    @route(bp, "/api/v1/ratings/aggregates", summary="Rating counts per level, counter, staff, service and day",
           role="manager", role_check=require_role, query=AGGREGATE_QUERY, response=ref("RatingAggregates"),
           result="one day (?day=, default today) or a range (?from=&to=, both included)")
    def aggregates(query: dict[str, Any]) -> Response:
        if "from" in query or "to" in query:
            first, last = query.get("from"), query.get("to")
            if first is None or last is None:
                raise MotcuaError(ErrorCode.BAD_REQUEST, "from and to: both are needed for a range")
            return jsonify(service.aggregates(first, last))
        return jsonify(service.aggregates(query.get("day")))

    @route(bp, "/api/v1/ratings/pending/<counter>", summary="What a counter's rating pad or tablet may rate now",
           errors=(ErrorCode.UNKNOWN_COUNTER,), response=ref("RatingPending"))
    def pending(counter: str) -> Response:
        return jsonify(service.pending(counter))

    @route(bp, "/api/v1/ratings/scale", summary="The configured rating scale and criteria",
           response=ref("RatingScale"))
    def scale() -> Response:
        s = service.scale
        return jsonify({"levels": [{"value": lv.value, "label": lv.label, "label_en": lv.label_en} for lv in s.levels],
                        "criteria": [{"code": c.code, "label": c.label, "label_en": c.label_en} for c in s.criteria],
                        "window_min": s.window_min})

    @bp.get("/rate-page.js")
    def page_script() -> Response:
        # the rating page's script as a file: the Content-Security-Policy allows no inline script
        return Response(_PAGE_JS, mimetype="text/javascript")

    @bp.get("/rate/<counter>")
    def page(counter: str) -> Response:
        return Response(rating_page(counter, service, criteria_wait_s), mimetype="text/html")

    return bp


_COLORS = ["#1b7f3b", "#4a8f1f", "#b88600", "#b3261e"]   # best → worst, by position


def _color(i: int, n: int) -> str:
    """Green for the best level, red for the worst, whatever the number of levels."""
    return _COLORS[-1] if i == n - 1 and n > 1 else _COLORS[min(i, 2)]


def _labels(label: str, label_en: str) -> str:
    return f'<span class="vi">{html.escape(label)}</span><span class="en">{html.escape(label_en)}</span>'


def rating_page(counter: str, service: RatingsService, criteria_wait_s: int = 12) -> str:
    """The tablet page. One tap on an overall level is a complete rating. With criteria configured, that tap opens
    a second step (the criteria, same level buttons) and a countdown; the rating (overall + whatever criteria were
    chosen) is sent once, when the countdown ends or on "Gửi ngay" — so one ticket still gets one rating."""
    levels = sorted(service.scale.levels, key=lambda lv: -lv.value)
    n = len(levels)
    buttons = "\n".join(
        f'<button class="lv" data-level="{lv.value}" style="background:{_color(i, n)}" disabled>'
        f'{_labels(lv.label, lv.label_en)}</button>'
        for i, lv in enumerate(levels))
    rows = "\n".join(
        f'<div class="crit" data-code="{html.escape(c.code)}" role="group" aria-label="{html.escape(c.label)}">'
        f'<div class="cl">{_labels(c.label, c.label_en)}</div><div class="opts">'
        + "".join(f'<button class="cv" data-code="{html.escape(c.code)}" data-level="{lv.value}" '
                  f'style="background:{_color(i, n)}" aria-pressed="false">{_labels(lv.label, lv.label_en)}</button>'
                  for i, lv in enumerate(levels))
        + "</div></div>"
        for c in service.scale.criteria)
    labels = {str(lv.value): [lv.label, lv.label_en] for lv in levels}
    data = json.dumps({"counter": counter, "messages": MESSAGES_VI, "criteria": [c.code for c in service.scale.criteria],
                       "wait_s": max(1, criteria_wait_s), "labels": labels}, ensure_ascii=False)
    return (_PAGE.replace("{{counter}}", html.escape(counter)).replace("{{buttons}}", buttons)
            .replace("{{criteria}}", rows).replace("{{data}}", data.replace("</", "<\\/")))


_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Đánh giá mức độ hài lòng — Quầy {{counter}}</title>
<style>
  html, body { margin: 0; height: 100%; font-family: "Noto Sans", "DejaVu Sans", sans-serif; background: #f4f6f8; }
  main { display: flex; flex-direction: column; height: 100%; padding: 3vh 4vw; box-sizing: border-box; }
  [hidden] { display: none !important; }
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
  #extra { flex: 1; display: flex; flex-direction: column; gap: 1.6vh; min-height: 0; }
  #chosen { text-align: center; font-size: 3.6vh; color: #10324a; }
  #chosen b { font-size: 4.2vh; }
  .crit { flex: 1; display: flex; align-items: stretch; gap: 1.5vw; background: #fff; border-radius: 2vh;
    padding: 1.2vh 1.2vw; min-height: 0; }
  .crit .cl { width: 27%; display: flex; flex-direction: column; justify-content: center; }
  .crit .cl .vi { font-size: 3.8vh; font-weight: 700; color: #10324a; }
  .crit .cl .en { font-size: 2.3vh; color: #445; }
  .opts { flex: 1; display: flex; gap: 1.2vw; }
  button.cv { flex: 1; border: .7vh solid transparent; border-radius: 1.6vh; color: #fff; cursor: pointer;
    display: flex; flex-direction: column; align-items: center; justify-content: center; gap: .5vh;
    touch-action: manipulation; }
  button.cv .vi { font-size: 3.6vh; font-weight: 700; }
  button.cv .en { font-size: 2.1vh; opacity: .85; }
  .crit.answered button.cv { opacity: .35; }
  .crit.answered button.cv[aria-pressed="true"] { opacity: 1; border-color: #10324a; }
  button.cv[aria-pressed="true"] .vi::before { content: "✓ "; }
  .send { display: flex; align-items: center; gap: 2vw; }
  #countdown { flex: 1; font-size: 3.2vh; color: #10324a; }
  #send { flex: 0 0 38%; min-height: 11vh; border: 0; border-radius: 2vh; background: #10324a; color: #fff;
    cursor: pointer; display: flex; flex-direction: column; align-items: center; justify-content: center;
    touch-action: manipulation; }
  #send .vi { font-size: 4.6vh; font-weight: 700; }
  #send .en { font-size: 2.4vh; opacity: .85; }
</style></head>
<body><main>
  <h1>Quý vị hài lòng với sự phục vụ tại quầy {{counter}}?</h1>
  <div class="sub">How satisfied are you with the service at counter {{counter}}?</div>
  <div id="status" role="status" aria-live="polite">Đang kiểm tra…</div>
  <div class="levels" id="overall">
{{buttons}}
  </div>
  <section id="extra" hidden>
    <div id="chosen"></div>
    <div class="sub">Quý vị có thể đánh giá thêm (không bắt buộc) · More detail, if you wish (optional)</div>
{{criteria}}
    <div class="send">
      <div id="countdown" aria-live="polite"></div>
      <button id="send"><span class="vi">Gửi ngay</span><span class="en">Send now</span></button>
    </div>
  </section>
</main>
<script type="application/json" id="rating-config">{{data}}</script>
<script src="/rate-page.js"></script>
</body></html>
"""


_PAGE_JS = """// the page carries its settings in a JSON data block (CSP: no inline script runs on the hub's pages)
const CFG = JSON.parse(document.getElementById("rating-config").textContent);
// the tablet's pairing key: opened once as /rate/<counter>?key=..., kept on the tablet, dropped from the address
const KEY_STORE = "motcua-tablet-key-" + CFG.counter;
(function pairing() {
  const given = new URLSearchParams(location.search).get("key");
  if (given) { localStorage.setItem(KEY_STORE, given); history.replaceState(null, "", location.pathname); }
})();
function keyHeaders() {
  const h = {"Content-Type": "application/json"};
  const k = localStorage.getItem(KEY_STORE);
  if (k) h["X-Device-Key"] = k;
  return h;
}
const statusEl = document.getElementById("status");
const overall = document.getElementById("overall"), extra = document.getElementById("extra");
const buttons = Array.from(document.querySelectorAll("button.lv"));
const countdownEl = document.getElementById("countdown");
// busy: a rating is being chosen or sent, so polling must not relight or darken the page under the citizen
let busy = false, holdUntil = 0, chosenLevel = null, picks = {}, left = 0, timer = null;
function setEnabled(on) { buttons.forEach(b => b.disabled = !on); }
function say(text, cls) { statusEl.textContent = text; statusEl.className = cls || ""; }
async function poll() {
  if (busy || Date.now() < holdUntil) return;
  try {
    const r = await fetch("/api/v1/ratings/pending/" + encodeURIComponent(CFG.counter), {cache: "no-store"});
    const j = await r.json();
    if (busy) return;
    if (j.rateable) { setEnabled(true); say("Số " + j.ticket + " — mời quý vị chọn một mức đánh giá"); }
    else { setEnabled(false); say(CFG.messages[j.code] || (j.error ? j.error.message : "")); }
  } catch (e) { setEnabled(false); say("Mất kết nối — đang thử lại…"); }
}
async function send() {
  if (timer) { clearInterval(timer); timer = null; }
  if (chosenLevel === null) return;
  const level = chosenLevel; chosenLevel = null;
  extra.hidden = true; overall.hidden = false; setEnabled(false);
  const body = {counter: CFG.counter, level: level, source: "tablet"};
  if (Object.keys(picks).length) body.criteria = picks;
  say("Đang gửi… / Sending…");
  try {
    const r = await fetch("/api/v1/ratings", {method: "POST", headers: keyHeaders(),
      body: JSON.stringify(body)});
    const j = await r.json();
    if (r.ok) say("Cảm ơn quý vị đã đánh giá! / Thank you!", "thanks");
    else say(CFG.messages[j.error.code] || j.error.message);
  } catch (e) { say("Không gửi được — vui lòng thử lại"); }
  holdUntil = Date.now() + 4000; busy = false;
}
function showLeft() {
  countdownEl.textContent = "Tự động gửi sau " + left + " giây · Sending in " + left + " s";
}
function restart(seconds) {
  left = seconds; showLeft();
  if (timer) clearInterval(timer);
  timer = setInterval(() => { left -= 1; if (left <= 0) send(); else showLeft(); }, 1000);
}
buttons.forEach(b => b.addEventListener("click", () => {
  if (busy) return;
  busy = true; setEnabled(false);
  chosenLevel = Number(b.dataset.level); picks = {};
  if (!CFG.criteria.length) { send(); return; }       // no criteria configured: one tap sends at once
  const [vi, en] = CFG.labels[b.dataset.level] || ["", ""];
  document.getElementById("chosen").innerHTML = "";
  const line = document.createElement("span");
  line.append("Quý vị đã chọn: ");
  const strong = document.createElement("b"); strong.textContent = vi; line.append(strong);
  line.append(" · You chose: " + en);
  document.getElementById("chosen").append(line);
  document.querySelectorAll(".crit").forEach(row => row.classList.remove("answered"));
  document.querySelectorAll("button.cv").forEach(c => c.setAttribute("aria-pressed", "false"));
  say("Bấm “Gửi ngay” hoặc chờ vài giây để gửi · Tap “Send now” or wait a moment");
  overall.hidden = true; extra.hidden = false;
  restart(CFG.wait_s);
}));
document.querySelectorAll("button.cv").forEach(c => c.addEventListener("click", () => {
  if (chosenLevel === null) return;
  const code = c.dataset.code;
  picks[code] = Number(c.dataset.level);
  const row = c.closest(".crit");
  row.classList.add("answered");
  row.querySelectorAll("button.cv").forEach(o => o.setAttribute("aria-pressed", o === c ? "true" : "false"));
  // every answer gives the citizen the full time again; with all criteria answered, a short wait is enough
  const all = CFG.criteria.every(k => k in picks);
  restart(all ? Math.min(3, CFG.wait_s) : CFG.wait_s);
}));
document.getElementById("send").addEventListener("click", () => send());
poll(); setInterval(poll, 1500);
"""
