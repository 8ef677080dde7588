"""Device health payloads on ``devices/<id>/availability``, ``devices/<id>/state`` and fault events on
``devices/<id>/event``: shared by the devices' publisher and the hub's device registry. No I/O.

* availability: the plain strings ``online`` / ``offline`` (retained; ``offline`` is also the Last Will).
* state (retained JSON): ``{"kind": "printer", "status": "ok|warning|fault", "faults": ["paper_out"], "at": ...,
  "detail": {...}}``.
* a process with several devices behind its one broker connection (a bridge, a kiosk) has topics of its own,
  ``devices/<process>/...``: its availability carries the Last Will and its state's ``detail.devices`` lists the
  devices behind it, which count as offline while it is (a connection has one Will; a broker user is one
  connection).
* event (JSON, not retained): ``{"type": "fault", "fault": "paper_out", "at": ...}`` when a fault appears and
  ``{"type": "fault_cleared", ...}`` when it goes away; scanners also send ``{"type": "scan", ...}``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

ONLINE = "online"
OFFLINE = "offline"
AVAILABILITY = (ONLINE, OFFLINE)

STATUS_OK = "ok"
STATUS_WARNING = "warning"
STATUS_FAULT = "fault"
STATUSES = (STATUS_OK, STATUS_WARNING, STATUS_FAULT)

# Stable fault codes. Warnings keep the device usable; the others stop it.
WARNING_FAULTS = frozenset({"paper_near_end", "slow"})
KNOWN_FAULTS = frozenset({"offline", "paper_out", "paper_near_end", "cover_open", "jammed", "not_found",
                          "read_error", "slow"})

# Citizen/manager-facing wording for the manager board, Vietnamese first.
FAULT_TEXT: dict[str, tuple[str, str]] = {
    "offline": ("Thiết bị mất kết nối", "Device offline"),
    "paper_out": ("Máy in hết giấy", "Printer out of paper"),
    "paper_near_end": ("Máy in sắp hết giấy", "Printer paper running low"),
    "cover_open": ("Nắp máy in đang mở", "Printer cover open"),
    "jammed": ("Máy in kẹt giấy", "Printer jammed"),
    "not_found": ("Không tìm thấy thiết bị", "Device not found"),
    "read_error": ("Lỗi đọc thiết bị", "Device read error"),
    "slow": ("Thiết bị phản hồi chậm", "Device slow to respond"),
}


class DeviceStateError(ValueError):
    """A device payload that does not follow the contract."""


def status_for(faults: tuple[str, ...]) -> str:
    if not faults:
        return STATUS_OK
    if all(f in WARNING_FAULTS for f in faults):
        return STATUS_WARNING
    return STATUS_FAULT


def parse_availability(raw: str | bytes) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = text.strip().lower()
    if text not in AVAILABILITY:
        raise DeviceStateError(f"availability: expected 'online' or 'offline', got {text[:40]!r}")
    return text


@dataclass(frozen=True, slots=True)
class DeviceState:
    kind: str
    status: str
    faults: tuple[str, ...] = ()
    at: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "status": self.status, "faults": list(self.faults), "at": self.at,
                           "detail": self.detail}, ensure_ascii=False, separators=(",", ":"))

    @staticmethod
    def from_json(raw: str | bytes) -> DeviceState:
        try:
            obj = json.loads(raw)
        except (TypeError, ValueError, UnicodeDecodeError) as err:
            raise DeviceStateError(f"state: not valid JSON ({err})") from err
        if not isinstance(obj, dict):
            raise DeviceStateError("state: expected a JSON object")
        kind, faults = obj.get("kind"), obj.get("faults", [])
        if not isinstance(kind, str) or not kind:
            raise DeviceStateError("state.kind: expected a non-empty string")
        if not isinstance(faults, list) or not all(isinstance(f, str) and f for f in faults):
            raise DeviceStateError("state.faults: expected a list of fault codes")
        # status may be left out (the serial bridge's devices send kind + their own fields): derive it.
        status = obj.get("status", status_for(tuple(faults)))
        if status not in STATUSES:
            raise DeviceStateError(f"state.status: expected one of {STATUSES}, got {status!r}")
        at = obj.get("at", "")
        detail = obj.get("detail", {})
        if not isinstance(at, str):
            raise DeviceStateError("state.at: expected a string")
        if not isinstance(detail, dict):
            raise DeviceStateError("state.detail: expected an object")
        # unknown top-level fields are kept as detail, so nothing a device reports is lost
        extra = {k: v for k, v in obj.items() if k not in ("kind", "status", "faults", "at", "detail")}
        return DeviceState(kind, str(status), tuple(faults), at, {**extra, **detail})


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    type: str                 # fault | fault_cleared | scan | ...
    fault: str | None = None
    at: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        obj: dict[str, Any] = {"type": self.type, "at": self.at}
        if self.fault is not None:
            obj["fault"] = self.fault
        if self.data:
            obj["data"] = self.data
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    @staticmethod
    def from_json(raw: str | bytes) -> DeviceEvent:
        try:
            obj = json.loads(raw)
        except (TypeError, ValueError, UnicodeDecodeError) as err:
            raise DeviceStateError(f"event: not valid JSON ({err})") from err
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
            raise DeviceStateError("event: expected an object with a string 'type'")
        fault = obj.get("fault")
        if fault is not None and not isinstance(fault, str):
            raise DeviceStateError("event.fault: expected a string")
        data = obj.get("data", {})
        return DeviceEvent(obj["type"], fault, str(obj.get("at", "")), data if isinstance(data, dict) else {})
