"""Dossier look-up through the real blueprint, a real SQLite mirror file and the mock main system over HTTP."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from contracts.messages import VN_TZ
from queue_server.adapters.dossier_mirror import DossierMirror
from queue_server.adapters.holidays_source import load_calendar
from queue_server.adapters.main_system import MainSystemSettings, ProvincialMainSystem, signed_headers
from queue_server.app.dossier_service import DossierService
from queue_server.app.ports import FixedClock
from queue_server.mock_main_system import MockMainSystem
from queue_server.web import TrustedProxy
from queue_server.web.dossiers import PushAuth, RateLimit, create_dossiers_blueprint

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]

SECRET = "bi-mat-dung-chung"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ)      # Monday
CAL = load_calendar([2026, 2027])
CODE = "000.00.12.H38-261118-0007"


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def dossier(code: str = CODE, **over: Any) -> dict[str, Any]:
    base = {"code": code, "procedure": "Đăng ký kết hôn", "applicant_name": "Nguyễn Thị Thu Trang",
            "received_at": "2026-11-18T10:00:00+07:00", "due_at": "2026-11-25T10:00:00+07:00",
            "status": "đang xử lý", "updated_at": "2026-11-20T08:00:00+07:00",
            "steps": [{"name": "Thẩm định", "unit": "Phòng Tư pháp", "started_at": "2026-11-18T14:00:00+07:00",
                       "due_at": "2026-11-23T17:00:00+07:00"}]}
    base.update(over)
    return base


@pytest.fixture
def mock() -> Iterator[MockMainSystem]:
    m = MockMainSystem(secret=SECRET, dossiers=[{
        "maHoSo": "000.00.12.H38-261120-0042", "tenThuTuc": "Cấp bản sao trích lục khai sinh",
        "chuHoSo": "Lê Văn Bình", "ngayTiepNhan": "2026-11-20T08:10:00+07:00",
        "ngayHenTra": "2026-11-24T08:10:00+07:00", "trangThai": "2", "quaTrinhXuLy": []}]).start()
    yield m
    m.stop()


class Rig:
    def __init__(self, tmp: Path, mock: MockMainSystem | None, rate: RateLimit | None = None,
                 auth: PushAuth | None = None, trust_forwarded_for: bool = False) -> None:
        self.clock = FixedClock(NOW)
        self.mirror = DossierMirror(tmp / "dossiers.sqlite3")
        main = None
        if mock is not None:
            main = ProvincialMainSystem(MainSystemSettings(base_url=mock.url, agency_code=mock.agency_code,
                                                           username="motcua", password="motcua", timeout_s=2))
        self.service = DossierService(self.mirror, CAL, self.clock, main)
        self.monotonic = FakeMonotonic()
        app = Flask("t")
        app.register_blueprint(create_dossiers_blueprint(
            self.service, rate_limit=rate or RateLimit(per_minute=6000, burst=1000),
            push_auth=auth or PushAuth(hmac_secret=SECRET), monotonic=self.monotonic,
            require_role=lambda role: None))        # a bare app without the hub's logins: the rates are open
        if trust_forwarded_for:                     # what the hub's server does with [http] trust_forwarded_for
            app.wsgi_app = TrustedProxy(app.wsgi_app)  # type: ignore[method-assign]
        self.client: FlaskClient = app.test_client()

    def push(self, body: Any, secret: str = SECRET, **headers: str) -> Any:
        raw = json.dumps(body, ensure_ascii=False).encode()
        signed = signed_headers(secret, raw)
        signed.update(headers)
        return self.client.post("/api/v1/integration/dossiers", data=raw, headers=signed,
                                content_type="application/json")


@pytest.fixture
def rig(tmp_path: Path, mock: MockMainSystem) -> Iterator[Rig]:
    r = Rig(tmp_path, mock)
    yield r
    r.mirror.close()


def test_synced_dossier_is_answered_in_vietnamese_with_masked_name(rig: Rig) -> None:
    assert rig.push({"update_id": "u1", "dossier": dossier()}).status_code == 200
    rig.clock.advance(minutes=30)
    r = rig.client.get(f"/api/v1/dossiers/{CODE.lower()}")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    d = body["dossier"]
    assert d["code"] == CODE
    assert d["status"] == "processing" and d["status_vi"] == "Đang xử lý" and d["status_en"] == "Being processed"
    assert d["applicant"] == "N*** T*** T*** Trang"
    assert "Nguyễn" not in r.get_data(as_text=True)
    assert d["appointment_at"] == "2026-11-25T13:30:00+07:00"   # the session after the deadline
    assert body["freshness"]["source"] == "mirror"
    assert body["freshness"]["age_s"] == 1800
    assert "09:00 23/11/2026" in body["freshness"]["note_vi"]
    assert {w["code"] for w in body["warnings"]} == {"step_due"}
    assert r.headers["Cache-Control"] == "no-store"


def test_code_from_a_scanned_url_query(rig: Rig) -> None:
    rig.push({"update_id": "u1", "dossier": dossier()})
    r = rig.client.get("/api/v1/dossiers", query_string={"code": f"https://dvc.example.vn/tra-cuu?ma={CODE}"})
    assert r.status_code == 200, r.get_json()


def test_a_valid_code_with_trailing_junk_is_refused_like_the_rating_route(rig: Rig) -> None:
    rig.push({"update_id": "u1", "dossier": dossier()})
    r = rig.client.get("/api/v1/dossiers", query_string={"code": f"{CODE}xyz"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_dossier_code"
    assert rig.client.get("/api/v1/dossiers", query_string={"code": f"Mã hồ sơ: {CODE}"}).status_code == 200


def test_unknown_code_gets_a_clear_message(rig: Rig) -> None:
    r = rig.client.get("/api/v1/dossiers/000.00.12.H38-261120-9999")
    assert r.status_code == 404
    err = r.get_json()["error"]
    assert err["code"] == "unknown_dossier"
    assert "no dossier with code 000.00.12.H38-261120-9999" in err["message"]
    assert err["message_vi"].startswith("Không tìm thấy hồ sơ")


def test_malformed_code_is_refused(rig: Rig) -> None:
    r = rig.client.get("/api/v1/dossiers/xin-chao")
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "invalid_dossier_code"


def test_cache_miss_pulls_from_main_system_when_link_is_up(rig: Rig, mock: MockMainSystem) -> None:
    r = rig.client.get("/api/v1/dossiers/000.00.12.H38-261120-0042")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["freshness"]["source"] == "main_system" and body["freshness"]["link"] == "up"
    assert body["dossier"]["applicant"] == "L*** V*** Bình"
    assert rig.mirror.get("000.00.12.H38-261120-0042") is not None
    assert rig.client.get("/api/v1/dossiers/000.00.12.H38-261120-0042").get_json()["freshness"]["source"] == "mirror"


def test_link_down_answers_from_mirror_with_its_age(rig: Rig, mock: MockMainSystem) -> None:
    rig.push({"update_id": "u1", "dossier": dossier()})
    mock.go_down()
    rig.clock.advance(hours=3)
    miss = rig.client.get("/api/v1/dossiers/000.00.12.H38-261120-0042")
    assert miss.status_code == 404
    assert "cannot be reached" in miss.get_json()["error"]["message"]
    hit = rig.client.get(f"/api/v1/dossiers/{CODE}")
    assert hit.status_code == 200
    fresh = hit.get_json()["freshness"]
    assert fresh["link"] == "down" and fresh["age_s"] == 3 * 3600 and fresh["source"] == "mirror"
    assert fresh["note_vi"].startswith("Mất kết nối")
    health = rig.client.get("/api/v1/integration/health").get_json()
    assert health["link"] == "down" and health["mirror_dossiers"] == 1
    mock.come_up()
    assert rig.client.get("/api/v1/dossiers/000.00.12.H38-261120-0042").status_code == 200
    assert rig.service.link.status().state == "up"


def test_overdue_dossier_shows_qua_han(rig: Rig) -> None:
    rig.push({"update_id": "u1", "dossier": dossier(due_at="2026-11-20T10:00:00+07:00")})
    body = rig.client.get(f"/api/v1/dossiers/{CODE}").get_json()
    assert body["dossier"]["status_vi"] == "Quá hạn" and body["dossier"]["display_status"] == "overdue"
    assert body["dossier"]["working_minutes_left"] < 0
    assert "overdue" in {w["code"] for w in body["warnings"]}


def test_received_after_15h_warns_from_when_counting_starts(rig: Rig) -> None:
    """Received Friday 13/11 at 16:00 (after 15:00: counting starts Monday 07:30), due Monday 16:30, looked up on
    Friday at 16:30: 7 working hours from the start of counting, so "còn dưới một ngày làm việc" — though from now,
    with Friday's last half hour, it looks like more than a day."""
    code = "000.00.12.H38-261113-0009"
    rig.push({"update_id": "u-late", "dossier": dossier(code, received_at="2026-11-13T16:00:00+07:00",
                                                        due_at="2026-11-16T16:30:00+07:00", steps=[])})
    rig.clock.set(datetime(2026, 11, 13, 16, 30, tzinfo=VN_TZ))
    body = rig.client.get(f"/api/v1/dossiers/{code}").get_json()
    assert "due_soon" in {w["code"] for w in body["warnings"]}, body["warnings"]
    assert any("dưới một ngày làm việc" in w["vi"] for w in body["warnings"])
    # received before 15:00 the same Friday, due Tuesday 10:30: a full day left from Monday, no warning
    early = "000.00.12.H38-261113-0010"
    rig.push({"update_id": "u-early", "dossier": dossier(early, received_at="2026-11-13T14:00:00+07:00",
                                                         due_at="2026-11-17T10:30:00+07:00", steps=[])})
    body = rig.client.get(f"/api/v1/dossiers/{early}").get_json()
    assert "due_soon" not in {w["code"] for w in body["warnings"]}, body["warnings"]


