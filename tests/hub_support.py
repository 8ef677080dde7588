"""The one way tests (and benches) run a real hub: ``queue_server.wiring.build_hub`` on a temp SQLite file with a
FixedClock, optionally on the session's real Mosquitto and served by waitress on a free loopback port.

``tests/conftest.py``'s ``hub`` fixture builds a ``TestHub`` from the ``hub_options`` fixture; a test module or
folder overrides ``hub_options`` to say what it needs (MQTT, HTTP, its own settings or blueprints). ``TestHub``
passes unknown attributes to the running ``wiring.Hub`` (``.app``, ``.service``, ``.broadcaster`` ...).
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from api_support import MONDAY_0800, PASSWORD, make_settings
from netutil import free_port, wait_for_port


def _api_settings(tmp: Path) -> Any:
    return make_settings(tmp)


def _no_blueprints(settings: Any) -> list[Any]:
    return []


@dataclasses.dataclass
class HubOptions:
    """What a test wants of its hub. Factories run at every (re)start."""

    settings: Callable[[Path], Any] = _api_settings          # temp dir -> HubSettings
    at: datetime = MONDAY_0800                                # the FixedClock's start
    mqtt: bool = False                                        # on the session's Mosquitto
    unique_center: bool = False                               # a center id of its own on the shared broker
    serve: bool = False                                       # waitress on a free (or the given) loopback port
    port: int = 0
    blueprints: Callable[[Any], Sequence[Any]] | None = _no_blueprints  # settings -> extra blueprints (None: the defaults)
    keepalive_s: float = 0.05
    prepare: Callable[[Any], None] | None = None              # e.g. feed the dossier mirror
    password: str = PASSWORD


@dataclasses.dataclass
class TestHub:
    """One hub of a test's own; ``stop()`` then ``start()`` is a restart on the same file (and port)."""

    __test__ = False    # not a test class, whatever its name

    tmp: Path
    options: HubOptions
    broker: Any = None
    settings: Any = None
    clock: Any = None
    port: int = 0
    hub: Any = None

    @property
    def store_path(self) -> Path:
        return Path(self.settings.store_path)

    @property
    def password(self) -> str:
        return self.options.password

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __getattr__(self, name: str) -> Any:
        hub = self.__dict__.get("hub")
        if hub is None:
            raise AttributeError(name)
        return getattr(hub, name)

    def start(self, at: datetime | None = None) -> TestHub:
        from queue_server.app.ports import FixedClock
        from queue_server.config import MqttSettings
        from queue_server.wiring import build_hub

        if self.settings is None:
            self.settings = self.options.settings(self.tmp)
            if self.broker is not None:
                center, client_id = self.settings.center, f"hub-{self.tmp.name}"
                if self.options.unique_center:
                    center = dataclasses.replace(center, id=f"alerts-{time.monotonic_ns() % 10**9}")
                    client_id = f"hub-{center.id}"
                self.settings = dataclasses.replace(self.settings, center=center, mqtt=MqttSettings(
                    enabled=True, host=self.broker.host, port=self.broker.port, client_id=client_id))
        if self.clock is None:
            self.clock = FixedClock(at or self.options.at)
        blueprints = None if self.options.blueprints is None else list(self.options.blueprints(self.settings))
        self.hub = build_hub(self.settings, clock=self.clock, extra_blueprints=blueprints,
                             keepalive_s=self.options.keepalive_s)
        if self.options.prepare is not None:
            self.options.prepare(self.hub)
        self.hub.start_background()
        if self.broker is not None:
            assert self.hub.mqtt is not None and self.hub.mqtt.wait_connected(10)
        if self.options.serve:
            self.port = self.hub.serve_in_thread("127.0.0.1", self.port or self.options.port or free_port())
            wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.hub is not None:
            self.hub.stop()       # ends open event streams, so browsers see the hub go away
            self.hub = None

    def restart(self) -> None:
        self.stop()
        self.start()

    # --- the real API, the way a kiosk and staff use it
    def login(self, username: str) -> dict[str, str]:
        r = requests.post(f"{self.url}/api/v1/auth/login", json={"username": username, "password": self.password},
                          timeout=5)
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def issue(self, service: str) -> dict[str, Any]:
        r = requests.post(f"{self.url}/api/v1/tickets", json={"service": service}, timeout=5)
        assert r.status_code == 201, r.text
        ticket: dict[str, Any] = r.json()["ticket"]
        return ticket

    def post(self, path: str, headers: dict[str, str], body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = requests.post(f"{self.url}/api/v1{path}", json=body or {}, headers=headers, timeout=5)
        assert r.ok, r.text
        answer: dict[str, Any] = r.json()
        return answer


def launch_hub(tmp: Path, options: HubOptions | None = None, broker: Any = None) -> TestHub:
    """A started hub; the caller stops it (the ``hub`` fixture does)."""
    return TestHub(tmp, options or HubOptions(), broker).start()
