"""/api/v1/reports/... on the real hub (build_hub: SQLite store, reports read model, dossier mirror): roles,
figures of a known day, clear refusals, OpenAPI; the xlsx read back with openpyxl and checked cell by cell
against the API; the PDF's text extracted with pdftotext (poppler-utils) and checked; CSV; SVG charts; the
Decision 766 page's figures against the dossier figures; `motcua reports rebuild`."""
from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_support import MONDAY_0800, login, make_settings

from contracts.messages import VN_TZ
from queue_server.adapters.report_export import COLUMNS, DOSSIER_COLUMNS, GROUP_SHEETS
from queue_server.app.ports import FixedClock
from queue_server.wiring import Hub, build_hub

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(120)]
API = "/api/v1"
DAY = MONDAY_0800.date().isoformat()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = build_hub(make_settings(tmp_path), clock=FixedClock(MONDAY_0800), extra_blueprints=[])
    yield h
    h.stop()


def _dossier(code: str, received: datetime, due: datetime, status: str, finished: datetime | None = None,
             apology: datetime | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"code": code, "procedure": "Đăng ký khai sinh", "applicant_name": "Nguyễn Văn An",
                         "received_at": received.isoformat(), "due_at": due.isoformat(), "status": status,
                         "updated_at": (finished or received).isoformat()}
    if finished is not None:
        d["finished_at"] = finished.isoformat()
    if apology is not None:
        d["original_due_at"] = apology.isoformat()
    return d


def a_day(hub: Hub) -> None:
    """Five tickets, three served at counter 1 by the manager's staff, one no-show, a rating, four dossiers."""
    c = hub.app.test_client()
    clock = hub.service.clock
    staff = login(c, "canbo")
    for service in ("ho-tich", "ho-tich", "ho-tich", "ho-tich", "dat-dai"):
        assert c.post(f"{API}/tickets", json={"service": service}).status_code == 201
    assert c.post(f"{API}/counters/1/open", json={}, headers=staff).status_code == 200
    for minutes in (4, 7, 12):
        clock.advance(minutes=minutes)
        assert c.post(f"{API}/counters/1/call-next", json={}, headers=staff).status_code == 200
        assert c.post(f"{API}/counters/1/start", json={}, headers=staff).status_code == 200
        clock.advance(minutes=5)
        assert c.post(f"{API}/counters/1/complete", json={}, headers=staff).status_code == 200
    hub.ratings.submit("1", 1)
    clock.advance(minutes=1)
    assert c.post(f"{API}/counters/1/call-next", json={}, headers=staff).status_code == 200
    for _ in range(2):                                   # the example config: two recalls before a no-show
        clock.advance(seconds=40)
        assert c.post(f"{API}/counters/1/recall", json={}, headers=staff).status_code == 200
    assert c.post(f"{API}/counters/1/no-show", json={}, headers=staff).status_code == 200
    clock.advance(minutes=30)
    assert c.post(f"{API}/counters/1/close", json={}, headers=staff).status_code == 200
    received = MONDAY_0800 - timedelta(days=10)
    now = clock.now()
    hub.integration.service.ingest({"updates": [
        {"update_id": "u1", "dossier": _dossier("000.00.12.H38-261113-0001", received, received + timedelta(days=5),
                                                "returned", finished=received + timedelta(days=3))},
        {"update_id": "u2", "dossier": _dossier("000.00.12.H38-261113-0002", received, now - timedelta(hours=1),
                                                "returned", finished=now - timedelta(minutes=30))},
        {"update_id": "u3", "dossier": _dossier("000.00.12.H38-261123-0003", MONDAY_0800, now + timedelta(days=9),
                                                "processing")},
        {"update_id": "u4", "dossier": _dossier("000.00.12.H38-261113-0004", received, now - timedelta(days=1),
                                                "processing", apology=now - timedelta(days=3))},
        {"update_id": "u5", "dossier": _dossier("000.00.12.H38-261123-0005", MONDAY_0800, now + timedelta(hours=2),
                                                "processing")},
    ]})


