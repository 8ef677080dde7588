"""The province's HTTP face: the signed ingest endpoint the hubs' province sinks post to, and the board,
ranking and monthly report for people (HTTP Basic, province roles), with an Excel export.

- ``POST /api/v1/events``: ``{"events": [envelope, ...]}`` (or one envelope) from one center, signed with that
  center's key (``X-Motcua-Center``, ``X-Motcua-Timestamp``, ``X-Motcua-Signature``). Answers the center's
  progress; ``replay_from`` asks the hub to re-send from that seq. 401 bad signature, 403 unknown center,
  422 malformed events (nothing stored), 503 database unavailable (the hub retries).
- ``GET /board`` (HTML), ``GET /api/v1/board``, ``GET /api/v1/report?month=YYYY-MM``,
  ``GET /report.xlsx?month=YYYY-MM``: a province_admin sees every center, a center_manager only theirs.

Thin: rules live in store.py; this module parses, authenticates and formats.
"""
from __future__ import annotations

import hmac
import io
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask, Response, jsonify, request
from werkzeug.security import check_password_hash

from contracts.messages import VN_TZ
from province.config import ProvinceConfig, UserConf
from province.store import BadEvents, ProvinceStore
from queue_server.adapters.main_system import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify

log = logging.getLogger(__name__)
BOARD_HTML = Path(__file__).with_name("board.html")
SIGNATURE_WINDOW_S = 300      # verify()'s tolerance


def _error(status: int, code: str, message: str, message_vi: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "message_vi": message_vi}})
    response.status_code = status
    return response


def _month(raw: str | None, today: date) -> date:
    if not raw:
        return today.replace(day=1)
    try:
        return datetime.strptime(raw, "%Y-%m").date()
    except ValueError:
        raise ValueError("month: expected YYYY-MM") from None


def _clock_skew(key: str, headers: Any, raw: bytes, now: float) -> float | None:
    """Seconds the signer's clock is ahead of ours when the signature is right but its time is outside the window;
    None for any other refusal (a wrong key or body says nothing about a clock)."""
    timestamp, signature = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
    if not timestamp or not signature or not timestamp.isdigit():
        return None
    if not hmac.compare_digest(sign(key, timestamp, raw), signature):
        return None
    skew = int(timestamp) - now
    return skew if abs(skew) > SIGNATURE_WINDOW_S else None


