"""Kiosk presenters, every flow without a window: take ticket (printer ok / failed), lookup (typed, scanned, unknown,
rate limited, hub down), idle reset, language, double tap, out of hours, offline issuing and hand-in."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from contracts.messages import VN_TZ
from kiosk.hub_client import HubError, HubUnavailable
from kiosk.offline import OfflineJournal, TicketDesk
from kiosk.presenters import Kiosk, KioskBehaviour, ManualClock
from kiosk.presenters.catalog import Catalog
from kiosk.presenters.ports import PrintJob

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

CODE = "000.00.12.H38-241023-0001"
CONFIG = {
    "center": {"id": "c1", "name": "Trung tâm Phục vụ hành chính công", "name_en": "Public Service Center"},
    "services": [{"code": "ho-tich", "name": "Hộ tịch", "name_en": "Civil status", "prefix": "A"},
                 {"code": "dat-dai", "name": "Đất đai", "name_en": "Land", "prefix": "B"}],
    "priorities": [{"code": "elderly", "label": "Người cao tuổi", "label_en": "Elderly", "legal_basis": "Luật NCT"}],
    "working_hours": {d: [["07:30", "11:30"], ["13:30", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
}


class StandInHub:
    """Behaves like the hub's public API (docs/api.md) in memory; ``down`` makes every call unreachable."""

    def __init__(self) -> None:
        self.down = False
        self.accepting = True
        self.counters: dict[str, int] = {"ho-tich": 0, "dat-dai": 0}
        self.tickets: dict[str, dict[str, Any]] = {}
        self.print_results: list[tuple[str, bool, str | None]] = []
        self.leases: dict[str, dict[str, Any]] = {}
        self.handed: dict[str, list[dict[str, Any]]] = {}
        self.dossiers: dict[str, dict[str, Any]] = {}
        self.lookup_error: HubError | None = None
        self.calls: list[str] = []
        self.requests: dict[str, dict[str, Any]] = {}
        self.lose_next_answer = False
        self.help_error: HubError | None = None
        self.boot: str | None = None            # GET /health ``boot`` (None: a hub too old to say it)
        self.lease_error: HubError | None = None

    def _check(self, what: str) -> None:
        self.calls.append(what)
        if self.down:
            raise HubUnavailable(what)

    def config(self) -> dict[str, Any]:
        self._check("config")
        return CONFIG

    def ask_help(self) -> dict[str, Any]:
        self._check("help")
        if self.help_error is not None:
            raise self.help_error
        return {"help": {"kiosk": "kiosk-1", "seq": 1, "at": "2026-11-23T09:00:00+07:00"}}

    def services(self) -> list[dict[str, Any]]:
        self._check("services")
        return [{**s, "waiting": 3, "estimated_wait_min": 12, "accepting": self.accepting,
                 "reason": None if self.accepting else "service_closed"} for s in CONFIG["services"]]

    def issue_ticket(self, service: str, priority: str | None = None, request_id: str | None = None
                     ) -> dict[str, Any]:
        self._check("issue")
        if not self.accepting:
            raise HubError("service_closed", "closed", 409)
        if request_id is not None and request_id in self.requests:      # the hub's idempotency, as the real one
            return self.requests[request_id]
        answer = self._new_ticket(service, priority)
        if request_id is not None:
            self.requests[request_id] = answer
        if self.lose_next_answer:
            self.lose_next_answer = False
            raise HubUnavailable("read timed out", maybe_done=True)     # stored, but the answer never arrived
        return answer

    def _new_ticket(self, service: str, priority: str | None) -> dict[str, Any]:
        prefix = {"ho-tich": "A", "dat-dai": "B"}[service]
        self.counters[service] += 1
        n = self.counters[service]
        tid = f"20261123-{service}-{n}"
        ticket = {"id": tid, "number": f"{prefix}{n:03d}", "service": service, "priority": priority,
                  "status": "issued", "issued_at": "2026-11-23T08:05:12+07:00", "printed": None}
        self.tickets[tid] = ticket
        return {"ticket": ticket, "ahead": 2, "estimated_wait_min": 9, "tracking_url": f"/t/{tid}"}

    def report_print(self, ticket_id: str, printed: bool, fault: str | None = None) -> dict[str, Any]:
        self._check("print-result")
        self.print_results.append((ticket_id, printed, fault))
        return {"ticket": self.tickets.get(ticket_id, {})}

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        self._check("ticket")
        if ticket_id not in self.tickets:
            raise HubError("unknown_ticket", "no", 404)
        return {"ticket": {**self.tickets[ticket_id]}, "ahead": 4, "estimated_wait_min": 15}

    def dossier(self, code: str) -> dict[str, Any]:
        self._check("dossier")
        if self.lookup_error:
            raise self.lookup_error
        if code not in self.dossiers:
            raise HubError("unknown_dossier", "no such dossier", 404)
        return self.dossiers[code]

    def health(self) -> dict[str, Any]:
        self._check("health")
        return {"status": "ok"} if self.boot is None else {"status": "ok", "boot": self.boot}

    def lease(self, service: str, size: int) -> dict[str, Any]:
        self._check("lease")
        if self.lease_error is not None:
            raise self.lease_error
        first = 500 + 100 * len(self.leases)
        lease = {"id": f"L{len(self.leases) + 1}", "service": service, "day": "2026-11-23",
                 "first": first, "last": first + size - 1}
        self.leases[lease["id"]] = lease
        return lease

    def hand_in(self, lease_id: str, tickets: list[dict[str, Any]]) -> dict[str, Any]:
        self._check("hand-in")
        self.handed.setdefault(lease_id, [])
        known = {t["number"] for t in self.handed[lease_id]}
        self.handed[lease_id] += [t for t in tickets if t["number"] not in known]
        return {"tickets": []}


