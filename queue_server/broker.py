"""Starts an MQTT broker for one-command runs (``motcua demo``, bench): Mosquitto when it is installed, else an
embedded amqtt broker in a background thread.

Both listen on 127.0.0.1 only. amqtt's defaults bind 0.0.0.0:1883 and load a packet logger and $SYS publishing,
so its listener and plugins are always given explicitly (feasibility.md §5). Production uses a Mosquitto the
system runs (deploy/mosquitto.conf), not this module.
"""
from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None)


@dataclass
class RunningBroker:
    kind: str                       # "mosquitto" or "amqtt"
    host: str
    port: int
    _stop: Any = field(repr=False, default=None)

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None


def start_broker(port: int | None = None, *, prefer: str = "auto", host: str = "127.0.0.1") -> RunningBroker:
    """``prefer``: auto (Mosquitto if installed), mosquitto, amqtt."""
    port = port or free_port(host)
    exe = find_mosquitto()
    if prefer == "mosquitto" and exe is None:
        raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
    if exe is not None and prefer in ("auto", "mosquitto"):
        return _start_mosquitto(exe, host, port)
    return _start_amqtt(host, port)


def _start_mosquitto(exe: str, host: str, port: int) -> RunningBroker:
    workdir = Path(tempfile.mkdtemp(prefix="motcua-mosquitto-"))
    config = workdir / "mosquitto.conf"
    config.write_text(
        f"listener {port} {host}\n"
        "allow_anonymous true\n"          # loopback only; production config: deploy/mosquitto.conf
        "persistence false\n"
        "max_inflight_messages 0\n"
        "max_queued_messages 100000\n"
        "set_tcp_nodelay true\n"          # no Nagle delay between a state snapshot and the next event
        "log_type error\n"
        "log_type warning\n"
    )
    proc = subprocess.Popen([exe, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(host, port)
    except TimeoutError:
        proc.kill()
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise RuntimeError(f"mosquitto did not start on {host}:{port}: {err.strip()}") from None

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        shutil.rmtree(workdir, ignore_errors=True)

    log.info("broker: mosquitto on %s:%s (pid %s)", host, port, proc.pid)
    return RunningBroker("mosquitto", host, port, stop)


def _start_amqtt(host: str, port: int) -> RunningBroker:
    from amqtt.broker import Broker  # type: ignore[import-untyped]

    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[Exception] = []
    broker: Broker | None = None

    def run() -> None:
        nonlocal broker
        asyncio.set_event_loop(loop)
        try:
            broker = Broker(config, loop=loop)
            loop.run_until_complete(broker.start())
        except Exception as err:  # noqa: BLE001 - reported to the caller below
            failure.append(err)
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, name="amqtt-broker", daemon=True)
    thread.start()
    started.wait(15)
    if failure:
        raise RuntimeError(f"embedded amqtt broker failed to start: {failure[0]}") from failure[0]
    if not started.is_set():
        raise RuntimeError("embedded amqtt broker did not start within 15 s")

    def stop() -> None:
        if broker is not None and loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(broker.shutdown(), loop)
            try:
                fut.result(10)
            except Exception:          # shutting down anyway
                log.debug("amqtt shutdown raised", exc_info=True)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)

    log.info("broker: embedded amqtt on %s:%s", host, port)
    return RunningBroker("amqtt", host, port, stop)
