"""Manager live board in real Chromium against the real hub: role check, live per-service and per-counter
figures, the highlighted warning once a wait passes the threshold; a printer out of paper (published on the real
Mosquitto by devices.health.DeviceHealthPublisher) as a live red alert that clears; a rating submitted over the
API in the ratings panel; the main-system link panel with an outbox backlog and the dossier rates."""
from __future__ import annotations

import dataclasses
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def _login(page: Any, hub: Any, username: str) -> None:
    page.goto(f"{hub.url}/manager?warn_min=30")
    page.fill("#username", username)
    page.fill("#password", hub.password)
    page.click("#login button[type=submit]")


def test_staff_cannot_open_the_board(hub: Any, page_factory: Any) -> None:
    page = page_factory()
    _login(page, hub, "staff1")
    page.wait_for_function("document.getElementById('message').textContent.includes('không có quyền')")
    assert page.is_hidden("#board")


def test_live_figures_and_wait_warning(hub: Any, page_factory: Any, artifacts_dir: Path) -> None:
    for _ in range(3):
        hub.issue("ho-tich")
    hub.issue("dat-dai")
    page = page_factory(1366, 768)
    _login(page, hub, "manager")
    row = 'tr[data-service="ho-tich"]'
    page.wait_for_selector(f"{row} td")
    assert page.is_hidden("#login")
    assert page.locator(f"{row} td").nth(1).text_content() == "3"
    assert page.get_attribute(row, "data-warn") == "0"

    staff = hub.login("staff1")
    hub.post("/counters/1/open", staff)
    hub.post("/counters/1/call-next", staff)             # pushed: the board updates without a reload
    page.wait_for_function(f"document.querySelector('{row} td:nth-child(2)').textContent === '2'")
    counter = 'tr[data-counter="1"]'
    page.wait_for_function(f"document.querySelector('{counter} td:nth-child(4)').textContent === 'A001'")
    assert page.locator(f"{counter} td").nth(2).text_content() == "staff1"
    assert page.locator(f"{counter} td").nth(1).text_content() == "Đang mở"

    hub.clock.advance(minutes=45)                         # A002 and A003 have now waited 45 minutes
    hub.issue("dat-dai")                                  # any event refreshes the board
    page.wait_for_function(f"document.querySelector('{row}').dataset.warn === '1'")
    assert "warn" in (page.get_attribute(row, "class") or "")
    assert page.locator(f"{row} td").nth(2).text_content() == "45 phút"
    page.screenshot(path=str(artifacts_dir / "manager-board-1366x768.png"))


def _manager_page(hub: Any, page_factory: Any, query: str = "", size: tuple[int, int] = (1366, 768)) -> Any:
    page = page_factory(*size)
    page.goto(f"{hub.url}/manager{query}")
    page.fill("#username", "manager")
    page.fill("#password", hub.password)
    page.click("#login button[type=submit]")
    page.wait_for_selector("#board:not([hidden])")
    page.evaluate("window.__sameDocument = 'yes'")      # gone if anything below reloaded the page
    return page


def test_printer_out_of_paper_is_a_live_red_alert_that_clears(hub: Any, page_factory: Any, mosquitto: Any,
                                                              artifacts_dir: Path) -> None:
    from devices.health import DeviceHealthPublisher

    device = f"kiosk-{uuid.uuid4().hex[:6]}-printer"    # the session's broker keeps other tests' retained devices
    page = _manager_page(hub, page_factory)
    page.wait_for_selector("#device-alerts li")
    assert page.locator(f'#device-alerts li[data-device="{device}"]').count() == 0

    pub = DeviceHealthPublisher(hub.settings.center.id, device, "printer", mosquitto.host, mosquitto.port)
    pub.start()
    try:
        assert pub.wait_connected(10)
        row = f'#devices tr[data-device="{device}"]'
        page.wait_for_selector(f'{row}[data-availability="online"]')
        pub.report(["paper_out"])                         # what ReportingPrinter does after a failed job
        alert = f'#device-alerts li.critical[data-device="{device}"][data-code="paper_out"]'
        page.wait_for_selector(alert)
        # also in the banner at the top of the board, seen without scrolling past 14 counters
        banner = f'#alert-banner.critical li[data-device="{device}"][data-code="paper_out"]'
        assert page.is_visible(banner) and "Máy in hết giấy" in (page.text_content(banner) or "")
        text = page.text_content(alert) or ""
        assert "Máy in hết giấy" in text and "Printer out of paper" in text
        assert text.index("Máy in hết giấy") < text.index("Printer out of paper")   # Vietnamese first
        assert page.eval_on_selector(alert, "e => getComputedStyle(e).backgroundColor") == "rgb(255, 225, 225)"
        assert page.eval_on_selector(alert, "e => getComputedStyle(e).color") == "rgb(122, 0, 0)"
        assert page.get_attribute(row, "data-status") == "fault"
        assert "Hết giấy" in (page.text_content(row) or "")
        page.screenshot(path=str(artifacts_dir / "manager-board-printer-alert.png"), full_page=True)

        pub.report([])                                    # paper loaded again
        page.wait_for_selector(alert, state="detached")
        assert page.locator(f'#alert-banner li[data-device="{device}"]').count() == 0
        page.wait_for_selector(f'{row}[data-status="ok"]')

        # a clean stop says offline: that is an alert too
        pub.stop()
        page.wait_for_selector(f'#device-alerts li[data-device="{device}"][data-code="offline"]')
        assert "Thiết bị mất kết nối" in (page.text_content(f'#device-alerts li[data-device="{device}"]') or "")
        assert page.evaluate("window.__sameDocument") == "yes"
    finally:
        pub.stop()
        _forget_device(mosquitto, hub.settings.center.id, device)