@dataclass
class Report:
    printed: bool
    fault: str | None
    bytes_sent: int = 0


@dataclass
class StandInPrinter:
    fault: str | None = None
    raises: bool = False
    jobs: list[PrintJob] = field(default_factory=list)

    def print_job(self, job: PrintJob) -> Report:
        if self.raises:
            raise OSError("printer unplugged")
        self.jobs.append(job)
        return Report(printed=self.fault is None, fault=self.fault, bytes_sent=0 if self.fault else 1234)


@dataclass
class Rig:
    kiosk: Kiosk
    hub: StandInHub
    printer: StandInPrinter
    clock: ManualClock
    desk: TicketDesk
    renders: list[str]

    def tap(self, action: Any, *args: Any) -> None:
        """A finger: moves time past the double-tap window first, like a person does."""
        self.clock.advance(1.0)
        action(*args)


@pytest.fixture
def rig(tmp_path) -> Rig:
    hub, printer, clock = StandInHub(), StandInPrinter(), ManualClock()
    journal = OfflineJournal(tmp_path / "journal.sqlite")
    desk = TicketDesk(hub, journal, prefixes={"ho-tich": "A", "dat-dai": "B"}, lease_size=60, reserve=10,
                      clock=lambda: datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ))
    kiosk = Kiosk(hub=hub, desk=desk, printer=printer, clock=clock,
                  behaviour=KioskBehaviour(public_base_url="http://hub.lan:8080", camera_available=True),
                  catalog=Catalog.from_config(CONFIG))
    renders: list[str] = []
    kiosk.subscribe(lambda k: renders.append(k.screen))
    yield Rig(kiosk, hub, printer, clock, desk, renders)
    journal.close()


# --- take a ticket ---------------------------------------------------------------------------------------
def test_take_ticket_happy_path_prints_and_confirms(rig: Rig) -> None:
    k = rig.kiosk
    rig.tap(k.home.take_ticket)
    assert k.screen == "services"
    grid = k.services.view()
    assert [t.name for t in grid.tiles] == ["Hộ tịch", "Đất đai"]
    assert grid.tiles[0].waiting == "Đang chờ: 3 người" and "12 phút" in grid.tiles[0].wait
    rig.tap(k.services.choose, "ho-tich")
    assert k.screen == "priority"
    labels = [o.label for o in k.priority.view().options]
    assert labels == ["Không, tôi lấy số thường", "Người cao tuổi"]
    rig.tap(k.priority.choose, "elderly")
    assert k.screen == "ticket"
    v = k.take.view()
    assert v.state == "printed" and v.number == "A001" and not v.is_problem
    assert v.message == "Xin nhận phiếu bên dưới và ngồi chờ gọi số."
    assert v.ahead == "Trước quý vị còn 2 người"
    job = rig.printer.jobs[-1]
    assert job.ticket.number == "A001" and job.priority_label == "Người cao tuổi"
    assert job.tracking_url == "http://hub.lan:8080/t/20261123-ho-tich-1"
    assert rig.hub.tickets["20261123-ho-tich-1"]["priority"] == "elderly"
    assert rig.hub.print_results == [("20261123-ho-tich-1", True, None)]
    rig.tap(k.take.done)
    assert k.screen == "home" and k.take.ticket is None


def test_printer_failure_shows_number_and_reports_not_printed(rig: Rig) -> None:
    k = rig.kiosk
    rig.printer.fault = "paper_out"
    rig.tap(k.home.take_ticket)
    rig.tap(k.services.choose, "dat-dai")
    rig.tap(k.priority.choose, None)
    v = k.take.view()
    assert v.state == "print_failed" and v.is_problem
    assert v.number == "B001"
    assert "Máy in đang gặp sự cố" in v.message and "ghi nhớ số" in v.message
    assert rig.hub.print_results == [("20261123-dat-dai-1", False, "paper_out")]


