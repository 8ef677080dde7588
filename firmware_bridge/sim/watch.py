"""A tiny MQTT observer for tests, bench and demo: collects messages and waits for one that matches."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from runtime.mqtt import Message, MqttClient, MqttError, MqttSettings


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
    """Subscribed (SUBACK received) when the constructor returns; ``settings`` for a TLS or password broker."""

    def __init__(self, host: str, port: int, filters: list[str], settings: MqttSettings | None = None) -> None:
        self.messages: list[Seen] = []
        self._cond = threading.Condition()
        self.client = MqttClient(settings or MqttSettings(host=host, port=port), name="watch",
                                 subscriptions=filters, on_message=self._on_message)
        try:
            self.client.connect(10)
        except MqttError as err:
            raise TimeoutError(f"watch: {err}") from err

    def _on_message(self, msg: Message) -> None:
        seen = Seen(msg.topic, msg.payload, msg.retain, time.monotonic())
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
        self.client.publish(topic, payload, qos=1, retain=retain).wait(5)

    def close(self) -> None:
        self.client.stop()
