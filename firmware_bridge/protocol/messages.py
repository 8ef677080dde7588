"""Bodies of the profile-independent messages: hello, heartbeat, error report. Pure, no I/O."""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from firmware_bridge.protocol.frames import DeviceKind, FrameError


class BodyError(FrameError):
    """A frame whose checksum is fine but whose body does not parse for its message type."""


def pack_str(text: str, max_len: int = 64) -> bytes:
    """One length byte, then UTF-8 (truncated at a character boundary to ``max_len`` bytes)."""
    data = text.encode("utf-8")
    while len(data) > max_len:
        text = text[:-1]
        data = text.encode("utf-8")
    return bytes((len(data),)) + data


def unpack_str(body: bytes, offset: int, what: str) -> tuple[str, int]:
    """Read a string packed by :func:`pack_str`; return it and the offset after it."""
    if offset >= len(body):
        raise BodyError(f"{what}: missing")
    n = body[offset]
    end = offset + 1 + n
    if end > len(body):
        raise BodyError(f"{what}: length {n} runs past the end of the body")
    try:
        return body[offset + 1:end].decode("utf-8"), end
    except UnicodeDecodeError as err:
        raise BodyError(f"{what}: not UTF-8") from err


@dataclass(frozen=True, slots=True)
class Hello:
    """``boot_id`` is a u32 the firmware draws once per power-up: a HELLO repeated within one boot (its ack was
    slow, or lost) carries the same id, a reboot a new one. Optional on the wire (firmware before it ends the body
    after ``heartbeat_ms``); None then, and every HELLO counts as a restart, as before."""

    device_id: str
    firmware: str
    heartbeat_ms: int = 1000   # how often the sender promises a heartbeat (the bridge times out after 3)
    boot_id: int | None = None

    def encode(self) -> bytes:
        hb = (self.heartbeat_ms & 0xFFFF).to_bytes(2, "big")
        boot = b"" if self.boot_id is None else (self.boot_id & 0xFFFFFFFF).to_bytes(4, "big")
        return pack_str(self.device_id, 32) + pack_str(self.firmware, 32) + hb + boot

    @staticmethod
    def decode(body: bytes) -> Hello:
        device_id, i = unpack_str(body, 0, "hello.device_id")
        firmware, i = unpack_str(body, i, "hello.firmware")
        if i + 2 > len(body):
            raise BodyError("hello.heartbeat_ms: missing")
        if len(body) - i not in (2, 6):
            raise BodyError("hello: trailing bytes")
        if not device_id:
            raise BodyError("hello.device_id: empty")
        boot_id = int.from_bytes(body[i + 2:i + 6], "big") if len(body) - i == 6 else None
        return Hello(device_id, firmware, int.from_bytes(body[i:i + 2], "big"), boot_id)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    uptime_s: int

    def encode(self) -> bytes:
        return (self.uptime_s & 0xFFFFFFFF).to_bytes(4, "big")

    @staticmethod
    def decode(body: bytes) -> Heartbeat:
        if len(body) != 4:
            raise BodyError(f"heartbeat: expected 4 bytes, got {len(body)}")
        return Heartbeat(int.from_bytes(body, "big"))


class ErrorCode(IntEnum):
    """Codes a device reports (not the hub's ErrorCode: these never leave the bridge as such)."""

    BAD_FRAME = 1          # the device received frames it could not decode
    UNKNOWN_COMMAND = 2    # a command its profile does not know
    BAD_COMMAND = 3        # a known command with a bad body
    HARDWARE = 4           # a key stuck, a display not answering
    REFUSED = 5            # the bridge or hub refused the device's input (e.g. already rated)


@dataclass(frozen=True, slots=True)
class ErrorReport:
    code: int
    detail: str = ""

    def encode(self) -> bytes:
        return bytes((self.code & 0xFF,)) + pack_str(self.detail, 120)

    @staticmethod
    def decode(body: bytes) -> ErrorReport:
        if not body:
            raise BodyError("error: empty body")
        detail, i = unpack_str(body, 1, "error.detail")
        if i != len(body):
            raise BodyError("error: trailing bytes")
        return ErrorReport(body[0], detail)


__all__ = ["BodyError", "DeviceKind", "ErrorCode", "ErrorReport", "Heartbeat", "Hello", "pack_str", "unpack_str"]
