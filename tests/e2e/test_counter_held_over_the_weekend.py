"""A counter left holding a ticket at Friday's closing (the last citizen's A001 never marked done), seen on Monday
morning with the real parts: the hub (SQLite file, hand-moved clock, HTTP) on a real Mosquitto, the firmware bridge
with the counter's LED board running its firmware over a socat pty, and the hall display in Chromium.

Numbers restart every working day, so Monday's first citizen also holds A001: a hall card or an LED still showing
Friday's "Quầy 1 — A001" sends them to counter 1 before they are called. Friday's ticket stays in the staff's hands
(the console shows it, to be finished or marked absent), but the screens the public reads show no number for it."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hub_support import HubOptions

from contracts.messages import VN_TZ
from firmware_bridge.bridge import Bridge
from firmware_bridge.config import BridgeSettings, DeviceBinding
from firmware_bridge.sim.virtual_device import VirtualDevice

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
FRIDAY_1620 = datetime(2026, 11, 27, 16, 20, tzinfo=VN_TZ)
MONDAY_0735 = datetime(2026, 11, 30, 7, 35, tzinfo=VN_TZ)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]


@pytest.fixture
def hub_options() -> HubOptions:
    def displays(settings: Any) -> list[Any]:
        from displays.blueprint import DisplaySettings, make_displays_blueprint

        return [make_displays_blueprint(Path(settings.store_path).parent / "voice",
                                        settings=DisplaySettings.from_object(settings.display))]

    return HubOptions(mqtt=True, unique_center=True, serve=True, at=FRIDAY_1620, blueprints=displays,
                      keepalive_s=1.0)


@pytest.fixture
def led(hub: Any, tmp_path: Path) -> Iterator[VirtualDevice]:
    device = VirtualDevice("led_display", "led-01", tmp_path / "by-id-led-01")
    device.plug()
    bridge = Bridge(BridgeSettings(center=hub.settings.center.id, mqtt_host=hub.broker.host,
                                   mqtt_port=hub.broker.port,
                                   devices=(DeviceBinding("led-01", "led_display", str(device.stable_path), "1"),)))
    bridge.start()
    try:
        yield device
    finally:
        bridge.stop()
        device.stop()


def hall_card(page: Any) -> str:
    return str(page.evaluate("""() => {
        const card = [...document.querySelectorAll('#counters > *')].find(e => e.textContent.includes('Quầy 1'));
        return card ? card.querySelector('.number').textContent : '';
    }"""))


def test_fridays_ticket_in_hand_is_not_mondays_a001_on_the_hall_or_the_led(hub: Any, led: VirtualDevice) -> None:
    from playwright.sync_api import sync_playwright

    staff = hub.login("canbo")
    hub.post("/counters/1/open", staff)
    assert hub.issue("ho-tich")["number"] == "A001"
    hub.post("/counters/1/call-next", staff)
    assert led.wait_for("show A001").startswith("show A001")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(f"{hub.url}/display/hall?sound=off")
            page.wait_for_function("() => document.body.textContent.includes('A001')", timeout=15_000)
            assert hall_card(page) == "A001"

            led.clear()
            hub.clock.set(MONDAY_0735)       # nobody finished A001; the hall and the LED stayed on all weekend
            assert led.wait_for("show") == "show "           # the board goes blank (the firmware's clear)
            counter = requests.get(f"{hub.url}/api/v1/state", timeout=5).json()["counters"][0]
            assert (counter["counter"], counter["current_ticket"], counter["held_over"]) == ("1", "A001", True)
            page.wait_for_function("() => !document.querySelector('#counters').textContent.includes('A001')",
                                   timeout=15_000)
            page.reload()                    # a hall screen switched on on Monday morning
            page.wait_for_function("() => document.body.textContent.includes('Quầy 1')", timeout=15_000)
            assert hall_card(page) == "—"

            monday = hub.issue("ho-tich")
            assert monday["number"] == "A001" and monday["id"] == "20261130-ho-tich-1"
            # the staff still hold Friday's ticket: the console shows it, to be marked absent before calling
            detail = requests.get(f"{hub.url}/api/v1/counters/1", headers=staff, timeout=5).json()
            assert detail["current"]["id"] == "20261127-ho-tich-1"
            lcd = browser.new_page(viewport={"width": 800, "height": 480})      # the counter's own screen
            lcd.goto(f"{hub.url}/display/counter/1")
            lcd.wait_for_function("() => document.getElementById('counter-name').textContent === 'Quầy 1'",
                                  timeout=15_000)
            assert "A001" not in lcd.inner_text("body")
            console = browser.new_page(viewport={"width": 1366, "height": 768})
            console.goto(f"{hub.url}/console")
            console.fill("#username", "canbo")
            console.fill("#password", hub.password)
            console.click("#login button[type=submit]")
            console.wait_for_selector("#pick:not([hidden])")
            console.select_option("#counter-select", "1")
            console.click("#pick button[type=submit]")
            console.wait_for_function("() => document.getElementById('current-status').textContent"
                                      ".includes('Phiếu ngày 27/11/2026')", timeout=15_000)
            assert console.text_content("#current-number") == "A001"
            assert console.is_disabled("#act-recall") and console.is_enabled("#act-no-show")
            # recalling it would announce "A001 đến quầy 1" to Monday's A001: refused, and no recalls are needed to
            # mark it absent
            recall = requests.post(f"{hub.url}/api/v1/counters/1/recall", json={}, headers=staff, timeout=5)
            assert recall.status_code == 409 and "27/11/2026" in recall.json()["error"]["message"], recall.text
            hub.post("/counters/1/no-show", staff)
            hub.post("/counters/1/call-next", staff)
            assert led.wait_for("show A001") == "show A001|blink"            # Monday's A001, called now
            page.wait_for_function("() => document.querySelector('#counters').textContent.includes('A001')",
                                   timeout=15_000)
        finally:
            browser.close()
