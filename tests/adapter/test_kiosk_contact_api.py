"""POST /api/v1/tickets/<id>/contact over real HTTP (build_hub served by waitress, kiosk device keys on, the mock SMS
gateway): the kiosk's "Nhắn tin khi sắp đến lượt" attaches a mobile number to a ticket still waiting. Device key
required, JSON only (415), a bad number is a 400 with a sentence and stores nothing, unknown and finished tickets are
refused, the same number twice is one contact, another number is refused, writes are rate-limited with issuing, and
the number reaches neither the event log nor a log line. GET /config tells kiosks whether to offer the button."""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from netutil import wait_for_port
from test_bookings_day import at, raw_settings

from queue_server.app.ports import FixedClock
from queue_server.broker import free_port
from queue_server.config import settings_from_dict
from queue_server.mock_gateway import MockGateway
from queue_server.wiring import build_hub

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]

KEY = "kiosk-sanh-a-0123456789abcdef"
KIOSK = {"X-Device-Key": KEY}
PHONE = "0987654321"


@pytest.fixture
def gateway() -> Iterator[MockGateway]:
    mock = MockGateway(port=free_port()).start()
    yield mock
    mock.stop()


def serve(tmp: Path, raw: dict[str, Any]) -> Any:
    clock = FixedClock(at(8, 0))
    running = build_hub(settings_from_dict(raw), clock=clock, extra_blueprints=[])
    running.clock = clock
    running.start_background()
    port = running.serve_in_thread("127.0.0.1", free_port())
    wait_for_port(port)
    running.api = f"http://127.0.0.1:{port}/api/v1"
    return running


@pytest.fixture
def hub(tmp_path: Path, gateway: MockGateway) -> Iterator[Any]:
    raw = raw_settings(tmp_path, security={"device_keys": [KEY]})
    raw.pop("bookings")
    raw["notifications"] = {"turn_near_at": 2, "retry_base_s": 0.05, "sms": {"url": gateway.url + "/sms"}}
    running = serve(tmp_path, raw)
    yield running
    running.stop()


def issue(hub: Any) -> dict[str, Any]:
    r = requests.post(f"{hub.api}/tickets", json={"service": "ho-tich", "kiosk": "kiosk-1"}, headers=KIOSK, timeout=5)
    assert r.status_code == 201, r.text
    ticket: dict[str, Any] = r.json()["ticket"]
    return ticket


def attach(hub: Any, ticket_id: str, contact: Any = PHONE, headers: dict[str, str] | None = None,
           **kwargs: Any) -> requests.Response:
    if "data" not in kwargs and "json" not in kwargs:
        kwargs["json"] = {"contact": contact, "kiosk": "kiosk-1"}
    return requests.post(f"{hub.api}/tickets/{ticket_id}/contact", headers=KIOSK if headers is None else headers,
                         timeout=5, **kwargs)


def test_config_offers_the_button(hub: Any) -> None:
    config = requests.get(f"{hub.api}/config", timeout=5).json()
    assert config["notifications"] == {"phone": True, "channel": "sms", "turn_near_at": 2}