def test_roles_and_clear_refusals(hub: Hub) -> None:
    c = hub.app.test_client()
    assert c.get(f"{API}/reports/summary").status_code == 401
    assert c.get(f"{API}/reports/summary", headers=login(c, "canbo")).status_code == 403
    manager = login(c, "quanly")
    for query, words in (("period=fortnight", "query.period"), ("from=2026-13-01", "query.from"),
                         ("from=2026-11-20&to=2026-11-01", "query.to"), ("group=weekday", "query.group"),
                         ("month=2026", "query.month"), ("bogus=1", "bogus"),
                         ("from=2000-01-01&to=2026-01-01", "3660")):
        r = c.get(f"{API}/reports/summary?{query}", headers=manager)
        assert r.status_code == 400, query
        assert words in r.json["error"]["message"]
    assert c.get(f"{API}/reports/charts/pie", headers=manager).status_code == 404
    doc = c.get(f"{API}/openapi.json").json
    for path in ("/reports/summary", "/reports/dossiers", "/reports/decision-766", "/reports/export.xlsx",
                 "/reports/report.pdf", "/reports/export.csv", "/reports/heatmap", "/reports/charts/{name}"):
        op = doc["paths"][path]["get"]
        assert op["security"] == [{"bearer": []}] and "manager" in op["description"]
    media = {p: next(iter(doc["paths"][p]["get"]["responses"]["200"]["content"])) for p in
             ("/reports/export.xlsx", "/reports/report.pdf", "/reports/export.csv", "/reports/charts/{name}",
              "/reports/summary")}
    assert media == {"/reports/export.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     "/reports/report.pdf": "application/pdf", "/reports/export.csv": "text/csv",
                     "/reports/charts/{name}": "image/svg+xml", "/reports/summary": "application/json"}


def test_figures_of_a_known_day(hub: Hub) -> None:
    a_day(hub)
    c = hub.app.test_client()
    manager = login(c, "quanly")
    s = c.get(f"{API}/reports/summary?period=day&date={DAY}&target_min=10", headers=manager).json
    t = s["totals"]
    assert (t["issued"], t["served"], t["no_show"], t["cancelled"]) == (5, 3, 1, 0)
    # waits: 4, 4+5+7=16, 16+5+12=33 min, then the no-show's 33+5+1=39 min
    assert t["called"] == 4 and t["wait_max_min"] == 39.0
    assert t["wait_over_target_share"] == 0.75           # 3 of 4 waited more than 10 minutes
    assert t["service_p50_min"] == 5.0 and t["service_avg_min"] == 5.0
    assert t["ratings"]["count"] == 1 and t["ratings"]["levels"]["1"] == 1 and t["ratings"]["dissatisfied_share"] == 1
    rows = {r["key"]: r for r in s["rows"]}
    assert rows["ho-tich"]["name"] == "Tư pháp – Hộ tịch" and rows["ho-tich"]["issued"] == 4
    assert rows["dat-dai"]["issued"] == 1 and rows["dat-dai"]["served"] == 0
    by_staff = c.get(f"{API}/reports/summary?date={DAY}&group=staff", headers=manager).json["rows"]
    assert [r["key"] for r in by_staff] == ["canbo"] and by_staff[0]["served"] == 3
    # on duty from 08:00 to the close: 4+5+7+5+12+5+1 min + 2 × 40 s + 30 min
    assert by_staff[0]["on_duty_h"] == round((69 * 60 + 80) / 3600, 2)
    assert by_staff[0]["served_per_duty_hour"] == round(3 / ((69 * 60 + 80) / 3600), 2)
    hours = c.get(f"{API}/reports/summary?date={DAY}&group=hour", headers=manager).json["rows"]
    assert sum(r["issued"] for r in hours) == 5 and hours[0]["key"] == "08"
    only = c.get(f"{API}/reports/summary?date={DAY}&group=counter&service=ho-tich", headers=manager).json
    assert only["filters"] == {"service": "ho-tich"} and only["rows"][0]["served"] == 3
    heat = c.get(f"{API}/reports/heatmap?date={DAY}", headers=manager).json
    assert heat["issued"] == {"1": {"08": 5}}              # Monday, 08:00
    d = c.get(f"{API}/reports/dossiers?date={DAY}", headers=manager).json
    assert (d["received"], d["finished"], d["finished_on_time"], d["finished_late"]) == (2, 1, 0, 1)
    assert (d["in_progress"], d["in_progress_not_yet_due"], d["in_progress_nearly_due"],
            d["in_progress_overdue"]) == (3, 1, 1, 1)
    assert d["carried_over"] == 2 and d["apologised"] == 1
    month = c.get(f"{API}/reports/dossiers?month=2026-11", headers=manager).json
    assert (month["received"], month["finished"], month["finished_on_time"]) == (5, 2, 1)
    assert [p["procedure"] for p in month["by_procedure"]] == ["Đăng ký khai sinh"]
    k = c.get(f"{API}/reports/decision-766?month=2026-11", headers=manager).json
    assert "Ước tính" in k["note_vi"]
    idx = {i["code"]: i for i in k["computed"]}
    assert idx["2.1"]["inputs"]["handled"] == 5
    assert idx["2.1"]["value"] == 0.6 and idx["2.1"]["points"] == 12.0   # (1 on time + 2 not overdue) / 5
    # 5.4: 100% − (late 2/5 + dissatisfied 1/1) → 0
    assert idx["5.4"]["value"] == 0.0
    assert {i["code"] for i in k["not_computed"]} >= {"1.4", "3.1–3.6", "5.1–5.3"}
    svg = c.get(f"{API}/reports/charts/heatmap?date={DAY}", headers=manager)
    assert svg.mimetype == "image/svg+xml" and b'data-weekday="1" data-hour="8" data-value="5"' in svg.data
    assert "Thứ hai".encode() in c.get(f"{API}/reports/charts/heatmap?date={DAY}", headers=manager).data
    counts = c.get(f"{API}/reports/charts/counts?period=month&date={DAY}", headers=manager).data.decode()
    assert 'data-label="23/11" data-value="5"' in counts


