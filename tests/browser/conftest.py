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
from pathlib import Path
from typing import Any

import pytest
from hub_support import HubOptions
from netutil import free_port, wait_for_port  # noqa: F401 - re-exported: tests import them from conftest

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


def _settings(tmp: Path) -> Any:
    from werkzeug.security import generate_password_hash

    from queue_server.config import UserDef, load_settings

    base = load_settings(EXAMPLE_CONFIG, environ={})
    # A cheap hash: the suite logs in often and the point here is the flow, not the hash cost.
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    users = tuple(UserDef(name, role, pw, name) for name, role in USERS)
    # a center with four kiosks (the example names kiosk-1): POST /help answers only the kiosks the inventory names
    from queue_server.mqtt_access import BrokerClient

    kiosks = tuple(BrokerClient(f"kiosk-{n}", "kiosk", (f"kiosk-{n}-printer",)) for n in (2, 3, 4))
    broker = dataclasses.replace(base.broker, clients=(*base.broker.clients, *kiosks))
    return dataclasses.replace(base, store_path=tmp / "hub.sqlite3", users=users, broker=broker)


@pytest.fixture
def hub_options(voice_dir: Path) -> HubOptions:
    """The root ``hub`` fixture, here: the session's real Mosquitto, served on a free port, the display pages."""
    def displays(settings: Any) -> list[Any]:
        from displays.blueprint import DisplaySettings, make_displays_blueprint

        return [make_displays_blueprint(voice_dir, settings=DisplaySettings.from_object(settings.display))]

    return HubOptions(settings=_settings, mqtt=True, serve=True, blueprints=displays, keepalive_s=1.0,
                      password=PASSWORD)


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
                                  timezone_id="Asia/Ho_Chi_Minh",
                                  # Playwright's own wait_for_function evaluates strings, which the hub's CSP
                                  # (no eval) blocks; the pages' own scripts are files (tests/adapter/test_web_edge)
                                  bypass_csp=True)
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(15000)
        return page

    yield make
    for ctx in contexts:
        ctx.close()
