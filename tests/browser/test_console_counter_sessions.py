"""Counter sessions and a complete console in real Chromium against the real hub (issue 12 points 1 and 2):
display names instead of logins, a confirmed takeover, logout and "Đổi quầy" closing the counter, "Đóng quầy",
actions enabled only when they apply, the priority category and unprinted tickets marked, cancel with a reason,
reactivating a no-show, and the manager pausing and closing a counter from the board."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD, _settings
from hub_support import HubOptions

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

NAMES = {"staff1": "Nguyễn Văn Minh", "staff2": "Trần Thị Hoa", "manager": "Phạm Thu Hà"}


@pytest.fixture
def hub_options(hub_options: HubOptions) -> HubOptions:
    def settings(tmp: Path) -> Any:
        base = _settings(tmp)
        users = tuple(dataclasses.replace(u, display_name=NAMES.get(u.username, u.username)) for u in base.users)
        return dataclasses.replace(base, users=users)

    return dataclasses.replace(hub_options, settings=settings)


def login(page: Any, hub: Any, username: str) -> None:
    page.goto(f"{hub.url}/console")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login button[type=submit]")
    page.wait_for_selector("#pick:not([hidden])")


def open_counter(page: Any, counter: str) -> None:
    page.select_option("#counter-select", counter)
    page.click("#pick button[type=submit]")


def expect(page: Any, text: str) -> None:
    page.wait_for_function(f"document.getElementById('message').textContent.includes({text!r})")


def counter_row(hub: Any, cid: str) -> dict[str, Any]:
    return next(c for c in hub.service.snapshot()["counters"] if c["counter"] == cid)


def test_takeover_logout_and_change_counter_close(hub: Any, page_factory: Any, artifacts_dir: Path) -> None:
    minh = page_factory()
    login(minh, hub, "staff1")
    open_counter(minh, "1")
    minh.wait_for_selector("#work:not([hidden])")
    assert NAMES["staff1"] in minh.text_content("#who") and "staff1" not in minh.text_content("#who")
    assert counter_row(hub, "1")["staff"] == NAMES["staff1"]
    hall = page_factory(1920, 1080)
    hall.goto(f"{hub.url}/api/v1/state")
    assert "staff1" not in hall.text_content("body"), "a login never reaches a public payload"

    # Hoa picks Minh's counter: a Vietnamese confirmation; saying no keeps it Minh's
    hoa = page_factory()
    login(hoa, hub, "staff2")
    dialogs: list[str] = []

    def refuse(d: Any) -> None:
        dialogs.append(d.message)
        d.dismiss()

    hoa.once("dialog", refuse)
    open_counter(hoa, "1")
    expect(hoa, "chưa nhận quầy")
    assert "Nguyễn Văn Minh" in dialogs[0] and "nhận quầy" in dialogs[0]
    assert counter_row(hub, "1")["staff"] == NAMES["staff1"]

    seq = hub.service.last_seq
    hoa.once("dialog", lambda d: d.accept())
    open_counter(hoa, "1")
    hoa.wait_for_selector("#work:not([hidden])")
    hoa.wait_for_function("document.getElementById('staff-name').textContent.includes('Trần Thị Hoa')")
    [taken] = [e for e in hub.service.events_after(seq) if e.type == "counter.taken_over"]
    assert (taken.data["from_staff_name"], taken.data["staff"]) == (NAMES["staff1"], NAMES["staff2"])
    # Minh's console, still open, is locked out of the counter it lost
    minh.click("#act-call-next")
    expect(minh, "đã được cán bộ khác nhận")
    minh.wait_for_selector("#pick:not([hidden])")

    # "Đổi quầy" closes counter 1 (no hand-over), then counter 2 opens under Hoa
    hoa.click("#change-counter")
    hoa.wait_for_selector("#pick:not([hidden])")
    assert counter_row(hub, "1")["status"] == "closed"
    open_counter(hoa, "2")
    hoa.wait_for_selector("#work:not([hidden])")
    # logout with a ticket in hand is refused with a clear sentence; after completing, logout closes the counter
    hub.issue("ho-tich")
    hoa.wait_for_function("document.querySelectorAll('#waiting li').length === 1")
    hoa.click("#act-call-next")
    hoa.wait_for_function("document.getElementById('current-number').dataset.ticket !== ''")
    hoa.click("#logout")
    expect(hoa, "trước khi đóng quầy")
    assert counter_row(hub, "2")["status"] == "open"
    hoa.click("#act-start")
    hoa.wait_for_function("!document.getElementById('act-complete').disabled")
    hoa.click("#act-complete")
    hoa.wait_for_function("document.getElementById('current-number').dataset.ticket === ''")
    hoa.once("dialog", lambda d: d.accept())
    hoa.click("#end-day")                  # "Kết thúc ngày": close the counter and log out
    hoa.wait_for_selector("#login:not([hidden])")
    assert counter_row(hub, "2")["status"] == "closed"
    hoa.screenshot(path=str(artifacts_dir / "console-after-logout.png"))


def test_console_actions_apply_only_when_they_can(hub: Any, page_factory: Any, artifacts_dir: Path) -> None:
    priority = hub.settings.center.priorities[0]
    answer = hub.service.issue_ticket("ho-tich", priority=priority.code)
    hub.service.record_print_result(answer.ticket.id, printed=False, fault="paper_out")
    for _ in range(3):
        hub.issue("ho-tich")
    page = page_factory()
    login(page, hub, "staff1")
    open_counter(page, "1")
    page.wait_for_function("document.querySelectorAll('#waiting li').length === 4")
    first = page.locator(f"#waiting li[data-ticket='{answer.ticket.display}']")
    assert f"Ưu tiên: {priority.label}" in first.text_content()
    assert "Chưa in phiếu" in first.text_content()
    disabled = {b: page.is_disabled(f"#act-{b}") for b in ("call-next", "call", "recall", "start", "complete",
                                                          "no-show", "transfer", "pause", "resume", "close")}
    assert disabled == {"call-next": False, "call": False, "recall": True, "start": True, "complete": True,
                        "no-show": True, "transfer": True, "pause": False, "resume": True, "close": False}

    page.click("#act-call-next")           # the priority ticket comes first
    page.wait_for_function(f"document.getElementById('current-number').dataset.ticket === '{answer.ticket.display}'")
    page.wait_for_function("document.getElementById('act-call-next').disabled")
    assert page.is_disabled("#act-call") and page.is_disabled("#act-close") and page.is_disabled("#act-complete")
    assert page.text_content("#current-priority") == f"Ưu tiên: {priority.label}"
    assert page.text_content("#current-unprinted") == "Chưa in phiếu"
    page.keyboard.press("n")               # the shortcut of a disabled action does nothing
    assert hub.service.counter_state("1").current_ticket == answer.ticket.display
    page.screenshot(path=str(artifacts_dir / "console-ticket-in-hand.png"))

    # no-show after the configured recalls, then the citizen comes back: reactivate from the console
    for _ in range(hub.settings.center.rules.recalls_before_no_show):
        hub.clock.advance(seconds=hub.settings.center.rules.recall_delay_s + 1)
        page.click("#act-recall")
        expect(page, "Đã gọi lại")
    page.click("#act-no-show")
    page.wait_for_function("document.querySelectorAll('#no-shows li').length === 1")
    page.click(f"#no-shows button.reactivate[data-ticket='{answer.ticket.display}']")
    expect(page, "Đã kích hoạt lại")
    page.wait_for_function("document.querySelectorAll('#no-shows li').length === 0")
    assert hub.service.get_ticket(answer.ticket.id).ticket.status == "issued"

    # cancel a waiting ticket: the reason is required and lands in the event log
    victim = hub.service.waiting("ho-tich")[-1]
    seq = hub.service.last_seq
    page.click(f"#waiting button.cancel-ticket[data-ticket='{victim.display}']")
    page.fill("#cancel-reason", "  ")
    page.click("#cancel-form button[type=submit]")
    expect(page, "Nhập lý do huỷ")
    page.fill("#cancel-reason", "Lấy nhầm lĩnh vực")
    page.click("#cancel-form button[type=submit]")
    expect(page, f"Đã huỷ số {victim.display}")
    [event] = [e for e in hub.service.events_after(seq) if e.type == "ticket.cancelled"]
    assert (event.data["reason"], event.data["counter"]) == ("Lấy nhầm lĩnh vực", "1")


def test_manager_pauses_and_closes_from_the_board(hub: Any, page_factory: Any, artifacts_dir: Path) -> None:
    staff = hub.login("staff1")
    hub.post("/counters/1/open", staff)
    hub.post("/counters/2/open", hub.login("staff2"))
    board = page_factory(1600, 1000)
    board.goto(f"{hub.url}/manager")
    board.fill("#username", "manager")
    board.fill("#password", PASSWORD)
    board.click("#login button[type=submit]")
    board.wait_for_selector("tr[data-counter='1'] button.pause-counter")
    assert NAMES["staff1"] in board.text_content("tr[data-counter='1']")
    board.once("dialog", lambda d: d.accept("Họp giao ban"))
    board.click("tr[data-counter='1'] button.pause-counter")
    board.wait_for_function("document.querySelector(\"tr[data-counter='1'] td:nth-child(2)\").textContent.includes('Họp giao ban')")
    board.once("dialog", lambda d: d.accept())
    board.click("tr[data-counter='2'] button.close-counter")
    board.wait_for_function("document.querySelector(\"tr[data-counter='2'] button.close-counter\").disabled")
    assert counter_row(hub, "2")["status"] == "closed" and counter_row(hub, "1")["status"] == "paused"

    # a counter left open with nobody at it is flagged within the board's refresh
    hub.post("/counters/3/open", hub.login("staff3"))
    hub.clock.advance(minutes=hub.settings.display.silent_counter_min + 1)
    board.wait_for_function("document.querySelector(\"tr[data-counter='3']\").dataset.silent === '1'", timeout=20000)
    assert "Không có thao tác" in board.text_content("tr[data-counter='3']")
    board.screenshot(path=str(artifacts_dir / "manager-board-counter-sessions.png"))
