"""`motcua deploy broker --config center.toml` → a real Mosquitto started from exactly the files it wrote.

Each forged publish is refused by the broker (a bridge commanding a counter not bound to it, a bridge forging
another device's status, a display publishing, a LAN client squatting the hub's client id) while each
legitimate one goes through; the LAN listener speaks TLS with the local CA through the shared client
(runtime.mqtt); the hub itself refuses a device command whose counter is not the bridge's.

Client ids (issue 11, rest): the broker replaces every id with the user name, so a display or a bridge
connecting with the hub's EXACT client id leaves the hub connected and answering, and gets only its own ACL; a
process restarting under its own user replaces its old session. Ratings from pads: only a bridge's pad, on a
counter bound to it (and to the pad), for the ticket just served there — through this broker and through the
hub's own check on a lab broker without any ACL.
"""
from __future__ import annotations

import getpass
import os
import queue
import shutil
import stat
import subprocess
import threading
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
from queue_server.mqtt_access import BrokerInventory, command_refusal
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
device_counters = { pad-1 = "1" }

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

    @property
    def log(self) -> str:
        path = self.dir.parent / "mosquitto.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

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
    run_conf.write_text(conf.read_text(encoding="utf-8") + f"user {getpass.getuser()}\n"
                        f"log_dest file {tmp / 'mosquitto.log'}\nlog_type all\n", encoding="utf-8")
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
    assert "device_keys is empty" not in check.stderr
    # the example's users are on the public demo password: refused now (tests/e2e/test_config_runs.py sets them)
    assert check.returncode == 2 and "demo password" in check.stderr


# --- client ids cannot be taken over; ratings bound to their counter (issue 11, the rest) -----------------------

def test_the_generated_config_ties_client_ids_to_users_on_every_listener(broker: Broker) -> None:
    lines = broker.config.read_text(encoding="utf-8").splitlines()
    listeners = [i for i, line in enumerate(lines) if line.startswith("listener ")]
    assert len(listeners) == 2
    for start, end in zip(listeners, [*listeners[1:], len(lines)], strict=True):
        # per listener: Mosquitto 2.0.11 loses it above the first `listener` line (measured: then a second user
        # with the same id still knocks the first off)
        assert "use_username_as_clientid true" in lines[start:end]
    assert "per_listener_settings false" in lines


@dataclass
class Hub:
    adapter: Any
    service: Any
    ratings: Any
    disconnects: list[str]

    def close(self) -> None:
        self.adapter.stop()
        self.service.close()
        self.ratings.store.close()


def _hub(port: int, tmp_path: Path, inv: BrokerInventory | None, *, username: str | None = None,
         password: str | None = None, registry: Any = None) -> Hub:
    """The hub's MQTT side as queue_server.wiring builds it: queue commands, submit-rating, the [broker] check."""
    from hub_center import MONDAY_0800

    from queue_server.adapters.mqtt import MqttAdapter
    from queue_server.adapters.ratings_store import RatingsStore
    from queue_server.adapters.sqlite_store import SqliteStore
    from queue_server.app.ports import FixedClock
    from queue_server.app.queue_service import QueueService
    from queue_server.app.ratings_service import RatingsService, make_submit_rating_command
    from queue_server.config import MqttSettings as HubMqtt

    settings = load_settings(ROOT / "deploy" / "center.example.toml")
    clock = FixedClock(MONDAY_0800)
    db = tmp_path / "hub.sqlite3"
    service = QueueService(settings.center, SqliteStore(db), clock)
    ratings = RatingsService(RatingsStore(db), clock, service.last_completed, service.record_event, center=CENTER)
    adapter = MqttAdapter(HubMqtt(host="127.0.0.1", port=port, username=username, password=password,
                                  keepalive_s=5), CENTER, service, access=inv)
    adapter.commands.register("submit-rating", make_submit_rating_command(ratings))
    adapter.device_registry = registry
    disconnects: list[str] = []
    adapter.client.on_disconnect = disconnects.append
    service.add_listener(adapter.on_events)
    adapter.start()
    assert adapter.wait_connected(WAIT)
    return Hub(adapter, service, ratings, disconnects)


