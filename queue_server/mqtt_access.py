"""Who may do what on a center's MQTT broker: the ``[broker]`` inventory of a center config, the Mosquitto ACL
it implies, and the hub's own check of a device command against it.

Pure: no file, socket or clock. ``queue_server.deploy_broker`` writes the files (passwords, ACL, certificates);
the hub's MQTT adapter asks :func:`command_refusal` before it runs a command.

One MQTT user per process and device group:

- ``hub``: read and write everything under ``motcua/v1/<center>/`` (it connects on the loopback listener).
- each ``bridge``: publish commands only on ``cmd/<counter>/+`` for the counters bound to it, availability,
  state and events only under ``devices/<id>/`` for its own devices; read replies, state, events, hub status
  and its own devices' ``set``.
- each ``kiosk`` and ``health`` (device-health publisher): its own devices' topics, state and hub status.
- each ``display``: read only (state, events, hub status).
- every user but a display also owns ``devices/<user>/...``: the availability (Last Will) and state of the
  process itself, the one connection its devices share (a bridge, a kiosk: see contracts/device_state.py).

One user is ONE live connection: the generated broker replaces every client id with the user name
(``use_username_as_clientid``), so nobody can take over another user's connection, and two processes (or two
connections of one process) sharing a user would knock each other off. Hence: one user per process instance, a
user is never a device id, and each process opens exactly one connection.

Ratings over MQTT (``submit-rating``) come only from a bridge's rating pad, on the topic of a counter bound to that
bridge (and to that pad, where ``device_counters`` binds it); the ticket rated must be the one just served there
(the hub's ratings service checks that).

Nobody but the hub may read ``$SYS`` (where Mosquitto reports client ids) or another client's device topics.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts import topics

ROLES = ("bridge", "kiosk", "display", "health")
HUB_USER = "hub"
RATING_COMMAND = "submit-rating"
GATEWAY_LEAVES = ("availability", "state", "event")
KIOSK_DEVICE_KINDS = ("printer", "scanner", "camera")


class BrokerConfigError(ValueError):
    """A ``[broker]`` table that does not describe a usable set of users (the message names the key)."""


@dataclass(frozen=True, slots=True)
class BrokerClient:
    """One MQTT user of the center: a bridge, a kiosk, a display or a device-health publisher."""

    user: str
    role: str
    devices: tuple[str, ...] = ()
    counters: tuple[str, ...] = ()       # bridges only: the counters whose commands it may send
    # bridges only, optional: a device bound to one counter (a pad at counter 1 may rate only counter 1)
    device_counters: tuple[tuple[str, str], ...] = ()

    def counter_of(self, device: str) -> str | None:
        return dict(self.device_counters).get(device)


@dataclass(frozen=True, slots=True)
class BrokerInventory:
    center: str
    clients: tuple[BrokerClient, ...] = ()
    hub_user: str = HUB_USER

    def bridge_of_device(self, device: str) -> BrokerClient | None:
        for c in self.clients:
            if c.role == "bridge" and device in c.devices:
                return c
        return None

    def kiosk_ids(self) -> frozenset[str]:
        """The kiosks this inventory names: each kiosk user, and the kiosk id its devices are named after (a kiosk
        calls them ``<kiosk id>-printer``, ``-scanner``, ``-camera``: kiosk/device_health.py)."""
        ids = set()
        for c in self.clients:
            if c.role == "kiosk":
                ids.add(c.user)
                ids.update(d.rsplit("-", 1)[0] for d in c.devices if d.rsplit("-", 1)[-1] in KIOSK_DEVICE_KINDS)
        return frozenset(ids)

    @property
    def users(self) -> list[str]:
        return [self.hub_user, *(c.user for c in self.clients)]


def _strings(table: dict[str, Any], key: str, where: str, what: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) and not isinstance(v, bool)
                                              for v in value):
        raise BrokerConfigError(f"{where}.{key}: expected a list of {what}s")
    out = []
    for i, v in enumerate(value):
        try:
            out.append(topics.slug(str(v), what))
        except topics.TopicError as err:
            raise BrokerConfigError(f"{where}.{key}[{i}]: {err}") from err
    if len(set(out)) != len(out):
        raise BrokerConfigError(f"{where}.{key}: a {what} is listed twice")
    return tuple(out)


def parse_broker(table: Any, center: str, counters: set[str]) -> BrokerInventory | None:
    """``[broker]`` → inventory; None when the table is absent (a lab hub with an open broker)."""
    if table is None or table == {}:
        return None
    if not isinstance(table, dict):
        raise BrokerConfigError("broker: expected a table")
    unknown = sorted(set(table) - {"hub_user", "clients"})
    if unknown:
        raise BrokerConfigError(f"broker.{unknown[0]}: unknown key")
    hub_user = table.get("hub_user", HUB_USER)
    if not isinstance(hub_user, str):
        raise BrokerConfigError("broker.hub_user: expected a string")
    raw = table.get("clients", [])
    if not isinstance(raw, list):
        raise BrokerConfigError("broker.clients: expected an array of tables ([[broker.clients]])")
    clients: list[BrokerClient] = []
    users = {hub_user}
    owner: dict[str, str] = {}
    for i, c in enumerate(raw):
        where = f"broker.clients[{i}]"
        if not isinstance(c, dict):
            raise BrokerConfigError(f"{where}: expected a table")
        bad = sorted(set(c) - {"user", "role", "devices", "counters", "device_counters"})
        if bad:
            raise BrokerConfigError(f"{where}.{bad[0]}: unknown key")
        user, role = c.get("user"), c.get("role")
        try:
            topics.slug(user if isinstance(user, str) else "", "user")
        except topics.TopicError as err:
            raise BrokerConfigError(f"{where}.user: {err}") from err
        assert isinstance(user, str)
        if user in users:
            raise BrokerConfigError(f"{where}.user: {user!r} is used twice (one user per process)")
        users.add(user)
        if role not in ROLES:
            raise BrokerConfigError(f"{where}.role: {role!r} is not one of {', '.join(ROLES)}")
        devices = _strings(c, "devices", where, "device id")
        bound = _strings(c, "counters", where, "counter")
        if bound and role != "bridge":
            raise BrokerConfigError(f"{where}.counters: only a bridge sends counter commands")
        for j, counter in enumerate(bound):
            if counter not in counters:
                raise BrokerConfigError(f"{where}.counters[{j}]: unknown counter {counter!r}")
        if role == "display" and devices:
            raise BrokerConfigError(f"{where}.devices: a display is read-only and owns no device topics")
        for j, dev in enumerate(devices):
            if dev in owner:
                raise BrokerConfigError(f"{where}.devices[{j}]: {dev!r} already belongs to {owner[dev]!r}")
            owner[dev] = user
        pinned = _device_counters(c.get("device_counters", {}), where, devices, bound)
        clients.append(BrokerClient(user, str(role), devices, bound, pinned))
    for user in users:
        # devices/<user>/availability is the process's own Last Will (the connection its devices share)
        if user in owner:
            raise BrokerConfigError(f"broker: {user!r} is both a user and a device id of {owner[user]!r} "
                                    "(devices/<user>/ is that process's own availability: rename one)")
    return BrokerInventory(center, tuple(clients), hub_user)


def _device_counters(raw: Any, where: str, devices: tuple[str, ...], bound: tuple[str, ...]
                     ) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict):
        raise BrokerConfigError(f"{where}.device_counters: expected a table {{ device = \"counter\" }}")
    out = []
    for dev, counter in raw.items():
        if dev not in devices:
            raise BrokerConfigError(f"{where}.device_counters.{dev}: not one of this client's devices")
        counter = str(counter) if isinstance(counter, (str, int)) and not isinstance(counter, bool) else None
        if counter is None or counter not in bound:
            raise BrokerConfigError(f"{where}.device_counters.{dev}: expected one of this bridge's counters "
                                    f"({', '.join(bound) or 'none'})")
        out.append((dev, counter))
    return tuple(out)


def acl_text(inv: BrokerInventory) -> str:
    """The Mosquitto ACL file: explicit topics per user (a user reads and writes nothing it is not given)."""
    c = inv.center
    base = f"{topics.ROOT}/{topics.VERSION}/{c}"
    lines = [f"# motcua: MQTT ACL of center {c} (written by `motcua deploy broker`; regenerate, do not edit)",
             "# Each user sees only what its role needs; nobody but the hub reads $SYS (client ids live there).", "",
             f"user {inv.hub_user}", f"topic readwrite {base}/#", "topic read $SYS/#", ""]
    public = [f"topic read {topics.hub_status(c)}", f"topic read {topics.state_filter(c)}"]
    for cl in inv.clients:
        lines.append(f"# {cl.role}")
        lines.append(f"user {cl.user}")
        lines += public
        if cl.role in ("display", "bridge"):
            lines.append(f"topic read {topics.events_filter(c)}")
        if cl.role == "bridge":
            lines.append(f"topic read {topics.reply_filter(c)}")
            for counter in cl.counters:
                lines.append(f"topic write {base}/cmd/{counter}/+")
        if cl.role != "display":
            # the process's own connection: its Last Will and state (one connection for all its devices)
            for leaf in GATEWAY_LEAVES:
                lines.append(f"topic write {base}/devices/{cl.user}/{leaf}")
        for dev in cl.devices:
            for leaf in GATEWAY_LEAVES:
                lines.append(f"topic write {base}/devices/{dev}/{leaf}")
            lines.append(f"topic read {topics.device_set(c, dev)}")
        lines.append("")
    return "\n".join(lines)


def command_refusal(inv: BrokerInventory | None, topic_counter: str, command: str,
                    args: dict[str, Any], source: str) -> str | None:
    """Why the hub must refuse this device command, or None.

    The broker's ACL already keeps a bridge off other counters' topics; the hub checks again (a lab broker, an
    ACL edited by hand): the payload's counter must be the topic's, and a command sent for a bridge's device must
    name one of that bridge's counters (on its counter-scoped topic) and, where ``device_counters`` binds the device,
    its own counter. A rating must come from a bridge's device (the pad), without dossier codes.
    """
    named = args.get("source")
    if named is not None and str(named) != source:
        return f"{command}: the payload names source {str(named)[:40]!r} but was sent by {source or '?'!r}"
    counter = args.get("counter")
    counter = str(counter) if isinstance(counter, (str, int)) and not isinstance(counter, bool) else None
    if topic_counter and counter is not None and counter != topic_counter:
        return f"{command}: counter {counter!r} sent on counter {topic_counter!r}'s topic"
    if inv is None:
        return None
    bridge = inv.bridge_of_device(source) if source else None
    if command == RATING_COMMAND:
        # a rating over MQTT is a pad's key press: from a bridge's device, for that bridge's (and pad's) counter
        if bridge is None:
            return (f"{command}: device {source or '?'!r} is no bridge's rating pad (ratings over MQTT come only "
                    "from the pads in the [broker] inventory; tablets rate over HTTP)")
        if args.get("dossier_codes"):
            return f"{command}: a rating pad rates the ticket just served; dossier codes are rated on the tablet"
    if bridge is not None:
        if not topic_counter:
            # what a bridge from before counter-scoped topics (commit 2077c89 and older) sends: say so
            return (f"{command}: bridge {bridge.user!r} device {source!r} must use its counter's command topic "
                    "(cmd/<counter>/<command>): bridge cũ hơn hub? hãy nâng cấp bridge cùng lúc với hub / a bridge "
                    "older than this hub? upgrade it with the hub (docs/operations.md)")
        if topic_counter not in bridge.counters:
            return f"{command}: counter {topic_counter!r} is not bound to bridge {bridge.user!r}"
        pinned = bridge.counter_of(source)
        if pinned is not None and pinned != topic_counter:
            return f"{command}: device {source!r} is bound to counter {pinned!r}, not {topic_counter!r}"
    elif topic_counter:
        # a counter-scoped command from a device the inventory does not know: only bridges send those
        owners = [b.user for b in inv.clients if b.role == "bridge" and topic_counter in b.counters]
        if not owners:
            return f"{command}: counter {topic_counter!r} is bound to no bridge"
    return None
