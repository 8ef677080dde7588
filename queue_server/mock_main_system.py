"""A mock of the province's one-stop system for the demo, tests and benchmarks (``motcua mock-main-system``).

Speaks the provincial dialect the reference adapter expects (token or session login, agency-code header,
``TraCuuHoSo``-like look-up, status sync, ``/Vote``-like aggregates), receives the hub's outbox POSTs (checks the
HMAC signature, deduplicates by Idempotency-Key, records arrival order), pushes dossier updates to the hub, and
can go down, slow down or answer 5xx on demand (``POST /admin/fault``), like OctoPrint's virtual printer.
Sample data only; never a production component.
"""
from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import requests
import waitress  # type: ignore[import-untyped]
from flask import Flask, Response, jsonify, request

from contracts.messages import VN_TZ, format_at
from queue_server.adapters.main_system import (
    IDEMPOTENCY_HEADER,
    dossier_from_provincial,
    signed_headers,
    verify,
)

log = logging.getLogger(__name__)

DEFAULT_AGENCY = "000.00.12.H38"
# The next status a sample dossier moves to, for the demo's "the province is working" feeling.
_NEXT_STATUS = {"1": "2", "2": "4", "3": "2", "4": "5"}


def sample_dossiers(today: date, agency: str = DEFAULT_AGENCY) -> list[dict[str, Any]]:
    """A handful of realistic dossiers around ``today`` in the provincial dialect."""
    def at(days_ago: int, hour: int, minute: int = 0) -> str:
        return format_at(datetime.combine(today - timedelta(days=days_ago), datetime.min.time(), VN_TZ)
                         .replace(hour=hour, minute=minute))

    def code(days_ago: int, seq: str) -> str:
        return f"{agency}-{(today - timedelta(days=days_ago)):%y%m%d}-{seq}"

    return [
        {"maHoSo": code(3, "0001"), "tenThuTuc": "Đăng ký khai sinh", "chuHoSo": "Nguyễn Văn An",
         "ngayTiepNhan": at(3, 8, 15), "ngayHenTra": at(2, 8, 15), "trangThai": "4",
         "ngayCoKetQua": at(2, 7, 50),
         "quaTrinhXuLy": [{"tenBuoc": "Tiếp nhận", "donVi": "Bộ phận Một cửa", "batDau": at(3, 8, 15),
                           "ketThuc": at(3, 8, 30)},
                          {"tenBuoc": "Giải quyết", "donVi": "Phòng Tư pháp", "batDau": at(3, 9, 0),
                           "hanXuLy": at(2, 8, 0), "ketThuc": at(2, 7, 50)}]},
        {"maHoSo": code(5, "0012"), "tenThuTuc": "Cấp bản sao trích lục hộ tịch", "chuHoSo": "Trần Thị Bích Ngọc",
         "ngayTiepNhan": at(5, 9, 40), "ngayHenTra": at(-2, 9, 40), "trangThai": "2",
         "quaTrinhXuLy": [{"tenBuoc": "Thẩm định", "donVi": "Phòng Tư pháp", "batDau": at(5, 10, 0),
                           "hanXuLy": at(1, 17, 0)}]},
        {"maHoSo": code(10, "0034"), "tenThuTuc": "Đăng ký biến động quyền sử dụng đất", "chuHoSo": "Lê Minh Tuấn",
         "ngayTiepNhan": at(10, 14, 5), "ngayHenTra": at(1, 14, 5), "trangThai": "2", "quaTrinhXuLy": []},
        {"maHoSo": code(7, "0056"), "tenThuTuc": "Đăng ký thành lập hộ kinh doanh", "chuHoSo": "Phạm Thu Hà",
         "ngayTiepNhan": at(7, 10, 20), "ngayHenTra": at(-1, 10, 20), "trangThai": "3", "quaTrinhXuLy": []},
        {"maHoSo": code(12, "0078"), "tenThuTuc": "Cấp giấy phép xây dựng nhà ở riêng lẻ", "chuHoSo": "Hoàng Đức Long",
         "ngayTiepNhan": at(12, 15, 30), "ngayHenTra": at(-3, 15, 30), "ngayHenTraCu": at(1, 15, 30),
         "lyDoXinLoi": "Cần xác minh thêm hiện trạng công trình", "trangThai": "2", "quaTrinhXuLy": []},
        {"maHoSo": code(20, "0090"), "tenThuTuc": "Chứng thực bản sao từ bản chính", "chuHoSo": "Vũ Thị Mai",
         "ngayTiepNhan": at(20, 8, 0), "ngayHenTra": at(20, 10, 0), "trangThai": "5", "ngayCoKetQua": at(20, 9, 30),
         "quaTrinhXuLy": []},
        {"maHoSo": f"G22.105.01-{today:%y%m%d}-010023", "tenThuTuc": "Cấp phiếu lý lịch tư pháp",
         "chuHoSo": "Đặng Quốc Bảo", "ngayTiepNhan": at(0, 7, 45), "ngayHenTra": at(-10, 7, 45), "trangThai": "1",
         "quaTrinhXuLy": []},
    ]


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    key: str
    seq: int | None
    center: str | None
    type: str
    body: dict[str, Any]
    agency: str | None = None        # the agency-code header it came with
    authorised: bool = False         # whether it carried a token this mock issued