def test_printer_that_raises_is_a_print_failure_not_a_crash(rig: Rig) -> None:
    k = rig.kiosk
    rig.printer.raises = True
    rig.tap(k.home.take_ticket)
    rig.tap(k.services.choose, "ho-tich")
    rig.tap(k.priority.choose, None)
    assert k.take.state == "print_failed" and k.take.view().number == "A001"
    assert rig.hub.print_results[0][1] is False and "unplugged" in rig.hub.print_results[0][2]


def test_double_tap_issues_one_ticket(rig: Rig) -> None:
    k = rig.kiosk
    rig.tap(k.home.take_ticket)
    rig.tap(k.services.choose, "ho-tich")
    rig.tap(k.priority.choose, None)
    rig.clock.advance(0.1)
    k.priority.choose(None)          # the second half of a double tap
    k.take.done()                     # ... and a bounce landing on the next screen's button
    assert rig.hub.counters["ho-tich"] == 1
    assert k.screen == "ticket"


def test_double_tap_on_home_does_not_skip_the_next_screen(rig: Rig) -> None:
    k = rig.kiosk
    rig.tap(k.home.take_ticket)
    rig.clock.advance(0.2)
    k.services.choose("ho-tich")     # same finger, 200 ms later, lands on the first tile
    assert k.screen == "services"


def test_disabled_service_does_nothing(rig: Rig) -> None:
    k = rig.kiosk
    rig.hub.accepting = False
    k.catalog = k.catalog.with_services(rig.hub.services())
    k.screen = "services"
    rig.tap(k.services.choose, "ho-tich")
    assert k.screen == "services" and rig.hub.counters["ho-tich"] == 0


def test_out_of_hours_screen_keeps_lookup_available(rig: Rig) -> None:
    k = rig.kiosk
    rig.hub.accepting = False
    rig.tap(k.home.take_ticket)       # the grid refreshes and finds every service closed
    assert k.screen == "closed"
    v = k.closed.view()
    assert v.title == "Ngoài giờ cấp số"
    assert v.hours == "Giờ làm việc: Thứ Hai – Thứ Sáu: 07:30–11:30, 13:30–17:00"
    rig.tap(k.closed.lookup)
    assert k.screen == "lookup"


def test_service_closed_refusal_goes_to_out_of_hours(rig: Rig) -> None:
    k = rig.kiosk
    k.screen = "services"
    rig.hub.accepting = False          # closed between the grid and the tap
    rig.tap(k.services.choose, "ho-tich")
    rig.tap(k.priority.choose, None)
    assert k.screen == "closed"


def test_quota_reached_is_explained(rig: Rig) -> None:
    k = rig.kiosk

    def refuse(service: str, priority: str | None = None, request_id: str | None = None) -> dict[str, Any]:
        raise HubError("quota_reached", "no numbers", 409)

    rig.hub.issue_ticket = refuse  # type: ignore[method-assign]
    rig.tap(k.home.take_ticket)
    rig.tap(k.services.choose, "ho-tich")
    rig.tap(k.priority.choose, None)
    v = k.take.view()
    assert v.state == "failed" and v.is_problem and "hết số" in v.message
    assert rig.printer.jobs == []


# --- hub down: offline issuing ---------------------------------------------------------------------------
def test_hub_down_issues_from_the_lease_and_hands_in_later(rig: Rig) -> None:
    k = rig.kiosk
    assert rig.desk.maintain() == "online"      # leases taken in advance
    assert rig.desk.numbers_left("ho-tich") == 60
    rig.hub.down = True
    rig.tap(k.home.take_ticket)
    assert k.screen == "services"               # the grid still shows, without live counts
    assert k.services.view().tiles[0].waiting == ""
    rig.tap(k.services.choose, "ho-tich")
    rig.tap(k.priority.choose, None)
    v = k.take.view()
    assert v.state == "printed" and v.number == "A500"
    assert rig.printer.jobs[-1].tracking_url == "http://hub.lan:8080/t/20261123-ho-tich-500"
    assert rig.desk.mode == "offline" and k.mode_mark() == "× 119"
    assert "×" not in v.message                  # the mode is for staff: a corner mark, not a sentence
    assert rig.desk.maintain() == "offline"     # still down
    rig.hub.down = False
    assert rig.desk.maintain() == "online"
    assert rig.hub.handed["L1"] == [{"number": 500, "issued_at": "2026-11-23T09:00:00+07:00", "priority": None}]
    assert rig.desk.maintain() == "online" and len(rig.hub.handed["L1"]) == 1   # nothing handed twice