class Requester:
    """Sends commands as one device and waits for the hub's reply to exactly that request."""

    def __init__(self, client: MqttClient, replies: queue.Queue[Message], source: str) -> None:
        self.client, self.replies, self.source = client, replies, source

    def send(self, command: str, topic_counter: str | None, args: dict[str, Any]) -> str:
        req = CommandRequest(command, uuid.uuid4().hex, args, source=self.source)
        self.client.publish(topics.cmd(CENTER, command, topic_counter), req.to_json(), qos=1).wait(WAIT)
        return req.correlation_id

    def reply(self, command: str, corr: str) -> CommandReply:
        while True:
            reply = CommandReply.from_json(_wait_for(self.replies, topics.reply(CENTER, command)).payload)
            if reply.correlation_id == corr:
                return reply

    def ask(self, command: str, topic_counter: str | None, args: dict[str, Any]) -> CommandReply:
        return self.reply(command, self.send(command, topic_counter, args))


def test_a_display_or_a_bridge_using_the_hubs_exact_client_id_does_not_knock_it_off(
        broker: Broker, tmp_path: Path) -> None:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    hub = _hub(broker.local_port, tmp_path, load_settings(broker.dir.parent / "center.toml").broker,
               username="hub", password=broker.password("hub"))
    hub_id = hub.adapter.client.client_id
    bridge, replies = broker.client("bridge-1", name="keys-1", filters=(topics.reply_filter(CENTER),))
    attackers: list[paho.Client] = []
    heard: queue.Queue[tuple[str, bytes]] = queue.Queue()
    try:
        keys = Requester(bridge, replies, "keys-1")
        assert keys.ask("open", "1", {"counter": "1"}).ok
        attempts = []
        for user, lan in (("display-hall", True), ("bridge-2", True), ("display-hall", False), ("kiosk-1", False)):
            # a raw client that sends the hub's exact id (runtime.mqtt would add a random suffix)
            c = paho.Client(CallbackAPIVersion.VERSION2, client_id=hub_id, protocol=paho.MQTTv311)
            c.username_pw_set(user, broker.password(user))
            if lan:
                c.tls_set(ca_certs=str(broker.dir / "certs" / "ca.crt"))
            connected = threading.Event()
            c.on_connect = lambda cl, u, f, rc, p=None, ev=connected: ev.set()
            c.on_message = lambda cl, u, m: heard.put((m.topic, bytes(m.payload)))
            c.connect("127.0.0.1", broker.lan_port if lan else broker.local_port, keepalive=5)
            c.loop_start()
            attackers.append(c)
            assert connected.wait(WAIT), f"{user}: the squatter could not even connect"
            # it reads and writes only what its own user may: commands and $SYS stay out of reach
            c.subscribe([(topics.cmd_filter(CENTER), 1), ("$SYS/#", 1)])
            c.publish(topics.cmd(CENTER, "close", "1"),
                      CommandRequest("close", "squat", {"counter": "1"}, source="keys-1").to_json(), qos=1
                      ).wait_for_publish(WAIT)
            attempts.append(user)
            # the hub is still connected and still answers a command after each attempt
            reply = keys.ask("pause", "1", {"counter": "1", "reason": "kiểm tra"})
            assert reply.ok, reply.error
            assert keys.ask("resume", "1", {"counter": "1"}).ok
            assert hub.adapter.connected and hub.disconnects == [], f"{user} knocked the hub off"
        # the "close counter 1" each squatter sent never reached the hub (their ACLs): counter 1 is still open,
        # the hub never lost its connection, and no squatter read a command or $SYS
        assert keys.ask("pause", "1", {"counter": "1"}).ok
        assert hub.adapter.connected and hub.disconnects == [] and hub.adapter.refused_commands == 0
        spied = [t for t, _ in _drain_pairs(heard) if "/cmd/" in t or t.startswith("$SYS")]
        assert spied == [], spied
        print(f"takeover attempts with the hub's exact client id: {len(attempts)}, refused: {len(attempts)} "
              f"(hub disconnects: {len(hub.disconnects)})")
    finally:
        for c in attackers:
            c.loop_stop()
            c.disconnect()
        bridge.stop()
        hub.close()


