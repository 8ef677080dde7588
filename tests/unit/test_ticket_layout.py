"""Ticket layout bytes (python-escpos Dummy): size budget, native number and QR, raster Vietnamese, TCVN-3 mode."""
from __future__ import annotations

from datetime import datetime

import pytest
from escpos.printer import Dummy
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.messages import VN_TZ
from devices.printer import status as dle
from devices.printer.layout import (
    LayoutConfig,
    LayoutError,
    TicketLayout,
    raster_command,
    render_line,
    wrap,
)
from devices.printer.model import PrintableTicket, PrinterStatus

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

SIX_KB = 6 * 1024
URL = "http://192.168.1.10:8080/t/01JDX3K9ZQ4T"


def vn_ticket(**changes: object) -> PrintableTicket:
    base = {
        "center_name": "Trung tâm Phục vụ hành chính công tỉnh Quảng Trị",
        "number": "A023",
        "service_name": "Đất đai – Đăng ký biến động quyền sử dụng đất",
        "people_ahead": 5,
        "estimated_wait_min": 25,
        "issued_at": datetime(2026, 11, 23, 8, 5, tzinfo=VN_TZ),
        "tracking_url": URL,
        "footer_lines": ("Xin quý vị chờ đến khi số của mình được gọi", "Hotline: 0233 3 555 555"),
        "priority_label": "Người cao tuổi",
    }
    base.update(changes)
    return PrintableTicket(**base)  # type: ignore[arg-type]


def native_qr(url: str) -> bytes:
    d = Dummy()
    d.qr(url, native=True, size=6, ec=1)
    return bytes(d.output)


@pytest.mark.parametrize("dots", [576, 512, 384])
def test_whole_vietnamese_ticket_fits_in_6_kb(dots: int) -> None:
    data = TicketLayout(LayoutConfig(paper_dots=dots)).build(vn_ticket())
    assert len(data) <= SIX_KB, f"{len(data)} bytes at {dots} dots"
    assert data.startswith(b"\x1b@\x1ba\x01")
    assert data.endswith(b"\x1dV\x00")  # python-escpos full cut


def test_number_and_qr_are_native_commands() -> None:
    data = TicketLayout().build(vn_ticket())
    assert b"\x1d!\x33\x1bE\x01A023\n" in data  # 4x4 native characters, bold
    assert native_qr(URL) in data  # GS ( k model/size/ec/store/print, not an image
    assert b"\x1d(k" + (len(URL) + 3).to_bytes(2, "little") + b"1P0" + URL.encode() in data


def test_vietnamese_lines_are_cropped_rasters_and_ascii_stays_text() -> None:
    layout = TicketLayout()
    ticket = vn_ticket()
    data = layout.build(ticket)
    plan = layout.plan(ticket)
    rasters = [line for line in plan if line.kind == "raster"]
    assert [line.text for line in rasters][:2] == ["Trung tâm Phục vụ hành chính công tỉnh Quảng Trị",
                                                   "Đất đai – Đăng ký biến động quyền sử dụng đất"]
    assert data.count(b"\x1dv0") == len(rasters)
    for line in rasters:
        assert raster_command(render_line(line.text, line.size, line.bold)) in data
        img = render_line(line.text, line.size, line.bold)
        assert img.width <= layout.config.max_text_width  # cropped to the text, never the full paper width
    assert b"Hotline: 0233 3 555 555\n" in data
    assert b"Scan to follow your turn\n" in data
    assert b"08:05 - 23/11/2026\n" in data
    assert "Hotline: 0233 3 555 555" not in [line.text for line in rasters]


def test_58mm_wraps_long_lines_inside_384_dots() -> None:
    layout = TicketLayout(LayoutConfig(paper_dots=384))
    lines = [line for line in layout.plan(vn_ticket()) if line.kind == "raster"]
    assert len(lines) > len([line for line in TicketLayout().plan(vn_ticket()) if line.kind == "raster"])
    for line in lines:
        assert render_line(line.text, line.size, line.bold).width <= 384 - 16


def test_raster_padding_bits_print_nothing() -> None:
    img = render_line("Ậ", 20)
    cmd = raster_command(img)
    width_bytes = int.from_bytes(cmd[4:6], "little")
    height = int.from_bytes(cmd[6:8], "little")
    assert width_bytes == (img.width + 7) // 8 and height == img.height
    pad_bits = width_bytes * 8 - img.width
    rows = [cmd[8 + r * width_bytes: 8 + (r + 1) * width_bytes] for r in range(height)]
    assert any(any(row) for row in rows)  # ink is there
    if pad_bits:
        assert all(row[-1] & ((1 << pad_bits) - 1) == 0 for row in rows)


def test_without_wait_estimate_and_priority() -> None:
    layout = TicketLayout()
    plan = layout.plan(vn_ticket(estimated_wait_min=None, priority_label=None, footer_lines=()))
    texts = [line.text for line in plan]
    assert "Trước quý vị: 5 người" in texts
    assert not any("Ưu tiên" in t for t in texts)
    assert "Ahead of you: 5" in texts


def test_tcvn3_text_mode_is_small_and_uses_code_page_30() -> None:
    data = TicketLayout(LayoutConfig(text_mode="tcvn3")).build(vn_ticket())
    assert b"\x1bt\x1e" in data  # ESC t 30: TCVN-3
    assert b"\x1dv0" not in data
    assert len(data) < 1024
    assert native_qr(URL) in data