def test_hub_down_at_night_does_not_hand_out_leased_numbers(rig: Rig) -> None:
    k = rig.kiosk
    rig.desk.maintain()
    rig.hub.down = True
    rig.desk.maintain()
    assert rig.desk.mode == "offline"
    k.wall_clock = lambda: datetime(2026, 11, 23, 19, 30, tzinfo=VN_TZ)    # Monday evening
    rig.tap(k.home.take_ticket)
    assert k.screen == "closed" and rig.desk.journal.pending_count() == 0
    k.wall_clock = lambda: datetime(2026, 11, 23, 14, 0, tzinfo=VN_TZ)     # Monday afternoon session
    k.reset()
    rig.tap(k.home.take_ticket)
    assert k.screen == "services"


def test_hub_down_without_a_lease_says_ask_staff(rig: Rig) -> None:
    k = rig.kiosk
    rig.hub.down = True
    rig.tap(k.home.take_ticket)
    rig.tap(k.services.choose, "ho-tich")
    rig.tap(k.priority.choose, None)
    v = k.take.view()
    assert v.state == "failed" and "hỏi cán bộ" in v.message


def test_offline_print_failure_reaches_the_hub_after_hand_in(rig: Rig) -> None:
    k = rig.kiosk
    rig.desk.maintain()
    rig.hub.down = True
    rig.printer.fault = "paper_out"
    rig.tap(k.home.take_ticket)
    rig.tap(k.services.choose, "ho-tich")
    rig.tap(k.priority.choose, None)
    assert k.take.state == "print_failed" and k.take.view().number == "A500"
    rig.hub.down = False
    rig.desk.maintain()
    assert ("20261123-ho-tich-500", False, "paper_out") in rig.hub.print_results


# --- lookup ----------------------------------------------------------------------------------------------
DOSSIER = {  # the hub's GET /api/v1/dossiers/<code> shape (queue_server/app/dossier_service.py)
    "dossier": {"code": CODE, "procedure": "Đăng ký kết hôn", "applicant": "N***n V*n A*",
                "received_at": "2024-10-23T09:15:00+07:00", "status": "processing", "display_status": "processing",
                "status_vi": "Đang xử lý", "status_en": "Being processed", "due_at": "2024-11-06T11:00:00+07:00",
                "appointment_at": "2024-11-06T13:30:00+07:00"},
    "warnings": [{"code": "due_soon", "vi": "Còn dưới một ngày làm việc", "en": "Less than a day left"}],
    "freshness": {"source": "mirror", "synced_at": "2024-11-05T10:00:00+07:00", "age_s": 300, "stale": False,
                  "link": "up", "note_vi": "Thông tin cập nhật lúc 10:00 05/11/2024",
                  "note_en": "Information as of 10:00 05/11/2024"}}


def type_code(rig: Rig, code: str) -> None:
    rig.clock.advance(1.0)
    for ch in code:
        rig.clock.advance(0.3)
        rig.kiosk.lookup.press(ch)


def test_lookup_by_keyboard_shows_result(rig: Rig) -> None:
    k = rig.kiosk
    rig.hub.dossiers[CODE] = DOSSIER
    rig.tap(k.home.lookup)
    assert k.screen == "lookup"
    assert k.lookup.view().key_rows[0][:3] == ("1", "2", "3") and "." in k.lookup.view().key_rows[3]
    type_code(rig, CODE.lower())
    assert k.lookup.view().code == CODE
    rig.tap(k.lookup.submit)
    assert k.screen == "result"
    r = k.result.view()
    assert r.status == "Đang xử lý"
    assert "Người nộp: N***n V*n A*" in r.lines
    assert "Ngày tiếp nhận: 23/10/2024" in r.lines
    assert "Ngày hẹn trả kết quả: 13:30 06/11/2024" in r.lines
    assert r.warnings == ("Còn dưới một ngày làm việc",)
    assert r.freshness == "Thông tin cập nhật lúc 10:00 05/11/2024"
    assert "Thủ tục: Đăng ký kết hôn" in r.lines
    rig.tap(k.toggle_language)
    assert k.result.view().status == "Being processed"
    assert k.result.view().freshness == "Information as of 10:00 05/11/2024"


def test_stale_dossier_answer_is_flagged(rig: Rig) -> None:
    k = rig.kiosk
    stale = {**DOSSIER, "freshness": {**DOSSIER["freshness"], "age_s": 7200, "stale": True}}
    rig.hub.dossiers[CODE] = stale
    k.scanned(CODE)
    assert k.result.view().freshness == "Thông tin cập nhật lúc 10:00 05/11/2024 (có thể chưa mới nhất)"


def test_lookup_keyboard_rejects_other_characters_and_edits(rig: Rig) -> None:
    k = rig.kiosk
    rig.tap(k.home.lookup)
    type_code(rig, "12ă/ 3")
    assert k.lookup.code == "123"
    rig.clock.advance(0.3)
    k.lookup.delete()
    assert k.lookup.code == "12"
    rig.clock.advance(0.05)
    k.lookup.press("7")
    rig.clock.advance(0.05)
    k.lookup.press("7")              # a trembling double press of the same key counts once
    assert k.lookup.code == "127"
    rig.tap(k.lookup.clear_code)
    assert k.lookup.code == ""


