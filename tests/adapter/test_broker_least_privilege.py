"""`motcua deploy broker --config center.toml` → a real Mosquitto started from exactly the files it wrote.

Each forged publish is refused by the broker (a bridge commanding a counter not bound to it, a bridge forging
another device's status, a display publishing, a LAN client squatting the hub's client id) while each
legitimate one goes through; the LAN listener speaks TLS with the local CA through the shared client
(runtime.mqtt); the hub itself refuses a device command whose counter is not the bridge's.
"""
from __future__ import annotations

import getpass
import os
import queue
import shutil
import stat
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from netutil import free_port, wait_for_port

from contracts import topics
from contracts.messages import CommandReply, CommandRequest
from queue_server.__main__ import main as motcua
from queue_server.config import load_settings
from queue_server.deploy_broker import mosquitto_hash
from queue_server.mqtt_access import command_refusal
from runtime.mqtt import Message, MqttClient, MqttSettings

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(120)]
ROOT = Path(__file__).resolve().parents[2]
CENTER = "hcc-quang-tri"
WAIT = 10.0

INVENTORY = """
[[broker.clients]]
user = "bridge-1"
role = "bridge"
counters = ["1", "2"]
devices = ["keys-1", "pad-1"]

[[broker.clients]]
user = "bridge-2"
role = "bridge"
counters = ["3"]
devices = ["keys-3"]

[[broker.clients]]
user = "kiosk-1"
role = "kiosk"
devices = ["kiosk-1-printer"]

[[broker.clients]]
user = "display-hall"
role = "display"
"""


