"""The one MQTT client every motcua process uses (hub, firmware bridge, device health, watchers, demo).

It is the only module that imports paho. It gives each process the same connection habits: host, port,
username/password, TLS (CA file, client certificate and key; the broker's hostname verified unless turned off),
a client id made of a prefix and a random suffix (so nobody can knock another client off by reusing its id),
a Last Will, subscriptions sent on every (re)connect with "ready" reported only once the broker acknowledged
them (SUBACK: before that, a message published to us is lost), reconnect with exponential backoff, TCP
no-delay, and wire logging on the DEBUG logger ``motcua.wire.mqtt`` (``>>>`` out, ``<<<`` in).

Callbacks run on paho's network thread: keep them short, and never let an exception escape (this module
catches and logs any, because paho's thread would otherwise die and the process go deaf).
Must not import queue_server, kiosk, devices, displays or firmware_bridge; it holds no topic layout (that is
contracts/topics.py) and no domain rule.
"""
from __future__ import annotations

import contextlib
import logging
import re
import secrets
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

log = logging.getLogger(__name__)
wire = logging.getLogger("motcua.wire.mqtt")      # DEBUG: every message in and out

WIRE_PAYLOAD_CHARS = 500     # a wire log line shows this much of a payload
# A broker that ties client ids to users (use_username_as_clientid: `motcua deploy broker`) closes a connection
# when another one opens under the same user. Two processes sharing a user would replace each other every
# reconnect; after this many sessions in a row that the broker closed this soon, say so and slow down.
SHORT_SESSION_S = 10.0
SHORT_SESSIONS_TO_SUSPECT = 3


class MqttError(Exception):
    """The MQTT settings cannot work (a CA file that does not load), or no connection came in time."""


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """How to reach the broker. Until the one settings model (runtime/settings/) carries it, each process
    builds this from its own config. TLS is on when ``tls`` is set or a CA / client certificate is given."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False                   # TLS with the system's CAs even without tls_ca
    tls_ca: str | None = None           # PEM file of the CA that signed the broker's certificate
    tls_cert: str | None = None         # client certificate (PEM), for brokers that require one
    tls_key: str | None = None          # its private key (PEM); defaults to the certificate file
    tls_verify_hostname: bool = True    # off only for a broker reached by an address its certificate lacks
    client_id_prefix: str = "motcua"
    keepalive: int = 30                 # seconds; the broker sends the Will after 1.5 x this of silence

    @property
    def uses_tls(self) -> bool:
        return self.tls or bool(self.tls_ca or self.tls_cert)

    def redacted(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "username": self.username,
                "password": "***" if self.password else None, "tls": self.uses_tls, "tls_ca": self.tls_ca,
                "tls_cert": self.tls_cert, "client_id_prefix": self.client_id_prefix, "keepalive": self.keepalive}


@dataclass(frozen=True, slots=True)
class Will:
    """What the broker publishes for us when the connection ends without a DISCONNECT (power cut, kill -9)."""

    topic: str
    payload: str
    qos: int = 1
    retain: bool = True


@dataclass(frozen=True, slots=True)
class Message:
    """One message received (paho's own type never leaves this module)."""

    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 0

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8", "replace")


class Delivery:
    """A publish in flight; ``wait`` returns True once the broker has it (QoS 1: PUBACK), False otherwise."""

    __slots__ = ("_info",)

    def __init__(self, info: paho.MQTTMessageInfo | None) -> None:
        self._info = info

    def wait(self, timeout: float) -> bool:
        if self._info is None:
            return False
        try:
            self._info.wait_for_publish(timeout)
        except (RuntimeError, ValueError):      # not connected (any more): it will not be delivered
            return False
        return self._info.is_published()


_SEGMENT = re.compile(r"[^A-Za-z0-9_.-]+")


def client_id(prefix: str, name: str = "") -> str:
    """``<prefix>-<name>-<12 random hex digits>``: readable in the broker's log, never guessable, so no other
    client can take over this connection by connecting with the same id (MQTT drops the older one)."""
    parts = [_SEGMENT.sub("-", p).strip("-") for p in (prefix, name)]
    return "-".join([p for p in parts if p] + [secrets.token_hex(6)])


def tls_context(settings: MqttSettings) -> ssl.SSLContext:
    """The TLS context for ``settings``; MqttError naming the setting whose file does not load."""
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=settings.tls_ca)
    except (OSError, ssl.SSLError) as err:
        raise MqttError(f"mqtt.tls_ca: cannot load {settings.tls_ca}: {err}") from err
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = settings.tls_verify_hostname
    ctx.verify_mode = ssl.CERT_REQUIRED
    if settings.tls_cert:
        try:
            ctx.load_cert_chain(settings.tls_cert, settings.tls_key or None)
        except (OSError, ssl.SSLError) as err:
            raise MqttError(f"mqtt.tls_cert: cannot load {settings.tls_cert} / {settings.tls_key}: {err}") from err
    elif settings.tls_key:
        raise MqttError("mqtt.tls_key: given without mqtt.tls_cert")
    return ctx