def test_bad_signature_is_refused_and_nothing_written(rig: Rig) -> None:
    r = rig.push({"update_id": "u1", "dossier": dossier()}, secret="sai-bi-mat")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthenticated"
    raw = json.dumps({"update_id": "u2", "dossier": dossier()}).encode()
    tampered_headers = signed_headers(SECRET, raw)
    r = rig.client.post("/api/v1/integration/dossiers", data=raw.replace(b"u2", b"u3"), headers=tampered_headers)
    assert r.status_code == 401
    old = signed_headers(SECRET, raw, now=NOW.timestamp() - 3600 * 24 * 400)
    assert rig.client.post("/api/v1/integration/dossiers", data=raw, headers=old).status_code == 401
    assert rig.client.post("/api/v1/integration/dossiers", data=raw).status_code == 401
    assert rig.mirror.count() == 0


def test_bearer_token_auth_and_unconfigured_push(tmp_path: Path) -> None:
    r = Rig(tmp_path, None, auth=PushAuth(tokens=("tok-123",)))
    body = {"update_id": "u1", "dossier": dossier()}
    assert r.client.post("/api/v1/integration/dossiers", json=body,
                         headers={"Authorization": "Bearer nope"}).status_code == 401
    assert r.client.post("/api/v1/integration/dossiers", json=body,
                         headers={"Authorization": "Bearer tok-123"}).status_code == 200
    closed = Rig(tmp_path / "b", None, auth=PushAuth())
    assert closed.client.post("/api/v1/integration/dossiers", json=body).status_code == 403


