"""A ticket left in hand at Friday's closing and completed on Monday morning (the console's held-over ticket):
served on its own day (Friday) at the hour it was last worked on, but with no service time — the weekend is
nobody's service time — in the hub's reports fold, the province's daily accumulator and the wait estimate's
occupancy samples. Same-day services keep their times. Every moment is given: no clock is read."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from contracts.messages import VN_TZ, format_at
from province.store import Row, _Projection
from queue_server.app import reporting as rp
from queue_server.app.projector import occupancy_of
from queue_server.app.views import ticket_to_json
from queue_server.domain.model import CounterId, ServiceCode, Ticket, TicketId, TicketNumber, TicketStatus

pytestmark = pytest.mark.unit

FRIDAY, MONDAY = "2026-11-27", "2026-11-30"
HO_TICH = ServiceCode("ho-tich")


def at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00+07:00")


def ticket(n: int, day: str, status: TicketStatus, **times: datetime) -> dict[str, Any]:
    """The ticket as the hub's events carry it (its own serializer)."""
    return ticket_to_json(Ticket(
        id=TicketId(f"{day.replace('-', '')}-ho-tich-{n}"), day=date.fromisoformat(day), service=HO_TICH,
        origin_service=HO_TICH, number=TicketNumber("A", n), status=status, staff="an",
        counter=None if status in (TicketStatus.ISSUED, TicketStatus.DONE) else CounterId("1"), **times))


def day_of_tickets() -> list[tuple[str, str, dict[str, Any]]]:
    """(type, at, data): Friday's A001 served 09:05 → 09:20; Friday's A002 called 16:45, started 16:50, left in
    hand at closing and completed on Monday 07:35; Monday's A001 served 07:46 → 07:56."""
    out = []
    for n, day, (issued, called, serving), done in (
            (1, FRIDAY, ("08:00", "09:00", "09:05"), at(FRIDAY, "09:20")),
            (2, FRIDAY, ("16:30", "16:45", "16:50"), at(MONDAY, "07:35")),
            (1, MONDAY, ("07:40", "07:45", "07:46"), at(MONDAY, "07:56"))):
        times = {"issued_at": at(day, issued), "called_at": at(day, called), "serving_at": at(day, serving)}
        out.append(("ticket.issued", times["issued_at"],
                    {"ticket": ticket(n, day, TicketStatus.ISSUED, issued_at=times["issued_at"])}))
        out.append(("ticket.called", times["called_at"],
                    {"ticket": ticket(n, day, TicketStatus.CALLED, **times), "counter": "1"}))
        out.append(("ticket.done", done,
                    {"ticket": ticket(n, day, TicketStatus.DONE, **times, done_at=done), "counter": "1"}))
    return [(kind, format_at(when), data) for kind, when, data in sorted(out, key=lambda e: e[1])]


def folded() -> rp.Folder:
    folder = rp.Folder(lambda _id: None, lambda _id: None)
    for kind, when, data in day_of_tickets():
        folder.fold(kind, when, data)
    return folder


def summed(folder: rp.Folder, day: str, hour: int | None = None) -> rp.Measures:
    total = rp.Measures()
    for key, m in folder.delta.cells.items():
        if key[0] == day and (hour is None or key[4] == hour):
            total.add(m)
    return total


def test_a_service_across_the_weekend_is_served_on_its_day_at_its_start_hour_untimed() -> None:
    folder = folded()
    friday = summed(folder, FRIDAY)
    assert (friday.served, friday.timed) == (2, 1)
    # only A's 15 minutes: not B's 16:50 Friday → 07:35 Monday (3,765 minutes)
    assert (friday.service_sum, friday.service_max, sum(friday.service.values())) == (900, 900, 1)
    assert summed(folder, FRIDAY, 16).served == 1 and summed(folder, FRIDAY, 16).timed == 0
    assert summed(folder, FRIDAY, 7).served == 0              # nobody worked at 07h on Friday with it
    f = rp.figures(friday, 1800)
    assert f["served"] == 2 and f["service_avg_min"] == 15.0 and f["service_p90_min"] == 15.0
    monday = summed(folder, MONDAY)                            # Monday has its own service, and only that
    assert (monday.served, monday.timed, monday.service_sum, monday.service_max) == (1, 1, 600, 600)
    assert rp.figures(monday, 1800)["service_avg_min"] == 10.0