def test_xlsx_matches_the_api_cell_by_cell(hub: Hub) -> None:
    from openpyxl import load_workbook

    a_day(hub)
    c = hub.app.test_client()
    manager = login(c, "quanly")
    r = c.get(f"{API}/reports/export.xlsx?month=2026-11", headers=manager)
    assert r.status_code == 200 and "bao-cao-20261101-20261130.xlsx" in r.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["Tổng hợp", *(title for _, title, _ in GROUP_SHEETS), "Hồ sơ", "QĐ 766"]
    summary = wb["Tổng hợp"]
    assert summary["B3"].value == datetime(2026, 11, 1) and summary["B3"].number_format == "DD/MM/YYYY"
    assert summary["B2"].value == "Tháng 11/2026"
    api_totals = c.get(f"{API}/reports/summary?month=2026-11", headers=manager).json["totals"]
    got = {summary.cell(i, 1).value: summary.cell(i, 2) for i in range(8, 8 + len(COLUMNS))}
    for key, header, fmt in COLUMNS:
        assert got[header].value == api_totals[key], header
        assert got[header].number_format == fmt
    for group, title, _ in GROUP_SHEETS:
        api = c.get(f"{API}/reports/summary?month=2026-11&group={group}", headers=manager).json
        sheet = wb[title]
        assert sheet.max_row == 1 + len(api["rows"]), title
        for i, row in enumerate(api["rows"], start=2):
            first = sheet.cell(i, 1).value
            if group == "day":
                assert first == datetime.fromisoformat(row["key"])
            else:
                assert first == row["name"]
            for j, (key, _, fmt) in enumerate(COLUMNS, start=2):
                assert sheet.cell(i, j).value == row[key], (title, key)
                assert sheet.cell(i, j).number_format == fmt
            if "ratings" in row:
                assert sheet.cell(i, len(COLUMNS) + 2).value == row["ratings"]["count"]
    d = c.get(f"{API}/reports/dossiers?month=2026-11", headers=manager).json
    sheet = wb["Hồ sơ"]
    assert [sheet.cell(1, j).value for j in range(2, 2 + len(DOSSIER_COLUMNS))] == [h for _, h, _ in DOSSIER_COLUMNS]
    for j, (key, _, _) in enumerate(DOSSIER_COLUMNS, start=2):
        assert sheet.cell(2, j).value == d[key], key
    assert sheet.cell(3, 1).value == "Đăng ký khai sinh"
    k = c.get(f"{API}/reports/decision-766?month=2026-11", headers=manager).json
    sheet = wb["QĐ 766"]
    assert sheet.cell(3, 1).value == "2.1" and sheet.cell(3, 4).value == k["computed"][0]["value"]


