"""Bench tools for installers: ``python -m devices print-test <printer-url> [--png out.png]``,
``python -m devices status <printer-url>``, ``python -m devices scan <scanner-or-camera-url>``."""
from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime
from pathlib import Path

from contracts.messages import VN_TZ


def sample_ticket(number: str = "A001"):  # type: ignore[no-untyped-def]
    from devices.printer import PrintableTicket

    return PrintableTicket(
        center_name="Trung tâm Phục vụ hành chính công – In thử / Test print",
        number=number,
        service_name="Đất đai – Đăng ký biến động quyền sử dụng đất",
        people_ahead=3,
        estimated_wait_min=15,
        issued_at=datetime.now(VN_TZ),
        tracking_url="http://127.0.0.1:8080/t/TEST",
        footer_lines=("Kiểm tra dấu: ă â đ ê ô ơ ư — Ắ Ằ Ẳ Ẵ Ặ Ố Ồ Ổ Ỗ Ộ Ớ Ờ Ở Ỡ Ợ Ứ Ừ Ử Ữ Ự",),
        priority_label="Người cao tuổi",
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m devices")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("print-test", help="print a sample Vietnamese ticket and show the report")
    p.add_argument("url")
    p.add_argument("--png", type=Path, help="with sim://printer: save the rendered ticket here")
    s = sub.add_parser("status", help="read the printer's real-time status")
    s.add_argument("url")
    c = sub.add_parser("scan", help="print each scan until Ctrl-C (scanner or camera URL)")
    c.add_argument("url")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    if args.cmd in ("print-test", "status"):
        from devices.printer import open_printer

        printer = open_printer(args.url)
        if args.cmd == "status":
            print(printer.status())
            return 0
        report = printer.print_ticket(sample_ticket())
        print(report)
        sim = getattr(printer, "simulator", None)
        if args.png and sim is not None and sim.tickets:
            sim.tickets[-1].image.save(args.png)
            print(f"rendered to {args.png}")
        return 0 if report.printed else 1

    if args.url.startswith(("camera://", "sim://camera")):
        from devices.camera import open_camera_scanner

        scanner = open_camera_scanner(args.url)
    else:
        from devices.scanner import open_scanner

        scanner = open_scanner(args.url)  # type: ignore[assignment]
    try:
        while True:
            event = scanner.read_scan(timeout=1.0)
            if event is not None:
                print(f"{event.at:%H:%M:%S} {event.source}: raw={event.raw!r} "
                      f"dossier={event.dossier_code.normalized if event.dossier_code else None} "
                      f"ticket={event.ticket_ref}", flush=True)
    except KeyboardInterrupt:
        return 0
    finally:
        scanner.close()


if __name__ == "__main__":
    sys.exit(main())