@pytest.mark.parametrize(
    ("changes", "reason"),
    [({"number": "Số 23"}, "ASCII"), ({"number": ""}, "ticket number"), ({"tracking_url": ""}, "tracking_url"),
     ({"tracking_url": "http://hub/t/ĐẶC"}, "tracking_url")],
)
def test_unprintable_tickets_raise_layout_error(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(LayoutError, match=reason):
        TicketLayout().build(vn_ticket(**changes))


def test_bad_layout_config_is_refused() -> None:
    with pytest.raises(LayoutError, match="paper_dots"):
        LayoutConfig(paper_dots=300)
    with pytest.raises(LayoutError, match="text_mode"):
        LayoutConfig(text_mode="utf8")


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ ",
               min_size=1, max_size=160))
def test_wrap_never_exceeds_the_paper(text: str) -> None:
    for line in wrap(text, 19, True, 368):
        assert render_line(line, 19, True).width <= 368
    assert "".join(wrap(text, 19, True, 368)).replace(" ", "") == text.replace(" ", "")


@pytest.mark.parametrize(
    "status",
    [PrinterStatus(), PrinterStatus(paper_near_end=True), PrinterStatus(paper_out=True),
     PrinterStatus(cover_open=True), PrinterStatus(online=False), PrinterStatus(paper_out=True, cover_open=True)],
)
def test_dle_eot_status_round_trip(status: PrinterStatus) -> None:
    replies = dle.encode(status)
    assert all(dle.is_status_byte(b) for b in replies.values())
    assert dle.decode(replies) == status


def test_missing_or_garbage_status_reply_means_offline() -> None:
    assert dle.decode({1: 0x12, 2: 0x12}) == PrinterStatus(online=False)
    assert dle.decode({1: 0x12, 2: 0x12, 4: 0xFF}) == PrinterStatus(online=False)
    assert PrinterStatus(paper_out=True).faults == ("paper_out",)
    assert not PrinterStatus(cover_open=True).ready


def test_decomposed_input_renders_like_precomposed() -> None:
    import unicodedata

    text = "Người cao tuổi – Hộ tịch"
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    assert render_line(nfd, 18).tobytes() == render_line(text, 18).tobytes()
    assert wrap(nfd, 18, False, 368) == [text]


def test_offline_ticket_without_a_live_count_does_not_print_zero_ahead() -> None:
    """A kiosk issuing from a leased block knows nobody's position: no "0 người" that sends a citizen to the counter."""
    plan = TicketLayout().plan(vn_ticket(people_ahead=None, estimated_wait_min=None))
    texts = [line.text for line in plan]
    assert "Vui lòng theo dõi màn hình gọi số" in texts and "Please watch the calling display" in texts
    assert not any(t.startswith(("Trước quý vị", "Ahead of you")) for t in texts)
    assert len(TicketLayout().build(vn_ticket(people_ahead=None))) <= 6 * 1024


def test_the_printed_wait_is_the_range_the_screens_show() -> None:
    texts = [line.text for line in TicketLayout().plan(vn_ticket(wait_low_min=20, wait_high_min=30))]
    assert any("Trước quý vị: 5 người · Chờ khoảng 20–30 phút" in t for t in texts)
    texts = [line.text for line in TicketLayout().plan(vn_ticket(wait_low_min=0, wait_high_min=10))]
    assert any(t.endswith("Chờ dưới 10 phút") for t in texts)
    texts = [line.text for line in TicketLayout().plan(vn_ticket(wait_low_min=None, wait_high_min=None,
                                                                 wait_served=False, footer_lines=()))]
    assert any("Chưa có quầy nào đang phục vụ" in t for t in texts)
    assert not any("bạn" in t for t in texts)
    texts = [line.text for line in TicketLayout().plan(vn_ticket(wait_low_min=455, wait_high_min=805,
                                                                 wait_past_close=True))]
    assert any("Chờ có thể quá giờ làm việc" in t for t in texts)
    assert any("wait possibly past closing time" in t for t in texts)
    assert not any("455" in t for t in texts)


@pytest.mark.parametrize(("ahead", "low", "high", "served"), [(5, 20, 30, True), (0, 0, 10, True),
                                                               (0, None, None, False), (None, None, None, None)])
def test_the_kiosks_own_ticket_says_quy_vi_never_ban(ahead: int | None, low: int | None, high: int | None,
                                                     served: bool | None) -> None:
    """What the real kiosk hands its printer (kiosk/devices_wiring.PrinterAdapter), laid out: "quý vị" as on every
    screen, never "bạn" — online, nobody ahead, nobody serving, and an offline ticket."""
    from kiosk.devices_wiring import PrinterAdapter
    from kiosk.offline import IssuedTicket
    from kiosk.presenters.ports import PrintJob

    class Capture:
        ticket: PrintableTicket

        def print_ticket(self, ticket: PrintableTicket) -> None:
            self.ticket = ticket

    capture = Capture()
    ticket = IssuedTicket("20261123-ho-tich-23", "A023", "ho-tich", None, "2026-11-23T08:05:00+07:00", ahead=ahead,
                          wait_low_min=low, wait_high_min=high, wait_served=served, offline=ahead is None)
    PrinterAdapter(capture).print_job(PrintJob(ticket, "Trung tâm Phục vụ hành chính công tỉnh Quảng Trị",
                                               "Tư pháp – Hộ tịch", None, "http://hub.lan/t/x",
                                               datetime(2026, 11, 23, 8, 5, tzinfo=VN_TZ)))
    texts = [line.text for line in TicketLayout().plan(capture.ticket)]
    assert any("quý vị" in t for t in texts), texts
    assert not any("bạn" in t.lower() for t in texts), texts
