"""DeviceRegistry: the hub's picture of every device, fed with (topic, payload) pairs from devices/+/availability,
devices/+/state and devices/+/event; raises and clears alerts (a printer out of paper is an alert).

Pure apart from a lock: no paho, no clock reads (``now`` is passed in), no I/O. The hub's MQTT adapter subscribes
to ``topics.devices_filter(center)`` and calls ``feed()`` from its message callback; the manager board lists
``devices()`` and ``alerts()``; the returned AlertChange values are what the hub turns into device.fault /
device.online / device.offline events. A bad payload is counted and ignored, never raised into the MQTT thread.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from contracts import topics
from contracts.device_state import (
    FAULT_TEXT,
    OFFLINE,
    ONLINE,
    WARNING_FAULTS,
    DeviceEvent,
    DeviceState,
    DeviceStateError,
    parse_availability,
)
from contracts.messages import format_at

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
CRITICAL = "critical"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    id: str
    kind: str = UNKNOWN
    availability: str = UNKNOWN        # online | offline | unknown
    status: str = UNKNOWN              # ok | warning | fault | unknown (from the last state)
    faults: tuple[str, ...] = ()
    last_fault: str | None = None
    last_fault_at: datetime | None = None
    last_seen: datetime | None = None
    via: str | None = None             # the process (bridge, kiosk) whose one connection carries this device

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "availability": self.availability, "status": self.status,
                "via": self.via, "faults": list(self.faults), "last_fault": self.last_fault,
                "last_fault_at": format_at(self.last_fault_at) if self.last_fault_at else None,
                "last_seen": format_at(self.last_seen) if self.last_seen else None}


@dataclass(frozen=True, slots=True)
class DeviceAlert:
    device_id: str
    kind: str
    code: str                  # a fault code, or "offline"
    severity: str              # critical | warning
    message_vi: str
    message_en: str
    since: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "kind": self.kind, "code": self.code, "severity": self.severity,
                "message_vi": self.message_vi, "message_en": self.message_en, "since": format_at(self.since)}


@dataclass(frozen=True, slots=True)
class AlertChange:
    """``raised`` True when the alert appeared with this message, False when it cleared."""

    alert: DeviceAlert
    raised: bool


HUB_DEVICE = "hub"
STORAGE_FULL = "storage_full"
_STORAGE_VI = ("Ổ đĩa máy chủ đã đầy: không cấp được số mới. Giải phóng dung lượng ngay; hệ thống tự hoạt động "
               "lại khi có chỗ.")
_STORAGE_EN = "The hub's disk is full: no ticket can be issued. Free space now; issuing resumes by itself."
_HUB_TEXT = {STORAGE_FULL: (_STORAGE_VI, _STORAGE_EN)}


def _alert(device_id: str, kind: str, code: str, now: datetime) -> DeviceAlert:
    vi, en = _HUB_TEXT.get(code) or FAULT_TEXT.get(code, (f"Lỗi thiết bị: {code}", f"Device fault: {code}"))
    severity = WARNING if code in WARNING_FAULTS else CRITICAL
    return DeviceAlert(device_id, kind, code, severity, vi, en, now)


MAX_DEVICES = 500       # a center has tens of devices; an invented-id flood stops here (issue 11)


class DeviceRegistry:
    """``known``: the device ids of the center's [broker] inventory; when given, any other id is refused (the
    broker's ACL already keeps unknown writers out). Either way at most MAX_DEVICES records are kept.

    A process with several devices (a bridge, a kiosk) has one connection: its own ``devices/<process>/`` topics
    carry the Will, and its retained state's ``detail.devices`` names the devices behind it. While the process is
    offline, so is each of them (an alert each, as a Will of their own would raise). ``owners`` (device → broker
    user, and each user → itself, from the [broker] inventory) keeps a known process from claiming another's
    devices."""

    def __init__(self, center: str, known: set[str] | None = None, owners: dict[str, str] | None = None) -> None:
        self.center = topics.slug(center, "center")
        self.known = known
        self.owners = owners
        self._lock = threading.Lock()
        self._devices: dict[str, DeviceRecord] = {}
        self._alerts: dict[tuple[str, str], DeviceAlert] = {}
        self.rejected = 0
        self.last_error: str | None = None

    def subscriptions(self) -> list[str]:
        """The topic filters to subscribe to (not devices/+/set, which the hub itself publishes)."""
        return [topics.devices_filter(self.center, leaf) for leaf in ("availability", "state", "event")]

    @staticmethod
    def wants(topic: str) -> bool:
        """True for a topic feed() handles; lets an MQTT adapter route messages without parsing twice."""
        return "/devices/" in topic and topic.rsplit("/", 1)[-1] in ("availability", "state", "event")

    # -- input ----------------------------------------------------------------------------------------------------
    def feed(self, topic: str, payload: bytes | str, now: datetime) -> list[AlertChange]:
        """Apply one MQTT message. Messages for another center or other topics are ignored (returns [])."""
        try:
            parsed = topics.parse(topic)
        except topics.TopicError as err:
            return self._reject(f"{topic!r}: {err}")
        if parsed.center != self.center or parsed.kind not in ("device_availability", "device_state",
                                                              "device_event"):
            return []
        device_id = parsed.key
        if device_id not in self._devices:
            if self.known is not None and device_id not in self.known:
                return self._reject(f"{topic}: device {device_id!r} is not in the center's [broker] inventory")
            if len(self._devices) >= MAX_DEVICES:
                return self._reject(f"{topic}: already {MAX_DEVICES} devices; ignoring new id {device_id!r}")
        if not payload and parsed.kind != "device_event":
            # an empty retained message deletes a retained topic: the device was decommissioned
            return self._forget(device_id, now)
        try:
            with self._lock:
                if parsed.kind == "device_availability":
                    return self._availability(device_id, parse_availability(payload), now)
                if parsed.kind == "device_state":
                    return self._state(device_id, DeviceState.from_json(payload), now)
                return self._event(device_id, DeviceEvent.from_json(payload), now)
        except (DeviceStateError, RecursionError) as err:
            return self._reject(f"{topic}: {err or 'nested too deeply'}")

    def _reject(self, reason: str) -> list[AlertChange]:
        self.rejected += 1
        self.last_error = reason
        if self.rejected <= 20 or self.rejected % 1000 == 0:    # a flood must not flood the log too
            log.warning("device registry: ignoring a bad message (%d so far): %s", self.rejected, reason)
        return []

    def _record(self, device_id: str) -> DeviceRecord:
        return self._devices.get(device_id) or DeviceRecord(device_id)

    def _availability(self, device_id: str, value: str, now: datetime) -> list[AlertChange]:
        rec = self._record(device_id)
        gateway = self._devices.get(rec.via) if rec.via else None
        if value == ONLINE and gateway is not None and gateway.availability == OFFLINE:
            value = OFFLINE      # a stale retained "online" of a device whose process is gone
        self._devices[device_id] = replace(rec, availability=value, last_seen=now if value == ONLINE else
                                           rec.last_seen)
        if value == OFFLINE:
            return self._raise(device_id, rec.kind, "offline", now) + self._behind(device_id, now)
        return self._clear(device_id, {"offline"})

    def _behind(self, gateway: str, now: datetime) -> list[AlertChange]:
        """Every device carried by ``gateway`` (now offline) is offline with it."""
        changes: list[AlertChange] = []
        for rec in [r for r in self._devices.values() if r.via == gateway and r.availability != OFFLINE]:
            self._devices[rec.id] = replace(rec, availability=OFFLINE)
            changes += self._raise(rec.id, rec.kind, "offline", now)
        return changes

    def _carried(self, gateway: str, devices: Any, now: datetime) -> list[AlertChange]:
        """A process's state names the devices behind its one connection."""
        if not isinstance(devices, list):
            return []
        for dev in devices[:MAX_DEVICES]:
            if not isinstance(dev, str) or dev == gateway or dev not in self._devices and (
                    (self.known is not None and dev not in self.known) or len(self._devices) >= MAX_DEVICES):
                continue
            # a process the inventory knows claims only its own devices (the broker's ACL keeps a process it does
            # not know off these topics; on a lab broker without one, there is nothing to hold it to)
            if self.owners is not None and gateway in self.owners and self.owners.get(dev) != gateway:
                self._reject(f"{gateway} claims device {dev!r}, which is not its own in the [broker] inventory")
                continue
            self._devices[dev] = replace(self._record(dev), via=gateway)
        if self._devices[gateway].availability == OFFLINE:
            return self._behind(gateway, now)
        return []

    def _state(self, device_id: str, state: DeviceState, now: datetime) -> list[AlertChange]:
        rec = self._record(device_id)
        new_faults = tuple(f for f in state.faults if f not in rec.faults)
        last_fault, last_fault_at = rec.last_fault, rec.last_fault_at
        if new_faults:
            last_fault, last_fault_at = new_faults[-1], now
        self._devices[device_id] = replace(rec, kind=state.kind, status=state.status, faults=state.faults,
                                           last_fault=last_fault, last_fault_at=last_fault_at, last_seen=now)
        changes: list[AlertChange] = self._carried(device_id, state.detail.get("devices"), now) \
            if "devices" in state.detail else []
        for fault in state.faults:
            # "offline" inside a state means the device reached the broker but lost its hardware (printer cable)
            changes += self._raise(device_id, state.kind, fault, now)
        stale = {code for (dev, code) in self._alerts if dev == device_id and code not in state.faults}
        if self._devices[device_id].availability == OFFLINE:
            stale.discard("offline")  # the broker-level offline stays until availability says online
        changes += self._clear(device_id, stale)
        return changes

    def _event(self, device_id: str, event: DeviceEvent, now: datetime) -> list[AlertChange]:
        rec = self._record(device_id)
        if event.type == "fault" and event.fault:
            self._devices[device_id] = replace(rec, last_fault=event.fault, last_fault_at=now, last_seen=now)
        else:
            self._devices[device_id] = replace(rec, last_seen=now)
        return []  # alerts follow the retained state, which the device publishes alongside the event

    def _raise(self, device_id: str, kind: str, code: str, now: datetime) -> list[AlertChange]:
        key = (device_id, code)
        if key in self._alerts:
            return []
        alert = _alert(device_id, kind, code, now)
        self._alerts[key] = alert
        return [AlertChange(alert, raised=True)]

    def hub_storage(self, ok: bool, now: datetime) -> list[AlertChange]:
        """The hub's own disk: a critical alert on the manager board while commits fail for lack of space."""
        with self._lock:
            if ok:
                return self._clear(HUB_DEVICE, {STORAGE_FULL})
            return self._raise(HUB_DEVICE, "hub", STORAGE_FULL, now)

    def _clear(self, device_id: str, codes: set[str]) -> list[AlertChange]:
        out = []
        for code in sorted(codes):
            alert = self._alerts.pop((device_id, code), None)
            if alert is not None:
                out.append(AlertChange(alert, raised=False))
        return out

    def _forget(self, device_id: str, now: datetime) -> list[AlertChange]:
        with self._lock:
            self._devices.pop(device_id, None)
            codes = {code for (dev, code) in self._alerts if dev == device_id}
            return self._clear(device_id, codes)

    # -- output ---------------------------------------------------------------------------------------------------
    def devices(self) -> list[DeviceRecord]:
        with self._lock:
            return sorted(self._devices.values(), key=lambda r: r.id)

    def device(self, device_id: str) -> DeviceRecord | None:
        with self._lock:
            return self._devices.get(device_id)

    def alerts(self) -> list[DeviceAlert]:
        """Active alerts, critical first, then oldest first."""
        with self._lock:
            return sorted(self._alerts.values(), key=lambda a: (a.severity != CRITICAL, a.since, a.device_id))

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready view for the manager board: {"devices": [...], "alerts": [...]}."""
        return {"devices": [d.to_dict() for d in self.devices()], "alerts": [a.to_dict() for a in self.alerts()]}
