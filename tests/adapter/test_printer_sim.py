"""The simulated printer renders what EscposTicketPrinter sends: PNG artefact, QR decoded back, raster lines equal
to a reference render, faults (paper out, cover open, offline, silent) make the print report a failure."""
from __future__ import annotations

import socket
from datetime import datetime
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops

from contracts.messages import VN_TZ
from devices.printer import PrintableTicket, SimFaults, SimulatedPrinter, open_printer
from devices.printer.layout import render_line
from devices.printer.sim import serve_tcp
from devices.urls import DeviceUrlError

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]

URL = "http://192.168.1.10:8080/t/01JDX3K9ZQ4T"


def vn_ticket(number: str = "A023") -> PrintableTicket:
    return PrintableTicket(
        center_name="Trung tâm Phục vụ hành chính công tỉnh Quảng Trị",
        number=number,
        service_name="Đất đai – Đăng ký biến động quyền sử dụng đất",
        people_ahead=5,
        estimated_wait_min=25,
        issued_at=datetime(2026, 11, 23, 8, 5, tzinfo=VN_TZ),
        tracking_url=URL,
        footer_lines=("Xin quý vị chờ đến khi số của mình được gọi", "Hotline: 0233 3 555 555"),
        priority_label="Người cao tuổi",
    )


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a.convert("L"), b.convert("L")).getbbox() is None


@pytest.mark.parametrize("width", ["80", "58"])
def test_rendered_ticket_matches_what_was_sent(width: str, artifacts_dir: Path) -> None:
    printer = open_printer(f"sim://printer?width={width}", name=f"ticket-{width}mm")
    ticket = vn_ticket()
    report = printer.print_ticket(ticket)
    assert report.printed and report.fault is None
    sim = printer.simulator  # type: ignore[attr-defined]
    assert len(sim.tickets) == 1 and sim.unknown == []
    rendered = sim.tickets[0]
    assert rendered.data == printer.layout.build(ticket)  # the job, without the status queries
    assert report.bytes_sent == len(rendered.data)
    png = artifacts_dir / f"printer-sim-ticket-{width}mm.png"
    rendered.image.save(png)
    page = Image.open(png)
    assert page.width == printer.layout.config.paper_dots

    # The QR decodes from the PNG to the tracking URL.
    decoded = zxingcpp.read_barcodes(page.convert("L"))
    assert [d.text for d in decoded] == [URL]

    # Each Vietnamese raster region in the PNG equals a reference render of the same line, in order.
    planned = [line for line in printer.layout.plan(ticket) if line.kind == "raster"]
    regions = [e for e in rendered.elements if e.kind == "raster"]
    assert len(regions) == len(planned)
    for element, line in zip(regions, planned):
        crop = page.crop((element.x, element.y, element.x + element.width, element.y + element.height))
        ref = render_line(line.text, line.size, line.bold)
        reference = Image.new("1", crop.size, 1)
        reference.paste(ref, (0, 0))
        assert same_pixels(crop, reference), line.text
        assert element.x > 0 and element.x + element.width < page.width  # centred

    # Native text came out as text with the sizes we asked for.
    texts = {e.content: e for e in rendered.elements if e.kind == "text"}
    assert texts["A023"].scale == (4, 4) and texts["A023"].bold
    assert "Ahead of you: 5 - wait about 25 min" in texts
    assert "08:05 - 23/11/2026" in texts


def test_tcvn3_text_mode_round_trips_vietnamese(artifacts_dir: Path) -> None:
    printer = open_printer("sim://printer?text=tcvn3")
    assert printer.print_ticket(vn_ticket()).printed
    rendered = printer.simulator.tickets[0]  # type: ignore[attr-defined]
    rendered.image.save(artifacts_dir / "printer-sim-ticket-tcvn3.png")
    texts = rendered.texts()
    assert "Trước quý vị: 5 người · Chờ khoảng 25 phút" in texts
    assert "Đất đai – Đăng ký biến động quyền sử dụng đất" in texts
    assert rendered.qr_payloads() == [URL]


def test_paper_out_makes_the_report_a_failure() -> None:
    printer = open_printer("sim://printer?paper=out")
    report = printer.print_ticket(vn_ticket())
    assert not report.printed and report.fault == "paper_out" and report.bytes_sent == 0
    assert printer.simulator.tickets == []  # type: ignore[attr-defined]
    assert printer.status().paper_out


def test_paper_running_out_during_the_job_is_a_failure() -> None:
    printer = open_printer("sim://printer?paper_jobs=1")
    assert printer.print_ticket(vn_ticket("A001")).printed
    second = printer.print_ticket(vn_ticket("A002"))  # the roll ends as this one starts
    assert not second.printed and second.fault == "paper_out" and second.bytes_sent > 0
    sim: SimulatedPrinter = printer.simulator  # type: ignore[attr-defined]
    sim.set_faults(paper="ok", paper_jobs=None)  # staff load a new roll
    assert printer.print_ticket(vn_ticket("A003")).printed
    assert [t.texts()[0] for t in sim.tickets] == ["A001", "A003"]


