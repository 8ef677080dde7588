"""Notifications end to end: a real hub (build_hub, served by waitress, its planner and outbox threads running) and
the mock SMS gateway over real HTTP that goes down for a while. Tickets with a contact left at the kiosk get "còn N
người nữa" and "mời quý vị đến quầy …"; a booking gets its confirmation and reminder — every message exactly once,
in order per recipient, none lost while the gateway was down. No phone number enters the event log."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from netutil import wait_for_port
from test_bookings_day import PUSH_TOKEN, at, raw_settings

from queue_server.app.ports import FixedClock
from queue_server.broker import free_port
from queue_server.config import settings_from_dict
from queue_server.mock_gateway import MockGateway
from queue_server.wiring import build_hub

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(120)]

PHONES = [f"09{i:08d}" for i in range(1, 7)]


def wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.02)


@pytest.fixture
def gateway() -> Iterator[MockGateway]:
    mock = MockGateway(port=free_port()).start()
    yield mock
    mock.stop()


@pytest.fixture
def hub(tmp_path: Path, gateway: MockGateway) -> Iterator[Any]:
    raw = raw_settings(tmp_path)
    raw["notifications"] = {
        "public_base_url": "https://hcc.example.vn/motcua", "turn_near_at": 2, "retry_base_s": 0.05,
        "retry_max_s": 0.2, "max_attempts": 1000,
        "sms": {"url": gateway.url + "/sms", "auth": "bearer", "token": "gw-token", "timeout_s": 2.0},
        "templates": {"called": "{center}: mời số {number} đến {counter}."}}
    raw["bookings"]["sweep_every_s"] = 3600          # the test sweeps when it wants
    clock = FixedClock(at(7, 0))
    running = build_hub(settings_from_dict(raw), clock=clock, extra_blueprints=[])
    running.clock = clock
    running.start_background()
    port = running.serve_in_thread("127.0.0.1", free_port())
    wait_for_port(port)
    running.url = f"http://127.0.0.1:{port}/api/v1"
    yield running
    running.stop()


def keys_to(gateway: MockGateway, phone: str) -> list[str]:
    to = "84" + phone[1:]
    return [r.key for r in gateway.received if r.body.get("to") == to]


def test_every_message_once_and_in_order_through_a_gateway_outage(hub: Any, gateway: MockGateway) -> None:
    api = hub.url
    # a booking with a contact: the confirmation now, the reminder at the next sweep
    r = requests.post(f"{api}/integration/bookings", headers={"Authorization": f"Bearer {PUSH_TOKEN}"}, timeout=5,
                      json={"bookings": [{"external_id": "p-1", "service": "ho-tich", "slot_start": at(9).isoformat(),
                                          "person_id": "001099012345", "contact": "0988 777 666"}]})
    assert r.json()["results"][0]["stored"] == "created"
    code = r.json()["results"][0]["code"]
    assert gateway.wait_for(1, timeout=30)
    gateway.go_down()                                           # and it stays down while the queue moves
    hub.engagement.sweep()                                      # the reminder is queued while the gateway is down

    hub.clock.set(at(7, 40))
    tickets = []
    for phone in PHONES:
        r = requests.post(f"{api}/tickets", json={"service": "ho-tich", "contact": phone}, timeout=5)
        assert r.status_code == 201, r.text
        assert r.json()["notify"] == "sms"
        assert r.json()["public_tracking_url"] == f"https://hcc.example.vn/motcua/t/{r.json()['ticket']['id']}"
        tickets.append(r.json()["ticket"])
    bad = requests.post(f"{api}/tickets", json={"service": "ho-tich", "contact": "12345"}, timeout=5)
    assert bad.status_code == 400 and "contact" in bad.json()["error"]["message"]
    assert len(hub.service.waiting("ho-tich")) == len(PHONES)  # the refused one issued nothing

    hub.service.open_counter("1", "canbo")
    for _ in PHONES:
        hub.clock.advance(minutes=3)
        hub.service.call_next("1")
        hub.service.start_service("1")
        hub.clock.advance(minutes=5)
        hub.service.complete("1")
    time.sleep(0.5)                                             # a while with nothing reaching the gateway
    gateway.come_up()

    wait(lambda: all("called:" + t["id"] in keys_to(gateway, p) for t, p in zip(tickets, PHONES, strict=True)),
         60, "every called message")
    wait(lambda: hub.engagement.notifications.outbox.metrics()["pending"] == 0, 30, "outbox drained")
    assert gateway.duplicates == 0
    for ticket, phone in zip(tickets, PHONES, strict=True):
        got = keys_to(gateway, phone)
        # "còn N người nữa" (when it still mattered) strictly before "mời quý vị đến quầy", each once
        assert got[-1] == f"called:{ticket['id']}"
        assert got in ([f"called:{ticket['id']}"], [f"turn_near:{ticket['id']}", f"called:{ticket['id']}"])
    # most waited long enough to be told their turn was near
    assert sum(1 for t, p in zip(tickets, PHONES, strict=True) if f"turn_near:{t['id']}" in keys_to(gateway, p)) >= 3
    assert keys_to(gateway, "0988777666") == [f"booking_confirmed:{code}", f"booking_reminder:{code}"]
    texts = {r.key: r.body["text"] for r in gateway.received}
    assert texts[f"called:{tickets[0]['id']}"].endswith(f"mời số {tickets[0]['number']} đến Quầy 1.")
    assert f"https://hcc.example.vn/motcua/b/{code}" in texts[f"booking_confirmed:{code}"]
    # a second sweep, a restart of the planner: nothing is sent twice
    hub.engagement.sweep()
    time.sleep(0.3)
    assert gateway.duplicates == 0 and len(gateway.received) == len(set(texts))
    log = json.dumps([e.data for e in hub.service.events_after(0)], ensure_ascii=False)
    assert not any(p[1:] in log for p in [*PHONES, "0988777666"])
