"""CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection): the frame checksum. Pure.

Check value: ``crc16_ccitt(b"123456789") == 0x29B1`` (the same as ``binascii.crc_hqx(data, 0xFFFF)``).
"""
from __future__ import annotations


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_TABLE = _make_table()


def crc16_ccitt(data: bytes, crc: int = 0xFFFF) -> int:
    """The CRC of ``data``; pass a previous result as ``crc`` to continue over several chunks."""
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc
