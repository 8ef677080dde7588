"""Builds and parses every MQTT topic motcua uses; no other module writes a topic string by hand.

Layout (all under ``motcua/v1/<center>/``):

=================================  ========  =====================================================
topic                              retained  meaning
=================================  ========  =====================================================
hub/status                         yes       ``online`` / ``offline`` (Last Will)
event/<type>                       no        one event envelope per state change, QoS 1
state/calls                        yes       the last calls, for hall displays
state/counters/<counter>           yes       one counter's snapshot
state/services/<service>           yes       one service's waiting count and estimate
cmd/<command>                      no        a request from the hub's own tools, with a correlation id
cmd/<counter>/<command>            no        a request from a counter's device (the broker's ACL lets a bridge
                                             publish only under the counters bound to it)
reply/<command>                    no        the hub's answer, same correlation id
devices/<id>/availability          yes       ``online`` / ``offline`` (Last Will)
devices/<id>/event                 no        input from a device (key press, scan, fault)
devices/<id>/set                   no        output to a device (show a number, blink)
devices/<id>/state                 yes       the device's last reported state (paper, cover ...)
=================================  ========  =====================================================

Segments are lowercase slugs (``[a-z0-9][a-z0-9_.-]*``) so that a bad id can never inject ``/``, ``+`` or ``#``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

ROOT = "motcua"
VERSION = "v1"

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class TopicError(ValueError):
    """A topic or a topic segment that does not follow the layout."""


def slug(value: str, what: str = "segment") -> str:
    """Return ``value`` if it is a valid topic segment, else raise TopicError naming ``what``."""
    if not isinstance(value, str) or not _SLUG.match(value):
        raise TopicError(f"{what}: {value!r} is not a lowercase slug (a-z, 0-9, '_', '.', '-')")
    return value


def _base(center: str) -> str:
    return f"{ROOT}/{VERSION}/{slug(center, 'center')}"


def hub_status(center: str) -> str:
    return f"{_base(center)}/hub/status"


def event(center: str, event_type: str) -> str:
    # Event types are dotted (ticket.called); dots are legal in a slug.
    return f"{_base(center)}/event/{slug(event_type, 'event type')}"


def events_filter(center: str) -> str:
    return f"{_base(center)}/event/#"


def state_calls(center: str) -> str:
    return f"{_base(center)}/state/calls"


def state_counter(center: str, counter: str) -> str:
    return f"{_base(center)}/state/counters/{slug(counter, 'counter')}"


def state_service(center: str, service: str) -> str:
    return f"{_base(center)}/state/services/{slug(service, 'service')}"


def state_filter(center: str) -> str:
    return f"{_base(center)}/state/#"


def cmd(center: str, command: str, counter: str | None = None) -> str:
    """``cmd/<command>``, or ``cmd/<counter>/<command>`` for a command sent on behalf of one counter's device:
    the counter in the topic is what the broker's ACL can check (it never reads payloads)."""
    if counter is None:
        return f"{_base(center)}/cmd/{slug(command, 'command')}"
    return f"{_base(center)}/cmd/{slug(counter, 'counter')}/{slug(command, 'command')}"


def cmd_filter(center: str) -> str:
    """Every command, counter-scoped or not."""
    return f"{_base(center)}/cmd/#"


def reply(center: str, command: str) -> str:
    return f"{_base(center)}/reply/{slug(command, 'command')}"


def reply_filter(center: str) -> str:
    """Filter for every command's reply (observers such as the demo's summary)."""
    return f"{_base(center)}/reply/+"


def device_availability(center: str, device: str) -> str:
    return f"{_base(center)}/devices/{slug(device, 'device id')}/availability"


def device_event(center: str, device: str) -> str:
    return f"{_base(center)}/devices/{slug(device, 'device id')}/event"


def device_set(center: str, device: str) -> str:
    return f"{_base(center)}/devices/{slug(device, 'device id')}/set"


def device_state(center: str, device: str) -> str:
    return f"{_base(center)}/devices/{slug(device, 'device id')}/state"


def devices_filter(center: str, leaf: str = "+") -> str:
    """Filter for every device's ``leaf`` topic (``availability``, ``event``, ``set``, ``state`` or ``+``)."""
    return f"{_base(center)}/devices/+/{leaf}"


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    """A topic taken apart: ``kind`` is one of hub_status, event, state_calls, state_counter, state_service,
    cmd, reply, device_availability, device_event, device_set, device_state; ``key`` is the event type,
    counter, service, command or device id it names (empty when the kind has none)."""

    center: str
    kind: str
    key: str = ""
    counter: str = ""     # the counter a ``cmd/<counter>/<command>`` topic names


_DEVICE_LEAVES = {"availability", "event", "set", "state"}


def parse(topic: str) -> ParsedTopic:
    """Take a topic apart; raise TopicError for anything that is not one of ours."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != ROOT or parts[1] != VERSION:
        raise TopicError(f"not a {ROOT}/{VERSION} topic: {topic!r}")
    center = slug(parts[2], "center")
    rest = parts[3:]
    match rest:
        case ["hub", "status"]:
            return ParsedTopic(center, "hub_status")
        case ["event", etype]:
            return ParsedTopic(center, "event", slug(etype, "event type"))
        case ["state", "calls"]:
            return ParsedTopic(center, "state_calls")
        case ["state", "counters", counter]:
            return ParsedTopic(center, "state_counter", slug(counter, "counter"))
        case ["state", "services", service]:
            return ParsedTopic(center, "state_service", slug(service, "service"))
        case ["cmd", command]:
            return ParsedTopic(center, "cmd", slug(command, "command"))
        case ["cmd", counter, command]:
            return ParsedTopic(center, "cmd", slug(command, "command"), slug(counter, "counter"))
        case ["reply", command]:
            return ParsedTopic(center, "reply", slug(command, "command"))
        case ["devices", device, leaf] if leaf in _DEVICE_LEAVES:
            return ParsedTopic(center, f"device_{leaf}", slug(device, "device id"))
    raise TopicError(f"unknown topic layout: {topic!r}")


def matches(topic_filter: str, topic: str) -> bool:
    """True when ``topic`` is one a subscription to ``topic_filter`` receives (``+`` one level, ``#`` the rest):
    lets one connection hand each message to the parts of a process that asked for it."""
    want, got = topic_filter.split("/"), topic.split("/")
    for i, part in enumerate(want):
        if part == "#":
            return True
        if i >= len(got) or (part != "+" and part != got[i]):
            return False
    return len(want) == len(got)
