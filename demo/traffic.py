"""The broker seen from the side: which device sent which command, and what the hub answered."""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from contracts import topics
from runtime.mqtt import Message, MqttClient, MqttError, MqttSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reply:
    command: str
    source: str | None
    ok: bool
    code: str | None


class DeviceTraffic:
    """An MQTT observer: pairs each ``cmd/<command>`` with its ``reply/<command>`` by correlation id, so the demo
    knows that a call was made by keypad kp-1 and whether the hub took it; follows device availability."""

    def __init__(self, center: str, host: str, port: int) -> None:
        self.center = center
        self.replies: list[Reply] = []
        self.online: dict[str, bool] = {}
        self._sources: dict[str, tuple[str, str | None]] = {}
        self._cond = threading.Condition()
        filters = [topics.cmd_filter(center), topics.reply_filter(center), topics.devices_filter(center, "availability")]
        self.client = MqttClient(MqttSettings(host=host, port=port), name="demo", subscriptions=filters,
                                 on_message=self._on_message)
        try:
            self.client.connect(10)       # returns once the broker acknowledged the subscriptions
        except MqttError as err:
            raise TimeoutError(str(err)) from err

    def _on_message(self, msg: Message) -> None:
        try:
            parsed = topics.parse(msg.topic)
            if parsed.kind == "device_availability":
                with self._cond:
                    self.online[parsed.key] = msg.payload == b"online"
                    self._cond.notify_all()
                return
            body = json.loads(msg.payload)
            corr = str(body.get("correlation_id", ""))
            with self._cond:
                if parsed.kind == "cmd":
                    self._sources[corr] = (parsed.key, body.get("source"))
                elif parsed.kind == "reply":
                    _, source = self._sources.pop(corr, (parsed.key, None))
                    code = (body.get("error") or {}).get("code") if not body.get("ok") else None
                    self.replies.append(Reply(parsed.key, source, bool(body.get("ok")), code))
                    self._cond.notify_all()
        except (ValueError, AttributeError, topics.TopicError):
            log.debug("demo: unreadable message on %s", msg.topic)

    def mark(self) -> int:
        with self._cond:
            return len(self.replies)

    def wait_reply(self, command: str, source: str, after: int, timeout: float) -> Reply | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for r in self.replies[after:]:
                    if r.command == command and r.source == source:
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def wait_online(self, devices: list[str], timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: all(self.online.get(d) for d in devices), timeout)

    def from_devices(self) -> dict[str, int]:
        """Answers the hub gave to device commands: ok per command, and refusals per error code."""
        with self._cond:
            seen = [r for r in self.replies if r.source]
        counts: Counter[str] = Counter()
        for r in seen:
            counts[f"{r.command}:{'ok' if r.ok else r.code}"] += 1
        return dict(counts)

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        self.client.publish(topic, json.dumps(payload), qos=1)

    def stop(self) -> None:
        self.client.stop()