def test_incomplete_code_gets_a_helpful_message_without_calling_the_hub(rig: Rig) -> None:
    k = rig.kiosk
    rig.tap(k.home.lookup)
    type_code(rig, "000.00.12")
    rig.tap(k.lookup.submit)
    v = k.lookup.view()
    assert k.screen == "lookup" and v.is_problem and "dấu chấm và gạch ngang" in v.message
    assert "dossier" not in rig.hub.calls


def test_unknown_code(rig: Rig) -> None:
    k = rig.kiosk
    rig.tap(k.home.lookup)
    type_code(rig, CODE)
    rig.tap(k.lookup.submit)
    v = k.lookup.view()
    assert k.screen == "lookup" and v.is_problem
    assert v.message == f"Không tìm thấy hồ sơ có mã {CODE}. Xin kiểm tra lại mã trên phiếu hẹn."


@pytest.mark.parametrize(("error", "words"), [
    (HubError("rate_limited", "slow down", 429), "chờ một phút"),
    (HubError("main_system_unavailable", "down", 503), "Hệ thống hồ sơ đang bận"),
])
def test_lookup_refusals_are_explained(rig: Rig, error: HubError, words: str) -> None:
    k = rig.kiosk
    rig.hub.lookup_error = error
    rig.tap(k.home.lookup)
    type_code(rig, CODE)
    rig.tap(k.lookup.submit)
    assert words in k.lookup.view().message


def test_lookup_with_hub_down(rig: Rig) -> None:
    k = rig.kiosk
    rig.hub.down = True
    rig.tap(k.home.lookup)
    type_code(rig, CODE)
    rig.tap(k.lookup.submit)
    v = k.lookup.view()
    assert k.screen == "lookup" and not v.busy
    assert v.message == "Máy chưa kết nối được hệ thống. Xin quý vị hỏi cán bộ hướng dẫn."


def test_scanner_on_home_goes_straight_to_the_result(rig: Rig) -> None:
    k = rig.kiosk
    rig.hub.dossiers[CODE] = DOSSIER
    assert k.screen == "home"
    k.scanned(f"https://dichvucong.example.vn/tra-cuu?maHoSo={CODE.lower()}")
    assert k.screen == "result" and k.result.view().status == "Đang xử lý"


def test_scanner_in_the_middle_of_the_ticket_flow_takes_over(rig: Rig) -> None:
    k = rig.kiosk
    rig.hub.dossiers[CODE] = DOSSIER
    rig.tap(k.home.take_ticket)
    k.scanned(CODE, dossier_code=CODE, source="scanner")
    assert k.screen == "result"


def test_camera_toggle_and_decoded_qr(rig: Rig) -> None:
    k = rig.kiosk
    rig.hub.dossiers[CODE] = DOSSIER
    rig.tap(k.home.lookup)
    rig.tap(k.lookup.toggle_camera)
    assert k.lookup.view().camera_on and "camera" in k.lookup.view().camera_hint
    k.scanned(CODE, source="camera")
    assert k.screen == "result" and not k.lookup.camera_on


def test_scanning_a_ticket_qr_shows_its_place(rig: Rig) -> None:
    k = rig.kiosk
    rig.hub.issue_ticket("ho-tich")
    k.scanned("http://hub.lan:8080/t/20261123-ho-tich-1")
    assert k.screen == "result"
    v = k.result.view()
    assert v.status == "A001 — đang chờ gọi" and "Trước quý vị còn 4 người" in v.lines


def test_unreadable_scan_explains(rig: Rig) -> None:
    k = rig.kiosk
    k.scanned("hello world")
    assert k.screen == "lookup" and "Không đọc được" in k.lookup.view().message


# --- idle, language --------------------------------------------------------------------------------------
def test_idle_reset_clears_everything(rig: Rig) -> None:
    k = rig.kiosk
    rig.tap(k.toggle_language)
    rig.tap(k.home.lookup)
    type_code(rig, "000.00")
    assert k.lang == "en" and k.lookup.code
    rig.clock.advance(30)
    k.tick()
    assert k.screen == "lookup"                 # not yet
    rig.clock.advance(31)
    k.tick()
    assert k.screen == "home" and k.lang == "vi" and k.lookup.code == ""


def test_confirmation_screen_returns_home_sooner(rig: Rig) -> None:
    k = rig.kiosk
    rig.tap(k.home.take_ticket)
    rig.tap(k.services.choose, "ho-tich")
    rig.tap(k.priority.choose, None)
    rig.clock.advance(21)
    k.tick()
    assert k.screen == "home" and k.take.ticket is None