def test_pdf_text_says_what_the_api_says(hub: Hub, tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is needed: make test installs poppler-utils")
    a_day(hub)
    c = hub.app.test_client()
    manager = login(c, "quanly")
    r = c.get(f"{API}/reports/report.pdf?month=2026-11&superior=UBND tỉnh Quảng Trị&signer_name=Lê Thị Hoa"
              f"&place=Quảng Trị", headers=manager)
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(r.data)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for words in ("UBND TỈNH QUẢNG TRỊ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                  "BÁO CÁO", "Tình hình tiếp nhận và giải quyết hồ sơ thủ tục hành chính",
                  "Tháng 11/2026 (từ 01/11/2026 đến 30/11/2026)", "Quảng Trị, ngày 23 tháng 11 năm 2026",
                  "GIÁM ĐỐC", "Lê Thị Hoa", "Tư pháp – Hộ tịch", "Rất hài lòng", "Quyết định 766/QĐ-TTg"):
        assert words in text, words
    name = hub.settings.center.name.upper()
    assert name.split()[0] in text
    lines = {line.split("  ")[0].strip(): line.split()[-1] for line in text.splitlines() if "  " in line.strip()}
    assert lines["Đã tiếp nhận"] == "5"
    assert lines["Số phiếu đã cấp"] == "5"
    assert lines["Đã phục vụ"] == "3"
    assert lines["Tỷ lệ đúng hạn"] == "50,0%"


def test_pdf_prints_markup_characters_as_typed(tmp_path: Path) -> None:
    # reportlab reads Paragraph text as XML: an "&" in a service name or a "<" typed as the superior agency made
    # the whole report a 500 (found by the API fuzz test)
    from dataclasses import replace

    settings = make_settings(tmp_path)
    services = tuple(replace(s, name="Tài nguyên & Môi trường <TN>") if s.code == "ho-tich" else s
                     for s in settings.center.services)
    settings = replace(settings, center=replace(settings.center, services=services))
    h = build_hub(settings, clock=FixedClock(MONDAY_0800), extra_blueprints=[])
    try:
        a_day(h)
        c = h.app.test_client()
        r = c.get(f"{API}/reports/report.pdf", headers=login(c, "quanly"),
                  query_string={"month": "2026-11", "superior": "<? Sở A&B", "signer_name": "Lê <b>Hoa",
                                "signer_title": "GIÁM ĐỐC </i>", "place": "Đông Hà & Quảng Trị"})
        assert r.status_code == 200 and r.data.startswith(b"%PDF"), r.data[:300]
    finally:
        h.stop()
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is needed: make test installs poppler-utils")
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(r.data)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for words in ("<? SỞ A&B", "Lê <b>Hoa", "GIÁM ĐỐC </i>", "Đông Hà & Quảng Trị, ngày", "Tài nguyên & Môi trường <TN>"):
        assert words in text, words


def test_csv_and_rebuild_from_the_cli(hub: Hub, tmp_path: Path) -> None:
    a_day(hub)
    c = hub.app.test_client()
    manager = login(c, "quanly")
    r = c.get(f"{API}/reports/export.csv?date={DAY}&group=counter", headers=manager)
    text = r.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:3] == ["Mã", "Tên", "Số phiếu đã cấp"]
    assert rows[1][:2] == ["1", "Quầy 1"] and rows[1][3] == "3"
    assert rows[-1][1] == "Tổng cộng" and rows[-1][2] == "5"
    before = c.get(f"{API}/reports/summary?month=2026-11&group=staff", headers=manager).json
    from queue_server.__main__ import main

    config = tmp_path / "center.toml"
    config.write_text((Path(__file__).resolve().parents[2] / "deploy" / "center.example.toml").read_text(
        encoding="utf-8").replace('path = "/var/lib/motcua/hub.sqlite3"', f'path = "{hub.settings.store_path}"'),
        encoding="utf-8")
    # the hub keeps running meanwhile: the rebuild replaces the model under it
    assert main(["reports", "rebuild", "--config", str(config)]) == 0
    after = c.get(f"{API}/reports/summary?month=2026-11&group=staff", headers=manager).json
    assert after["rows"] == before["rows"] and after["totals"]["issued"] == before["totals"]["issued"]