def test_fault_after_the_job_is_reported_even_though_bytes_went_out() -> None:
    printer = open_printer("sim://printer")
    sim: SimulatedPrinter = printer.simulator  # type: ignore[attr-defined]
    original = sim.feed

    def feed_then_open_cover(data: bytes) -> bytes:
        reply = original(data)
        if b"\x1dV" in data:  # the cover is opened right after the cut
            sim.set_faults(cover_open=True)
        return reply

    sim.feed = feed_then_open_cover  # type: ignore[method-assign]
    report = printer.print_ticket(vn_ticket())
    assert not report.printed and report.fault == "cover_open" and report.bytes_sent > 0


@pytest.mark.parametrize(
    ("query", "fault"),
    [("cover=open", "cover_open"), ("offline=1", "offline"), ("silent=1", "offline")],
)
def test_other_faults(query: str, fault: str) -> None:
    printer = open_printer(f"sim://printer?{query}&status_timeout=0.05")
    report = printer.print_ticket(vn_ticket())
    assert (report.printed, report.fault) == (False, fault)
    assert printer.simulator.tickets == []  # type: ignore[attr-defined]


def test_paper_near_end_still_prints_and_is_reported() -> None:
    printer = open_printer("sim://printer?paper=near_end")
    report = printer.print_ticket(vn_ticket())
    assert report.printed and report.status_after is not None and report.status_after.faults == ("paper_near_end",)


def test_over_tcp_like_a_port_9100_printer(tmp_path: Path) -> None:
    sim = SimulatedPrinter(576, out_dir=tmp_path)
    with serve_tcp(sim) as server:
        printer = open_printer(f"escpos-net://127.0.0.1:{server.port}")  # type: ignore[attr-defined]
        assert printer.status().ready
        report = printer.print_ticket(vn_ticket())
        assert report.printed
        assert sim.wait_for_tickets(1, timeout=10)
        assert sim.tickets[0].data == printer.layout.build(vn_ticket())
        sim.set_faults(paper="out")
        assert printer.print_ticket(vn_ticket("A024")).fault == "paper_out"
        printer.close()
    assert (tmp_path / "sim-printer-0001.png").exists()


def test_network_printer_that_is_not_there_reports_offline() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    printer = open_printer(f"escpos-net://127.0.0.1:{port}?timeout=0.5")
    report = printer.print_ticket(vn_ticket())
    assert (report.printed, report.fault) == (False, "offline")


def test_file_printer_writes_the_job_and_cannot_read_status(tmp_path: Path) -> None:
    out = tmp_path / "out.bin"
    printer = open_printer(f"file://{out}")
    report = printer.print_ticket(vn_ticket())
    printer.close()
    assert report.printed and not printer.status().known
    assert out.read_bytes() == printer.layout.build(vn_ticket())


def test_simulator_survives_garbage_and_split_commands() -> None:
    sim = SimulatedPrinter(384, SimFaults())
    job = open_printer("sim://printer?width=58").layout.build(vn_ticket())
    for i in range(0, len(job), 7):  # arrives in odd chunks, as from a serial line
        sim.feed(job[i:i + 7])
    assert len(sim.tickets) == 1
    sim.feed(b"\x1b\xfe\x1d\xfe")  # unknown commands are noted, not fatal
    assert sim.unknown
    assert sim.feed(b"\x10\x04\x01") == b"\x12"


@pytest.mark.parametrize("url", ["sim://printr", "escpos-usb://zz:01", "scanner://x", "sim://printer?paper=wet",
                                 "sim://printer?width=70", "serial:///dev/ttyACM0"])
def test_bad_printer_urls_are_refused_clearly(url: str) -> None:
    with pytest.raises(DeviceUrlError):
        open_printer(url)


def test_slow_printer_over_tcp_still_prints_and_a_too_slow_one_is_offline() -> None:
    sim = SimulatedPrinter(576, SimFaults(delay_ms=20))
    with serve_tcp(sim) as server:
        port = server.port  # type: ignore[attr-defined]
        printer = open_printer(f"escpos-net://127.0.0.1:{port}?status_timeout=2")
        assert printer.print_ticket(vn_ticket()).printed
        printer.close()
        sim.set_faults(delay_ms=400)  # slower than the status timeout below: indistinguishable from unplugged
        impatient = open_printer(f"escpos-net://127.0.0.1:{port}?status_timeout=0.05")
        report = impatient.print_ticket(vn_ticket("A024"))
        impatient.close()
    assert (report.printed, report.fault) == (False, "offline")
    assert len(sim.tickets) == 1


def test_usb_printer_that_is_not_plugged_in_reports_offline() -> None:
    printer = open_printer("escpos-usb://04b8:0e15?status_timeout=0.1")  # an Epson id; no USB printer here
    report = printer.print_ticket(vn_ticket())
    assert (report.printed, report.fault, report.bytes_sent) == (False, "offline", 0)


def test_corrupt_raster_header_does_not_swallow_the_next_ticket() -> None:
    sim = SimulatedPrinter(576)
    sim.feed(b"\x1dv0\x00\xff\xff\xff\xff")  # 65535 bytes wide: impossible on this paper
    job = open_printer("sim://printer").layout.build(vn_ticket())
    sim.feed(job)
    assert len(sim.tickets) == 1 and sim.unknown
