"""The full counter chain with the real hub, broker and bridge, devices running their firmware in other
processes: keypad "next" → the hub calls → the LED display shows the number; completion → the rating pad
lights up → a key press stores the rating → rating.submitted is published; a second rating is refused."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
from hub_center import HO_TICH, MONDAY_0800, make_center

from contracts import topics
from contracts.messages import CommandReply, CommandRequest, CounterState, Envelope
from firmware_bridge.bridge import Bridge
from firmware_bridge.config import BridgeSettings, DeviceBinding
from firmware_bridge.sim.virtual_device import VirtualDevice
from firmware_bridge.sim.watch import TopicWatch
from queue_server.adapters.mqtt import MqttAdapter, queue_commands
from queue_server.adapters.ratings_store import RatingsStore
from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app.ports import FixedClock
from queue_server.app.queue_service import QueueService
from queue_server.app.ratings_service import RatingsService, make_submit_rating_command
from queue_server.config import MqttSettings
from queue_server.domain.model import CounterDef, CounterId

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
CODE = "000.00.12.H38-241023-0001"


@dataclass
class Chain:
    center: str
    service: QueueService
    ratings: RatingsService
    watch: TopicWatch
    keypad: VirtualDevice
    led: VirtualDevice
    pad: VirtualDevice
    bridge: Bridge


@pytest.fixture
def chain(mosquitto, tmp_path: Path) -> Iterator[Chain]:
    center_id = f"e2e-{uuid.uuid4().hex[:8]}"
    center = replace(make_center(), id=center_id,
                     counters=(CounterDef(CounterId("5"), "Quầy 5", (HO_TICH,)),))
    clock = FixedClock(MONDAY_0800 + timedelta(hours=1))
    db = tmp_path / "motcua.sqlite3"
    service = QueueService(center, SqliteStore(db), clock)
    registry = queue_commands(service)
    adapter = MqttAdapter(MqttSettings(host=mosquitto.host, port=mosquitto.port), center_id, service,
                          registry, client_id=f"hub-{center_id}")

    # As queue_server.wiring does it: a stored rating enters the hub's event log, and MQTT publishes it from there.
    ratings = RatingsService(RatingsStore(db), clock, service.last_completed, service.record_event,
                             center=center_id)
    registry.register("submit-rating", make_submit_rating_command(ratings))
    service.add_listener(adapter.on_events)
    adapter.start()
    assert adapter.wait_connected(10)
    watch = TopicWatch(mosquitto.host, mosquitto.port, [f"motcua/v1/{center_id}/#"])
    devices = {
        "kp-05": VirtualDevice("staff_keypad", "kp-05", tmp_path / "by-id-kp-05"),
        "led-05": VirtualDevice("led_display", "led-05", tmp_path / "by-id-led-05"),
        "pad-05": VirtualDevice("rating_pad", "pad-05", tmp_path / "by-id-pad-05"),
    }
    kinds = {"kp-05": "staff_keypad", "led-05": "led_display", "pad-05": "rating_pad"}
    for dev in devices.values():
        dev.plug()
    bridge = Bridge(BridgeSettings(center=center_id, mqtt_host=mosquitto.host, mqtt_port=mosquitto.port,
                                   devices=tuple(DeviceBinding(d, kinds[d], str(v.stable_path), "5")
                                                 for d, v in devices.items())))
    bridge.start()
    try:
        for d in devices:
            watch.wait_for(topics.device_availability(center_id, d), lambda m: m.text == "online")
        yield Chain(center_id, service, ratings, watch, devices["kp-05"], devices["led-05"], devices["pad-05"],
                    bridge)
    finally:
        bridge.stop()
        for dev in devices.values():
            dev.stop()
        watch.close()
        adapter.stop()
        service.close()
        ratings.store.close()


def test_keypad_call_lights_the_display_and_the_rating_is_stored(chain: Chain) -> None:
    c = chain
    c.service.open_counter("5", staff="lan")
    first = c.service.issue_ticket("ho-tich").ticket
    c.service.issue_ticket("ho-tich")
    assert first.display == "A001"

    c.keypad.press("next")
    req = CommandRequest.from_json(c.watch.wait_for(topics.cmd(c.center, "call-next", "5")).payload)
    assert req.args == {"counter": "5"} and req.source == "kp-05"
    reply = CommandReply.from_json(c.watch.wait_for(topics.reply(c.center, "call-next"),
                                                    lambda m: req.correlation_id in m.text).payload)
    assert reply.ok and reply.result is not None and reply.result["ticket"]["number"] == "A001"
    assert c.led.wait_for("show A001") == "show A001|blink"
    assert c.keypad.wait_for("show Đang gọi") == "show Đang gọi A001"
    state = CounterState.from_json(c.watch.wait_for(
        topics.state_counter(c.center, "5"), lambda m: json.loads(m.payload).get("current_ticket") == "A001").payload)
    assert state.current_status == "called"

    c.keypad.press("start")
    assert c.keypad.wait_for("show Đang phục vụ") == "show Đang phục vụ A001"
    c.pad.clear()
    c.keypad.press("complete")
    assert c.pad.wait_for("leds ") == "leds 7"        # the three rating keys light up

    c.pad.press("1")                                  # key 1 = Rất hài lòng (3)
    event = Envelope.from_json(c.watch.wait_for(topics.event(c.center, "rating.submitted")).payload)
    assert event.data["ticket_id"] == first.id and event.data["level"] == 3
    assert event.data["counter"] == "5" and event.data["source"] == "pad-05" and event.data["staff"] == "lan"
    assert c.pad.wait_for("leds 15") == "leds 15|blink"   # thank-you blink
    assert c.ratings.store.count() == 1
    # it is in the hub's event log with a real, gap-free seq (so the outbox delivers it to the main system)
    logged = c.service.events_after(event.seq - 1, limit=1)
    assert [(e.id, e.type) for e in logged] == [(event.id, "rating.submitted")]
    assert [e.seq for e in c.service.events_after(0)] == list(range(1, c.service.last_seq + 1))

    # A second rating for the same ticket: re-light the pad by hand, press again → refused, nothing stored.
    mark = c.watch.mark()
    c.watch.publish(topics.device_set(c.center, "pad-05"), json.dumps({"enable": 3}))
    assert c.pad.wait_for("leds ") == "leds 7"
    c.pad.press("2")
    # the answer to THIS press, by its correlation id: the first press's reply is published after its event
    # and may reach the watch only now, after the mark
    second = CommandRequest.from_json(c.watch.wait_for(topics.cmd(c.center, "submit-rating", "5"), after=mark).payload)
    assert second.source == "pad-05" and second.args["level"] == 2
    refused = CommandReply.from_json(c.watch.wait_for(topics.reply(c.center, "submit-rating"),
                                                      lambda m: second.correlation_id in m.text, after=mark).payload)
    assert not refused.ok and refused.error is not None and refused.error["code"] == "already_rated"
    assert "A001" in refused.error["message"]
    assert c.pad.wait_for("leds 1") == "leds 1|blink"     # the pad shows the refusal
    assert c.ratings.store.count() == 1


def test_a_dossier_code_rated_once_is_refused_for_the_next_ticket(chain: Chain) -> None:
    c = chain
    c.service.open_counter("5")
    for _ in range(2):
        c.service.issue_ticket("ho-tich")
    answers = []
    for _ in range(2):
        mark = c.watch.mark()
        c.keypad.press("next")
        c.led.wait_for("show A")
        c.keypad.press("start")
        c.keypad.press("complete")
        c.pad.wait_for("leds 7")
        # the staff console (or a tablet) rates with the dossier code the staff entered
        req = CommandRequest("submit-rating", str(uuid.uuid4()), {"counter": "5", "level": 2,
                                                                  "dossier_codes": [CODE]}, source="console")
        c.watch.publish(topics.cmd(c.center, "submit-rating", "5"), req.to_json())
        answers.append(CommandReply.from_json(c.watch.wait_for(
            topics.reply(c.center, "submit-rating"), lambda m, cid=req.correlation_id: cid in m.text,
            after=mark).payload))
    assert answers[0].ok
    assert not answers[1].ok and answers[1].error is not None and answers[1].error["code"] == "already_rated"
    assert CODE in answers[1].error["message"]
    assert c.ratings.store.count() == 1
