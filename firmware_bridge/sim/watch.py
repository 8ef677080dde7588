"""A tiny MQTT observer for tests, bench and demo: collects messages and waits for one that matches."""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


@dataclass(frozen=True, slots=True)
class Seen:
    topic: str
    payload: bytes
    retain: bool
    at: float

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8", "replace")


class TopicWatch:
    def __init__(self, host: str, port: int, filters: list[str]) -> None:
        self.messages: list[Seen] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"watch-{uuid.uuid4().hex[:8]}")
        self.client.on_connect = lambda c, u, f, rc, p=None: self._subscribe(filters)
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("watch: no SUBACK")

    def _subscribe(self, filters: list[str]) -> None:
        self.client.subscribe([(f, 1) for f in filters])

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        seen = Seen(msg.topic, bytes(msg.payload), bool(msg.retain), time.monotonic())
        with self._cond:
            self.messages.append(seen)
            self._cond.notify_all()

    def wait_for(self, topic: str, match: Callable[[Seen], bool] = lambda m: True, timeout: float = 20.0,
                 after: int = 0) -> Seen:
        """The first message on ``topic`` (index ≥ ``after``) that ``match``es; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.messages[after:]:
                    if m.topic == topic and match(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    recent = [(m.topic, m.text[:80]) for m in self.messages[-8:]]
                    raise TimeoutError(f"no matching message on {topic} within {timeout}s; recent: {recent}")
                self._cond.wait(left)

    def mark(self) -> int:
        with self._cond:
            return len(self.messages)

    def publish(self, topic: str, payload: str, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