def test_a_failed_print_keeps_the_number_up_longer(rig: Rig) -> None:
    k = rig.kiosk
    rig.printer.fault = "paper_out"
    rig.tap(k.home.take_ticket)
    rig.tap(k.services.choose, "ho-tich")
    rig.tap(k.priority.choose, None)
    rig.clock.advance(21)
    k.tick()
    assert k.screen == "ticket" and k.take.view().number == "A001"
    rig.clock.advance(40)
    k.tick()
    assert k.screen == "home"


def test_late_answer_after_reset_is_dropped(rig: Rig) -> None:
    k = rig.kiosk
    pending: list[Any] = []

    class Deferred:
        def run(self, work, done):
            pending.append((work, done))

        def post(self, fn):
            fn()

    k.runner = Deferred()
    rig.hub.dossiers[CODE] = DOSSIER
    k.scanned(CODE)
    assert k.screen == "lookup" and k.lookup.busy
    k.reset()                                     # the citizen walked away, staff pressed home
    work, done = pending.pop()
    from kiosk.presenters.ports import Outcome
    done(Outcome(value=work()))
    assert k.screen == "home"
    # the same for a ticket whose hub answer and printing finish after the citizen left
    rig.tap(k.home.take_ticket)
    rig.tap(k.services.choose, "ho-tich")
    rig.tap(k.priority.choose, None)
    assert k.screen == "ticket" and k.take.state == "issuing"
    work, done = pending.pop()
    k.reset()
    done(Outcome(value=work()))          # issued and printed in the worker; the screens stay home
    assert k.screen == "home" and k.take.ticket is None
    assert rig.printer.jobs[-1].ticket.number == "A001"   # the paper still came out: nothing half-done


def test_language_toggle_everywhere(rig: Rig) -> None:
    k = rig.kiosk
    assert k.home.view().take_ticket == "Lấy số thứ tự" and k.home.view().lang_toggle == "English"
    rig.tap(k.toggle_language)
    assert k.home.view().take_ticket == "Take a queue number" and k.home.view().lang_toggle == "Tiếng Việt"
    rig.tap(k.home.take_ticket)
    assert [t.name for t in k.services.view().tiles] == ["Civil status", "Land"]


def test_malformed_hub_answers_keep_the_last_catalog(rig: Rig) -> None:
    k = rig.kiosk
    before = k.catalog
    rig.hub.config = lambda: ["not", "a", "config"]  # type: ignore[method-assign]
    assert k.refresh_catalog() is before
    rig.hub.config = lambda: CONFIG  # type: ignore[method-assign]
    rig.hub.services = lambda: [{"code": "ho-tich", "waiting": "many"}, "junk", {"no": "code"}]  # type: ignore
    catalog = k.refresh_catalog()
    assert [s.code for s in catalog.services] == ["ho-tich"] and catalog.services[0].waiting is None


def test_every_string_has_both_languages_and_vietnamese_diacritics() -> None:
    from kiosk.i18n import STRINGS
    for key, (vi, en) in STRINGS.items():
        assert vi and en, key
    import unicodedata
    for key in ("home.take_ticket", "home.lookup", "ticket.print_failed", "closed.title"):
        vi = STRINGS[key][0]
        assert unicodedata.normalize("NFD", vi) != vi, f"{key}: no Vietnamese diacritics in {vi!r}"


def test_a_lost_answer_is_retried_with_the_same_key_and_leaves_no_phantom(rig: Rig) -> None:
    """The hub stored the ticket but its answer was lost: the kiosk asks again with the same request id and gets
    that ticket (one ticket at the hub, none issued offline), instead of printing a leased one beside a phantom."""
    k = rig.kiosk
    rig.hub.lose_next_answer = True
    rig.tap(k.home.take_ticket)
    rig.tap(k.services.choose, "ho-tich")
    rig.tap(k.priority.choose, None)
    assert k.screen == "ticket" and k.take.view().number == "A001"
    assert rig.hub.calls.count("issue") == 2 and len(rig.hub.tickets) == 1 and len(rig.hub.requests) == 1
    assert rig.printer.jobs[-1].ticket.number == "A001"
    assert rig.hub.print_results == [("20261123-ho-tich-1", True, None)]
    assert rig.desk.mode == "online"


