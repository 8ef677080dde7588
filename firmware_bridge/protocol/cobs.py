"""Consistent Overhead Byte Stuffing: removes every 0x00 from a packet so 0x00 can delimit frames. Pure."""
from __future__ import annotations


class CobsError(ValueError):
    """Bytes that are not a valid COBS encoding (a zero inside, or a code pointing past the end)."""


def encode(data: bytes) -> bytes:
    """COBS-encode ``data``; the result contains no 0x00 and is at most len/254 + 1 bytes longer."""
    out = bytearray()
    block = bytearray()
    for byte in data:
        if byte == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
        else:
            block.append(byte)
            if len(block) == 254:
                out.append(255)
                out += block
                block.clear()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def decode(data: bytes) -> bytes:
    """Invert :func:`encode`; raise CobsError for anything an encoder could not have produced."""
    out = bytearray()
    i = 0
    n = len(data)
    if n == 0:
        raise CobsError("empty packet")
    while i < n:
        code = data[i]
        if code == 0:
            raise CobsError(f"zero byte at offset {i}")
        end = i + code
        if end > n:
            raise CobsError(f"code {code} at offset {i} runs past the end ({n} bytes)")
        block = data[i + 1:end]
        if 0 in block:
            raise CobsError("zero byte inside a block")
        out += block
        i = end
        # A code below 255 stands for "block, then a zero" — except for the very last block.
        if code < 255 and i < n:
            out.append(0)
    return bytes(out)