@dataclass
class Broker:
    dir: Path
    local_port: int
    lan_port: int
    config: Path

    def password(self, user: str) -> str:
        return (self.dir / "secrets" / f"{user}.password").read_text(encoding="utf-8").strip()

    def client(self, user: str, *, lan: bool = True, name: str = "", filters: tuple[str, ...] = (),
               prefix: str = "motcua") -> tuple[MqttClient, queue.Queue[Message]]:
        inbox: queue.Queue[Message] = queue.Queue()
        settings = MqttSettings(host="127.0.0.1", port=self.lan_port if lan else self.local_port, username=user,
                                password=self.password(user), tls_ca=str(self.dir / "certs" / "ca.crt") if lan
                                else None, client_id_prefix=prefix, keepalive=5)
        c = MqttClient(settings, name=name, subscriptions=list(filters), on_message=inbox.put)
        c.start()
        assert c.wait_ready(WAIT), f"{user}: not connected ({c.last_error})"
        return c, inbox


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
        pytest.skip("mosquitto is not installed")
    tmp = tmp_path_factory.mktemp("broker")
    cfg = tmp / "center.toml"
    example = (ROOT / "deploy" / "center.example.toml").read_text(encoding="utf-8")
    # the example's own [broker] users are replaced by this test's
    cfg.write_text(example.split("# Người dùng MQTT")[0] + INVENTORY, encoding="utf-8")
    out = tmp / "out"
    local, lan = free_port(), free_port()
    rc = motcua(["deploy", "broker", "--config", str(cfg), "--out-dir", str(out), "--hostname", "127.0.0.1",
                 "--lan-port", str(lan), "--local-port", str(local), "--persistence-dir", str(tmp) + "/"])
    assert rc == 0
    conf = out / "motcua.conf"
    # run as whoever runs the test (as root Mosquitto would drop to a "mosquitto" user that cannot read tmp)
    run_conf = tmp / "run.conf"
    run_conf.write_text(conf.read_text(encoding="utf-8") + f"user {getpass.getuser()}\n", encoding="utf-8")
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([exe, "-c", str(run_conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(local)
        wait_for_port(lan)
        yield Broker(out, local, lan, conf)
    finally:
        proc.terminate()
        proc.wait(10)


def test_generated_files_are_private_and_in_mosquittos_format(broker: Broker) -> None:
    for private in ("motcua.passwd", "secrets/bridge-1.password", "secrets/hub.password", "certs/ca.key",
                    "certs/server.key"):
        assert stat.S_IMODE(os.stat(broker.dir / private).st_mode) == 0o600, private
    assert (broker.dir / "secrets" / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    lines = (broker.dir / "motcua.passwd").read_text(encoding="utf-8").split()
    assert [line.split(":")[0] for line in lines] == ["hub", "bridge-1", "bridge-2", "kiosk-1", "display-hall"]
    assert all(line.split(":", 1)[1].startswith("$7$101$") for line in lines)
    # a hash mosquitto_passwd wrote verifies with ours (same salt → same hash)
    pw = broker.dir / "check.passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(pw), "u", "pässword"], check=True, capture_output=True)
    _, iters, salt, _digest = pw.read_text(encoding="utf-8").strip().split(":", 1)[1].split("$")[1:]
    import base64
    theirs = pw.read_text(encoding="utf-8").strip().split(":", 1)[1]
    assert mosquitto_hash("pässword", salt=base64.b64decode(salt), iterations=int(iters)) == theirs
    # a second run keeps every password (devices already configured are not locked out)
    before = broker.password("bridge-1")
    cfg = broker.dir.parent / "center.toml"
    assert motcua(["deploy", "broker", "--config", str(cfg), "--out-dir", str(broker.dir.parent / "out2"),
                   "--no-tls"]) == 0
    assert motcua(["deploy", "broker", "--config", str(cfg), "--out-dir", str(broker.dir), "--hostname",
                   "127.0.0.1", "--lan-port", str(broker.lan_port), "--local-port", str(broker.local_port)]) == 0
    assert broker.password("bridge-1") == before


def _wait_for(inbox: queue.Queue[Message], topic: str) -> Message:
    while True:
        msg = inbox.get(timeout=WAIT)
        if msg.topic == topic:
            return msg


def _drain(inbox: queue.Queue[Message]) -> list[Message]:
    out = []
    while True:
        try:
            out.append(inbox.get_nowait())
        except queue.Empty:
            return out


def test_forged_publishes_are_refused_and_legitimate_ones_go_through(broker: Broker) -> None:
    c = CENTER
    hub, hub_inbox = broker.client("hub", lan=False, name=f"hub-{c}", prefix="hub",
                                   filters=(topics.cmd_filter(c), topics.devices_filter(c, "+"),
                                            topics.state_filter(c)))
    bridge, _ = broker.client("bridge-1", name="keys-1", filters=(topics.reply_filter(c),))
    display, display_inbox = broker.client("display-hall", filters=(topics.state_filter(c),))
    kiosk, _ = broker.client("kiosk-1")
    clients = [hub, bridge, display, kiosk]
    try:
        def req(command: str, counter: str) -> str:
            return CommandRequest(command, uuid.uuid4().hex, {"counter": counter}, source="keys-1").to_json()

        forged = [
            (bridge, topics.cmd(c, "call-next", "3"), req("call-next", "3")),        # counter of bridge-2
            (bridge, topics.cmd(c, "call-next"), req("call-next", "3")),             # the unscoped topic
            (bridge, topics.device_availability(c, "keys-3"), "offline"),           # bridge-2's device
            (bridge, topics.device_state(c, "kiosk-1-printer"), '{"faults":["paper_out"]}'),
            (kiosk, topics.device_event(c, "pad-1"), '{"type":"fault"}'),           # a bridge's device
            (kiosk, topics.cmd(c, "call-next", "1"), req("call-next", "1")),         # kiosks send no commands
            (display, topics.state_calls(c), '{"calls":[]}'),                      # displays are read-only
            (display, topics.cmd(c, "open", "1"), req("open", "1")),
            (display, topics.device_availability(c, "pad-1"), "offline"),
        ]
        for client, topic, payload in forged:
            client.publish(topic, payload, qos=1).wait(WAIT)
        legit = [
            (bridge, topics.cmd(c, "call-next", "1"), req("call-next", "1")),
            (bridge, topics.cmd(c, "call-next", "2"), req("call-next", "2")),
            (bridge, topics.device_availability(c, "pad-1"), "online"),
            (kiosk, topics.device_state(c, "kiosk-1-printer"), '{"faults":[]}'),
        ]
        for client, topic, payload in legit:
            client.publish(topic, payload, qos=1).wait(WAIT)
        # the hub hears every legitimate one; one connection keeps a client's messages in order and each forged
        # one was sent before, so once the legitimate ones and a marker of the hub's own are in, nothing forged
        # can still be on its way
        heard: list[tuple[str, bytes]] = []
        want = {(t, p.encode()) for _, t, p in legit}
        hub.publish(topics.state_calls(c), '{"from":"hub"}', qos=1, retain=False).wait(WAIT)
        while not (want <= set(heard) and (topics.state_calls(c), b'{"from":"hub"}') in heard):
            m = hub_inbox.get(timeout=WAIT)
            heard.append((m.topic, m.payload))
        assert _wait_for(display_inbox, topics.state_calls(c)).payload == b'{"from":"hub"}'
        heard += [(m.topic, m.payload) for m in _drain(hub_inbox)]
        assert not {(t, p.encode()) for _, t, p in forged} & set(heard)
        # a display reads neither commands nor $SYS (where the broker reports client ids): Mosquitto grants the
        # subscription but delivers nothing the ACL does not allow
        spy, spy_inbox = broker.client("display-hall", name="spy",
                                       filters=(topics.cmd_filter(c), "$SYS/#", topics.hub_status(c)))
        clients.append(spy)
        corr = req("call-next", "1")
        bridge.publish(topics.cmd(c, "call-next", "1"), corr, qos=1).wait(WAIT)
        while hub_inbox.get(timeout=WAIT).payload != corr.encode():
            pass
        hub.publish(topics.hub_status(c), "online", qos=1, retain=False).wait(WAIT)
        spied = []
        while True:
            m = spy_inbox.get(timeout=WAIT)
            if m.topic == topics.hub_status(c):
                break
            spied.append(m.topic)
        assert spied == []
        print(f"forged publishes refused: {len(forged)}, legitimate delivered: {len(legit)}")
    finally:
        for cl in clients:
            cl.stop()


def test_a_lan_client_using_the_hubs_name_does_not_knock_it_off(broker: Broker) -> None:
    disconnects: list[str] = []
    settings = MqttSettings(host="127.0.0.1", port=broker.local_port, username="hub",
                            password=broker.password("hub"), client_id_prefix="hub")
    hub = MqttClient(settings, name=CENTER, on_disconnect=disconnects.append)
    hub.start()
    assert hub.wait_ready(WAIT)
    try:
        # a display on the LAN connects with the hub's configured prefix and name: its id still gets its own
        # random suffix (runtime.mqtt), and nobody but the hub may read $SYS where the broker reports ids
        squatter, _ = broker.client("display-hall", name=CENTER, prefix="hub")
        try:
            assert squatter.client_id != hub.client_id and squatter.client_id.startswith(f"hub-{CENTER}-")
            ping, inbox = broker.client("display-hall", name="ping", filters=(topics.hub_status(CENTER),))
            hub.publish(topics.hub_status(CENTER), "online", qos=1, retain=False).wait(WAIT)
            assert _wait_for(inbox, topics.hub_status(CENTER)).payload == b"online"
            ping.stop()
            assert hub.connected and not disconnects
        finally:
            squatter.stop()
    finally:
        hub.stop()


def test_tls_on_the_lan_listener_refuses_a_client_without_the_ca(broker: Broker) -> None:
    settings = MqttSettings(host="127.0.0.1", port=broker.lan_port, username="display-hall",
                            password=broker.password("display-hall"), tls=True)   # system CAs only
    c = MqttClient(settings, name="no-ca", min_backoff_s=1, max_backoff_s=1)
    c.start()
    try:
        assert not c.wait_ready(3)
    finally:
        c.stop()
    plain = MqttClient(MqttSettings(host="127.0.0.1", port=broker.lan_port, username="display-hall",
                                    password=broker.password("display-hall")), name="plain")
    plain.start()
    try:
        assert not plain.wait_ready(3)        # no TLS, no connection
    finally:
        plain.stop()
    wrong = MqttClient(MqttSettings(host="127.0.0.1", port=broker.lan_port, username="display-hall",
                                    password="not-the-password", tls_ca=str(broker.dir / "certs" / "ca.crt")),
                       name="wrong")
    wrong.start()
    try:
        assert not wrong.wait_ready(3)
    finally:
        wrong.stop()


def test_the_hub_refuses_a_command_for_a_counter_not_bound_to_the_sending_bridge(
        broker: Broker, tmp_path: Path) -> None:
    """The hub's own check, through its MQTT adapter on the generated broker (defence in depth: an ACL edited
    by hand or a lab broker)."""
    from hub_center import MONDAY_0800

    from queue_server.adapters.mqtt import MqttAdapter
    from queue_server.adapters.sqlite_store import SqliteStore
    from queue_server.app.ports import FixedClock
    from queue_server.app.queue_service import QueueService
    from queue_server.config import MqttSettings as HubMqtt

    settings = load_settings(broker.dir.parent / "center.toml")
    inv = settings.broker
    service = QueueService(settings.center, SqliteStore(tmp_path / "hub.sqlite3"), FixedClock(MONDAY_0800))
    adapter = MqttAdapter(HubMqtt(host="127.0.0.1", port=broker.local_port, username="hub",
                                  password=broker.password("hub"), keepalive_s=5),
                          CENTER, service, access=inv)
    adapter.start()
    bridge, replies = broker.client("bridge-1", name="keys-1", filters=(topics.reply_filter(CENTER),))
    try:
        assert adapter.wait_connected(WAIT)

        def send(topic_counter: str, counter: str, source: str = "keys-1") -> CommandReply:
            corr = uuid.uuid4().hex
            bridge.publish(topics.cmd(CENTER, "open", topic_counter),
                           CommandRequest("open", corr, {"counter": counter}, source=source).to_json(), qos=1)
            while True:
                reply = CommandReply.from_json(_wait_for(replies, topics.reply(CENTER, "open")).payload)
                if reply.correlation_id == corr:
                    return reply

        # payload says counter 3 on counter 1's topic: refused and counted
        bad = send("1", "3")
        assert not bad.ok and (bad.error or {}).get("code") == "forbidden"
        ok = send("1", "1")
        assert ok.ok, ok.error
        assert adapter.refused_commands == 1
        # a nested-JSON bomb gets an error reply (not a traceback in the log, not silence)
        bridge.publish(topics.cmd(CENTER, "open", "1"), b"[" * 5000 + b"]" * 5000, qos=1)
        while True:
            reply = CommandReply.from_json(_wait_for(replies, topics.reply(CENTER, "open")).payload)
            if reply.correlation_id == "":
                break
        assert not reply.ok and (reply.error or {}).get("code") == "bad_request"
        assert "nested" in (reply.error or {}).get("message", "")
    finally:
        bridge.stop()
        adapter.stop()
        service.close()


def test_command_refusal_rules() -> None:
    settings = load_settings(ROOT / "deploy" / "center.example.toml")
    assert settings.broker is not None       # the shipped example lists its MQTT users
    from queue_server.mqtt_access import parse_broker

    inv = parse_broker({"clients": [{"user": "b1", "role": "bridge", "counters": ["1"], "devices": ["k1"]},
                                    {"user": "b2", "role": "bridge", "counters": ["2"], "devices": ["k2"]}]},
                       CENTER, {"1", "2", "3"})
    args: dict[str, Any] = {"counter": "1"}
    assert command_refusal(inv, "1", "call-next", args, "k1") is None
    assert command_refusal(inv, "2", "call-next", {"counter": "2"}, "k1") is not None   # b2's counter
    assert command_refusal(inv, "", "call-next", args, "k1") is not None                # unscoped from a bridge
    assert command_refusal(inv, "1", "call-next", {"counter": "2"}, "k1") is not None   # payload ≠ topic
    assert command_refusal(inv, "3", "open", {"counter": "3"}, "?") is not None        # bound to no bridge
    assert command_refusal(inv, "", "open", {"counter": "3"}, "console") is None         # the hub's own tools
    assert command_refusal(None, "", "open", {"counter": "3"}, "k1") is None             # lab broker


def test_device_keys_are_generated_private_and_a_hub_without_keys_refuses_to_start(tmp_path: Path) -> None:
    import sys

    cfg = ROOT / "deploy" / "center.example.toml"
    assert motcua(["deploy", "device-keys", "--config", str(cfg), "--out-dir", str(tmp_path),
                   "--device", "tablet-5"]) == 0
    env = tmp_path / "secrets" / "hub-device-keys.env"
    assert stat.S_IMODE(os.stat(env).st_mode) == 0o600
    keys = [(tmp_path / "secrets" / f"{d}.device-key").read_text(encoding="utf-8").strip()
            for d in ("kiosk-1", "tablet-5")]
    assert all(len(k) >= 24 for k in keys) and all(k in env.read_text(encoding="utf-8") for k in keys)
    # the shipped example has no keys: the hub refuses to start (one clear line, exit 2), unless --lab
    run = subprocess.run([sys.executable, "-m", "queue_server", "hub", "--config", str(cfg), "--port", "0"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "MOTCUA_STORE__PATH": str(tmp_path / "h.db")})
    assert run.returncode == 2 and "device_keys" in run.stderr and "Traceback" not in run.stderr
    # with the generated keys in the environment (the EnvironmentFile's line), config check is quiet about keys
    value = env.read_text(encoding="utf-8").split("=", 1)[1].strip().strip("'")
    check = subprocess.run([sys.executable, "-m", "queue_server", "config", "check", str(cfg)], cwd=ROOT, check=False,
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PYTHONPATH": str(ROOT), "MOTCUA_SECURITY__DEVICE_KEYS": value})
    assert check.returncode == 0 and "device_keys is empty" not in check.stderr
    assert "demo password" in check.stderr          # the example's users: loud
