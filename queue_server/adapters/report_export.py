"""Report files: Excel (.xlsx through openpyxl: one sheet per view, Vietnamese headers, real number, percentage
and date formats), CSV (UTF-8 with a BOM so Excel opens Vietnamese correctly) and the printable monthly PDF
"Báo cáo tình hình tiếp nhận và giải quyết" (reportlab with Noto Sans from fonts-noto-core, so every
Vietnamese letter renders; the center's header and a signature block).

Input: the JSON the /api/v1/reports routes answer (so a file always says what the API says); output: bytes.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from contracts.messages import VN_TZ

# (JSON key, Vietnamese header, number format)
INT, DEC, PCT, HOURS = "#,##0", "#,##0.0", "0.0%", "#,##0.00"
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("issued", "Số phiếu đã cấp", INT),
    ("served", "Đã phục vụ", INT),
    ("no_show", "Vắng mặt", INT),
    ("cancelled", "Đã hủy", INT),
    ("transferred", "Chuyển quầy/lĩnh vực", INT),
    ("wait_avg_min", "Chờ TB (phút)", DEC),
    ("wait_p50_min", "Chờ trung vị p50 (phút)", DEC),
    ("wait_p90_min", "Chờ p90 (phút)", DEC),
    ("wait_max_min", "Chờ lâu nhất (phút)", DEC),
    ("wait_over_target_share", "Tỷ lệ chờ quá mục tiêu", PCT),
    ("service_avg_min", "Xử lý TB (phút)", DEC),
    ("service_p50_min", "Xử lý p50 (phút)", DEC),
    ("service_p90_min", "Xử lý p90 (phút)", DEC),
    ("on_duty_h", "Giờ làm việc tại quầy", HOURS),
    ("pause_h", "Giờ tạm dừng", HOURS),
    ("served_per_duty_hour", "Số lượt phục vụ / giờ", HOURS),
)
GROUP_SHEETS: tuple[tuple[str, str, str], ...] = (
    ("service", "Theo lĩnh vực", "Lĩnh vực"),
    ("counter", "Theo quầy", "Quầy"),
    ("staff", "Theo cán bộ", "Cán bộ"),
    ("hour", "Theo giờ", "Khung giờ"),
    ("day", "Theo ngày", "Ngày"),
)
DOSSIER_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("received", "Đã tiếp nhận", INT),
    ("carried_over", "Tồn kỳ trước", INT),
    ("to_handle", "Cần xử lý", INT),
    ("finished", "Đã giải quyết", INT),
    ("finished_on_time", "Đúng/trước hạn", INT),
    ("finished_late", "Trễ hạn", INT),
    ("in_progress", "Đang xử lý", INT),
    ("in_progress_not_yet_due", "Chưa đến hạn", INT),
    ("in_progress_nearly_due", "Sắp đến hạn", INT),
    ("in_progress_overdue", "Quá hạn", INT),
    ("apologised", "Có phiếu xin lỗi", INT),
    ("on_time_rate", "Tỷ lệ đúng hạn", PCT),
    ("resolution_avg_working_days", "Thời gian giải quyết TB (ngày làm việc)", HOURS),
)


@dataclass
class ReportBundle:
    """Everything one export prints: ``summaries`` maps group → the /reports/summary JSON for that group."""

    summaries: dict[str, dict[str, Any]]
    dossiers: dict[str, Any]
    decision_766: dict[str, Any]
    bookings: dict[str, Any] | None = None      # /reports/bookings where the center takes bookings (issue 16)

    @property
    def first(self) -> dict[str, Any]:
        return next(iter(self.summaries.values()))


def _cell_value(key: str, value: Any, group: str) -> Any:
    if group == "day" and key == "key" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


# ------------------------------------------------------------------------------------------------- xlsx
def to_xlsx(bundle: ReportBundle) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Alignment, Font, PatternFill  # type: ignore[import-untyped]

    wb = Workbook()
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    first = bundle.first
    ws = wb.active
    ws.title = "Tổng hợp"
    ws.append([first["center"]["name"] or "Trung tâm Phục vụ hành chính công"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(["Kỳ báo cáo", first["period"]["label"]])
    ws.append(["Từ ngày", date.fromisoformat(first["period"]["from"])])
    ws.append(["Đến ngày", date.fromisoformat(first["period"]["to"])])
    ws["B3"].number_format = ws["B4"].number_format = "DD/MM/YYYY"
    ws.append(["Mục tiêu thời gian chờ (phút)", first["target_min"]])
    ws.append([])
    ws.append(["Chỉ tiêu", "Giá trị"])
    for c in ws[ws.max_row]:
        c.font, c.fill = bold, head_fill
    totals = first["totals"]
    for key, header, fmt in COLUMNS:
        ws.append([header, totals[key]])
        ws.cell(ws.max_row, 2).number_format = fmt
    ratings = totals["ratings"]
    levels = {str(lv["value"]): lv["label"] for lv in first["rating_levels"]}
    ws.append(["Tổng số lượt đánh giá", ratings["count"]])
    for value, n in ratings["levels"].items():
        ws.append([f"Đánh giá: {levels.get(value, value)}", n])
    ws.append(["Tỷ lệ hài lòng", ratings["satisfied_share"]])
    ws.cell(ws.max_row, 2).number_format = PCT
    ws.column_dimensions["A"].width = 42
    ws.column_dimensions["B"].width = 22

    for group, title, key_header in GROUP_SHEETS:
        summary = bundle.summaries.get(group)
        if summary is None:
            continue
        sheet = wb.create_sheet(title)
        headers = [key_header, *(h for _, h, _ in COLUMNS)]
        with_ratings = any("ratings" in r for r in summary["rows"])
        if with_ratings:
            headers += ["Lượt đánh giá", "Tỷ lệ hài lòng"]
        sheet.append(headers)
        for c in sheet[1]:
            c.font, c.fill = bold, head_fill
            c.alignment = Alignment(wrap_text=True, vertical="top")
        for row in summary["rows"]:
            values = [_cell_value("key", row["key"] if group == "day" else row["name"], group),
                      *(row[k] for k, _, _ in COLUMNS)]
            if with_ratings:
                values += [row["ratings"]["count"], row["ratings"]["satisfied_share"]]
            sheet.append(values)
            r = sheet.max_row
            if group == "day":
                sheet.cell(r, 1).number_format = "DD/MM/YYYY"
            for j, (_, _, fmt) in enumerate(COLUMNS, start=2):
                sheet.cell(r, j).number_format = fmt
            if with_ratings:
                sheet.cell(r, len(COLUMNS) + 2).number_format = INT
                sheet.cell(r, len(COLUMNS) + 3).number_format = PCT
        sheet.column_dimensions["A"].width = 30
        sheet.freeze_panes = "B2"

    d = bundle.dossiers
    sheet = wb.create_sheet("Hồ sơ")
    sheet.append(["Thủ tục", *(h for _, h, _ in DOSSIER_COLUMNS)])
    for c in sheet[1]:
        c.font, c.fill = bold, head_fill
    for label, row in [("Tổng cộng", d), *((p["procedure"], p) for p in d["by_procedure"])]:
        sheet.append([label, *(row[k] for k, _, _ in DOSSIER_COLUMNS)])
        for j, (_, _, fmt) in enumerate(DOSSIER_COLUMNS, start=2):
            sheet.cell(sheet.max_row, j).number_format = fmt
    sheet.column_dimensions["A"].width = 40

    k = bundle.decision_766
    sheet = wb.create_sheet("QĐ 766")
    sheet.append([k["note_vi"]])
    sheet.append(["Mã", "Chỉ số", "Công thức", "Giá trị", "Điểm", "Điểm tối đa"])
    for c in sheet[2]:
        c.font, c.fill = bold, head_fill
    for item in k["computed"]:
        sheet.append([item["code"], item["name"], item["formula"], item["value"], item["points"],
                      item["max_points"]])
        sheet.cell(sheet.max_row, 4).number_format = PCT if item["unit"] == "ratio" else HOURS
    sheet.append([])
    sheet.append(["Chỉ số Trung tâm không tự tính được"])
    for item in k["not_computed"]:
        sheet.append([item["code"], item["name"], item["reason"]])
    sheet.column_dimensions["B"].width = 45
    sheet.column_dimensions["C"].width = 70
    if bundle.bookings is not None:
        _bookings_sheet(wb.create_sheet("Lịch hẹn"), bundle.bookings, bold, head_fill)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


BOOKING_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("capacity", "Số chỗ", INT), ("made", "Đã đặt", INT), ("checked_in", "Đã đến (xác nhận)", INT),
    ("no_show", "Vắng", INT), ("cancelled", "Đã hủy", INT), ("booked", "Chưa đến giờ", INT),
    ("utilisation", "Mức sử dụng", PCT))


def _bookings_sheet(sheet: Any, b: dict[str, Any], bold: Any, head_fill: Any) -> None:
    """Issue 16: the period's rates, then one row per day and slot (a real date, a time, whole numbers, %)."""
    for label, value, fmt in (("Tổng số lịch hẹn", b["totals"]["made"], INT),
                              ("Đã đến (xác nhận tại kiosk)", b["totals"]["checked_in"], INT),
                              ("Vắng (không đến)", b["totals"]["no_show"], INT),
                              ("Đã hủy", b["totals"]["cancelled"], INT),
                              ("Tỷ lệ đến", b["check_in_rate"], PCT), ("Tỷ lệ vắng", b["no_show_rate"], PCT),
                              ("Số chỗ đã mở", b["places_offered"], INT),
                              ("Mức sử dụng khung giờ", b["slot_utilisation"], PCT)):
        sheet.append([label, value])
        sheet.cell(sheet.max_row, 2).number_format = fmt
    sheet.append([])
    sheet.append(["Ngày", "Giờ", "Lĩnh vực", *(h for _, h, _ in BOOKING_COLUMNS)])
    for c in sheet[sheet.max_row]:
        c.font, c.fill = bold, head_fill
    for day in b["days"]:
        for row in day["slots"]:
            sheet.append([date.fromisoformat(day["day"]), row["start"][11:16], row.get("name") or row["service"],
                          *(row[k] for k, _, _ in BOOKING_COLUMNS)])
            r = sheet.max_row
            sheet.cell(r, 1).number_format = "DD/MM/YYYY"
            for j, (_, _, fmt) in enumerate(BOOKING_COLUMNS, start=4):
                sheet.cell(r, j).number_format = fmt
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["C"].width = 30


