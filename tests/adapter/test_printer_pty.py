"""A ticket over a socat pty pair (a virtual serial cable) arrives byte-identical; status works both ways."""
from __future__ import annotations

from datetime import datetime

import pytest

from contracts.messages import VN_TZ
from devices.printer import PrintableTicket, SimFaults, SimulatedPrinter, open_printer
from devices.printer import status as dle
from devices.printer.sim import serve_serial
from devices.ptypair import PtyPair

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]


def ticket(number: str) -> PrintableTicket:
    return PrintableTicket(
        center_name="Bộ phận Một cửa UBND huyện Hải Lăng",
        number=number,
        service_name="Hộ tịch – Đăng ký khai sinh",
        people_ahead=2,
        estimated_wait_min=8,
        issued_at=datetime(2026, 11, 23, 14, 30, tzinfo=VN_TZ),
        tracking_url="http://10.0.0.2:8080/t/01JDX3K9ZQ4T",
    )


@pytest.fixture
def pty_pair():
    with PtyPair() as pair:
        yield pair


def test_job_arrives_byte_identical_over_a_pty_pair(pty_pair: PtyPair) -> None:
    sim = SimulatedPrinter(576, SimFaults())
    with serve_serial(sim, pty_pair.b):
        printer = open_printer(f"escpos-serial://{pty_pair.a}?baud=38400")
        report = printer.print_ticket(ticket("B007"))
        printer.close()
    assert report.printed, report
    job = printer.layout.build(ticket("B007"))
    assert report.bytes_sent == len(job)
    status_queries = b"".join(dle.request(n) for n in dle.QUERIES)
    # Status before, the job, status after: every byte in order, nothing added or lost.
    assert bytes(sim.received) == status_queries + job + status_queries
    assert sim.tickets[0].data == job
    assert sim.tickets[0].qr_payloads() == ["http://10.0.0.2:8080/t/01JDX3K9ZQ4T"]


def test_paper_out_over_serial_fails_the_report(pty_pair: PtyPair) -> None:
    sim = SimulatedPrinter(384, SimFaults(paper="out"))
    with serve_serial(sim, pty_pair.b):
        printer = open_printer(f"escpos-serial://{pty_pair.a}?baud=38400&width=58")
        report = printer.print_ticket(ticket("B008"))
        assert (report.printed, report.fault) == (False, "paper_out")
        sim.set_faults(paper="ok")
        assert printer.print_ticket(ticket("B008")).printed
        printer.close()
    assert len(sim.tickets) == 1


def test_nobody_on_the_other_end_means_offline(pty_pair: PtyPair) -> None:
    printer = open_printer(f"escpos-serial://{pty_pair.a}?status_timeout=0.1")
    report = printer.print_ticket(ticket("B009"))
    printer.close()
    assert (report.printed, report.fault) == (False, "offline")
