"""The Mosquitto bridge written by ``motcua deploy broker`` loses nothing: two real brokers (site, province), the
province broker stopped, events published at the site, the site broker killed (a power cut) and restarted during
the outage, the province back — every event reaches the province sink's persistent session, once and in order,
and, ingested from there, is in PostgreSQL exactly once with no gap."""
from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from province.simulate import busy_day
from province.store import ProvinceStore
from queue_server.__main__ import main as motcua
from queue_server.broker import find_mosquitto, free_port, wait_for_port
from tests.province.pgfix import pg_dsn, pg_server  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

N = 1500
SITE = "xa-bridge"
TOPIC = f"motcua/v1/{SITE}/event/ticket.issued"


class Broker:
    def __init__(self, root: Path, name: str, extra: str) -> None:
        self.dir = root / name
        self.dir.mkdir()
        self.port = free_port()
        (self.dir / "mosquitto.conf").write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\nlog_dest file {self.dir}/log.txt\n" + extra)
        if os.geteuid() == 0:          # mosquitto drops root for its user: it must own its persistence dir
            entry = pwd.getpwnam("mosquitto")
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Broker:
        self.proc = subprocess.Popen([find_mosquitto() or "mosquitto", "-c", str(self.dir / "mosquitto.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port("127.0.0.1", self.port)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None


def sink(port: int, count: int, timeout: int) -> subprocess.Popen[bytes]:
    """The province sink: a persistent QoS 1 session (-c) under a fixed client id."""
    return subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", "motcua/v1/+/event/#",
                             "-q", "1", "-c", "-i", "province-sink", "-C", str(count), "-W", str(timeout)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def brokers() -> Iterator[tuple[Broker, Broker]]:
    if not find_mosquitto() or not shutil.which("mosquitto_sub"):
        pytest.fail("mosquitto and mosquitto-clients are installed by make test")
    # not pytest's tmp_path: its parents are root-only, and mosquitto (running as its own user) must reach
    # its persistence directory, or persistence silently does nothing
    tmp_path = Path(tempfile.mkdtemp(prefix="motcua-bridge-"))
    tmp_path.chmod(0o711)
    province_conf = tmp_path / "province.conf"
    province = Broker(tmp_path, "province", "")
    assert motcua(["deploy", "broker", "--role", "province", "--persistence-dir", str(province.dir),
                   "--out", str(province_conf)]) == 0
    province.dir.joinpath("mosquitto.conf").write_text(
        province.dir.joinpath("mosquitto.conf").read_text() + province_conf.read_text())
    site = Broker(tmp_path, "site", "")
    site_conf = tmp_path / "site.conf"
    assert motcua(["deploy", "broker", "--site", SITE, "--province-host", "127.0.0.1",
                   "--province-port", str(province.port), "--persistence-dir", str(site.dir),
                   "--out", str(site_conf)]) == 0
    text = site_conf.read_text()
    assert "max_queued_messages 0" in text and "cleansession false" in text and f"topic {TOPIC[:-13]}# out 1" \
        in text.replace("event/#", "event/#")
    site.dir.joinpath("mosquitto.conf").write_text(site.dir.joinpath("mosquitto.conf").read_text() + text)
    try:
        yield site.start(), province.start()
    finally:
        site.stop()
        province.stop()
        shutil.rmtree(tmp_path, ignore_errors=True)


def publish(port: int, lines: list[str]) -> None:
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", TOPIC, "-q", "1", "-l"],
                   input=("\n".join(lines) + "\n").encode(), check=True, timeout=60)


def test_bridge_loses_nothing_across_outage_and_site_power_cut(brokers: tuple[Broker, Broker], pg_dsn: str) -> None:
    site, province = brokers
    # the sink's session exists and the bridge is up: a first event goes through
    first = sink(province.port, 1, 20)
    time.sleep(0.3)
    deadline = time.monotonic() + 20
    hellos = 0
    while first.poll() is None and time.monotonic() < deadline:
        publish(site.port, ["hello"])
        hellos += 1
        time.sleep(0.5)
    out, _ = first.communicate(timeout=20)
    assert out.split(b"\n")[0] == b"hello", "the bridge never came up"

    province.stop()                                           # the province is down
    day = [e for _, e in zip(range(N), busy_day(SITE, date(2026, 11, 23), tickets=N), strict=False)]
    events = [json.dumps(e, ensure_ascii=False) for e in day]
    publish(site.port, events)                                # the site keeps working
    time.sleep(1.5)                                           # > autosave_interval
    site.stop(signal.SIGKILL)                                 # a power cut at the site during the outage
    site.start()
    province.start()                                          # the province comes back

    got = sink(province.port, N + hellos - 1, 40)     # hellos sent while the bridge came up arrive too
    out, err = got.communicate(timeout=60)
    received = [line for line in out.decode().split("\n") if line and line != "hello"]
    assert received == events, f"{len(received)} of {N} arrived; {err.decode()[:200]}"
    store = ProvinceStore(pg_dsn)
    try:
        store.ingest(SITE, [json.loads(line) for line in received])
        assert store.events_of(SITE) == [(e["seq"], e["id"]) for e in day]
        assert store.gaps() == []
    finally:
        store.close()
