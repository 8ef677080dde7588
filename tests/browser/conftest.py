"""Browser test fixtures: the REAL hub (queue_server.wiring.build_hub: QueueService on a temp SQLite file, waitress,
SSE, the MQTT adapter on the session's real Mosquitto, the displays blueprint) on a free port in a thread, a voice
pack generated with espeak-ng, and Debian's Chromium driven by Playwright.

The hub's clock is a FixedClock on a working-day morning so issuing never hits "outside working hours" whatever
the time the suite runs; tests advance it where a rule needs time to pass (recall delay).
"""
from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from netutil import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = ROOT / "deploy" / "center.example.toml"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic",
                 # what the hall TV's kiosk launcher passes too: calls must be heard without a click
                 "--autoplay-policy=no-user-gesture-required"]
PASSWORD = "motcua-test"


USERS = (("staff1", "staff"), ("staff2", "staff"), ("staff3", "staff"), ("staff4", "staff"), ("manager", "manager"))


@pytest.fixture(scope="session")
def voice_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Clips made the way `make` makes them at install time (espeak-ng + sox)."""
    from displays.voice_pack import build

    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.fail("espeak-ng and sox are needed: run `make test`, which installs them")
    folder = tmp_path_factory.mktemp("voice")
    build(folder)
    return folder


@dataclasses.dataclass
class Hub:
    """One running hub; ``restart()`` stops it and starts a new process-equivalent on the same port and file."""

    store_path: Path
    voice_dir: Path
    port: int
    password: str = PASSWORD
    settings: Any = None
    service: Any = None
    clock: Any = None
    _hub: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, at: datetime | None = None) -> None:
        """Build the hub exactly as `motcua hub` does (queue_server.wiring: waitress, MQTT adapter, SSE)."""
        from displays.blueprint import DisplaySettings, make_displays_blueprint
        from queue_server.app.ports import FixedClock
        from queue_server.wiring import build_hub

        if self.clock is None:
            from contracts.messages import VN_TZ
            self.clock = FixedClock(at or datetime(2026, 11, 23, 8, 0, tzinfo=VN_TZ))   # a Monday, 08:00
        displays = make_displays_blueprint(self.voice_dir,
                                           settings=DisplaySettings.from_object(self.settings.display))
        self._hub = build_hub(self.settings, clock=self.clock, extra_blueprints=[displays], keepalive_s=1.0)
        self.service = self._hub.service
        self._hub.start_background()
        self._hub.serve_in_thread("127.0.0.1", self.port)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self._hub is None:
            return
        self._hub.stop()          # ends open event streams, so browsers see the hub go away
        self._hub = None

    def restart(self) -> None:
        self.stop()
        self.start()

    # --- helpers that drive the real API the way a kiosk and staff do
    def login(self, username: str) -> dict[str, str]:
        r = requests.post(f"{self.url}/api/v1/auth/login", json={"username": username, "password": PASSWORD},
                          timeout=5)
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def issue(self, service: str) -> dict[str, Any]:
        r = requests.post(f"{self.url}/api/v1/tickets", json={"service": service}, timeout=5)
        assert r.status_code == 201, r.text
        return r.json()["ticket"]

    def post(self, path: str, headers: dict[str, str], body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = requests.post(f"{self.url}/api/v1{path}", json=body or {}, headers=headers, timeout=5)
        assert r.ok, r.text
        return r.json()


def _settings(store_path: Path, broker: Any) -> Any:
    from werkzeug.security import generate_password_hash

    from queue_server.config import MqttSettings, UserDef, load_settings

    base = load_settings(EXAMPLE_CONFIG, environ={})
    # A cheap hash: the suite logs in often and the point here is the flow, not the hash cost.
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    users = tuple(UserDef(name, role, pw, name) for name, role in USERS)
    mqtt = MqttSettings(enabled=True, host=broker.host, port=broker.port, client_id=f"hub-{store_path.parent.name}")
    return dataclasses.replace(base, store_path=store_path, users=users, mqtt=mqtt)


@pytest.fixture
def hub(tmp_path: Path, voice_dir: Path, mosquitto: Any) -> Iterator[Hub]:
    """A real hub of the test's own (fresh SQLite file, the session's real Mosquitto), served on a free port."""
    store = tmp_path / "hub.sqlite3"
    h = Hub(store_path=store, voice_dir=voice_dir, port=free_port(), settings=_settings(store, mosquitto))
    h.start()
    yield h
    h.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope, not session: Playwright's sync API allows one instance at a time, and other teams' browser
    # tests start their own; ours must be closed before their module runs.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page_factory(browser: Any) -> Iterator[Any]:
    """New pages in fresh contexts (separate sessionStorage), all closed after the test."""
    contexts: list[Any] = []

    def make(width: int = 1366, height: int = 768) -> Any:
        ctx = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh")
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(15000)
        return page

    yield make
    for ctx in contexts:
        ctx.close()