def test_push_is_idempotent_and_never_goes_backwards(rig: Rig) -> None:
    assert rig.push({"update_id": "u1", "dossier": dossier()}).get_json()["counts"]["applied"] == 1
    assert rig.push({"update_id": "u1", "dossier": dossier()}).get_json()["counts"]["duplicate"] == 1
    newer = dossier(status="đã có kết quả", updated_at="2026-11-22T08:00:00+07:00",
                    finished_at="2026-11-22T08:00:00+07:00")
    older = dossier(status="chờ bổ sung", updated_at="2026-11-21T08:00:00+07:00")
    assert rig.push({"updates": [{"update_id": "u2", "dossier": newer},
                                 {"update_id": "u3", "dossier": older}]}).status_code == 200
    body = rig.client.get(f"/api/v1/dossiers/{CODE}").get_json()
    assert body["dossier"]["status_vi"] == "Đã có kết quả" and body["warnings"] == []


def test_invalid_push_names_the_field_and_writes_nothing(rig: Rig) -> None:
    good = {"update_id": "u1", "dossier": dossier()}
    bad = {"update_id": "u2", "dossier": dossier(code="000.00.12.H38-261118-0008", received_at="hôm qua")}
    r = rig.push({"updates": [good, bad]})
    assert r.status_code == 400
    assert "updates[1].dossier.received_at" in r.get_json()["error"]["message"]
    r = rig.push({"update_id": "u3", "dossier": dossier(status="bay mất")})
    assert r.status_code == 400 and "dossier.status" in r.get_json()["error"]["message"]
    r = rig.client.post("/api/v1/integration/dossiers", data=b"{not json", headers=signed_headers(SECRET, b"{not json"))
    assert r.status_code == 400
    assert rig.mirror.count() == 0