# -------------------------------------------------------------------------------------------------- csv
def to_csv(summary: dict[str, Any]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["Mã", "Tên", *(h for _, h, _ in COLUMNS)])
    for row in summary["rows"]:
        w.writerow([row["key"], row["name"], *("" if row[k] is None else row[k] for k, _, _ in COLUMNS)])
    w.writerow(["", "Tổng cộng", *("" if summary["totals"][k] is None else summary["totals"][k]
                                   for k, _, _ in COLUMNS)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


# -------------------------------------------------------------------------------------------------- pdf
FONT_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/truetype/dejavu"))


def _register_fonts() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
    from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]

    if "MotcuaSans" in pdfmetrics.getRegisteredFontNames():
        return "MotcuaSans", "MotcuaSans-Bold"
    for folder, regular, bold in ((FONT_DIRS[0], "NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
                                  (FONT_DIRS[1], "DejaVuSans.ttf", "DejaVuSans-Bold.ttf")):
        if (folder / regular).exists() and (folder / bold).exists():
            pdfmetrics.registerFont(TTFont("MotcuaSans", str(folder / regular)))
            pdfmetrics.registerFont(TTFont("MotcuaSans-Bold", str(folder / bold)))
            return "MotcuaSans", "MotcuaSans-Bold"
    raise RuntimeError("no font with Vietnamese letters: install fonts-noto-core (make deps does)")


def _fmt(value: Any, fmt: str) -> str:
    if value is None:
        return "—"
    if fmt == PCT:
        return f"{100 * value:.1f}%".replace(".", ",")
    if fmt == INT:
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def to_pdf(bundle: ReportBundle, *, superior: str = "", signer_title: str = "GIÁM ĐỐC", signer_name: str = "",
           place: str = "", today: date | None = None) -> bytes:
    from reportlab.lib import colors  # type: ignore[import-untyped]
    from reportlab.lib.enums import TA_CENTER  # type: ignore[import-untyped]
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
    from reportlab.lib.units import mm  # type: ignore[import-untyped]
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # type: ignore[import-untyped]

    regular, bold = _register_fonts()
    # Paragraph text is reportlab's XML mini-language: every text that is not ours (the signer, the superior agency
    # typed on the report page, service and level names from the config: "Tài nguyên & Môi trường") is escaped, or
    # an "&" or "<" would fail the whole PDF
    base = ParagraphStyle("base", fontName=regular, fontSize=10.5, leading=14)
    center = ParagraphStyle("center", parent=base, alignment=TA_CENTER)
    center_bold = ParagraphStyle("cb", parent=center, fontName=bold)
    title = ParagraphStyle("title", parent=center_bold, fontSize=14, leading=18, spaceBefore=8)
    h2 = ParagraphStyle("h2", parent=base, fontName=bold, fontSize=11.5, spaceBefore=10, spaceAfter=4)
    first = bundle.first
    today = today or date.today()
    center_name = first["center"]["name"] or "Trung tâm Phục vụ hành chính công"

    story: list[Any] = []
    header = Table([
        [Paragraph(escape(superior.upper()) or "&nbsp;", center), Paragraph("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", center_bold)],
        [Paragraph(escape(center_name.upper()), center_bold), Paragraph("Độc lập - Tự do - Hạnh phúc", center_bold)],
        [Paragraph("Số: ......../BC", center),
         Paragraph(f"<i>{escape(place) + ', ' if place else ''}ngày {today.day:02d} tháng {today.month:02d} "
                   f"năm {today.year}</i>", center)],
    ], colWidths=[80 * mm, 95 * mm])
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [header, Spacer(1, 6 * mm),
              Paragraph("BÁO CÁO", title),
              Paragraph("Tình hình tiếp nhận và giải quyết hồ sơ thủ tục hành chính", center_bold),
              Paragraph(f"{escape(first['period']['label'])} (từ {_dmy(first['period']['from'])} đến "
                        f"{_dmy(first['period']['to'])})", center)]
    # a report printed (and signed) before its period is over holds the figures so far, not the period's: say so
    as_of = datetime.fromisoformat(str(bundle.dossiers["as_of"])).astimezone(VN_TZ)
    if as_of.date() <= date.fromisoformat(first["period"]["to"]):
        story.append(Paragraph(f"<i>Số liệu tính đến {as_of:%H:%M} ngày {as_of:%d/%m/%Y} (kỳ báo cáo chưa kết thúc)"
                               "</i>", center))
    story.append(Spacer(1, 4 * mm))

    def table(rows: Sequence[Sequence[Any]], widths: Sequence[float]) -> Table:
        t = Table([[Paragraph(escape(str(c)), base) if not isinstance(c, Paragraph) else c for c in r] for r in rows],
                  colWidths=widths, repeatRows=1)
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDEBF7")),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
        return t

    d = bundle.dossiers
    story.append(Paragraph("I. Tình hình tiếp nhận và giải quyết hồ sơ", h2))
    story.append(table([["Chỉ tiêu", "Số lượng"], *([h, _fmt(d[k], f)] for k, h, f in DOSSIER_COLUMNS)],
                       [110 * mm, 60 * mm]))
    totals = first["totals"]
    story.append(Paragraph("II. Tình hình phục vụ tại quầy (hệ thống xếp hàng)", h2))
    story.append(table([["Chỉ tiêu", "Giá trị"], *([h, _fmt(totals[k], f)] for k, h, f in COLUMNS)],
                       [110 * mm, 60 * mm]))
    by_service = bundle.summaries.get("service")
    if by_service is not None and by_service["rows"]:
        story.append(Paragraph("Theo lĩnh vực", h2))
        story.append(table([["Lĩnh vực", "Đã cấp", "Đã phục vụ", "Vắng mặt", "Chờ p50 (phút)", "Chờ p90 (phút)"],
                            *([r["name"], _fmt(r["issued"], INT), _fmt(r["served"], INT), _fmt(r["no_show"], INT),
                               _fmt(r["wait_p50_min"], DEC), _fmt(r["wait_p90_min"], DEC)]
                              for r in by_service["rows"])],
                           [60 * mm, 22 * mm, 24 * mm, 22 * mm, 22 * mm, 22 * mm]))
    ratings = totals["ratings"]
    levels = {str(lv["value"]): lv["label"] for lv in first["rating_levels"]}
    story.append(Paragraph("III. Đánh giá mức độ hài lòng", h2))
    story.append(table([["Mức đánh giá", "Số lượt"],
                        *([levels.get(v, v), _fmt(n, INT)] for v, n in reversed(list(ratings["levels"].items()))),
                        ["Tổng số lượt đánh giá", _fmt(ratings["count"], INT)],
                        ["Tỷ lệ hài lòng", _fmt(ratings["satisfied_share"], PCT)]], [110 * mm, 60 * mm]))
    k = bundle.decision_766
    story.append(Paragraph("IV. Chỉ số theo Quyết định 766/QĐ-TTg (ước tính tại Trung tâm)", h2))
    story.append(Paragraph(escape(k["note_vi"]), base))
    story.append(table([["Mã", "Chỉ số", "Giá trị", "Điểm"],
                        *([i["code"], i["name"], _fmt(i["value"], PCT if i["unit"] == "ratio" else HOURS)
                           + ("" if i["unit"] == "ratio" or i["value"] is None else " ngày làm việc"),
                           "—" if i["points"] is None else f"{_fmt(i['points'], DEC)}/{i['max_points']}"]
                          for i in k["computed"])], [15 * mm, 95 * mm, 35 * mm, 25 * mm]))
    b = bundle.bookings
    if b is not None:
        story.append(Paragraph("V. Đặt lịch hẹn", h2))
        story.append(table([["Chỉ tiêu", "Giá trị"],
                            ["Tổng số lịch hẹn", _fmt(b["totals"]["made"], INT)],
                            ["Đã đến (xác nhận tại kiosk)", _fmt(b["totals"]["checked_in"], INT)],
                            ["Vắng (không đến)", _fmt(b["totals"]["no_show"], INT)],
                            ["Đã hủy", _fmt(b["totals"]["cancelled"], INT)],
                            ["Tỷ lệ đến / tỷ lệ vắng",
                             f"{_fmt(b['check_in_rate'], PCT)} / {_fmt(b['no_show_rate'], PCT)}"],
                            ["Mức sử dụng khung giờ", _fmt(b["slot_utilisation"], PCT)]], [110 * mm, 60 * mm]))
    story.append(Spacer(1, 10 * mm))
    sign = Table([[Paragraph("<b>Nơi nhận:</b><br/>- Như trên;<br/>- Lưu: VT.", base),
                   Paragraph(f"<b>{escape(signer_title)}</b><br/><i>(Ký, ghi rõ họ tên và đóng dấu)</i><br/><br/><br/><br/>"
                             f"<b>{escape(signer_name)}</b>", center)]], colWidths=[80 * mm, 95 * mm])
    sign.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(sign)

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title="Báo cáo tình hình tiếp nhận và giải quyết",
                            author=center_name)
    doc.build(story)
    return out.getvalue()


def _dmy(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d/%m/%Y")
