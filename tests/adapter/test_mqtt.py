"""MQTT adapter against a real Mosquitto: events in seq order, retained state for late subscribers, republish
after a broker restart, cmd → reply with correlation ids, bad payloads, and a hub that runs with no broker."""
from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hub_center import MONDAY_0800, make_center
from paho.mqtt.enums import CallbackAPIVersion

from contracts import topics
from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import (
    CallsSnapshot,
    CommandReply,
    CommandRequest,
    CounterState,
    Envelope,
    ServiceState,
)
from queue_server.adapters.mqtt import MqttAdapter, arg
from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app.ports import FixedClock
from queue_server.app.queue_service import QueueService
from queue_server.config import MqttSettings

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(90)]
TIMEOUT = 15.0


class Subscriber:
    """A plain paho client collecting (topic, payload, retain) for the given filters."""

    def __init__(self, host: str, port: int, *filters: str) -> None:
        self.messages: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
        self.latest: dict[str, bytes] = {}
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")

        def on_connect(client: mqtt.Client, *_: Any) -> None:
            client.subscribe([(f, 1) for f in filters])

        def on_message(client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
            self.latest[msg.topic] = msg.payload
            self.messages.put((msg.topic, msg.payload, bool(msg.retain)))

        self.client.on_connect = on_connect
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = on_message
        self.client.connect(host, port)
        self.client.loop_start()
        assert self._subscribed.wait(TIMEOUT), "subscription not acknowledged"

    def next(self, timeout: float = TIMEOUT) -> tuple[str, bytes, bool]:
        return self.messages.get(timeout=timeout)

    def wait_until(self, check: Callable[[dict[str, bytes]], bool], timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not check(self.latest):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met; latest topics: {sorted(self.latest)}")
            try:
                self.messages.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                pass

    def publish(self, topic: str, payload: str | bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(TIMEOUT)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def make_service(tmp_path: Path, center_id: str) -> QueueService:
    center = replace(make_center(), id=center_id)
    return QueueService(center, SqliteStore(tmp_path / "hub.sqlite3"), FixedClock(MONDAY_0800))


@pytest.fixture
def center_id() -> str:
    # each test its own center, so retained messages of one test never satisfy another's
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def service(tmp_path: Path, center_id: str) -> Iterator[QueueService]:
    svc = make_service(tmp_path, center_id)
    yield svc
    svc.close()


def start_adapter(service: QueueService, host: str, port: int) -> MqttAdapter:
    adapter = MqttAdapter(MqttSettings(host=host, port=port, keepalive_s=5), service.center.id, service)
    service.add_listener(adapter.on_events)
    adapter.start()
    return adapter


def test_events_in_seq_order_and_retained_state_for_late_subscribers(mosquitto: Any, service: QueueService,
                                                                      center_id: str) -> None:
    events = Subscriber(mosquitto.host, mosquitto.port, topics.events_filter(center_id))
    adapter = start_adapter(service, mosquitto.host, mosquitto.port)
    try:
        assert adapter.wait_connected(TIMEOUT)
        service.open_counter("1", staff="canbo")
        service.open_counter("2", staff="canbo2")

        def issue(n: int) -> None:
            for i in range(n):
                service.issue_ticket("ho-tich" if i % 3 else "dat-dai", priority="elderly" if i % 7 == 0 else None)

        workers = [threading.Thread(target=issue, args=(15,)) for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(TIMEOUT)
        service.call_next("1")
        service.start_service("1")
        service.call_next("2")
        last = service.last_seq

        seqs: list[int] = []
        types: list[str] = []
        while not seqs or seqs[-1] < last:
            topic, payload, retained = events.next()
            env = Envelope.from_json(payload)
            assert not retained and topic == topics.event(center_id, env.type)
            seqs.append(env.seq)
            types.append(env.type)
        assert seqs == list(range(1, last + 1))
        assert types.count("ticket.issued") == 60 and types[-1] == "ticket.called"

        # a display that connects now renders from retained state alone
        late = Subscriber(mosquitto.host, mosquitto.port, topics.state_filter(center_id),
                          topics.hub_status(center_id))
        try:
            calls_topic = topics.state_calls(center_id)
            c1, c2 = topics.state_counter(center_id, "1"), topics.state_counter(center_id, "2")
            ho_tich = topics.state_service(center_id, "ho-tich")
            late.wait_until(lambda m: calls_topic in m and CallsSnapshot.from_json(m[calls_topic]).seq == last
                            and c2 in m and CounterState.from_json(m[c2]).seq == last and ho_tich in m
                            and topics.hub_status(center_id) in m)
            calls = CallsSnapshot.from_json(late.latest[calls_topic])
            assert [c.counter for c in calls.calls[:2]] == ["2", "1"]
            assert CounterState.from_json(late.latest[c1]).current_status == "serving"
            assert CounterState.from_json(late.latest[c2]).current_ticket == calls.calls[0].number
            assert ServiceState.from_json(late.latest[ho_tich]).waiting == service.service_state("ho-tich").waiting
            assert late.latest[topics.hub_status(center_id)] == b"online"
            assert {topics.state_counter(center_id, "3"), topics.state_service(center_id, "dat-dai")} <= set(late.latest)
        finally:
            late.close()
    finally:
        adapter.stop()
        events.close()
    status = Subscriber(mosquitto.host, mosquitto.port, topics.hub_status(center_id))
    try:
        status.wait_until(lambda m: m.get(topics.hub_status(center_id)) == b"offline")
    finally:
        status.close()


def test_republishes_all_state_after_the_broker_restarts(fresh_mosquitto: Any, service: QueueService,
                                                         center_id: str) -> None:
    adapter = start_adapter(service, fresh_mosquitto.host, fresh_mosquitto.port)
    try:
        assert adapter.wait_connected(TIMEOUT)
        service.open_counter("3")
        ticket = service.issue_ticket("dat-dai").ticket
        service.call_next("3")
        fresh_mosquitto.restart()          # persistence off: every retained message is gone
        c3 = topics.state_counter(center_id, "3")
        late = Subscriber(fresh_mosquitto.host, fresh_mosquitto.port, topics.state_filter(center_id),
                          topics.hub_status(center_id))
        try:
            late.wait_until(lambda m: c3 in m and m.get(topics.hub_status(center_id)) == b"online"
                            and topics.state_calls(center_id) in m, timeout=30)
            assert CounterState.from_json(late.latest[c3]).current_ticket_id == ticket.id
            assert CallsSnapshot.from_json(late.latest[topics.state_calls(center_id)]).calls[0].ticket_id == ticket.id
        finally:
            late.close()
        # and events flow again after the reconnect
        events = Subscriber(fresh_mosquitto.host, fresh_mosquitto.port, topics.events_filter(center_id))
        try:
            service.start_service("3")
            _topic, payload, _ = events.next()
            assert Envelope.from_json(payload).type == "ticket.serving"
        finally:
            events.close()
    finally:
        adapter.stop()


def command(sub: Subscriber, center_id: str, name: str, args: dict[str, Any] | None = None,
            raw: bytes | None = None, correlation: str | None = None) -> CommandReply:
    correlation = correlation or uuid.uuid4().hex
    payload = raw if raw is not None else CommandRequest(name, correlation, args or {}, "test-keypad").to_json()
    sub.publish(topics.cmd(center_id, name), payload)
    while True:
        topic, body, _ = sub.next()
        reply = CommandReply.from_json(body)
        if reply.correlation_id == correlation or (raw is not None and reply.command == name):
            assert topic == topics.reply(center_id, name)
            return reply


def test_commands_round_trip_with_correlation_ids(mosquitto: Any, service: QueueService, center_id: str) -> None:
    adapter = start_adapter(service, mosquitto.host, mosquitto.port)

    def submit_rating(args: dict[str, Any]) -> dict[str, Any]:   # how another part extends the registry
        if arg(args, "score", int) not in (1, 2, 3):
            raise MotcuaError(ErrorCode.BAD_REQUEST, "args.score: 1, 2 or 3")
        return {"rated": arg(args, "counter")}

    adapter.commands.register("submit-rating", submit_rating)
    sub = Subscriber(mosquitto.host, mosquitto.port, f"motcua/v1/{center_id}/reply/+")
    try:
        assert adapter.wait_connected(TIMEOUT)
        opened = command(sub, center_id, "open", {"counter": 2, "staff": "canbo"})
        assert opened.ok and opened.result["counter"]["status"] == "open"
        service.issue_ticket("ho-tich")
        called = command(sub, center_id, "call-next", {"counter": "2"})
        assert called.ok and called.result["ticket"]["number"] == "A001"
        again = command(sub, center_id, "call-next", {"counter": "2"})
        assert not again.ok and again.error["code"] == "counter_busy"
        assert command(sub, center_id, "recall", {"counter": "9"}).error["code"] == "unknown_counter"
        assert command(sub, center_id, "recall", {}).error["code"] == "bad_request"
        assert command(sub, center_id, "recall", {"counter": ["2"]}).error["code"] == "bad_request"
        assert command(sub, center_id, "fly", {"counter": "2"}).error["code"] == "bad_request"
        bad_json = command(sub, center_id, "start", raw=b"{not json")
        assert not bad_json.ok and bad_json.error["code"] == "bad_request" and bad_json.correlation_id == ""
        missing = command(sub, center_id, "start", raw=json.dumps({"correlation_id": "x1"}).encode())
        assert missing.correlation_id == "x1" and missing.error["code"] == "bad_request"
        mismatch = CommandRequest("complete", "m-1", {"counter": "2"}).to_json()
        sub.publish(topics.cmd(center_id, "start"), mismatch)
        reply = CommandReply.from_json(sub.next()[1])
        assert reply.correlation_id == "m-1" and reply.error["code"] == "bad_request"
        assert command(sub, center_id, "submit-rating", {"counter": "2", "score": 3}).result == {"rated": "2"}
        # after all that abuse the adapter still serves
        started = command(sub, center_id, "start", {"counter": "2"})
        assert started.ok and started.result["ticket"]["status"] == "serving"
        assert command(sub, center_id, "complete", {"counter": "2"}).result["ticket"]["status"] == "done"
    finally:
        sub.close()
        adapter.stop()


def test_the_hub_works_while_the_broker_is_down(service: QueueService) -> None:
    from queue_server.broker import free_port

    adapter = start_adapter(service, "127.0.0.1", free_port())
    try:
        assert service.issue_ticket("ho-tich").ticket.number.display == "A001"
        assert not adapter.connected
    finally:
        adapter.stop(timeout=1)


def test_embedded_amqtt_broker_fallback(service: QueueService, center_id: str) -> None:
    """What `motcua demo` uses when Mosquitto is not installed: loopback only, explicit plugins."""
    from queue_server.broker import start_broker

    broker = start_broker(prefer="amqtt")
    try:
        assert broker.kind == "amqtt" and broker.host == "127.0.0.1"
        events = Subscriber(broker.host, broker.port, topics.events_filter(center_id))
        adapter = start_adapter(service, broker.host, broker.port)
        try:
            assert adapter.wait_connected(TIMEOUT)
            service.issue_ticket("dat-dai")
            _topic, payload, _ = events.next()
            assert Envelope.from_json(payload).data["ticket"]["number"] == "B001"
        finally:
            adapter.stop()
            events.close()
    finally:
        broker.stop()


def test_no_client_can_knock_the_hub_off_by_reusing_its_configured_id(mosquitto: Any, service: QueueService,
                                                                       center_id: str) -> None:
    """The configured client_id is only a prefix: a second client configured the same (a copied config, or an
    attacker who read it) gets another id, and the hub keeps answering commands."""
    settings = MqttSettings(host=mosquitto.host, port=mosquitto.port, keepalive_s=5, client_id="hub-shared")
    hub = MqttAdapter(settings, center_id, service)
    other = MqttAdapter(settings, center_id, service)
    hub.start()
    sub = Subscriber(mosquitto.host, mosquitto.port, topics.reply_filter(center_id))
    try:
        assert hub.wait_connected(TIMEOUT)
        assert hub.client.client_id.startswith("hub-shared-") and hub.client.client_id != other.client.client_id
        other.start()
        assert other.wait_connected(TIMEOUT)
        other.stop()
        assert hub.connected
        sub.publish(topics.cmd(center_id, "open"), CommandRequest("open", "k-1", {"counter": "1"}).to_json())
        while True:
            topic, payload, _ = sub.next()
            if topic == topics.reply(center_id, "open"):
                reply = CommandReply.from_json(payload)
                if reply.correlation_id == "k-1":
                    break
        assert reply.ok
    finally:
        sub.close()
        hub.stop()