def test_a_ticket_called_on_friday_and_started_on_monday_is_untimed_at_its_call_hour() -> None:
    """Called at 16:58 on Friday, not started before closing; on Monday staff start and complete it (the console
    completes only a started ticket): the 30 seconds on Monday are not a service of Friday's, and nobody worked on
    it at 07h on Friday. Served on Friday at 16h, untimed; the province the same."""
    called, serving, done = at(FRIDAY, "16:58"), at(MONDAY, "07:35"), at(MONDAY, "07:35")
    done = done.replace(second=30)
    times = {"issued_at": at(FRIDAY, "16:40"), "called_at": called}
    events = [("ticket.issued", times["issued_at"], {"ticket": ticket(3, FRIDAY, TicketStatus.ISSUED,
                                                                       issued_at=times["issued_at"])}),
              ("ticket.called", called, {"ticket": ticket(3, FRIDAY, TicketStatus.CALLED, **times), "counter": "1"}),
              ("ticket.done", done, {"ticket": ticket(3, FRIDAY, TicketStatus.DONE, **times, serving_at=serving,
                                                      done_at=done), "counter": "1"})]
    folder = rp.Folder(lambda _id: None, lambda _id: None)
    projection = _Projection("hx", wait_target_s=1800)
    for seq, (kind, when, data) in enumerate(events, 1):
        folder.fold(kind, format_at(when), data)
        projection.apply(Row(seq, when, f"e{seq}", kind, data))
    friday = summed(folder, FRIDAY)
    assert (friday.served, friday.timed, friday.service_sum) == (1, 0, 0)
    assert summed(folder, FRIDAY, 16).served == 1 and summed(folder, FRIDAY, 7).served == 0
    row = projection.daily[date(2026, 11, 27)]
    assert (row[1], row[13], row[7]) == (1, 0, 0.0)
    assert rp.service_seconds(serving, done, date(2026, 11, 27)) is None
    assert rp.service_seconds(serving, done, date(2026, 11, 30)) == 30


def test_service_seconds_is_known_only_within_one_local_day() -> None:
    friday_late = datetime(2026, 11, 27, 23, 50, tzinfo=VN_TZ)
    assert rp.service_seconds(friday_late, datetime(2026, 11, 27, 23, 59, tzinfo=VN_TZ)) == 540
    assert rp.service_seconds(friday_late, datetime(2026, 11, 28, 0, 1, tzinfo=VN_TZ)) is None   # local midnight
    assert rp.service_seconds(None, friday_late) is None
    # 07:30 in Vietnam is 00:30 UTC: the date that counts is the local one, not the UTC one
    utc_start = datetime.fromisoformat("2026-11-26T23:30:00+00:00")                    # Friday 06:30 local
    assert rp.service_seconds(utc_start, datetime(2026, 11, 27, 7, 0, tzinfo=VN_TZ)) == 1800


def test_the_province_accumulator_times_only_same_day_services() -> None:
    projection = _Projection("hx", wait_target_s=1800)
    for seq, (kind, when, data) in enumerate(day_of_tickets(), 1):
        projection.apply(Row(seq, datetime.fromisoformat(when), f"e{seq}", kind, data))
    friday, monday = projection.daily[date(2026, 11, 27)], projection.daily[date(2026, 11, 30)]
    assert (friday[1], friday[13], friday[7]) == (2, 1, 900.0)            # served, timed, service_sum_s
    assert (monday[1], monday[13], monday[7]) == (1, 1, 600.0)


def test_an_occupancy_sample_is_a_call_and_a_release_of_one_local_day() -> None:
    samples = [occupancy_of(when, data) for kind, when, data in day_of_tickets() if kind == "ticket.done"]
    assert samples == [("ho-tich", "1", 9, 1200.0), None, ("ho-tich", "1", 7, 660.0)]