def create_app(config: ProvinceConfig, store: ProvinceStore) -> Flask:
    app = Flask("province")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    # a hub's batch is <= 1000 events of ~1 KB; anything far larger is refused before it is read (413)
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
    keys = {c.id: c.key for c in config.centers}

    def current_user() -> UserConf | None:
        auth = request.authorization
        if auth is None or auth.type != "basic" or not auth.username:
            return None
        user = config.user(auth.username)
        if user is None or not check_password_hash(user.password_hash, auth.password or ""):
            return None
        return user

    def login_required() -> Response:
        response = _error(401, "unauthenticated", "sign in with a province account",
                          "Vui lòng đăng nhập bằng tài khoản của tỉnh")
        response.headers["WWW-Authenticate"] = 'Basic realm="motcua province", charset="UTF-8"'
        return response

    def today() -> date:
        return store.now().astimezone(VN_TZ).date()

    @app.post("/api/v1/events")
    def ingest() -> Response:
        center = request.headers.get("X-Motcua-Center", "")
        key = keys.get(center)
        if key is None:
            return _error(403, "unknown_center", f"center {center!r} is not configured at the province",
                          f"Trung tâm {center!r} chưa được khai báo ở tỉnh")
        raw = request.get_data(cache=False)
        reason = verify(key, request.headers, raw)
        if reason is not None:
            log.warning("ingest refused for %s from %s: %s", center, request.remote_addr, reason)
            skew = _clock_skew(key, request.headers, raw, time.time())    # verify()'s clock
            if skew is not None:
                # signed with the center's key, only the time is off: say so, here and on the board
                try:
                    store.record_clock_refusal(center, skew)
                except psycopg.Error as err:
                    log.error("could not record %s's clock refusal: %s", center, err)
                minutes = round(skew / 60)
                return _error(401, "clock_skew",
                              f"the hub's clock is {abs(minutes)} min {'ahead of' if skew > 0 else 'behind'} the "
                              "province's (signatures hold for 5 min): set the hub's time with NTP",
                              f"Đồng hồ của điểm {'nhanh' if skew > 0 else 'chậm'} {abs(minutes)} phút so với tỉnh "
                              "(chữ ký chỉ hợp lệ trong 5 phút): hãy đồng bộ giờ của máy chủ bằng NTP")
            return _error(401, "bad_signature", f"bad signature: {reason}", "Chữ ký không hợp lệ")
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(422, "bad_request", "body: expected JSON", "Nội dung không phải JSON")
        events = body.get("events") if isinstance(body, dict) and "events" in body else [body]
        try:
            result = store.ingest(center, events)
        except BadEvents as err:
            return _error(422, "bad_events", str(err), "Sự kiện không hợp lệ: không lưu gì")
        except psycopg.OperationalError as err:
            log.error("ingest for %s: database unavailable: %s", center, err)
            return _error(503, "database_unavailable", "the province database is unavailable; retry later",
                          "Cơ sở dữ liệu của tỉnh tạm thời không sẵn sàng")
        return jsonify(result.to_json())

    def guarded(fn: Callable[[UserConf], Response]) -> Callable[[], Response]:
        def wrapper() -> Response:
            user = current_user()
            if user is None:
                return login_required()
            try:
                return fn(user)
            except ValueError as err:
                return _error(400, "bad_request", str(err), "Tham số không hợp lệ")
            except psycopg.OperationalError:
                return _error(503, "database_unavailable", "the province database is unavailable",
                              "Cơ sở dữ liệu của tỉnh tạm thời không sẵn sàng")
        wrapper.__name__ = fn.__name__
        return wrapper

    @app.get("/api/v1/board")
    @guarded
    def board(user: UserConf) -> Response:
        return jsonify({"at": store.now().astimezone(VN_TZ).isoformat(timespec="seconds"),
                        "user": {"username": user.username, "role": user.role, "center": user.center},
                        "sites": store.board(user.centers())})

    @app.get("/api/v1/report")
    @guarded
    def report(user: UserConf) -> Response:
        month = _month(request.args.get("month"), today())
        return jsonify({"month": month.isoformat()[:7], "estimate": True,
                        "note_vi": "Ước tính tại Trung tâm — số liệu chính thức trên Cổng DVCQG",
                        "note_en": "Local estimates — the official figures are on the national portal",
                        "units": store.monthly(month, user.centers())})

    @app.get("/report.xlsx")
    @guarded
    def report_xlsx(user: UserConf) -> Response:
        month = _month(request.args.get("month"), today())
        data = excel_report(month, store.monthly(month, user.centers()), store.board(user.centers()))
        return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="motcua-tinh-{month:%Y-%m}.xlsx"'})

    @app.get("/")
    @app.get("/board")
    @guarded
    def board_page(user: UserConf) -> Response:
        return Response(BOARD_HTML.read_text(encoding="utf-8"), mimetype="text/html")

    @app.get("/healthz")
    def health() -> Response:
        return jsonify({"ok": True})

    return app


REPORT_COLUMNS = (
    ("rank", "Hạng / Rank"), ("center", "Mã / Center"), ("name", "Đơn vị / Unit"), ("tier", "Cấp / Tier"),
    ("unit_code", "Mã định danh / Unit code"), ("issued", "Số phiếu / Tickets"), ("served", "Đã phục vụ / Served"),
    ("no_show_rate", "Tỷ lệ vắng mặt / No-show rate"), ("avg_wait_min", "Chờ TB (phút) / Avg wait (min)"),
    ("max_wait_min", "Chờ lâu nhất (phút) / Max wait (min)"),
    ("avg_service_min", "Phục vụ TB (phút) / Avg service (min)"),
    ("on_time_rate", "Tỷ lệ được gọi đúng hạn (ước tính) / Called within target (est.)"),
    ("ratings", "Lượt đánh giá / Ratings"),
    ("satisfaction_rate", "Tỷ lệ hài lòng (ước tính) / Satisfaction (est.)"),
    ("satisfaction_points_est", "Điểm 5.4 ước tính (tối đa 6) / 766 5.4 points est. (max 6)"),
)


