"""Frames on the serial line: COBS(version, kind, type, seq, length, body, CRC-16) + 0x00. Pure, no I/O.

Layout before stuffing (all big-endian)::

    version:u8  kind:u8  type:u8  seq:u8  length:u8  body:length bytes  crc:u16 (over everything before it)

:class:`FrameDecoder` takes bytes as they arrive from a port, in any chunking, and returns frames and typed
errors; after line noise it resynchronises at the next 0x00. It never raises on input bytes.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from firmware_bridge.protocol import cobs
from firmware_bridge.protocol.crc import crc16_ccitt

PROTOCOL_VERSION = 1
DELIMITER = b"\x00"
HEADER_LEN = 5
MAX_BODY = 255
# Longest stuffed packet: header + body + crc, plus COBS overhead (one byte per 254, plus one).
MAX_PACKET = HEADER_LEN + MAX_BODY + 2 + 3


class DeviceKind(IntEnum):
    BRIDGE = 0
    RATING_PAD = 1
    LED_DISPLAY = 2
    STAFF_KEYPAD = 3


class MessageType(IntEnum):
    HELLO = 0x01        # device id, firmware version (the bridge sends one too when it opens a port)
    HEARTBEAT = 0x02    # uptime; never acknowledged
    ACK = 0x03          # header seq = the seq being acknowledged; never acknowledged
    ERROR = 0x04        # an error report: code + text
    EVENT = 0x10        # device → bridge input (key press), body per profile
    COMMAND = 0x20      # bridge → device output (show a number, light the keys), body per profile


# Types the receiver must acknowledge; the sender retransmits them until it sees the ack.
RELIABLE_TYPES = frozenset({MessageType.HELLO, MessageType.ERROR, MessageType.EVENT, MessageType.COMMAND})


class FrameError(ValueError):
    """A packet that is not a valid frame. Subclasses say why; all are recoverable."""


class BadStuffing(FrameError):
    """The COBS layer is broken (line noise, a lost byte)."""


class TruncatedFrame(FrameError):
    """Fewer bytes than the header and length promise."""


class LengthMismatch(FrameError):
    """More bytes than the length field promises."""


class BadChecksum(FrameError):
    """The CRC does not match: corrupted in transit."""


class UnsupportedVersion(FrameError):
    """A protocol version this side does not speak."""


class UnknownValue(FrameError):
    """A kind or message type this side does not know."""


class Oversize(FrameError):
    """No delimiter within the longest possible frame: bytes dropped until the next 0x00."""


@dataclass(frozen=True, slots=True)
class Frame:
    kind: DeviceKind
    type: MessageType
    seq: int
    body: bytes = b""
    version: int = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        if not 0 <= self.seq <= 255:
            raise ValueError(f"seq {self.seq} out of range 0..255")
        if len(self.body) > MAX_BODY:
            raise ValueError(f"body of {len(self.body)} bytes exceeds {MAX_BODY}")
        if not 0 <= self.version <= 255:
            raise ValueError(f"version {self.version} out of range")


def encode_frame(frame: Frame) -> bytes:
    """The bytes to write for ``frame``, delimiter included."""
    raw = bytes((frame.version, int(frame.kind), int(frame.type), frame.seq, len(frame.body))) + frame.body
    crc = crc16_ccitt(raw)
    return cobs.encode(raw + bytes((crc >> 8, crc & 0xFF))) + DELIMITER


def decode_packet(packet: bytes) -> Frame:
    """Decode one packet (the bytes between two delimiters, without them); raise a FrameError subclass."""
    try:
        raw = cobs.decode(packet)
    except cobs.CobsError as err:
        raise BadStuffing(str(err)) from err
    if len(raw) < HEADER_LEN + 2:
        raise TruncatedFrame(f"{len(raw)} bytes, shorter than header and checksum")
    length = raw[4]
    expected = HEADER_LEN + length + 2
    if len(raw) < expected:
        raise TruncatedFrame(f"length says {length} body bytes, only {len(raw) - HEADER_LEN - 2} present")
    if len(raw) > expected:
        raise LengthMismatch(f"length says {length} body bytes, {len(raw) - HEADER_LEN - 2} present")
    crc = (raw[-2] << 8) | raw[-1]
    if crc16_ccitt(raw[:-2]) != crc:
        raise BadChecksum(f"crc {crc:04x} != computed {crc16_ccitt(raw[:-2]):04x}")
    if raw[0] != PROTOCOL_VERSION:
        raise UnsupportedVersion(f"version {raw[0]}, this side speaks {PROTOCOL_VERSION}")
    try:
        kind = DeviceKind(raw[1])
        mtype = MessageType(raw[2])
    except ValueError as err:
        raise UnknownValue(str(err)) from err
    return Frame(kind, mtype, raw[3], bytes(raw[HEADER_LEN:HEADER_LEN + length]), raw[0])


class FrameDecoder:
    """Turns a byte stream into frames. ``feed`` returns frames and FrameErrors in arrival order.

    Empty packets (two delimiters in a row) are skipped silently: senders write a lone 0x00 to flush a
    receiver's half-received garbage.
    """

    def __init__(self, max_packet: int = MAX_PACKET) -> None:
        self._buf = bytearray()
        self._max = max_packet
        self._discarding = False
        self.frames_ok = 0
        self.frames_bad = 0

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        out: list[Frame | FrameError] = []
        for byte in data:
            if byte == 0:
                if self._discarding:
                    self._discarding = False
                elif self._buf:
                    try:
                        out.append(decode_packet(bytes(self._buf)))
                        self.frames_ok += 1
                    except FrameError as err:
                        out.append(err)
                        self.frames_bad += 1
                self._buf.clear()
            elif not self._discarding:
                self._buf.append(byte)
                if len(self._buf) > self._max:
                    self._buf.clear()
                    self._discarding = True
                    self.frames_bad += 1
                    out.append(Oversize(f"no delimiter within {self._max} bytes"))
        return out

    def reset(self) -> None:
        self._buf.clear()
        self._discarding = False