def test_offline_the_kiosk_knows_holidays_and_makeup_days_from_the_hub() -> None:
    """Cut off from the hub, the kiosk's own guard follows the calendar the hub sent in /config: Tết closed, the
    make-up Saturday open with the weekday hours, an ordinary Saturday closed."""
    from datetime import datetime as _dt

    from contracts.messages import VN_TZ
    from kiosk.presenters.catalog import Catalog

    catalog = Catalog.from_config({**CONFIG, "days_off": ["2026-02-17", "2026-08-31"], "makeup_days": ["2026-08-22"]})
    assert catalog.open_at(_dt(2026, 2, 17, 9, 0, tzinfo=VN_TZ)) is False          # Tết, a Tuesday
    assert catalog.open_at(_dt(2026, 8, 22, 9, 0, tzinfo=VN_TZ)) is True           # make-up Saturday
    assert catalog.open_at(_dt(2026, 8, 22, 12, 0, tzinfo=VN_TZ)) is False         # its lunch break
    assert catalog.open_at(_dt(2026, 8, 29, 9, 0, tzinfo=VN_TZ)) is False          # an ordinary Saturday
    assert catalog.open_at(_dt(2026, 8, 24, 9, 0, tzinfo=VN_TZ)) is True
    # the calendar survives the catalog's refreshes (live counts in, then the hub lost)
    assert catalog.with_services([]).stale().open_at(_dt(2026, 2, 17, 9, 0, tzinfo=VN_TZ)) is False


def test_started_while_the_hub_is_down_says_it_cannot_connect(tmp_path) -> None:
    hub, clock = StandInHub(), ManualClock()
    hub.down = True
    journal = OfflineJournal(tmp_path / "journal-down.sqlite")
    desk = TicketDesk(hub, journal, prefixes={}, lease_size=60, reserve=10,
                      clock=lambda: datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ))
    kiosk = Kiosk(hub=hub, desk=desk, printer=StandInPrinter(), clock=clock,
                  behaviour=KioskBehaviour(public_base_url="http://hub.lan:8080"))
    kiosk.set_catalog(kiosk.refresh_catalog())              # nothing known: never reached the hub
    desk.maintain()
    clock.advance(1.0)
    kiosk.home.take_ticket()
    view = kiosk.services.view()
    assert view.tiles == () and view.empty.startswith("Không kết nối được máy chủ")
    journal.close()


def test_the_service_tile_and_the_ticket_tell_the_range(rig: Rig) -> None:
    k, hub = rig.kiosk, rig.hub
    plain = hub.services
    hub.services = lambda: [{**s, "wait_low_min": 20, "wait_high_min": 30, "wait_served": True}  # type: ignore
                            for s in plain()]
    k.set_catalog(k.refresh_catalog())
    rig.tap(k.home.take_ticket)
    assert k.services.view().tiles[0].wait == "Chờ khoảng 20–30 phút"
    issue = hub._new_ticket
    hub._new_ticket = lambda service, priority: {**issue(service, priority), "ahead": 0,  # type: ignore
                                                 "wait_low_min": None, "wait_high_min": None, "wait_served": False}
    rig.tap(k.services.choose, "ho-tich")
    rig.tap(k.priority.choose, None)
    view = k.take.view()
    assert view.ahead == "Không có ai chờ trước quý vị" and "sớm" not in view.ahead   # nobody serves it now
    assert view.wait == "Thời gian chờ dự kiến: Chưa có quầy nào đang phục vụ lĩnh vực này"


def test_a_wait_past_closing_is_said_not_counted(rig: Rig) -> None:
    """A service taken only as a counter's second choice on a busy morning: the hub expects the call after today's
    hours. The tile and the ticket say so instead of "khoảng 455–805 phút"."""
    k, hub = rig.kiosk, rig.hub
    plain = hub.services
    hub.services = lambda: [{**s, "wait_low_min": 455, "wait_high_min": 805, "wait_served": True,  # type: ignore
                             "wait_past_close": True} for s in plain()]
    k.set_catalog(k.refresh_catalog())
    rig.tap(k.home.take_ticket)
    assert k.services.view().tiles[0].wait == "Chờ có thể quá giờ làm việc"
    issue = hub._new_ticket
    hub._new_ticket = lambda service, priority: {**issue(service, priority), "ahead": 3,  # type: ignore
                                                 "wait_low_min": 455, "wait_high_min": 805, "wait_served": True,
                                                 "wait_past_close": True}
    rig.tap(k.services.choose, "ho-tich")
    rig.tap(k.priority.choose, None)
    view = k.take.view()
    assert view.wait == "Thời gian chờ dự kiến: có thể quá giờ làm việc" and "455" not in view.wait


def test_a_ready_result_offers_a_tra_ket_qua_ticket_in_one_tap(rig: Rig) -> None:
    k, hub = rig.kiosk, rig.hub
    config = {**CONFIG, "services": [*CONFIG["services"],
                                     {"code": "tra-ket-qua", "name": "Trả kết quả", "name_en": "Results",
                                      "prefix": "T"}]}
    hub.config = lambda: config                # type: ignore[method-assign]
    hub.services = lambda: [{**s, "waiting": 1, "accepting": True} for s in config["services"]]  # type: ignore
    k.set_catalog(k.refresh_catalog())
    asked: list[tuple[str, str | None]] = []
    issue = hub._new_ticket

    def new_ticket(service: str, priority: str | None) -> dict[str, Any]:
        asked.append((service, priority))
        return issue("ho-tich", priority)      # the stand-in numbers only its two services; the service asked counts
    hub._new_ticket = new_ticket               # type: ignore[method-assign]
    hub.dossiers[CODE] = DOSSIER               # being processed: nothing to collect yet
    k.scanned(CODE)
    assert k.screen == "result" and k.result.view().collect == ""
    ready = {**DOSSIER, "dossier": {**DOSSIER["dossier"], "status": "result_ready", "display_status": "result_ready",
                                    "status_vi": "Đã có kết quả"}}
    hub.dossiers[CODE] = ready
    k.reset()
    k.scanned(CODE)
    assert k.result.view().collect == "Lấy số Trả kết quả"
    rig.tap(k.result.collect)                  # one tap: no service grid, no priority question
    assert asked == [("tra-ket-qua", None)] and k.take.state == "printed"