class MockMainSystem:
    """Start with ``start()``; ``go_down()``/``come_up()`` close and reopen the listener on the same port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, secret: str = "", username: str = "motcua",
                 password: str = "motcua", agency_code: str = DEFAULT_AGENCY, hub_url: str | None = None,
                 hub_secret: str | None = None, dossiers: list[dict[str, Any]] | None = None) -> None:
        self.host, self.port = host, port
        self.secret = secret
        self.username, self.password = username, password
        self.agency_code = agency_code
        self.hub_url = hub_url.rstrip("/") if hub_url else None
        self.hub_secret = hub_secret if hub_secret is not None else secret
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._dossiers: dict[str, dict[str, Any]] = {}
        self._versions: dict[str, int] = {}
        self._version = 0
        for d in dossiers if dossiers is not None else sample_dossiers(datetime.now(VN_TZ).date(), agency_code):
            self._store(d)
        self._tokens: set[str] = set()
        self.received: list[ReceivedEvent] = []       # deduplicated, in arrival order
        self._seen: set[str] = set()
        self.duplicates = 0
        self.bad_signatures = 0
        self.requests = 0
        self.votes: list[dict[str, Any]] = []
        self.mode = "up"
        self.delay_ms = 0
        self.error_every = 1            # mode "error": every n-th request fails (1 = all)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.app = self._make_app()

    # ---- lifecycle -------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MockMainSystem:
        # waitress (the hub's own production server) keeps HTTP/1.1 connections alive, as a real main system
        # behind a reverse proxy would; werkzeug's dev server closes every connection.
        server = waitress.create_server(self.app, host=self.host, port=self.port, threads=8,
                                        channel_timeout=30)
        self.port = int(server.effective_port)
        self._server = server
        self._thread = threading.Thread(target=self._serve, args=(server,), name="mock-main-system", daemon=True)
        self._thread.start()
        log.info("mock main system on %s", self.url)
        return self

    @staticmethod
    def _serve(server: Any) -> None:
        try:
            server.run()
        except OSError:                 # a socket closed under the loop while stopping
            pass

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return

        def close_everything() -> None:
            # Runs in the server's own loop thread (waitress' trigger), so no socket is closed under it.
            # The listener and every kept-alive connection go: "down" really refuses and cuts.
            for dispatcher in list(server._map.values()):
                try:
                    dispatcher.close()
                except OSError:
                    pass

        server.trigger.pull_trigger(close_everything)
        if self._thread is not None:
            self._thread.join(5)
        # Workers may be inside a slow request; do not wait for them.
        threading.Thread(target=server.task_dispatcher.shutdown, daemon=True).start()

    def go_down(self) -> None:
        self.stop()

    def come_up(self) -> None:
        if self._server is None:
            self.start()

    def set_fault(self, mode: str, delay_ms: int = 0, error_every: int = 1) -> None:
        if mode not in ("up", "slow", "error"):
            raise ValueError("mode: expected up, slow or error (down via go_down or /admin/fault for_s)")
        with self._lock:
            self.mode, self.delay_ms, self.error_every = mode, delay_ms, max(1, error_every)

    def wait_for_events(self, count: int, timeout: float) -> bool:
        """Block until ``count`` distinct events have arrived (for tests: no sleeps)."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.received) >= count, timeout)

    # ---- data ------------------------------------------------------------------------------------------------
    def _store(self, d: dict[str, Any]) -> None:
        self._version += 1
        d = {**d, "ngayCapNhat": d.get("ngayCapNhat") or format_at(datetime.now(VN_TZ))}
        self._dossiers[str(d["maHoSo"]).upper()] = d
        self._versions[str(d["maHoSo"]).upper()] = self._version

    def dossier(self, code: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._dossiers.get(code.upper())
            return dict(found) if found else None

    @property
    def codes(self) -> list[str]:
        with self._lock:
            return list(self._dossiers)

    def update_dossier(self, code: str, push: bool = True, **changes: Any) -> dict[str, Any]:
        """Change a dossier (provincial field names) and, when a hub is known, push it there."""
        with self._lock:
            current = self._dossiers.get(code.upper())
            if current is None:
                raise KeyError(code)
            updated = {**current, **changes, "ngayCapNhat": format_at(datetime.now(VN_TZ))}
            self._store(updated)
        if push and self.hub_url:
            self.push_to_hub(updated)
        return updated

    def advance_one(self) -> str | None:
        """Move the least recently changed unfinished dossier one status on and push it; its code, or None."""
        with self._lock:
            candidates = sorted((v, c) for c, v in self._versions.items()
                                if str(self._dossiers[c].get("trangThai")) in _NEXT_STATUS)
        if not candidates:
            return None
        code = candidates[0][1]
        current = self.dossier(code) or {}
        nxt = _NEXT_STATUS[str(current.get("trangThai"))]
        changes: dict[str, Any] = {"trangThai": nxt}
        if nxt == "4":
            changes["ngayCoKetQua"] = format_at(datetime.now(VN_TZ))
        try:
            self.update_dossier(code, **changes)
        except requests.RequestException as err:
            log.warning("mock main system: could not push %s to the hub: %s", code, err)
        return code

    def push_to_hub(self, dossier: dict[str, Any]) -> requests.Response:
        if not self.hub_url:
            raise RuntimeError("no hub_url configured")
        body = json.dumps({"update_id": str(uuid.uuid4()), "dossier": dossier_from_provincial(dossier)},
                          ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", **signed_headers(self.hub_secret or "", body)}
        return requests.post(self.hub_url + "/api/v1/integration/dossiers", data=body, headers=headers, timeout=5)

    # ---- the Flask app -----------------------------------------------------------------------------------------
    def _make_app(self) -> Flask:
        app = Flask("mock_main_system")
        mock = self

        @app.before_request
        def faults() -> tuple[Response, int] | None:
            if request.path.startswith("/admin"):
                return None
            with mock._lock:
                mock.requests += 1
                mode, delay, every, n = mock.mode, mock.delay_ms, mock.error_every, mock.requests
            if mode == "slow" and delay:
                time.sleep(delay / 1000)
            if mode == "error" and n % every == 0:
                return jsonify({"message": "Lỗi hệ thống (giả lập)"}), 503
            return None

        def authorised() -> bool:
            header = request.headers.get("Authorization", "")
            token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else \
                request.cookies.get("session_id", "")
            with mock._lock:
                return token in mock._tokens

        def agency_ok() -> bool:
            return not mock.agency_code or request.headers.get("X-Agency-Code") == mock.agency_code

        @app.post("/api/auth/login")
        def login() -> tuple[Response, int] | Response:
            body = request.get_json(silent=True) or {}
            if body.get("username") != mock.username or body.get("password") != mock.password:
                return jsonify({"message": "Sai tên đăng nhập hoặc mật khẩu"}), 401
            token = secrets.token_hex(16)
            with mock._lock:
                mock._tokens.add(token)
            response = jsonify({"token": token, "expires_in": 3600})
            response.set_cookie("session_id", token, httponly=True)
            return response

        @app.get("/api/hoso/tracuu")
        def lookup() -> tuple[Response, int] | Response:
            if not authorised():
                return jsonify({"message": "Chưa đăng nhập"}), 401
            if not agency_ok():
                return jsonify({"message": "Sai mã đơn vị"}), 403
            found = mock.dossier(request.args.get("maHoSo", ""))
            if found is None:
                return jsonify({"message": "Không tìm thấy hồ sơ"}), 404
            return jsonify({"data": found})

        @app.get("/api/hoso/dongbo")
        def sync() -> tuple[Response, int] | Response:
            if not authorised():
                return jsonify({"message": "Chưa đăng nhập"}), 401
            try:
                since = int(request.args.get("tuThoiDiem") or 0)
            except ValueError:
                return jsonify({"message": "tuThoiDiem không hợp lệ"}), 400
            with mock._lock:
                changed = [dict(mock._dossiers[c]) for c, v in sorted(mock._versions.items(), key=lambda x: x[1])
                           if v > since]
                cursor = mock._version
            return jsonify({"data": changed, "denThoiDiem": str(cursor)})

        @app.post("/api/vote")
        def vote() -> tuple[Response, int] | Response:
            if not authorised():
                return jsonify({"message": "Chưa đăng nhập"}), 401
            with mock._lock:
                mock.votes.append(request.get_json(silent=True) or {})
            return jsonify({"result": "ok"})

        @app.post("/api/motcua/events")
        def events() -> tuple[Response, int] | Response:
            raw = request.get_data()
            if mock.secret:
                reason = verify(mock.secret, request.headers, raw)
                if reason is not None:
                    with mock._lock:
                        mock.bad_signatures += 1
                    return jsonify({"message": f"Chữ ký không hợp lệ: {reason}"}), 401
            key = request.headers.get(IDEMPOTENCY_HEADER, "")
            if not key:
                return jsonify({"message": f"thiếu {IDEMPOTENCY_HEADER}"}), 400
            try:
                body = json.loads(raw)
            except ValueError:
                return jsonify({"message": "JSON không hợp lệ"}), 400
            if not isinstance(body, dict):
                return jsonify({"message": "cần một đối tượng JSON"}), 400
            # A batch {"events": [...]} is deduplicated per event id; a single event by the header key.
            batch = body.get("events")
            if isinstance(batch, list):
                if not all(isinstance(e, dict) and isinstance(e.get("id"), str) for e in batch):
                    return jsonify({"message": "mỗi sự kiện cần có id"}), 400
                entries = [(str(e["id"]), e) for e in batch]
            else:
                entries = [(key, body)]
            accepted = 0
            agency, authorised_now = request.headers.get("X-Agency-Code"), authorised()
            with mock._arrived:
                for event_key, event in entries:
                    if event_key in mock._seen:
                        mock.duplicates += 1
                        continue
                    mock._seen.add(event_key)
                    seq = event.get("seq") if isinstance(event.get("seq"), int) else None
                    mock.received.append(ReceivedEvent(event_key, seq, event.get("center"),
                                                       str(event.get("type", "")), event, agency, authorised_now))
                    accepted += 1
                mock._arrived.notify_all()
            return jsonify({"result": "accepted" if accepted else "duplicate", "accepted": accepted})

        # ---- admin: fault injection and inspection ----
        @app.post("/admin/fault")
        def fault() -> tuple[Response, int] | Response:
            body = request.get_json(silent=True) or {}
            mode = body.get("mode", "up")
            if mode == "down":
                for_s = float(body.get("for_s", 10))
                threading.Thread(target=mock._down_for, args=(for_s,), daemon=True).start()
                return jsonify({"mode": "down", "for_s": for_s})
            try:
                mock.set_fault(mode, int(body.get("delay_ms", 0)), int(body.get("error_every", 1)))
            except (ValueError, TypeError) as err:
                return jsonify({"message": str(err)}), 400
            return jsonify({"mode": mock.mode, "delay_ms": mock.delay_ms, "error_every": mock.error_every})

        @app.get("/admin/state")
        def state() -> Response:
            with mock._lock:
                return jsonify({"mode": mock.mode, "received": len(mock.received), "duplicates": mock.duplicates,
                                "bad_signatures": mock.bad_signatures, "votes": len(mock.votes),
                                "dossiers": len(mock._dossiers), "last_events": [
                                    {"key": e.key, "seq": e.seq, "type": e.type} for e in mock.received[-20:]]})

        @app.post("/admin/dossiers/<path:code>")
        def change(code: str) -> tuple[Response, int] | Response:
            body = request.get_json(silent=True) or {}
            try:
                updated = mock.update_dossier(code, push=False, **body)
            except KeyError:
                return jsonify({"message": "Không tìm thấy hồ sơ"}), 404
            pushed: int | str | None = None
            if mock.hub_url:
                try:
                    pushed = mock.push_to_hub(updated).status_code
                except requests.RequestException as err:
                    pushed = f"hub unreachable: {err.__class__.__name__}"
            return jsonify({"data": updated, "pushed": pushed})

        return app

    def _down_for(self, seconds: float) -> None:
        time.sleep(0.2)              # let the admin answer leave first
        self.go_down()
        time.sleep(seconds)
        self.come_up()


def run(host: str = "127.0.0.1", port: int = 8090, *, secret: str = "", hub_url: str | None = None,
        hub_secret: str | None = None, agency_code: str = DEFAULT_AGENCY, advance_every_s: float | None = None) -> None:
    """Blocking entry point for ``motcua mock-main-system``: serves until interrupted.

    ``advance_every_s``: every so often one sample dossier moves on a status and is pushed to ``hub_url``."""
    mock = MockMainSystem(host, port, secret=secret, hub_url=hub_url, hub_secret=hub_secret,
                          agency_code=agency_code).start()
    print(f"mock main system on {mock.url} (agency {agency_code}); sample dossiers:", flush=True)
    for code in mock.codes:
        print(f"  {code}", flush=True)
    try:
        while True:
            time.sleep(advance_every_s or 3600)
            if advance_every_s and hub_url:
                mock.advance_one()
    except KeyboardInterrupt:
        pass
    finally:
        mock.stop()
