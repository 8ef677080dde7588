"""runtime.mqtt.MqttClient against a real Mosquitto with TLS listeners, a throwaway CA made in the test and a
password file made by mosquitto_passwd: TLS connect, a wrong CA or password refused, client certificates,
the Last Will on an abrupt end, "ready" only after SUBACK, random client ids, reconnect after a restart."""
from __future__ import annotations

import logging
import queue
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from tls_broker import PASSWORD, USER, TlsBroker, start_tls_mosquitto

from runtime.mqtt import Message, MqttClient, MqttError, MqttSettings, Will

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    broker = start_tls_mosquitto(tmp_path_factory.mktemp("tls-mosquitto"))
    yield broker
    broker.stop()


def settings_for(b: TlsBroker, **changes: object) -> MqttSettings:
    base = MqttSettings(host="127.0.0.1", port=b.tls_port, username=USER, password=PASSWORD,
                        tls_ca=str(b.pki.ca), client_id_prefix="motcua-test", keepalive=5)
    return replace(base, **changes)  # type: ignore[arg-type]


class Inbox:
    """A subscribed client whose messages land in a queue."""

    def __init__(self, settings: MqttSettings, filters: list[str], name: str = "inbox") -> None:
        self.messages: queue.Queue[Message] = queue.Queue()
        self.client = MqttClient(settings, name=name, subscriptions=filters, on_message=self.messages.put)

    def expect(self, topic: str, timeout: float = 10.0) -> Message:
        while True:
            msg = self.messages.get(timeout=timeout)
            if msg.topic == topic:
                return msg


def test_connects_over_tls_with_a_password_and_round_trips_a_message(tls_broker: TlsBroker,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="motcua.wire.mqtt")
    topic = f"test/{uuid.uuid4().hex}"
    inbox = Inbox(settings_for(tls_broker), [topic])
    inbox.client.connect(10)
    try:
        assert inbox.client.connected
        sock = inbox.client._client.socket()
        assert isinstance(sock, ssl.SSLSocket)                                  # TLS, not plain TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)          # no Nagle delay
        assert inbox.client.publish(topic, "xin chào", qos=1).wait(5)
        assert inbox.expect(topic).text == "xin chào"
    finally:
        inbox.client.stop()
    wire = [r.getMessage() for r in caplog.records if r.name == "motcua.wire.mqtt"]
    assert f">>> {topic} xin chào" in wire and f"<<< {topic} xin chào" in wire


def test_a_broker_certificate_from_another_ca_is_refused(tls_broker: TlsBroker) -> None:
    client = MqttClient(settings_for(tls_broker, tls_ca=str(tls_broker.pki.other_ca)))
    with pytest.raises(MqttError, match="certificate verify failed"):
        client.connect(3)
    assert not client.connected


def test_a_wrong_password_is_refused(tls_broker: TlsBroker) -> None:
    client = MqttClient(settings_for(tls_broker, password="not-the-password"))
    with pytest.raises(MqttError, match="(?i)not authori[sz]ed|bad user name or password"):
        client.connect(3)


def test_the_hostname_is_verified_by_default(tls_broker: TlsBroker) -> None:
    # the test CA signed the server certificate for 127.0.0.1 only: the same broker named "localhost" is refused
    client = MqttClient(settings_for(tls_broker, host="localhost"))
    with pytest.raises(MqttError, match="(?i)hostname mismatch"):
        client.connect(3)
    # ... unless the operator turned the check off (a broker reached by an address its certificate lacks)
    MqttClient(settings_for(tls_broker, host="localhost", tls_verify_hostname=False)).connect(10).stop()


def test_a_listener_that_requires_a_client_certificate(tls_broker: TlsBroker) -> None:
    without = MqttClient(settings_for(tls_broker, port=tls_broker.mutual_port))
    with pytest.raises(MqttError):
        without.connect(3)
    with_cert = MqttClient(settings_for(tls_broker, port=tls_broker.mutual_port,
                                        tls_cert=str(tls_broker.pki.client_cert),
                                        tls_key=str(tls_broker.pki.client_key)))
    with_cert.connect(10)
    with_cert.stop()


