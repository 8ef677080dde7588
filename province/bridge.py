"""Mosquitto configuration for the live transport site → province (``motcua deploy broker``).

Writes the settings measured to lose nothing across a province outage and a site-broker restart
(shared/research/wave2-anchors.md D.2): a persistent bridge session (``cleansession false``), QoS 1 topics, no
queue cap (``max_queued_messages 0``; the default 1000 silently dropped 2,000 of 3,000 events), persistence in a
directory the ``mosquitto`` user can write, and — when the site must survive a power cut — an autosave after every
change. The same queue and persistence settings are needed at the province broker (``province_broker_conf``),
which otherwise drops what it holds for a disconnected sink.

Pure text: no I/O here except ``write``; nothing is started.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from contracts import topics


class BridgeConfigError(ValueError):
    pass


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass(frozen=True, slots=True)
class BridgeSettings:
    site: str                          # the hub's [center] id
    remote_host: str
    remote_port: int = 8883
    persistence_dir: str = "/var/lib/mosquitto/"
    cafile: str = ""                   # the province CA: TLS to the province (required off loopback)
    remote_username: str = ""          # one credential per site at the province broker
    remote_password: str = ""
    power_loss_safe: bool = True       # autosave after every change (measured: ~500 msg/s, enough for a hub)


def _persistence(dir_: str, power_loss_safe: bool) -> list[str]:
    lines = ["persistence true", f"persistence_location {dir_.rstrip('/')}/",
             "# no cap on queued messages per client: the default (1000) drops the rest silently",
             "max_queued_messages 0"]
    if power_loss_safe:
        lines += ["# write the queue to disk after every change, so a power cut loses nothing queued",
                  "autosave_on_changes true", "autosave_interval 1"]
    else:
        lines += ["autosave_interval 60"]
    return lines


def persistence_lines(s: BridgeSettings) -> list[str]:
    """The persistence and queue settings a site broker with this bridge needs (once per broker config)."""
    return _persistence(s.persistence_dir, s.power_loss_safe)


def bridge_conf(s: BridgeSettings, *, with_persistence: bool = True) -> str:
    """A conf.d snippet for the site broker: persistence and the bridge to the province broker. Without
    ``with_persistence`` the bridge section only, for a broker config that sets persistence itself (Mosquitto
    refuses a second ``persistence_location``: ``deploy broker --config`` writes one file with both)."""
    site = topics.slug(s.site, "site")
    if not s.remote_host:
        raise BridgeConfigError("the province broker's host is required")
    if not 0 < s.remote_port < 65536:
        raise BridgeConfigError("the province broker's port must be 1..65535")
    if not s.cafile and not _is_loopback(s.remote_host):
        raise BridgeConfigError("a bridge over the network needs TLS: give the province CA file (--cafile)")
    if bool(s.remote_username) != bool(s.remote_password):
        raise BridgeConfigError("give both the province broker username and password, or neither")
    lines = [f"# motcua: bridge of site {site} to the province broker (written by `motcua deploy broker`).",
             "# Loses nothing across a province outage or a site-broker restart: do not loosen these settings.",
             *(persistence_lines(s) if with_persistence else []),
             "",
             f"connection motcua-{site}",
             f"address {s.remote_host}:{s.remote_port}",
             "bridge_protocol_version mqttv311",
             f"remote_clientid motcua-bridge-{site}",
             f"local_clientid motcua-bridge-local-{site}",
             "# a persistent session on both ends: what could not be sent waits for the province",
             "cleansession false",
             "try_private true",
             "start_type automatic",
             "restart_timeout 2 30",
             "# the province board sees this bridge up or down on $SYS/broker/connection/<name>/state",
             "notifications true",
             "notifications_local_only false"]
    if s.remote_username:
        lines += [f"remote_username {s.remote_username}", f"remote_password {s.remote_password}"]
    if s.cafile:
        lines += [f"bridge_cafile {s.cafile}", "bridge_tls_version tlsv1.2", "bridge_insecure false"]
    lines += ["# events and retained state go out at QoS 1; nothing comes in from the province",
              f"topic {topics.events_filter(site)} out 1",
              f"topic {topics.state_filter(site)} out 1",
              f"topic {topics.hub_status(site)} out 1",
              ""]
    return "\n".join(lines)


def province_broker_conf(persistence_dir: str = "/var/lib/mosquitto/", power_loss_safe: bool = False) -> str:
    """The province broker's side: the same no-cap queues and persistence, so a stopped sink loses nothing."""
    return "\n".join(["# motcua: province broker (written by `motcua deploy broker --role province`).",
                      *_persistence(persistence_dir, power_loss_safe), ""])


def write(text: str, path: Path) -> None:
    """Written whole (a temp file renamed), readable only by its owner: it may hold the bridge password."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o600 if "remote_password" in text else 0o644)
    tmp.replace(path)
