"""Staff console in real Chromium against the real hub: login, counter pick, every action by keyboard, the
waiting list live, Vietnamese errors; a call made here shows on the hall display and that counter's display."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def _login(page: Any, hub: Any, username: str = "staff1", counter: str = "1") -> None:
    page.goto(f"{hub.url}/console")
    page.fill("#username", username)
    page.fill("#password", hub.password)
    page.click("#login button[type=submit]")
    page.wait_for_selector("#pick:not([hidden])")
    page.select_option("#counter-select", counter)
    page.click("#pick button[type=submit]")
    page.wait_for_selector("#work:not([hidden])")
    assert page.is_hidden("#login") and page.is_hidden("#pick")


def _current(page: Any, number: str) -> None:
    page.wait_for_function(f"document.getElementById('current-number').dataset.ticket === {number!r}")


def _expect(page: Any, text: str) -> None:
    """Wait for the message line to say ``text`` (each action's answer replaces the line)."""
    page.wait_for_function(f"document.getElementById('message').textContent.includes({text!r})")
    page.evaluate("document.getElementById('message').textContent = ''")


def test_call_from_console_shows_on_hall_and_counter_display(hub: Any, page_factory: Any,
                                                             artifacts_dir: Path) -> None:
    hall = page_factory(1920, 1080)
    hall.goto(f"{hub.url}/display/hall?voice_rate=4&repeats=1")
    lcd = page_factory(800, 480)
    lcd.goto(f"{hub.url}/display/counter/1")
    console = page_factory()
    _login(console, hub)
    for page in (hall, lcd):
        page.wait_for_function("document.getElementById('link').dataset.state === 'online'")
    assert lcd.text_content("#counter-name") == "Quầy 1"

    console.keyboard.press("n")                       # nobody waiting yet
    _expect(console, "Không còn ai đang chờ")

    for _ in range(2):
        hub.issue("ho-tich")
    console.wait_for_function("document.querySelectorAll('#waiting li').length === 2")   # pushed, no reload
    console.keyboard.press("n")
    _current(console, "A001")
    hall.wait_for_function("document.getElementById('current-number').dataset.ticket === 'A001'")
    lcd.wait_for_function("document.getElementById('number').dataset.ticket === 'A001'")
    assert hall.text_content("#current-counter") == "Quầy 1"
    # the waiting count follows the call (2 issued, 1 called)
    hall.wait_for_function(
        "document.querySelector('tr[data-service=\"ho-tich\"] td:nth-child(2)').textContent === '1'", timeout=5000)
    hall.wait_for_function("(document.body.dataset.audioPlayed || '').split(' ').includes('A001#1')", timeout=30000)
    assert console.locator("#waiting li").count() == 1
    console.screenshot(path=str(artifacts_dir / "staff-console-1366x768.png"))
    lcd.screenshot(path=str(artifacts_dir / "counter-display-800x480.png"))


def test_every_action_by_keyboard_with_clear_errors(hub: Any, page_factory: Any) -> None:
    for _ in range(4):
        hub.issue("ho-tich")
    lcd = page_factory(800, 480)
    lcd.goto(f"{hub.url}/display/counter/1")
    console = page_factory()

    # wrong password: a Vietnamese message, still on the login form
    console.goto(f"{hub.url}/console")
    console.fill("#username", "staff1")
    console.fill("#password", "wrong")
    console.click("#login button[type=submit]")
    _expect(console, "Sai tên đăng nhập hoặc mật khẩu")
    _login(console, hub)

    console.keyboard.press("n")
    _current(console, "A001")
    console.wait_for_function("document.getElementById('timer').textContent.includes(':')")   # the ticket's timer
    # timed by the hub's clock (X-Motcua-Now), not the browser's: the call was made just now on the hub's clock
    assert console.text_content("#timer").startswith("00:"), console.text_content("#timer")
    # still has A001 in hand: "Gọi tiếp" is disabled (issue 12) and its key does nothing
    assert console.is_disabled("#act-call-next")
    console.keyboard.press("n")
    assert hub.service.counter_state("1").current_ticket == "A001"
    hub.clock.advance(seconds=31)
    console.keyboard.press("r")
    _expect(console, "Đã gọi lại số A001")
    console.keyboard.press("s")
    console.wait_for_function("document.getElementById('current-status').textContent === 'Đang xử lý'")
    console.keyboard.press("c")
    _expect(console, "Đã hoàn thành số A001")
    console.wait_for_function("document.getElementById('current-number').dataset.ticket === ''")

    # another counter takes A003 first: calling it here says so
    other = hub.login("staff2")
    hub.post("/counters/2/open", other)
    hub.post("/counters/2/call", other, {"number": "A003"})
    console.keyboard.press("g")
    console.fill("#call-number", "a003")
    console.keyboard.press("Enter")
    _expect(console, "đã được quầy khác gọi")
    console.keyboard.press("Escape")

    # a specific ticket from the keyboard, then transfer it to another service
    console.keyboard.press("g")
    console.fill("#call-number", "A004")
    console.keyboard.press("Enter")
    _current(console, "A004")
    # nobody serves dat-dai now (its counters are closed): the hub refuses, the console asks; declined → refused
    asked: list[str] = []

    def answer(accept: bool) -> None:
        def on_dialog(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        console.once("dialog", on_dialog)

    answer(False)
    console.keyboard.press("t")
    console.select_option("#transfer-target", "service:dat-dai")
    console.keyboard.press("Enter")
    _expect(console, "Nơi chuyển đến hiện không có quầy nào đang mở")
    assert asked and "Vẫn chuyển?" in asked[-1]
    _current(console, "A004")
    answer(True)
    console.keyboard.press("t")
    console.select_option("#transfer-target", "service:dat-dai")
    console.keyboard.press("Enter")
    _expect(console, "Đã chuyển số A004")
    console.wait_for_function("document.getElementById('current-number').dataset.ticket === ''")
    r = hub.post("/counters/2/start", other)
    assert r["ticket"]["number"] == "A003"

    # no-show only once the configured recalls were made; the refusal says how many are left
    console.keyboard.press("n")
    _current(console, "A002")
    console.keyboard.press("v")
    _expect(console, "Cần gọi lại thêm 2 lần trước khi đánh dấu vắng mặt")
    console.keyboard.press("r")
    _expect(console, "Vui lòng chờ")
    for _ in range(2):
        hub.clock.advance(seconds=31)
        console.keyboard.press("r")
        _expect(console, "Đã gọi lại số A002")
    console.keyboard.press("v")
    _expect(console, "Số A002 vắng mặt")

    # pause with a reason: the counter's LCD says "Tạm dừng"; resume brings it back
    console.keyboard.press("p")
    console.fill("#pause-text", "Họp giao ban")
    console.keyboard.press("Enter")
    lcd.wait_for_function("document.body.dataset.status === 'paused'")
    assert lcd.text_content("#status") == "Tạm dừng"
    console.wait_for_function("document.getElementById('pause-reason').textContent.includes('Họp giao ban')")
    console.keyboard.press("u")
    lcd.wait_for_function("document.body.dataset.status === 'open'")
    _expect(console, "Quầy tiếp tục làm việc")

    # a ticket clicked in the live waiting list is called; then transferred to a named counter
    hub.issue("ho-tich")
    console.wait_for_selector('#waiting li[data-ticket="A005"]')
    console.click('#waiting li[data-ticket="A005"]')
    _current(console, "A005")
    answer(True)                                          # counter 14 is closed: confirmed knowingly
    console.keyboard.press("t")
    console.select_option("#transfer-target", "counter:14")
    console.keyboard.press("Enter")
    _expect(console, "Đã chuyển số A005")
    ticket_id = "20261123-ho-tich-5"                       # ids are <day>-<service>-<number>
    moved = requests.get(f"{hub.url}/api/v1/tickets/{ticket_id}", timeout=5).json()["ticket"]
    assert moved["number"] == "A005" and moved["status"] == "issued" and moved["target_counter"] == "14"


def test_a_kiosk_help_request_shows_on_the_console_until_someone_goes(hub: Any, page_factory: Any) -> None:
    console = page_factory()
    _login(console, hub)
    # the console learns of help requests from its live stream: ask only once the stream has its first snapshot
    console.wait_for_function("window.motcuaLive && window.motcuaLive.state !== null "
                              "&& window.motcuaLive.source && window.motcuaLive.source.readyState === 1")
    requests.post(f"{hub.url}/api/v1/help", json={"kiosk": "kiosk-2"}, timeout=5).raise_for_status()
    console.wait_for_selector('#help-requests .help-request[data-kiosk="kiosk-2"]')
    assert "kiosk kiosk-2 cần hỗ trợ" in (console.text_content("#help-requests") or "")
    console.click('#help-requests .help-request[data-kiosk="kiosk-2"] button')       # "Tôi đến hỗ trợ"
    console.wait_for_selector("#help-requests", state="hidden")


def test_a_help_request_raised_before_the_screens_open_shows_and_one_answer_clears_it_everywhere(
        hub: Any, page_factory: Any) -> None:
    """The request is made while no console or board is open: both must show it from their first snapshot (with
    the kiosk and the hub's time of the request); one member of staff answering clears it on the board live, and a
    reload brings it back nowhere."""
    from contracts.messages import VN_TZ

    asked = requests.post(f"{hub.url}/api/v1/help", json={"kiosk": "kiosk-4"}, timeout=5)
    asked.raise_for_status()
    since = hub.clock.now().astimezone(VN_TZ).strftime("%H:%M")
    board = page_factory(1366, 768)
    board.goto(f"{hub.url}/manager")
    board.fill("#username", "manager")
    board.fill("#password", hub.password)
    board.click("#login button[type=submit]")
    item = '#alert-banner li.critical[data-help="kiosk-4"]'
    board.wait_for_selector(item)
    assert f"Công dân tại kiosk kiosk-4 cần hỗ trợ (từ {since})" in (board.text_content(item) or "")
    console = page_factory()
    _login(console, hub, "staff2", "2")
    request = '#help-requests .help-request[data-kiosk="kiosk-4"]'
    console.wait_for_selector(request)
    assert f"kiosk kiosk-4 cần hỗ trợ (từ {since}" in (console.text_content(request) or "")
    # the board must still be live (not merely loaded) when the answer comes: it clears without a reload
    board.wait_for_function("window.motcuaLive && window.motcuaLive.source "
                            "&& window.motcuaLive.source.readyState === 1")
    console.click(f"{request} button")                                              # "Tôi đến hỗ trợ"
    console.wait_for_selector("#help-requests", state="hidden")
    board.wait_for_selector(item, state="detached")
    board.reload()                                   # and it stays gone for a screen opened (or reloaded) now
    board.wait_for_selector("#board:not([hidden])")
    board.wait_for_function("window.motcuaLive && window.motcuaLive.state !== null")
    assert board.locator("[data-help]").count() == 0