def test_board_day_and_periods_are_in_vietnam_time(hub: Hub) -> None:
    c = hub.app.test_client()
    manager = login(c, "quanly")
    s = c.get(f"{API}/reports/summary?period=quarter&date=2026-11-23", headers=manager).json
    assert s["period"] == {"from": "2026-10-01", "to": "2026-12-31", "label": "Quý IV/2026", "days": 92}
    w = c.get(f"{API}/reports/summary?period=week&date=2026-11-26", headers=manager).json["period"]
    assert (w["from"], w["to"]) == ("2026-11-23", "2026-11-29")
    assert c.get(f"{API}/reports/summary", headers=manager).json["period"]["from"] == date(2026, 11, 23).isoformat()
    assert datetime.now(VN_TZ)      # the day above came from the hub's clock, not this one


def test_a_counter_open_now_counts_its_duty_up_to_now(hub: Hub) -> None:
    c = hub.app.test_client()
    staff = login(c, "canbo")
    assert c.post(f"{API}/counters/2/open", json={}, headers=staff).status_code == 200
    hub.service.clock.advance(minutes=30)
    manager = login(c, "quanly")
    rows = c.get(f"{API}/reports/summary?date={DAY}&group=staff", headers=manager).json["rows"]
    assert [(r["key"], r["on_duty_h"]) for r in rows] == [("canbo", 0.5)]
    assert c.post(f"{API}/counters/2/pause", json={"reason": "họp"}, headers=staff).status_code == 200
    hub.service.clock.advance(minutes=15)
    t = c.get(f"{API}/reports/summary?date={DAY}&group=counter", headers=manager).json
    assert (t["totals"]["on_duty_h"], t["totals"]["pause_h"]) == (0.5, 0.25)
    assert t["rows"][0]["key"] == "2" and t["rows"][0]["pause_h"] == 0.25


def _pdf_text(c: Any, manager: dict[str, str], query: str, tmp_path: Path) -> str:
    r = c.get(f"{API}/reports/report.pdf?{query}", headers=manager)
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(r.data)
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def test_a_report_signed_before_its_period_ends_says_its_figures_are_so_far(hub: Hub, tmp_path: Path) -> None:
    """November's report printed and signed on 30/11 at 16:00 (the month's last day still open: citizens still
    waiting, counters still serving) must not read as the whole month's figures."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is needed: make test installs poppler-utils")
    a_day(hub)
    hub.service.clock.set(datetime(2026, 11, 30, 16, 0, tzinfo=VN_TZ))   # Monday 30/11, the month's last day
    c = hub.app.test_client()
    manager = login(c, "quanly")
    text = _pdf_text(c, manager, "month=2026-11", tmp_path)
    assert "Tháng 11/2026 (từ 01/11/2026 đến 30/11/2026)" in text
    assert "Số liệu tính đến 16:00 ngày 30/11/2026 (kỳ báo cáo chưa kết thúc)" in " ".join(text.split())
    hub.service.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ))     # the next morning: November is whole
    text = _pdf_text(c, manager, "month=2026-11", tmp_path)
    assert "Số liệu tính đến" not in text and "Tháng 11/2026 (từ 01/11/2026 đến 30/11/2026)" in text
