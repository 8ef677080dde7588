"""The serial framing as the firmware speaks it (MicroPython subset): COBS + CRC-16/CCITT frames.

Kept byte-for-byte compatible with firmware_bridge.protocol.frames (a unit test checks both ways); it is a
separate copy because a Pico cannot import the host package and MicroPython has no dataclasses.
"""
# ruff: noqa: BLE001  -- MicroPython subset: %-formatting, a HAL keys() method, UnicodeError varies

VERSION = 1
KIND_BRIDGE, KIND_RATING_PAD, KIND_LED_DISPLAY, KIND_STAFF_KEYPAD = 0, 1, 2, 3
HELLO, HEARTBEAT, ACK, ERROR, EVENT, COMMAND = 0x01, 0x02, 0x03, 0x04, 0x10, 0x20
RELIABLE = (HELLO, ERROR, EVENT, COMMAND)
MAX_PACKET = 5 + 255 + 2 + 3

_TABLE = []
for _b in range(256):
    _c = _b << 8
    for _i in range(8):
        _c = ((_c << 1) ^ 0x1021) if _c & 0x8000 else (_c << 1)
    _TABLE.append(_c & 0xFFFF)


def crc16(data, crc=0xFFFF):
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ b) & 0xFF]
    return crc


def cobs_encode(data):
    out = bytearray()
    block = bytearray()
    for b in data:
        if b == 0:
            out.append(len(block) + 1)
            out.extend(block)
            block = bytearray()
        else:
            block.append(b)
            if len(block) == 254:
                out.append(255)
                out.extend(block)
                block = bytearray()
    out.append(len(block) + 1)
    out.extend(block)
    return bytes(out)


def cobs_decode(data):
    """Return the decoded bytes, or None if ``data`` is not valid COBS."""
    out = bytearray()
    i = 0
    n = len(data)
    if n == 0:
        return None
    while i < n:
        code = data[i]
        if code == 0 or i + code > n:
            return None
        for b in data[i + 1:i + code]:
            if b == 0:
                return None
        out.extend(data[i + 1:i + code])
        i += code
        if code < 255 and i < n:
            out.append(0)
    return bytes(out)


def encode(kind, mtype, seq, body=b""):
    raw = bytes((VERSION, kind, mtype, seq & 0xFF, len(body))) + bytes(body)
    c = crc16(raw)
    return cobs_encode(raw + bytes((c >> 8, c & 0xFF))) + b"\x00"


def decode(packet):
    """Return (kind, type, seq, body) or None for anything that is not a valid frame."""
    raw = cobs_decode(packet)
    if raw is None or len(raw) < 7:
        return None
    if len(raw) != 5 + raw[4] + 2:
        return None
    if crc16(raw[:-2]) != (raw[-2] << 8) | raw[-1]:
        return None
    if raw[0] != VERSION:
        return None
    return raw[1], raw[2], raw[3], bytes(raw[5:-2])


class Decoder:
    """Byte stream in, frames out; drops bad packets (counting them) and resyncs at the next 0x00."""

    def __init__(self):
        self.buf = bytearray()
        self.discarding = False
        self.bad = 0

    def feed(self, data):
        out = []
        for b in data:
            if b == 0:
                if not self.discarding and len(self.buf):
                    f = decode(bytes(self.buf))
                    if f is None:
                        self.bad += 1
                    else:
                        out.append(f)
                self.discarding = False
                self.buf = bytearray()
            elif not self.discarding:
                self.buf.append(b)
                if len(self.buf) > MAX_PACKET:
                    self.buf = bytearray()
                    self.discarding = True
                    self.bad += 1
        return out


def pack_str(text, max_len):
    data = text.encode("utf-8")
    while len(data) > max_len:
        text = text[:-1]
        data = text.encode("utf-8")
    return bytes((len(data),)) + data


def unpack_str(body, offset):
    """Return (text, next offset) or (None, offset) when malformed."""
    if offset >= len(body):
        return None, offset
    n = body[offset]
    if offset + 1 + n > len(body):
        return None, offset
    try:
        return bytes(body[offset + 1:offset + 1 + n]).decode("utf-8"), offset + 1 + n
    except Exception:  # MicroPython raises UnicodeError, CPython UnicodeDecodeError
        return None, offset