def test_attach_is_device_authenticated_json_only_and_idempotent(hub: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for _ in range(4):
        issue(hub)
    ticket = issue(hub)                                       # five in the queue: four ahead of this one
    book = hub.engagement.notifications.outbox
    # no key, a wrong key: refused before anything is read
    for headers in ({}, {"X-Device-Key": "not-the-key-0123456789"}):
        r = attach(hub, ticket["id"], headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    # not JSON: 415 at the edge, whatever it carries
    r = attach(hub, ticket["id"], data=f"contact={PHONE}",
               headers={**KIOSK, "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    r = attach(hub, ticket["id"], data=PHONE.encode(), headers={**KIOSK, "Content-Type": "text/plain"})
    assert r.status_code == 415
    # a bad number: a sentence, in Vietnamese first, and nothing stored
    for bad in ("12345", "0212345678", "091234567", "+1 202 555 0100", "09123456789"):
        r = attach(hub, ticket["id"], bad)
        assert r.status_code == 400, bad
        message = r.json()["error"]["message"]
        assert message.startswith("contact: số di động Việt Nam gồm 10 chữ số") and "/ expected" in message
    assert attach(hub, ticket["id"], json={"contact": PHONE, "colour": "red"}).status_code == 400
    assert attach(hub, ticket["id"], json={}).status_code == 400
    assert attach(hub, ticket["id"], json={"contact": 912345678}).status_code == 400
    assert book.contact_for(ticket["id"]) is None
    # the real thing; again (a kiosk's retry after a lost answer) is the same answer, one contact
    first = attach(hub, ticket["id"], "+84 987 654 321")
    assert first.status_code == 200, first.text
    assert first.json() == {"ticket": ticket["id"], "number": ticket["number"], "notify": "sms",
                            "masked": "0987***321", "ahead": 4, "turn_near_at": 2, "stored": "created"}
    again = attach(hub, ticket["id"], PHONE)
    assert again.status_code == 200 and again.json() == {**first.json(), "stored": "unchanged"}
    assert book.contact_for(ticket["id"]).address == PHONE
    # another number for the same ticket: refused, the first one kept
    other = attach(hub, ticket["id"], "0912345678")
    assert other.status_code == 409 and other.json()["error"]["code"] == "contact_exists"
    assert book.contact_for(ticket["id"]).address == PHONE
    # never in the event log, never in a log line (the hub's, waitress's, the planner's)
    hub.engagement.notifications.drain()
    log = json.dumps([e.data for e in hub.service.events_after(0)], ensure_ascii=False)
    assert PHONE[1:] not in log and "987654321" not in log
    assert PHONE[1:] not in caplog.text and "987 654 321" not in caplog.text


def test_unknown_called_and_finished_tickets_are_refused(hub: Any) -> None:
    r = attach(hub, "20261123-ho-tich-999")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_ticket"
    called, served = issue(hub), issue(hub)
    hub.service.open_counter("1", "canbo")
    hub.service.call_next("1")
    r = attach(hub, called["id"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "ticket_not_waiting"
    assert r.json()["error"]["message"].startswith(f"Số {called['number']} không còn chờ gọi.")
    hub.service.start_service("1")
    hub.service.complete("1")
    hub.service.call_next("1")
    hub.service.start_service("1")
    hub.service.complete("1")
    r = attach(hub, served["id"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "ticket_not_waiting"
    book = hub.engagement.notifications.outbox
    assert book.contact_for(called["id"]) is None and book.contact_for(served["id"]) is None


def test_yesterdays_ticket_is_not_waiting_any_more(hub: Any) -> None:
    ticket = issue(hub)
    hub.clock.advance(hours=24)                               # Tuesday 08:00: the queue restarted
    r = attach(hub, ticket["id"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "ticket_not_waiting"


def test_contact_writes_share_the_kiosk_issue_rate_limit(hub: Any) -> None:
    from queue_server.web.guards import RateLimiter
    from runtime.settings import RateLimit

    now = [0.0]
    ctx = hub.app.extensions["motcua"]
    ctx.issue_limiter = RateLimiter(RateLimit(per_minute=60.0, burst=3), monotonic=lambda: now[0])
    client = hub.app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.21"          # a kiosk on the LAN (loopback is not limited)
    r = client.post("/api/v1/tickets", json={"service": "ho-tich"}, headers=KIOSK)
    assert r.status_code == 201
    ticket_id = r.get_json()["ticket"]["id"]
    answers = [client.post(f"/api/v1/tickets/{ticket_id}/contact", json={"contact": PHONE}, headers=KIOSK)
               for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "Retry-After" in answers[-1].headers and answers[-1].get_json()["error"]["code"] == "rate_limited"
    now[0] += 1.0
    assert client.post(f"/api/v1/tickets/{ticket_id}/contact", json={"contact": PHONE},
                       headers=KIOSK).status_code == 200


def test_without_notifications_the_route_refuses_and_config_says_so(tmp_path: Path) -> None:
    raw = raw_settings(tmp_path)
    raw.pop("bookings")
    running = serve(tmp_path, raw)
    try:
        assert requests.get(f"{running.api}/config", timeout=5).json()["notifications"] is None
        ticket = issue(running)
        r = attach(running, ticket["id"])
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert "chưa bật nhắn tin" in r.json()["error"]["message"]
    finally:
        running.stop()


def test_only_an_email_gateway_means_no_phone_button(tmp_path: Path) -> None:
    raw = raw_settings(tmp_path)
    raw.pop("bookings")
    raw["notifications"] = {"email": {"host": "127.0.0.1", "port": 2525, "sender": "hcc@example.vn"}}
    running = serve(tmp_path, raw)
    try:
        offer = requests.get(f"{running.api}/config", timeout=5).json()["notifications"]
        assert offer["phone"] is False
        r = attach(running, issue(running)["id"])
        assert r.status_code == 400 and "sms" in r.json()["error"]["message"]
    finally:
        running.stop()


def test_a_ticket_already_near_its_turn_is_told_at_once(hub: Any, gateway: MockGateway) -> None:
    issue(hub)
    ticket = issue(hub)                                       # one ahead, turn_near_at = 2: near already
    hub.engagement.notifications.drain()                      # the issue events are planned (no contact then)
    assert gateway.received == []
    r = attach(hub, ticket["id"])
    assert r.status_code == 200 and r.json()["ahead"] == 1
    assert gateway.wait_for(1, timeout=20)                    # no call, no other event: the contact alone did it
    assert [x.key for x in gateway.received] == [f"turn_near:{ticket['id']}"]
    assert f"còn 1 người nữa đến lượt quý vị (số {ticket['number']}" in gateway.received[0].body["text"]
    assert attach(hub, ticket["id"]).json()["stored"] == "unchanged"
    hub.engagement.notifications.drain()
    assert len(gateway.received) == 1                          # the retry sent nothing again