def _forget_device(broker: Any, center: str, device: str) -> None:
    """Clear the retained availability and state this test left on the session's broker (other tests' hubs on
    the same center would otherwise list an offline printer)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from contracts import topics

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"forget-{device}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        for topic in (topics.device_availability(center, device), topics.device_state(center, device)):
            client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_rating_shows_in_the_ratings_panel(hub: Any, page_factory: Any, artifacts_dir: Path) -> None:
    page = _manager_page(hub, page_factory)
    page.wait_for_selector('#ratings tr[data-rating-counter="*"]')
    assert page.get_attribute('#ratings tr[data-rating-counter="*"] td:last-child', "data-count") == "0"
    headers = page.locator("#ratings-head th").all_text_contents()
    assert [h.split("\n")[0] for h in headers][1:4] == ["Rất hài lòngVery satisfied", "Hài lòngSatisfied",
                                                        "Không hài lòngNot satisfied"]

    staff = hub.login("staff1")
    hub.post("/counters/1/open", staff)
    for level in (3, 1):
        hub.issue("ho-tich")
        hub.post("/counters/1/call-next", staff)
        hub.post("/counters/1/start", staff)
        hub.post("/counters/1/complete", staff)
        r = requests.post(f"{hub.url}/api/v1/ratings", json={"counter": "1", "level": level}, timeout=5)
        assert r.status_code == 201, r.text

    row = '#ratings tr[data-rating-counter="1"]'
    page.wait_for_selector(f'{row} td:last-child[data-count="2"]')   # pushed as rating.submitted, no reload
    assert page.get_attribute(f'{row} td[data-level="3"]', "data-count") == "1"
    assert page.get_attribute(f'{row} td[data-level="2"]', "data-count") == "0"
    assert page.text_content(f'{row} td[data-level="1"] .lv-pct') == "50%"
    assert page.text_content(f'{row} td[data-level="3"] .lv-pct') == "50%"
    assert page.text_content(f'{row} td[data-level="2"] .lv-pct') == "0%"
    assert page.get_attribute('#ratings tr[data-rating-counter="*"] td:last-child', "data-count") == "2"
    assert "2 lượt" in (page.text_content("#ratings-total") or "")
    assert page.evaluate("window.__sameDocument") == "yes"
    page.screenshot(path=str(artifacts_dir / "manager-board-ratings.png"), full_page=True)


def test_link_panel_outbox_backlog_and_dossier_rates(hub: Any, page_factory: Any, artifacts_dir: Path) -> None:
    from queue_server.adapters.main_system import MainSystemSettings
    from queue_server.adapters.outbox import OutboxSettings
    from queue_server.app.integration import IntegrationConfig
    from queue_server.web.dossiers import PushAuth

    # The main system is unreachable (nothing listens on its port): events pile up in the outbox.
    base, main = hub.store_path.parent, f"http://127.0.0.1:{_closed_port()}"
    hub.stop()
    hub.settings = dataclasses.replace(hub.settings, integration=IntegrationConfig(
        mirror_path=base / "dossiers.sqlite3", outbox_path=base / "outbox.sqlite3",
        push=PushAuth(tokens=("push-token",)),
        main_system=MainSystemSettings(base_url=main, auth="none", timeout_s=1),
        outbox=OutboxSettings(events_url=f"{main}/api/motcua/events", timeout_s=1,
                              poll_interval_s=0.2, base_backoff_s=0.2, max_backoff_s=1)))
    hub.start()
    for _ in range(3):
        hub.issue("ho-tich")

    manager = hub.login("manager")
    assert requests.get(f"{hub.url}/api/v1/stats/dossier-rates", headers=hub.login("staff1"),
                        timeout=5).status_code == 403
    assert requests.get(f"{hub.url}/api/v1/stats/dossier-rates", timeout=5).status_code == 401

    page = _manager_page(hub, page_factory)
    page.wait_for_selector('#link-panel[data-link="down"]')
    assert page.text_content("#link-state") == "Mất kết nối / Down"
    assert int(page.text_content("#outbox-pending") or "0") >= 3
    assert page.get_attribute("#link-panel", "data-warn") == "0"    # younger than the default 5 minutes
    assert page.text_content("#outbox-dead") == "0"
    assert "Lỗi gần nhất" in (page.text_content("#link-error") or "")
    assert page.text_content("#rate-on-time") == "—"                 # no dossier yet: no rate, not 0 %

    # the main system pushes two dossiers received on the 18th, one of them returned on time
    def dossier(n: int, **extra: Any) -> dict[str, Any]:
        return {"update_id": f"u{n}", "dossier": {
            "code": f"000.00.12.H38-261118-{n:04d}", "procedure": "Đăng ký kết hôn", "status": "đang xử lý",
            "received_at": "2026-11-18T10:00:00+07:00", "due_at": "2026-11-25T10:00:00+07:00", **extra}}
    r = requests.post(f"{hub.url}/api/v1/integration/dossiers", timeout=5,
                      headers={"Authorization": "Bearer push-token"},
                      json={"updates": [dossier(1, status="đã trả kết quả", finished_at="2026-11-20T09:00:00+07:00"),
                                        dossier(2)]})
    assert r.status_code == 200, r.text
    page.wait_for_function("document.getElementById('rate-received').textContent === '2'")
    page.wait_for_selector("#rate-finished:text-is('1')")
    assert page.text_content("#rate-on-time") == "100,0%"
    assert page.text_content("#rate-resolution") == "50,0%"
    assert "01/11/2026" in (page.text_content("#rates-period") or "")
    body = requests.get(f"{hub.url}/api/v1/stats/dossier-rates", headers=manager, timeout=5).json()
    assert (body["received"], body["finished"], body["on_time_rate"], body["resolution_rate"]) == (2, 1, 1.0, 0.5)
    page.screenshot(path=str(artifacts_dir / "manager-board-link.png"), full_page=True)

    # a threshold the backlog has passed: the panel turns red
    page = _manager_page(hub, page_factory, "?outbox_warn_min=0.01", size=(1920, 1080))
    page.wait_for_selector('#link-panel[data-warn="1"]')
    assert page.eval_on_selector("#link-panel", "e => getComputedStyle(e).backgroundColor") == "rgb(255, 225, 225)"
    page.screenshot(path=str(artifacts_dir / "manager-board-1920x1080-link-warning.png"), full_page=True)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_kiosk_help_request_shows_on_the_banner_until_staff_go(hub: Any, page_factory: Any) -> None:
    """A citizen presses "Cần hỗ trợ" at kiosk-3 (POST /help, as the kiosk does): the manager board's banner shows it
    live in red; once a staff member says they are going (POST /help/answer) it leaves the banner."""
    page = page_factory(1366, 768)
    _login(page, hub, "manager")
    page.wait_for_selector('tr[data-service="ho-tich"]')
    requests.post(f"{hub.url}/api/v1/help", json={"kiosk": "kiosk-3"}, timeout=5).raise_for_status()
    item = '#alert-banner.critical li.critical[data-help="kiosk-3"]'
    page.wait_for_selector(item)
    assert page.is_visible("#alert-banner")
    assert "Công dân tại kiosk kiosk-3 cần hỗ trợ" in (page.text_content(item) or "")
    hub.post("/help/answer", hub.login("staff1"), {"kiosk": "kiosk-3"})
    page.wait_for_selector('#alert-banner li[data-help="kiosk-3"]', state="detached")