MessageHandler = Callable[[Message], None]
Filters = Iterable[str] | Callable[[], Iterable[str]]


class MqttClient:
    """One broker connection. ``start()`` returns at once and keeps trying in the background (a process must
    work while the broker is down); ``connect(timeout)`` waits until ready and raises MqttError otherwise.

    ``subscriptions`` (filters, or a function returning them, asked on every connect) are sent in ONE
    SUBSCRIBE right after each CONNACK; ``ready`` is set when its SUBACK arrives (at once when there are none).
    ``on_connect()`` runs after each CONNACK, ``on_disconnect(reason)`` after each loss, ``on_message(msg)``
    per message: all on paho's network thread.
    """

    def __init__(self, settings: MqttSettings, *, name: str = "", will: Will | None = None,
                 subscriptions: Filters = (), subscribe_qos: int = 1,
                 on_message: MessageHandler | None = None, on_connect: Callable[[], None] | None = None,
                 on_disconnect: Callable[[str], None] | None = None,
                 min_backoff_s: float = 1.0, max_backoff_s: float = 15.0, max_queued: int = 10000) -> None:
        self.settings = settings
        self.client_id = client_id(settings.client_id_prefix, name)
        self.will = will
        self._subscriptions = subscriptions
        self._qos = subscribe_qos
        self.on_message = on_message
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.ready = threading.Event()
        self.connected = False
        self.last_error: str | None = None
        self.refused_filters: list[str] = []
        self._subscribe_mid: int | None = None
        self._pending_filters: list[str] = []
        self._started = False
        self._connected_at = 0.0
        self._short_sessions = 0             # sessions in a row the broker closed within SHORT_SESSION_S
        self.suspected_twin = False          # another connection under our user keeps replacing this one
        self._backoff = (max(1, round(min_backoff_s)), max(1, round(max_backoff_s)))
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=True,
                                   protocol=paho.MQTTv311)
        if settings.username:
            self._client.username_pw_set(settings.username, settings.password)
        if settings.uses_tls:
            self._client.tls_set_context(tls_context(settings))
        if will is not None:
            self._client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        # paho doubles the wait after each failed attempt, from min to max (a broker restart is retried at
        # once; a broker that stays down costs one attempt per max_backoff_s)
        self._client.reconnect_delay_set(min_delay=self._backoff[0], max_delay=self._backoff[1])
        self._client.max_queued_messages_set(max_queued)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.on_socket_open = _no_delay

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    # lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background (connect_async + paho's network thread, which retries by itself)."""
        if self._started:
            return
        self._started = True
        self._client.connect_async(self.settings.host, self.settings.port, keepalive=self.settings.keepalive)
        self._client.loop_start()
        log.debug("MQTT %s: connecting to %s%s", self.client_id, self.where, " (TLS)" if self.settings.uses_tls else "")

    def wait_ready(self, timeout: float) -> bool:
        """True once connected and the subscriptions acknowledged, False after ``timeout`` seconds."""
        return self.ready.wait(timeout)

    def connect(self, timeout: float = 10.0) -> MqttClient:
        """Start and wait until ready; MqttError (with the last connection error) if that takes too long."""
        self.start()
        if not self.wait_ready(timeout):
            self.stop(say_will=False)
            raise MqttError(f"no MQTT connection to {self.where} within {timeout:g} s"
                            + (f": {self.last_error}" if self.last_error else ""))
        return self

    def stop(self, *, say_will: bool = True, timeout: float = 2.0) -> None:
        """Disconnect cleanly. A clean DISCONNECT cancels the Last Will, so with ``say_will`` the Will's
        message is published first, by us, and waited for (a graceful stop must look the same to others)."""
        if self.connected and say_will and self.will is not None:
            self.publish(self.will.topic, self.will.payload, qos=self.will.qos, retain=self.will.retain).wait(timeout)
        self.connected = False           # before disconnect(): a clean stop is not a lost connection
        self.ready.clear()
        with contextlib.suppress(Exception):
            self._client.disconnect()
        if self._started:
            self._client.loop_stop()
        self._started = False

    # publishing -------------------------------------------------------------------------------------------
    def publish(self, topic: str, payload: str | bytes, *, qos: int = 1, retain: bool = False) -> Delivery:
        """Queue a message; paho keeps it (up to max_queued) while the connection is down."""
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        if wire.isEnabledFor(logging.DEBUG):
            wire.debug(">>> %s %s%s", topic, data[:WIRE_PAYLOAD_CHARS].decode("utf-8", "replace"),
                       " (retained)" if retain else "")
        try:
            return Delivery(self._client.publish(topic, data, qos=qos, retain=retain))
        except (ValueError, RuntimeError) as err:       # a bad topic or a full queue: say so, never crash
            log.warning("MQTT %s: cannot publish on %s: %s", self.client_id, topic, err)
            return Delivery(None)

    # paho callbacks (network thread) ----------------------------------------------------------------------
    def _filters(self) -> list[str]:
        subs = self._subscriptions() if callable(self._subscriptions) else self._subscriptions
        return list(dict.fromkeys(subs))

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason_code: Any,
                    properties: Any = None) -> None:
        if reason_code.is_failure:
            self._failed(f"broker refused the connection: {reason_code}")
            return
        self.connected = True
        self.last_error = None
        self._connected_at = time.monotonic()
        log.info("MQTT %s: connected to %s%s", self.client_id, self.where, " (TLS)" if self.settings.uses_tls else "")
        filters = self._call(self._filters, "subscriptions") or []
        if filters:
            # one SUBSCRIBE for all filters, so one SUBACK says we now hear everything we asked for
            self._pending_filters = filters
            _, self._subscribe_mid = client.subscribe([(f, self._qos) for f in filters])
        else:
            self.ready.set()
        if self.on_connect is not None:
            self._call(self.on_connect, "on_connect")

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int, reason_codes: Any,
                      properties: Any = None) -> None:
        if mid != self._subscribe_mid:
            return
        refused = [f for f, rc in zip(self._pending_filters, reason_codes, strict=False)
                   if getattr(rc, "is_failure", False)]
        if refused:
            log.warning("MQTT %s: the broker refused the subscription to %s (check its ACL)", self.client_id,
                        ", ".join(refused))
        self.refused_filters = refused
        self.ready.set()

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        # paho calls this inside its ``except OSError``: the exception in hand says why (refused, TLS ...)
        err = sys.exc_info()[1]
        self._failed(str(err) if err is not None else "connection failed")

    def _failed(self, why: str) -> None:
        if why != self.last_error:      # once per reason, not once per retry
            log.warning("MQTT %s: cannot connect to %s: %s; retrying", self.client_id, self.where, why)
        self.last_error = why

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason_code: Any,
                       properties: Any = None) -> None:
        was = self.connected
        self.connected = False
        self.ready.clear()
        if was and self._started:
            self._watch_for_a_twin(time.monotonic() - self._connected_at)
        if was:
            log.warning("MQTT %s: disconnected from %s (%s); reconnecting", self.client_id, self.where, reason_code)
            handler = self.on_disconnect
            if handler is not None:
                self._call(lambda: handler(str(reason_code)), "on_disconnect")

    def _watch_for_a_twin(self, lived_s: float) -> None:
        """Sessions the broker keeps closing right after they open: most likely another process connected under
        the same user. Said once, loudly, and reconnects slow to the longest backoff (no tight loop of two
        processes knocking each other off); a session that lasts puts things back."""
        self._short_sessions = self._short_sessions + 1 if lived_s < SHORT_SESSION_S else 0
        twin = self._short_sessions >= SHORT_SESSIONS_TO_SUSPECT
        if twin and not self.suspected_twin:
            log.error("MQTT %s: the broker closed this connection %d times in a row within %.0f s of opening it: "
                      "another client is probably connected as user %r. A broker that ties client ids to users "
                      "keeps ONE connection per user: give each process instance its own user (docs/security.md)",
                      self.client_id, self._short_sessions, SHORT_SESSION_S, self.settings.username)
        if twin != self.suspected_twin:
            low = self._backoff[1] if twin else self._backoff[0]
            self._client.reconnect_delay_set(min_delay=low, max_delay=self._backoff[1])
        self.suspected_twin = twin

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        message = Message(msg.topic, bytes(msg.payload), bool(msg.retain), int(msg.qos))
        if wire.isEnabledFor(logging.DEBUG):
            wire.debug("<<< %s %s%s", message.topic, message.payload[:WIRE_PAYLOAD_CHARS].decode("utf-8", "replace"),
                       " (retained)" if message.retain else "")
        if self.on_message is not None:
            handler = self.on_message
            self._call(lambda: handler(message), f"message on {message.topic}")

    def _call(self, fn: Callable[[], Any], what: str) -> Any:
        try:
            return fn()
        except Exception:     # paho's network thread must survive a bug in a handler
            log.exception("MQTT %s: %s failed", self.client_id, what)
            return None


def _no_delay(client: paho.Client, userdata: Any, sock: Any) -> None:
    """Disable Nagle: a small publish right after another would otherwise wait for the broker's delayed ACK
    (~40 ms on Linux), longer than a keypad → display budget."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        log.debug("MQTT: could not set TCP_NODELAY", exc_info=True)


__all__ = ["Delivery", "Message", "MqttClient", "MqttError", "MqttSettings", "Will", "client_id", "tls_context"]