def _drain_pairs(q: queue.Queue[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    out = []
    while True:
        try:
            out.append(q.get_nowait())
        except queue.Empty:
            return out


def test_a_process_restarting_under_its_own_user_replaces_its_old_session(
        broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    """A hung old process (its socket still open) is replaced by the restarted one, which then stays connected;
    two LIVE connections of one user do knock each other off — why one user is one process instance."""
    import signal
    import sys

    script = (
        "import sys, time\n"
        "from runtime.mqtt import MqttClient, MqttSettings\n"
        f"s = MqttSettings(host='127.0.0.1', port={broker.lan_port}, username='kiosk-1', "
        f"password={broker.password('kiosk-1')!r}, tls_ca={str(broker.dir / 'certs' / 'ca.crt')!r}, keepalive=5)\n"
        "c = MqttClient(s, name='kiosk-1')\n"
        "c.connect(10)\n"
        "print('ready', flush=True)\n"
        "time.sleep(120)\n")
    old = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    new: MqttClient | None = None
    try:
        assert old.stdout is not None and old.stdout.readline().strip() == "ready"
        old.send_signal(signal.SIGSTOP)        # hung: the broker still holds its connection
        lost: list[str] = []
        new, inbox = broker.client("kiosk-1", name="kiosk-1", filters=(topics.hub_status(CENTER),))
        new.on_disconnect = lost.append
        old.kill()                             # systemd gives up on the hung one
        old.wait(10)
        # the new connection works: a retained-free round trip through the broker, and no disconnect since
        hub, _ = broker.client("hub", lan=False, name="hub")
        try:
            for i in range(3):
                hub.publish(topics.hub_status(CENTER), f"ping-{i}", qos=1, retain=False).wait(WAIT)
                while _wait_for(inbox, topics.hub_status(CENTER)).payload != f"ping-{i}".encode():
                    pass        # the retained status of an earlier test comes first
        finally:
            hub.stop()
        assert new.connected and lost == []
        # a second LIVE connection under the same user takes the session over (the broker names both by the
        # user): this is what a config sharing one user between two processes would do, every few seconds
        twin, _ = broker.client("kiosk-1", name="twin")
        try:
            pause = threading.Event()
            for _ in range(50):
                if lost:
                    break
                pause.wait(0.1)
            assert lost, "the first connection of kiosk-1 should have been replaced by its twin"
            # they keep replacing each other: the shared client names the likely cause and slows down
            for _ in range(300):
                if new.suspected_twin or twin.suspected_twin:
                    break
                pause.wait(0.1)
            assert new.suspected_twin or twin.suspected_twin
            assert "another client is probably connected as user 'kiosk-1'" in caplog.text
        finally:
            twin.stop()
            new.stop()
            new = None
    finally:
        if old.poll() is None:
            old.kill()
            old.wait(10)
        if new is not None:
            new.stop()


def _serve(service: Any, counter: str, what: str = "ho-tich") -> str:
    service.open_counter(counter)
    service.issue_ticket(what)
    ticket = service.call_next(counter)
    service.start_service(counter)
    service.complete(counter)
    return str(ticket.id)


def test_ratings_from_pads_are_bound_to_their_counter_over_the_generated_broker(
        broker: Broker, tmp_path: Path) -> None:
    hub = _hub(broker.local_port, tmp_path, load_settings(broker.dir.parent / "center.toml").broker,
               username="hub", password=broker.password("hub"))
    bridge, replies = broker.client("bridge-1", name="pad-1", filters=(topics.reply_filter(CENTER),))
    try:
        at_1, at_2 = _serve(hub.service, "1"), _serve(hub.service, "2")
        _serve(hub.service, "4", "dat-dai")
        pad = Requester(bridge, replies, "pad-1")

        def rate(counter: str | None, ticket: str, **extra: Any) -> str:
            return pad.send("submit-rating", counter, {"counter": counter, "level": 3, "source": "pad-1",
                                                       "ticket": ticket, **extra})

        # refused by the broker (bridge-1 may not write these topics): no reply ever comes
        dropped = [rate("3", at_2), rate("4", at_2), rate(None, at_1)]
        # refused by the hub, with an error reply and a log line
        refused = {
            "another counter's ticket": pad.reply("submit-rating", rate("1", at_2)),
            "a counter of the bridge the pad is not bound to": pad.reply("submit-rating", rate("2", at_2)),
            "dossier codes from a pad": pad.reply("submit-rating", rate("1", at_1, dossier_codes=["000.00.00.H00-261123-0001"])),
        }
        ok = pad.ask("submit-rating", "1", {"counter": "1", "level": 3, "source": "pad-1", "ticket": at_1})
        assert ok.ok, ok.error
        for why, reply in refused.items():
            assert not reply.ok and (reply.error or {}).get("code") == "forbidden", (why, reply)
        assert hub.ratings.store.count() == 1
        stray = [CommandReply.from_json(m.payload).correlation_id for m in _drain(replies)]
        assert not set(dropped) & set(stray)
        print(f"ratings over the generated broker: {len(dropped)} dropped by the ACL, {len(refused)} refused by "
              f"the hub, 1 accepted")
    finally:
        bridge.stop()
        hub.close()


def test_ratings_from_pads_are_bound_to_their_counter_by_the_hub_alone(mosquitto: Any, tmp_path: Path) -> None:
    """A lab broker without any ACL: the hub's own check (the [broker] inventory) is all that stands."""
    cfg = tmp_path / "center.toml"
    example = (ROOT / "deploy" / "center.example.toml").read_text(encoding="utf-8")
    cfg.write_text(example.split("# Người dùng MQTT")[0] + INVENTORY, encoding="utf-8")
    hub = _hub(mosquitto.port, tmp_path, load_settings(cfg).broker)
    anyone = MqttClient(MqttSettings(host="127.0.0.1", port=mosquitto.port), name="lab",
                        subscriptions=[topics.reply_filter(CENTER)])
    replies: queue.Queue[Message] = queue.Queue()
    anyone.on_message = replies.put
    anyone.start()
    assert anyone.wait_ready(WAIT)
    try:
        at_1, at_2 = _serve(hub.service, "1"), _serve(hub.service, "2")
        _serve(hub.service, "4", "dat-dai")

        def ask(counter: str | None, source: str, ticket: str, **extra: Any) -> CommandReply:
            return Requester(anyone, replies, source).ask("submit-rating", counter, {
                "counter": counter, "level": 2, "source": source, "ticket": ticket, **extra})

        refused = {
            "bridge-2's counter": ask("3", "pad-1", at_2),
            "a counter bound to no bridge": ask("4", "pad-1", at_2),
            "the unscoped topic": ask(None, "pad-1", at_1),
            "another counter's ticket": ask("1", "pad-1", at_2),
            "the pad's bridge's other counter": ask("2", "pad-1", at_2),
            "a device of no bridge": ask("1", "tablet-9", at_1),
            "a kiosk's device": ask("1", "kiosk-1-printer", at_1),
            "payload source differs": Requester(anyone, replies, "pad-1").ask("submit-rating", "1", {
                "counter": "1", "level": 2, "source": "keys-1", "ticket": at_1}),
        }
        for why, reply in refused.items():
            assert not reply.ok and (reply.error or {}).get("code") == "forbidden", (why, reply)
        assert hub.ratings.store.count() == 0
        assert ask("1", "pad-1", at_1).ok
        assert hub.ratings.store.count() == 1
        print(f"ratings through a lab broker: {len(refused)} refused by the hub, 1 accepted")
    finally:
        anyone.stop()
        hub.close()


def test_a_site_broker_bridged_to_the_province_starts_and_still_forwards(tmp_path: Path) -> None:
    """`deploy broker --config ... --province-host` writes ONE motcua.conf (the bridge's persistence once: a
    conf.d snippet beside it made Mosquitto refuse to start, "Duplicate persistence_location"); the bridge's local
    side lives inside Mosquitto, so use_username_as_clientid leaves it alone and events still reach the province."""
    from province.bridge import province_broker_conf

    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    province_port, local, lan = free_port(), free_port(), free_port()
    (tmp_path / "province").mkdir()
    pconf = tmp_path / "province.conf"
    pconf.write_text(province_broker_conf(str(tmp_path / "province") + "/") + f"listener {province_port} 127.0.0.1\n"
                     f"allow_anonymous true\nuser {getpass.getuser()}\n", encoding="utf-8")
    cfg = tmp_path / "center.toml"
    example = (ROOT / "deploy" / "center.example.toml").read_text(encoding="utf-8")
    cfg.write_text(example.split("# Người dùng MQTT")[0] + INVENTORY, encoding="utf-8")
    out = tmp_path / "site"
    (tmp_path / "site-data").mkdir()
    assert motcua(["deploy", "broker", "--config", str(cfg), "--out-dir", str(out), "--no-tls", "--lan-port",
                   str(lan), "--local-port", str(local), "--persistence-dir", str(tmp_path / "site-data") + "/",
                   "--province-host", "127.0.0.1", "--province-port", str(province_port)]) == 0
    text = (out / "motcua.conf").read_text(encoding="utf-8")
    assert text.count("persistence_location") == 1 and f"connection motcua-{CENTER}" in text
    run_conf = tmp_path / "site.conf"
    run_conf.write_text(text + f"\nuser {getpass.getuser()}\n", encoding="utf-8")
    procs = [subprocess.Popen([exe, "-c", str(c)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for c in (pconf, run_conf)]
    clients: list[MqttClient] = []
    try:
        for port in (province_port, local, lan):
            wait_for_port(port)
        inbox: queue.Queue[Message] = queue.Queue()
        province = MqttClient(MqttSettings(port=province_port), name="province",
                              subscriptions=[topics.events_filter(CENTER)], on_message=inbox.put)
        clients.append(province)
        assert province.connect(WAIT)
        files = Broker(out, local, lan, out / "motcua.conf")
        hub, _ = Broker.client(files, "hub", lan=False, name="hub")
        clients.append(hub)
        event = topics.event(CENTER, "ticket.called")
        deadline = 0
        while True:   # the bridge connects on its own schedule (restart_timeout): publish until one arrives
            hub.publish(event, f'{{"n":{deadline}}}', qos=1).wait(WAIT)
            try:
                got = inbox.get(timeout=1)
                break
            except queue.Empty:
                deadline += 1
                assert deadline < 30, "no event reached the province broker"
        assert got.topic == event and hub.connected
        # and the site broker still ties ids to users: a second live "hub" replaces the first
        lost: list[str] = []
        hub.on_disconnect = lost.append
        twin, _ = Broker.client(files, "hub", lan=False, name="twin")
        clients.append(twin)
        for _ in range(50):
            if lost:
                break
            threading.Event().wait(0.1)
        assert lost
    finally:
        for c in clients:
            c.stop()
        for p in procs:
            p.terminate()
            p.wait(10)


def test_every_process_is_one_connection_under_its_own_user(broker: Broker, tmp_path: Path) -> None:
    """The audit, on the broker's own log: the hub, a bridge with several devices and a kiosk with several devices
    each open ONE connection under their user (a second one would replace the first: "already connected")."""
    import re

    from devices.health import DeviceHealthGroup
    from firmware_bridge.bridge import Bridge
    from firmware_bridge.config import BridgeSettings, DeviceBinding
    from queue_server.adapters.device_registry import DeviceRegistry

    before = len(broker.log)
    inv = load_settings(broker.dir.parent / "center.toml").broker
    assert inv is not None
    registry = DeviceRegistry(CENTER, owners={**{c.user: c.user for c in inv.clients},
                                              **{d: c.user for c in inv.clients for d in c.devices}})
    hub = _hub(broker.local_port, tmp_path, inv, username="hub", password=broker.password("hub"),
               registry=registry)
    ca = str(broker.dir / "certs" / "ca.crt")
    bridge = Bridge(BridgeSettings(
        center=CENTER, mqtt_host="127.0.0.1", mqtt_port=broker.lan_port, mqtt_username="bridge-1",
        mqtt_password=broker.password("bridge-1"), mqtt_tls=True, mqtt_tls_ca=ca,
        devices=(DeviceBinding("keys-1", "staff_keypad", str(tmp_path / "no-port-keys-1"), "1"),
                 DeviceBinding("pad-1", "rating_pad", str(tmp_path / "no-port-pad-1"), "1"))))
    kiosk = DeviceHealthGroup(CENTER, "kiosk-1", "kiosk", MqttSettings(
        host="127.0.0.1", port=broker.lan_port, username="kiosk-1", password=broker.password("kiosk-1"), tls_ca=ca))
    printer = kiosk.add("kiosk-1-printer", "printer")
    bridge.start()
    kiosk.start()
    try:
        assert printer.wait_connected(WAIT) and bridge.client.wait_ready(WAIT)
        # what the processes say about themselves reaches the hub's registry (their devices/<user>/ topics are
        # allowed): the bridge and the kiosk online, the devices behind each carried by it
        pause = threading.Event()

        def state() -> dict[str, tuple[str, str | None]]:
            return {r.id: (r.availability, r.via) for r in registry.devices()}

        want = {"bridge-1": ("online", None), "kiosk-1": ("online", None),
                "kiosk-1-printer": ("online", "kiosk-1"), "pad-1": ("offline", "bridge-1"),
                "keys-1": ("offline", "bridge-1")}
        for _ in range(100):
            if all(state().get(k) == v for k, v in want.items()):
                break
            pause.wait(0.1)
        assert {k: state().get(k) for k in want} == want
        log = broker.log[before:]
        for user in ("hub", "bridge-1", "kiosk-1"):
            # "New client connected from 127.0.0.1:port as <id> (p2, c1, k5, u'<user>')": the id IS the user
            ids = re.findall(rf"New client connected from \S+ as (\S+) \([^)]*u'{re.escape(user)}'\)", log)
            assert ids == [user], (user, ids)
        assert "already connected" not in log
    finally:
        kiosk.stop()
        bridge.stop()
        hub.close()
