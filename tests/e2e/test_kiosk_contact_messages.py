"""A number left at the kiosk reaches the citizen's phone: real hub (waitress on loopback, SQLite files, kiosk device
keys, its notification planner and outbox threads), real kiosk presenters with the hub client, journal and simulated
printer, and the mock SMS gateway over HTTP. The ticket's holder taps "Nhắn tin khi sắp đến lượt" after printing and
types the number; the counter works through the queue (with a recall of that ticket); the phone receives exactly one
"còn N người nữa đến lượt quý vị" and then exactly one "mời quý vị … đến quầy", and the number is in no event and no
log line. A second kiosk user who leaves no number gets nothing."""
from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hub_support import TestHub
from kiosk_support import kiosk_hub_options

from kiosk.__main__ import build_kiosk
from kiosk.config import settings_from_dict
from kiosk.presenters import ManualClock
from queue_server.broker import free_port
from queue_server.mock_gateway import MockGateway

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

KEY = "kiosk-sanh-a-0123456789abcdef"
PHONE = "0987654321"
TURN_NEAR_AT = 3


def hub_with_texts(tmp: Path, gateway_url: str) -> TestHub:
    from queue_server.adapters.notifiers import SmsHttpSettings
    from queue_server.app.notifications import DEFAULT_TEMPLATES
    from queue_server.engagement_config import NotificationSettings

    options = kiosk_hub_options(services=3)
    base = options.settings

    def settings(path: Path) -> Any:
        s = base(path)
        return replace(s, security=replace(s.security, device_keys=(KEY,)), notifications=NotificationSettings(
            path / "notify.sqlite3", DEFAULT_TEMPLATES, turn_near_at=TURN_NEAR_AT, retry_base_s=0.05,
            sms=SmsHttpSettings(url=gateway_url + "/sms", timeout_s=2.0)))

    return TestHub(tmp, replace(options, settings=settings, prepare=None)).start()


def wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.02)


def test_a_number_left_at_the_kiosk_gets_one_turn_near_and_one_called(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    gateway = MockGateway(port=free_port()).start()
    hub = hub_with_texts(tmp_path / "hub", gateway.url)
    try:
        settings = settings_from_dict({"hub": {"url": hub.url, "device_key": KEY},
                                       "offline": {"journal": str(tmp_path / "journal.sqlite")}}, env={})
        kiosk, _printer = build_kiosk(settings, sim=True, ticket_dir=tmp_path / "paper")
        clock = ManualClock()
        kiosk.clock = clock
        kiosk.guard._clock = clock
        assert kiosk.catalog.notify_phone

        def tap(action: Any, *args: Any) -> None:
            clock.advance(1.0)
            action(*args)

        def take_ticket() -> str:
            tap(kiosk.home.take_ticket)
            tap(kiosk.services.choose, "ho-tich")
            tap(kiosk.priority.choose, None)
            assert kiosk.take.state == "printed", (kiosk.take.state, kiosk.take.error_code)
            return kiosk.take.ticket.id

        # six citizens before: two of them at this kiosk without a number, four elsewhere
        for _ in range(2):
            take_ticket()
            tap(kiosk.take.done)
        for _ in range(4):
            r = requests.post(f"{hub.url}/api/v1/tickets", json={"service": "ho-tich", "kiosk": "kiosk-2"},
                              headers={"X-Device-Key": KEY}, timeout=5)
            assert r.status_code == 201, r.text
        mine = take_ticket()
        assert kiosk.take.view().notify == "Nhắn tin khi sắp đến lượt"
        tap(kiosk.take.notify)
        assert kiosk.screen == "contact"
        for key in PHONE:
            tap(kiosk.contact.press, key)
        tap(kiosk.contact.submit)
        assert kiosk.contact.state == "done", kiosk.contact.view().message
        assert kiosk.contact.view().subtitle.startswith(f"Quý vị sẽ nhận tin nhắn khi còn {TURN_NEAR_AT} người")
        tap(kiosk.contact.finish)
        assert kiosk.screen == "home" and kiosk.contact.text == ""
        after = take_ticket()                             # the next citizen leaves no number
        tap(kiosk.take.done)

        # the counter works through the morning; the planner is drained after each step, like the hub's own thread
        planner = hub.engagement.notifications
        service = hub.service
        service.open_counter("1", "canbo")
        called_mine = False
        while not called_mine:
            hub.clock.advance(minutes=4)
            called = service.call_next("1")
            planner.drain()
            called_mine = str(called.id) == mine
            if called_mine:
                hub.clock.advance(seconds=40)
                service.recall("1")                       # called again: still one "mời quý vị"
                planner.drain()
            service.start_service("1")
            hub.clock.advance(minutes=3)
            service.complete("1")
            planner.drain()

        to = "84" + PHONE[1:]
        wait(lambda: any(r.key == f"called:{mine}" for r in gateway.received), 30, "the called message")
        wait(lambda: planner.outbox.metrics()["pending"] == 0, 30, "the outbox drained")
        mine_received = [r for r in gateway.received if r.body.get("to") == to]
        assert [r.key for r in mine_received] == [f"turn_near:{mine}", f"called:{mine}"]
        near, call = (r.body["text"] for r in mine_received)
        assert f"còn {TURN_NEAR_AT} người nữa đến lượt quý vị (số A007, Tư pháp – Hộ tịch)" in near
        assert "mời quý vị có số A007 đến" in call
        assert gateway.duplicates == 0
        assert not any(after in r.key for r in gateway.received)     # no number left, no message
        assert len(gateway.received) == 2
        # the number is in no event and no log line (hub, kiosk, planner, outbox, HTTP)
        events = json.dumps([e.data for e in service.events_after(0)], ensure_ascii=False)
        assert PHONE[1:] not in events
        assert PHONE[1:] not in caplog.text and PHONE not in caplog.text
    finally:
        hub.stop()
        gateway.stop()
