"""A center's real day on the real parts: a hub on a SQLite file and a FixedClock, on the session's Mosquitto and
served over HTTP, watched the way hall displays watch it (retained MQTT state, the SSE stream), while the clock
crosses what the morning demo never reaches: the lunch break, closing time and midnight.

Hall screens and LED boards stay connected overnight and nothing happens at 00:00 or at 11:30: no event. What they
show must still follow the clock (yesterday's calls gone, a service that stopped issuing says so)."""
from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import requests
from hub_support import HubOptions, TestHub
from paho.mqtt.enums import CallbackAPIVersion

from contracts import topics
from contracts.messages import VN_TZ

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(90)]
TIMEOUT = 15.0
WEDNESDAY_1000 = datetime(2026, 11, 25, 10, 0, tzinfo=VN_TZ)
THURSDAY_0700 = datetime(2026, 11, 26, 7, 0, tzinfo=VN_TZ)


@pytest.fixture
def hub_options() -> HubOptions:
    return HubOptions(mqtt=True, unique_center=True, serve=True, at=WEDNESDAY_1000)


class Retained:
    """The latest payload per topic under ``state/#``, as a display subscribed since morning holds it."""

    def __init__(self, host: str, port: int, center: str) -> None:
        self.latest: dict[str, dict[str, Any]] = {}
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self.center = center
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
        self.client.on_connect = lambda client, *_: client.subscribe(topics.state_filter(center), 1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        assert self._subscribed.wait(TIMEOUT)

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._changed:
            self.latest[msg.topic] = json.loads(msg.payload)
            self._changed.notify_all()

    def service(self, code: str) -> dict[str, Any]:
        return self.latest.get(topics.state_service(self.center, code), {})

    def calls(self) -> list[dict[str, Any]]:
        return list(self.latest.get(topics.state_calls(self.center), {}).get("calls", []))

    def wait_until(self, what: str, check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + TIMEOUT
        with self._changed:
            while not check():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{what}: not seen; retained calls {self.calls()}, "
                                         f"ho-tich {self.service('ho-tich')}")
                self._changed.wait(min(remaining, 0.5))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def display(hub: TestHub) -> Iterator[Retained]:
    watcher = Retained(hub.broker.host, hub.broker.port, hub.settings.center.id)
    yield watcher
    watcher.close()


def call_one_and_leave_two_waiting(hub: TestHub) -> dict[str, str]:
    staff = hub.login("canbo")
    for _ in range(3):
        hub.issue("ho-tich")
    hub.post("/counters/1/open", staff)
    hub.post("/counters/1/call-next", staff)
    return staff


def test_retained_state_forgets_yesterday_at_midnight_without_any_event(hub: TestHub, display: Retained) -> None:
    call_one_and_leave_two_waiting(hub)
    display.wait_until("Wednesday's call and queue", lambda: [c["number"] for c in display.calls()] == ["A001"]
                       and display.service("ho-tich").get("waiting") == 2)

    hub.clock.set(THURSDAY_0700)       # the hall board stays on overnight; nobody does anything before 07:30

    display.wait_until("Thursday's empty hall", lambda: display.calls() == []
                       and display.service("ho-tich").get("waiting") == 0
                       and display.service("ho-tich").get("last_called") is None)


def test_retained_service_state_follows_the_lunch_break_and_closing(hub: TestHub, display: Retained) -> None:
    hub.issue("ho-tich")
    display.wait_until("issuing in the morning", lambda: display.service("ho-tich").get("accepting") is True)

    hub.clock.set(WEDNESDAY_1000.replace(hour=11, minute=31))
    display.wait_until("the lunch break", lambda: display.service("ho-tich").get("accepting") is False)

    hub.clock.set(WEDNESDAY_1000.replace(hour=13, minute=31))
    display.wait_until("the afternoon", lambda: display.service("ho-tich").get("accepting") is True)


def _sse_states(url: str, out: queue.Queue[dict[str, Any]], stop: threading.Event) -> None:
    """Every ``state`` event of one /stream connection (a hall page's EventSource), until ``stop``."""
    with requests.get(f"{url}/api/v1/stream", stream=True, timeout=TIMEOUT) as response:
        event = ""
        for line in response.iter_lines(decode_unicode=True):
            if stop.is_set():
                return
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "state":
                out.put(json.loads(line.split(":", 1)[1]))
            elif not line:
                event = ""


def test_a_hall_stream_open_overnight_gets_the_new_day(hub: TestHub) -> None:
    call_one_and_leave_two_waiting(hub)
    states: queue.Queue[dict[str, Any]] = queue.Queue()
    stop = threading.Event()
    reader = threading.Thread(target=_sse_states, args=(hub.url, states, stop), daemon=True)
    reader.start()
    first = states.get(timeout=TIMEOUT)
    assert [c["number"] for c in first["calls"]] == ["A001"]

    hub.clock.set(THURSDAY_0700)

    try:
        fresh = states.get(timeout=TIMEOUT)
    except queue.Empty:
        raise AssertionError("the open stream never sent Thursday's state: the hall shows Wednesday's calls") from None
    finally:
        stop.set()
    assert fresh["calls"] == []
    assert {s["service"]: s["waiting"] for s in fresh["services"]}["ho-tich"] == 0