def test_the_last_will_is_delivered_when_a_client_dies(tls_broker: TlsBroker) -> None:
    topic = f"test/{uuid.uuid4().hex}/availability"
    watcher = Inbox(settings_for(tls_broker), [topic], "watch")
    watcher.client.connect(10)
    s = settings_for(tls_broker)
    script = textwrap.dedent(f"""
        import sys, time
        from runtime.mqtt import MqttClient, MqttSettings, Will
        s = MqttSettings(host={s.host!r}, port={s.port}, username={s.username!r}, password={s.password!r},
                         tls_ca={s.tls_ca!r}, keepalive=5)
        c = MqttClient(s, name="dying", will=Will({topic!r}, "offline"))
        c.connect(10)
        c.publish({topic!r}, "online", retain=True).wait(5)
        print("ready", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        assert watcher.expect(topic).text == "online"
        proc.send_signal(signal.SIGKILL)       # no DISCONNECT: the broker must speak for it
        proc.wait(5)
        assert watcher.expect(topic).text == "offline"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        watcher.client.stop()


def test_a_graceful_stop_says_the_will_itself(tls_broker: TlsBroker) -> None:
    topic = f"test/{uuid.uuid4().hex}/availability"
    watcher = Inbox(settings_for(tls_broker), [topic], "watch")
    watcher.client.connect(10)
    client = MqttClient(settings_for(tls_broker), name="leaving", will=Will(topic, "offline"))
    client.connect(10)
    client.stop()
    assert watcher.expect(topic).text == "offline"
    watcher.client.stop()


def test_ready_only_after_the_broker_acknowledged_the_subscriptions(tls_broker: TlsBroker) -> None:
    topic = f"test/{uuid.uuid4().hex}/cmd"
    ready_at_connack: list[bool] = []
    inbox = Inbox(settings_for(tls_broker), [topic, f"{topic}/more"])
    inbox.client.on_connect = lambda: ready_at_connack.append(inbox.client.ready.is_set())
    sender = MqttClient(settings_for(tls_broker), name="sender").connect(10)
    try:
        inbox.client.start()
        assert inbox.client.wait_ready(10)
        assert ready_at_connack == [False]
        # the very first message published once ready is heard: nothing is lost between CONNACK and SUBACK
        sender.publish(topic, "call-next").wait(5)
        assert inbox.expect(topic).text == "call-next"
        assert inbox.client.refused_filters == []
    finally:
        sender.stop()
        inbox.client.stop()


def test_two_clients_with_the_same_prefix_get_different_ids_and_both_stay_on(tls_broker: TlsBroker) -> None:
    topic = f"test/{uuid.uuid4().hex}"
    first = Inbox(settings_for(tls_broker), [topic], "hub-hcc")
    second = MqttClient(settings_for(tls_broker), name="hub-hcc")
    assert first.client.client_id != second.client_id
    assert first.client.client_id.startswith("motcua-test-hub-hcc-")
    assert second.client_id.startswith("motcua-test-hub-hcc-")
    first.client.connect(10)
    second.connect(10)
    try:
        # had the second taken the first's id, the broker would have dropped the first: it still hears
        second.publish(topic, "still here").wait(5)
        assert first.expect(topic).text == "still here"
        assert first.client.connected
    finally:
        second.stop()
        first.client.stop()


def test_reconnects_and_resubscribes_after_a_broker_restart(tmp_path: Path) -> None:
    broker = start_tls_mosquitto(tmp_path)
    topic = f"test/{uuid.uuid4().hex}"
    lost = threading.Event()
    inbox = Inbox(settings_for(broker), [topic])
    inbox.client.on_disconnect = lambda why: lost.set()
    try:
        inbox.client.connect(10)
        broker.restart()
        assert lost.wait(10), "the client never noticed the broker going away"
        assert inbox.client.wait_ready(20), f"no reconnect: {inbox.client.last_error}"
        sender = MqttClient(settings_for(broker), name="sender").connect(10)
        sender.publish(topic, "after restart").wait(5)
        assert inbox.expect(topic).text == "after restart"
        sender.stop()
    finally:
        inbox.client.stop()
        broker.stop()


def test_settings_that_cannot_work_are_named(tmp_path: Path) -> None:
    with pytest.raises(MqttError, match=r"mqtt\.tls_ca: cannot load"):
        MqttClient(MqttSettings(tls_ca=str(tmp_path / "missing.crt")))
    with pytest.raises(MqttError, match=r"mqtt\.tls_key: given without mqtt\.tls_cert"):
        MqttClient(MqttSettings(tls=True, tls_key=str(tmp_path / "k.pem")))
    assert Will("a/b", "offline").retain


def test_the_bridge_and_device_health_reach_a_tls_broker(tls_broker: TlsBroker, tmp_path: Path) -> None:
    """What deploy/mosquitto.conf asks of LAN clients: TLS, a password; the bridge's config keys carry it."""
    from contracts import topics
    from devices.health import DeviceHealthPublisher
    from firmware_bridge.bridge import Bridge
    from firmware_bridge.config import settings_from_dict
    from firmware_bridge.sim.watch import TopicWatch

    center = f"c-{uuid.uuid4().hex[:8]}"
    watch = TopicWatch("127.0.0.1", tls_broker.tls_port, [topics.devices_filter(center, "availability")],
                       settings=settings_for(tls_broker))
    bridge = Bridge(settings_from_dict({
        "bridge": {"center": center, "mqtt_host": "127.0.0.1", "mqtt_port": tls_broker.tls_port,
                   "mqtt_username": USER, "mqtt_password": PASSWORD, "mqtt_tls_ca": str(tls_broker.pki.ca)},
        "devices": [{"id": "led-5", "kind": "led_display", "port": str(tmp_path / "no-such-port"), "counter": "5"}],
    }, env={}))
    health = DeviceHealthPublisher(center, "printer-1", "printer", mqtt=settings_for(tls_broker))
    bridge.start()
    health.start()
    try:
        # the bridge's link says its (unplugged) device is offline, over TLS; the printer says it is online
        watch.wait_for(topics.device_availability(center, "led-5"), lambda m: m.text == "offline", timeout=15)
        watch.wait_for(topics.device_availability(center, "printer-1"), lambda m: m.text == "online", timeout=15)
    finally:
        health.stop()
        bridge.stop()
        watch.close()


def test_the_bridge_config_names_a_missing_certificate_file(tmp_path: Path) -> None:
    from firmware_bridge.config import BridgeConfigError, settings_from_dict

    with pytest.raises(BridgeConfigError, match=r"bridge\.mqtt_tls_ca: no such file"):
        settings_from_dict({"bridge": {"center": "c", "mqtt_tls_ca": str(tmp_path / "ca.crt")}}, env={})
