"""Shared fixtures: a real Mosquitto broker on a free loopback port (once per session) and the one ``hub``."""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hub_support import HubOptions, TestHub, launch_hub
from netutil import free_port, wait_for_port  # re-exported: tests import them from conftest

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@dataclass
class Broker:
    host: str
    port: int
    process: subprocess.Popen[bytes]
    config: Path

    def restart(self) -> None:
        """Stop and start the same broker on the same port (for reconnect tests)."""
        self.stop()
        self.process = _spawn(self.config)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _spawn(config: Path) -> subprocess.Popen[bytes]:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return subprocess.Popen([exe, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_mosquitto(workdir: Path) -> Broker:
    port = free_port()
    config = workdir / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence false\n"
        "max_inflight_messages 0\n"
        "max_queued_messages 100000\n"
    )
    proc = _spawn(config)
    wait_for_port(port)
    return Broker("127.0.0.1", port, proc, config)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory):
    """A real Mosquitto on a free 127.0.0.1 port for the whole session."""
    if not (shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto")):
        pytest.fail("mosquitto is not installed: run `make test`, which installs it")
    broker = start_mosquitto(tmp_path_factory.mktemp("mosquitto"))
    yield broker
    broker.stop()


@pytest.fixture
def fresh_mosquitto(tmp_path: Path):
    """A broker of the test's own, for tests that stop and restart it."""
    broker = start_mosquitto(tmp_path)
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def hub_options() -> HubOptions:
    """What the ``hub`` fixture builds; a module or folder overrides this fixture to ask for MQTT, HTTP, settings."""
    return HubOptions()


@pytest.fixture
def hub(request: pytest.FixtureRequest, tmp_path: Path, hub_options: HubOptions) -> Iterator[TestHub]:
    """THE hub of a test: queue_server.wiring.build_hub on a temp SQLite file and a FixedClock (tests/hub_support)."""
    broker = request.getfixturevalue("mosquitto") if hub_options.mqtt else None
    running = launch_hub(tmp_path, hub_options, broker)
    yield running
    running.stop()
