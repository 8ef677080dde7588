"""The kiosk's device wiring with the devices package's simulators: scanner events, camera QR frames, printer."""
from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import pytest
import segno

from contracts.messages import VN_TZ
from kiosk.devices_wiring import CameraFeed, open_kiosk_printer, open_scanner
from kiosk.offline import IssuedTicket
from kiosk.presenters.ports import PrintJob

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(30)]
CODE = "000.00.12.H38-261118-0007"


def test_simulated_scanner_reaches_the_kiosk_callback() -> None:
    got: list[tuple] = []
    arrived = threading.Event()

    def on_scan(*args: object) -> None:
        got.append(args)
        arrived.set()

    runner = open_scanner("sim://scanner", on_scan)
    try:
        runner.scanner.push(f"https://dichvucong.example.vn/tra-cuu?maHoSo={CODE.lower()}")
        assert arrived.wait(5)
    finally:
        runner.stop()
    raw, code, ticket_ref, source = got[0]
    assert code == CODE and ticket_ref is None and "maHoSo" in raw and source


def test_no_scanner_configured() -> None:
    assert open_scanner("", lambda *a: None) is None


def test_camera_feed_decodes_a_receipt_qr(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    segno.make(f"Phieu hen tra ket qua - Ma ho so: {CODE}", error="m").save(str(frames / "qr.png"), scale=8,
                                                                           border=4)
    codes: list[str] = []
    seen = threading.Event()
    shown: list[object] = []

    def on_code(text: str) -> None:
        codes.append(text)
        seen.set()

    feed = CameraFeed(f"sim://camera?dir={frames}&loop=1", on_frame=shown.append, on_code=on_code, interval_s=0.02)
    assert feed.start()
    try:
        assert seen.wait(10)
    finally:
        feed.stop()
    assert CODE in codes[0] and shown, "frames go to the preview too"


def test_camera_that_cannot_open_degrades(tmp_path: Path) -> None:
    feed = CameraFeed(f"sim://camera?dir={tmp_path / 'missing'}", on_frame=lambda f: None, on_code=lambda c: None)
    assert feed.start() is False


def _job(number: str = "A023") -> PrintJob:
    ticket = IssuedTicket(id="20261123-ho-tich-23", number=number, service="ho-tich", priority="nguoi-cao-tuoi",
                          issued_at="2026-11-23T09:00:00+07:00", ahead=3, estimated_wait_min=12)
    return PrintJob(ticket=ticket, center_name="Trung tâm Phục vụ hành chính công", service_name="Tư pháp – Hộ tịch",
                    priority_label="Người cao tuổi", tracking_url="http://10.0.0.2:8080/t/20261123-ho-tich-23",
                    issued_at=datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ))


def test_printer_adapter_prints_and_reports_paper_out(tmp_path: Path) -> None:
    printer = open_kiosk_printer("sim://printer", out_dir=tmp_path)
    printer.warm_up()
    assert printer.warmed.is_set()
    report = printer.print_job(_job())
    assert report.printed and report.bytes_sent > 0
    sim = printer.printer.simulator
    assert "A023" in sim.tickets[-1].texts()
    assert sim.tickets[-1].qr_payloads() == ["http://10.0.0.2:8080/t/20261123-ho-tich-23"]
    sim.set_faults(paper="out")
    failed = printer.print_job(_job("A024"))
    assert not failed.printed and failed.fault == "paper_out"