def excel_report(month: date, units: list[dict[str, Any]], sites: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    wb = Workbook()
    ws = wb.active
    ws.title = f"Bao cao {month:%m-%Y}"
    ws.append([(f"Chỉ số theo đơn vị tháng {month:%m/%Y} — ước tính tại Trung tâm, số liệu chính thức trên "
                "Cổng DVCQG / Local estimates; official figures are on the national portal")])
    ws.append([label for _, label in REPORT_COLUMNS])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for unit in units:
        ws.append([unit.get(key) for key, _ in REPORT_COLUMNS])
    for tier in ("province", "district", "commune"):
        ranked = [u for u in units if u.get("tier") == tier]
        if not ranked:
            continue
        sheet = wb.create_sheet(f"Xep hang {tier}")
        sheet.append([label for _, label in REPORT_COLUMNS])
        for rank, unit in enumerate(ranked, 1):
            sheet.append([rank if key == "rank" else unit.get(key) for key, _ in REPORT_COLUMNS])
    live = wb.create_sheet("Truc tiep")
    live.append(["Mã / Center", "Đơn vị / Unit", "Đang chờ / Waiting", "Chờ lâu nhất (phút) / Longest wait (min)",
                 "Quầy mở / Open counters", "Cảnh báo / Alerts"])
    for s in sites:
        live.append([s["center"], s["name"], s["waiting"], s["longest_wait_min"], s["open_counters"],
                     s["alert_text"]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


class ProvinceServer:
    """The app under waitress in a thread (tests, the CLI), and the gap sweep: every ``sweep_every_s`` a center
    with a gap that has been silent for ``silent_after_s`` and has a ``hub_url`` is asked to replay (signed)."""

    def __init__(self, config: ProvinceConfig, store: ProvinceStore | None = None, sweep_every_s: float = 30.0,
                 silent_after_s: float = 60.0) -> None:
        self.config = config
        self.sweep_every_s = sweep_every_s
        self.silent_after_s = silent_after_s
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self.store = store or ProvinceStore(config.dsn, wait_target_min=config.wait_target_min)
        self.store.register_centers([{"id": c.id, "name": c.name, "tier": c.tier, "unit_code": c.unit_code}
                                     for c in config.centers])
        self.app = create_app(config, self.store)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self, port: int | None = None) -> int:
        from waitress.server import create_server  # type: ignore[import-untyped]

        self._server = create_server(self.app, host=self.config.host,
                                     port=self.config.port if port is None else port, threads=self.config.threads,
                                     ident="motcua-province", clear_untrusted_proxy_headers=True)
        self._thread = threading.Thread(target=self._run, name="province-http", daemon=True)
        self._thread.start()
        if self.sweep_every_s > 0:
            self._stop.clear()
            self._sweeper = threading.Thread(target=self._sweep_loop, name="province-gaps", daemon=True)
            self._sweeper.start()
        return int(self._server.effective_port)

    def sweep_once(self) -> list[str]:
        """Ask each silent center with a gap (and a hub_url) to replay; returns the centers asked."""
        from datetime import timedelta

        from province.replay import ReplayError, request_replay, silent_gaps

        asked = []
        for gap in silent_gaps(self.store, timedelta(seconds=self.silent_after_s)):
            center = self.config.center(gap["center"])
            if center is None or not center.hub_url:
                continue
            try:
                request_replay(center.hub_url, center.key, gap["from_seq"])
            except ReplayError as err:
                log.warning("gap at %s from seq %d: %s", gap["center"], gap["from_seq"], err)
                continue
            log.info("gap at %s: asked the hub to replay from seq %d", gap["center"], gap["from_seq"])
            asked.append(gap["center"])
        return asked

    def _sweep_loop(self) -> None:
        while not self._stop.wait(self.sweep_every_s):
            try:
                self.sweep_once()
            except Exception:  # the sweep must outlive a database outage
                log.exception("gap sweep failed")

    def _run(self) -> None:
        try:
            self._server.run()
        except OSError:
            pass

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self._server.effective_port}"

    def stop(self) -> None:
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join(5)
        if self._server is not None:
            try:
                self._server.close()
            except OSError:
                pass
            self._server.task_dispatcher.shutdown(timeout=5)
            for channel in list(self._server._map.values()):
                try:
                    channel.close()
                except OSError:
                    pass
        if self._thread is not None:
            self._thread.join(5)
        self.store.close()