def test_can_ho_tro_tells_the_staff_or_says_the_server_cannot_be_reached(rig: Rig) -> None:
    k = rig.kiosk
    assert k.home.view().help == "Cần hỗ trợ" and k.home.view().help_message == ""
    rig.tap(k.home.ask_help)
    assert "help" in rig.hub.calls and k.home.view().help_message.startswith("Đã báo cán bộ")
    k.reset()
    assert k.home.view().help_message == ""
    rig.hub.down = True
    rig.tap(k.home.ask_help)
    assert k.home.view().help_message.startswith("Không kết nối được máy chủ")


def test_can_ho_tro_refused_by_the_hub_is_not_called_a_lost_connection(rig: Rig) -> None:
    k = rig.kiosk
    # pressed again and again past the hub's limit: the first press reached the staff
    rig.hub.help_error = HubError("rate_limited", "too many", 429)
    rig.tap(k.home.ask_help)
    assert k.home.view().help_message.startswith("Đã báo cán bộ")
    k.reset()
    # a kiosk the center's config does not name: the hub is there, it refuses; the citizen goes to the desk
    rig.hub.help_error = HubError("unknown_kiosk", "not configured", 404)
    rig.tap(k.home.ask_help)
    message = k.home.view().help_message
    assert message.startswith("Chưa gửi được yêu cầu hỗ trợ") and "Không kết nối" not in message


def test_the_kiosk_re_reports_todays_leases_once_per_hub_start(rig: Rig) -> None:
    """A hub restored from an earlier backup lost the leases it granted after it: the kiosk re-reports each of
    today's leases (with what it printed) once when the hub's boot id changes, not at every upkeep."""
    rig.desk.maintain()                           # leases taken; this hub says no boot id: nothing re-reported
    leases = set(rig.hub.leases)
    assert leases and rig.hub.calls.count("hand-in") == 0
    rig.hub.boot = "boot-1"
    rig.desk.maintain()
    assert rig.hub.calls.count("hand-in") == len(leases)
    rig.desk.maintain()
    rig.desk.maintain()
    assert rig.hub.calls.count("hand-in") == len(leases)        # the same hub: once only
    rig.hub.boot = "boot-2"                                     # restarted (or restored)
    rig.desk.maintain()
    assert rig.hub.calls.count("hand-in") == 2 * len(leases)


def test_new_blocks_held_by_a_restored_hub_are_asked_again_later_silently_and_logged_once(rig: Rig, caplog) -> None:
    """A hub just restored from a backup answers POST /leases with 503 leases_on_hold for a minute: not a fault —
    the kiosk stays online, shows the citizen nothing, says so once in its log and asks again at a later upkeep."""
    rig.hub.lease_error = HubError("leases_on_hold", "Máy chủ vừa được khôi phục … / the hub was just restored", 503)
    rig.hub.boot = "restored"
    k = rig.kiosk
    with caplog.at_level("INFO", logger="kiosk.offline"):
        for _ in range(3):
            assert rig.desk.maintain() == "online"
    assert rig.hub.calls.count("lease") == 3                   # one request a round, not one per service
    assert not rig.hub.leases and k.screen == "home"
    held = [r for r in caplog.records if "on hold" in r.getMessage()]
    assert len(held) == 1 and held[0].levelname == "INFO"
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    rig.tap(k.home.take_ticket)                                # online issuing goes on as ever
    rig.tap(k.services.choose, "ho-tich")
    rig.tap(k.priority.choose, None)
    assert k.take.state == "printed"
    rig.hub.boot = "restored-again"                            # restored once more: worth one line again
    with caplog.at_level("INFO", logger="kiosk.offline"):
        assert rig.desk.maintain() == "online" and rig.desk.maintain() == "online"
    assert len([r for r in caplog.records if "on hold" in r.getMessage()]) == 2
    rig.hub.lease_error = None                                 # the hold is over
    assert rig.desk.maintain() == "online"
    assert {lease["service"] for lease in rig.hub.leases.values()} == {"ho-tich", "dat-dai"}