def test_second_apology_keeps_the_first_original_date(rig: Rig) -> None:
    first = dossier(original_due_at="2026-11-25T10:00:00+07:00", due_at="2026-11-27T10:00:00+07:00",
                    apology_reason="Chờ ý kiến cơ quan phối hợp")
    rig.push({"update_id": "u1", "dossier": first})
    second = dossier(original_due_at="2026-11-27T10:00:00+07:00", due_at="2026-12-02T10:00:00+07:00",
                     updated_at="2026-11-21T08:00:00+07:00")
    rig.push({"update_id": "u2", "dossier": second})
    apology = rig.client.get(f"/api/v1/dossiers/{CODE}").get_json()["dossier"]["apology"]
    assert apology["original_due_at"] == "2026-11-25T10:00:00+07:00"
    assert apology["new_due_at"] == "2026-12-02T10:00:00+07:00" and apology["counts_as_late"] is True


def test_rate_limit_per_client_ip(tmp_path: Path) -> None:
    r = Rig(tmp_path, None, rate=RateLimit(per_minute=6, burst=3))
    r.push({"update_id": "u1", "dossier": dossier()})
    for _ in range(3):
        assert r.client.get(f"/api/v1/dossiers/{CODE}").status_code == 200
    limited = r.client.get(f"/api/v1/dossiers/{CODE}")
    assert limited.status_code == 429
    err = limited.get_json()["error"]
    assert err["code"] == "rate_limited" and err["retry_after_s"] == 10
    assert limited.headers["Retry-After"] == "10"
    other = r.client.get(f"/api/v1/dossiers/{CODE}", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200
    r.monotonic.t += 10
    assert r.client.get(f"/api/v1/dossiers/{CODE}").status_code == 200


def test_rate_limit_behind_a_trusted_proxy_counts_the_address_the_proxy_added(tmp_path: Path) -> None:
    """Behind the center's proxy the client is the LAST X-Forwarded-For entry (the proxy appends it); whatever a
    client writes before it cannot buy a fresh allowance. Without trust, the header is ignored."""
    r = Rig(tmp_path, None, rate=RateLimit(per_minute=6, burst=2), trust_forwarded_for=True)
    r.push({"update_id": "u1", "dossier": dossier()})
    for spoof in ("1.1.1.1", "2.2.2.2"):
        assert r.client.get(f"/api/v1/dossiers/{CODE}",
                            headers={"X-Forwarded-For": f"{spoof}, 10.0.0.7"}).status_code == 200
    assert r.client.get(f"/api/v1/dossiers/{CODE}",
                        headers={"X-Forwarded-For": "3.3.3.3, 10.0.0.7"}).status_code == 429
    assert r.client.get(f"/api/v1/dossiers/{CODE}", headers={"X-Forwarded-For": "10.0.0.8"}).status_code == 200
    plain = Rig(tmp_path / "plain", None, rate=RateLimit(per_minute=6, burst=2))
    plain.push({"update_id": "u1", "dossier": dossier()})
    for i in range(2):
        assert plain.client.get(f"/api/v1/dossiers/{CODE}", headers={"X-Forwarded-For": f"9.9.9.{i}"}).status_code == 200
    assert plain.client.get(f"/api/v1/dossiers/{CODE}", headers={"X-Forwarded-For": "9.9.9.9"}).status_code == 429


def test_status_sync_pull_and_session_login(tmp_path: Path, mock: MockMainSystem) -> None:
    main = ProvincialMainSystem(MainSystemSettings(base_url=mock.url, agency_code=mock.agency_code, auth="session",
                                                   username="motcua", password="motcua"))
    main.login()
    service = DossierService(DossierMirror(tmp_path / "m.sqlite3"), CAL, FixedClock(NOW), main)
    count, cursor = service.sync_from_main_system(None)
    assert count == 1 and cursor
    assert service.mirror.get("000.00.12.H38-261120-0042") is not None
    mock.update_dossier("000.00.12.H38-261120-0042", push=False, trangThai="4",
                        ngayCoKetQua="2026-11-23T08:00:00+07:00")
    count, _ = service.sync_from_main_system(cursor)
    assert count == 1
    stored = service.mirror.get("000.00.12.H38-261120-0042")
    assert stored is not None and stored.status == "result_ready"


def test_mirror_migrations_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    r = Rig(tmp_path, None)
    r.mirror.close()
    r.mirror = DossierMirror(path)
    svc = DossierService(r.mirror, CAL, r.clock)
    svc.ingest({"update_id": "u1", "dossier": dossier()})
    r.mirror.close()
    again = DossierMirror(path)
    assert again.schema_version == 2 and again.count() == 1
    again.close()


def test_mock_pushes_status_change_to_hub(tmp_path: Path) -> None:
    """The mock's push path, over real HTTP into a real hub blueprint served by werkzeug."""
    import threading

    from werkzeug.serving import make_server

    r = Rig(tmp_path, None)
    app = Flask("hub")
    app.register_blueprint(create_dossiers_blueprint(r.service, push_auth=PushAuth(hmac_secret=SECRET),
                                                     require_role=lambda role: None))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        m = MockMainSystem(secret=SECRET, hub_url=f"http://127.0.0.1:{server.server_port}")
        code = m.codes[1]
        response = m.push_to_hub(m.update_dossier(code, push=False, trangThai="4",
                                                  ngayCoKetQua=NOW.isoformat()))
        assert response.status_code == 200, response.text
        stored = r.mirror.get(code)
        assert stored is not None and stored.status == "result_ready"
        assert stored.applicant_masked.endswith(m.dossier(code)["chuHoSo"].split()[-1])  # type: ignore[index]
        moved = m.advance_one()                       # the demo's automatic progression pushes too
        assert moved is not None and r.mirror.get(moved) is not None
    finally:
        server.shutdown()
        thread.join(5)
    assert timedelta(0) <= r.clock.now() - NOW


def test_on_time_and_resolution_rates_from_the_mirror(rig: Rig) -> None:
    def d(seq: int, **over: Any) -> dict[str, Any]:
        return {"update_id": f"r{seq}", "dossier": dossier(code=f"000.00.12.H38-261118-{seq:04d}", **over)}

    rig.push({"updates": [
        d(1, status="đã trả kết quả", finished_at="2026-11-24T09:00:00+07:00"),           # on time
        d(2, status="đã có kết quả", finished_at="2026-11-26T09:00:00+07:00"),            # late
        d(3, status="đã có kết quả", finished_at="2026-11-26T09:00:00+07:00",             # apologised: late
          original_due_at="2026-11-25T10:00:00+07:00", due_at="2026-11-27T10:00:00+07:00"),
        d(4),                                                                             # still processing
        d(5, received_at="2026-10-01T09:00:00+07:00"),                                   # outside the range
    ]})
    rates = rig.service.rates(datetime(2026, 11, 1, tzinfo=VN_TZ), datetime(2026, 12, 1, tzinfo=VN_TZ))
    assert rates["received"] == 4 and rates["finished"] == 3
    assert rates["on_time_rate"] == pytest.approx(1 / 3)
    assert rates["resolution_rate"] == 0.75


def _push_rate_sample(rig: Rig) -> None:
    def d(seq: int, **over: Any) -> dict[str, Any]:
        return {"update_id": f"r{seq}", "dossier": dossier(code=f"000.00.12.H38-261118-{seq:04d}", **over)}

    assert rig.push({"updates": [
        d(1, status="đã trả kết quả", finished_at="2026-11-24T09:00:00+07:00"),           # on time
        d(2, status="đã có kết quả", finished_at="2026-11-26T09:00:00+07:00"),            # late
        d(3, status="đã có kết quả", finished_at="2026-11-26T09:00:00+07:00",             # apologised: late
          original_due_at="2026-11-25T10:00:00+07:00", due_at="2026-11-27T10:00:00+07:00"),
        d(4),                                                                             # still processing
        d(5, received_at="2026-10-01T09:00:00+07:00"),                                   # October
    ]}).status_code == 200


def test_rates_route_for_the_manager_board(rig: Rig) -> None:
    _push_rate_sample(rig)
    r = rig.client.get("/api/v1/stats/dossier-rates?from=2026-11-01&to=2026-11-30")
    assert r.status_code == 200
    body = r.get_json()
    assert (body["from"], body["to"], body["received"], body["finished"]) == ("2026-11-01", "2026-11-30", 4, 3)
    assert body["on_time_rate"] == pytest.approx(1 / 3) and body["resolution_rate"] == 0.75
    # default: this month up to today (the clock says Monday 23/11/2026)
    body = rig.client.get("/api/v1/stats/dossier-rates").get_json()
    assert (body["from"], body["to"], body["received"]) == ("2026-11-01", "2026-11-23", 4)
    # "to" is included: the October dossier alone
    body = rig.client.get("/api/v1/stats/dossier-rates?from=2026-10-01&to=2026-10-01").get_json()
    assert (body["received"], body["finished"], body["on_time_rate"], body["resolution_rate"]) == (1, 0, None, 0.0)
    # nothing received in the range: rates are null, not a division by zero
    body = rig.client.get("/api/v1/stats/dossier-rates?from=2025-01-01&to=2025-01-31").get_json()
    assert (body["received"], body["on_time_rate"], body["resolution_rate"]) == (0, None, None)


def test_rates_route_refuses_bad_dates(rig: Rig) -> None:
    for query, field_name in (("from=23-11-2026", "from"), ("to=2026-13-01", "to"),
                              ("from=2026-11-30&to=2026-11-01", "from")):
        r = rig.client.get(f"/api/v1/stats/dossier-rates?{query}")
        assert r.status_code == 400, query
        error = r.get_json()["error"]
        assert error["code"] == "bad_request" and error["message"].startswith(f"{field_name}:")
        assert error["message_vi"]


def test_rates_route_asks_the_hubs_role_check(tmp_path: Path) -> None:
    from contracts.errors import ErrorCode, MotcuaError

    asked: list[str] = []

    def require_role(role: str) -> None:
        asked.append(role)
        from flask import request
        if request.headers.get("Authorization") != "Bearer manager-token":
            raise MotcuaError(ErrorCode.FORBIDDEN, f"this needs the {role} role")

    mirror = DossierMirror(tmp_path / "dossiers.sqlite3")
    try:
        app = Flask("t")
        app.register_blueprint(create_dossiers_blueprint(DossierService(mirror, CAL, FixedClock(NOW), None),
                                                         require_role=require_role))
        client = app.test_client()
        r = client.get("/api/v1/stats/dossier-rates")
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
        assert r.get_json()["error"]["message_vi"] == "Không được phép."
        ok = client.get("/api/v1/stats/dossier-rates", headers={"Authorization": "Bearer manager-token"})
        assert ok.status_code == 200 and ok.get_json()["received"] == 0
        assert asked == ["manager", "manager"]
        # the kiosk look-up stays public: the role check guards the rates only
        assert client.get(f"/api/v1/dossiers/{CODE}").status_code == 404
        assert asked == ["manager", "manager"]
    finally:
        mirror.close()
