"""The HAL on CPython: the UART is a serial port or pty (pyserial), keys and faults come from a control
stream (stdin lines), and what the LEDs and display show goes to stdout as lines a test can wait for.

Control lines: ``press <n|name>``, ``silent on|off``, ``garbage <n>``, ``drop <n>``, ``slowack <ms>`` (act on
each ACK that late: the HELLO is retransmitted), ``hello`` (say HELLO again, same boot), ``reboot`` (new boot id),
``quit``.
Output lines: ``ready <id>``, ``show <text>|blink``, ``leds <mask>|blink``, ``log <text>``.
"""
from __future__ import annotations

import os
import select
import sys
import time
from typing import IO

import serial

from firmware_bridge.firmware.hal import Hal


class PortLost(Exception):
    """The serial port went away (unplugged, or the pty's other end closed)."""


class CpythonHal(Hal):
    def __init__(self, port: str, control: IO[bytes] | None = None, out: IO[str] | None = None,
                 baudrate: int = 115200) -> None:
        self.serial = serial.Serial(port, baudrate, timeout=0)
        self._control_fd = control.fileno() if control is not None else None
        self._control_buf = b""
        self._out = out or sys.stdout
        self._keys: list[int] = []
        self._readable = False
        self.control_lines: list[str] = []

    # --- UART -------------------------------------------------------------------------------------------
    def read(self) -> bytes:
        if not self._readable:
            return b""
        self._readable = False
        try:
            return bytes(self.serial.read(max(1, self.serial.in_waiting)))
        except (serial.SerialException, OSError) as err:
            raise PortLost(str(err)) from err

    def write(self, data: bytes) -> None:
        try:
            self.serial.write(data)
        except (serial.SerialException, OSError) as err:
            raise PortLost(str(err)) from err

    # --- clock ------------------------------------------------------------------------------------------
    def ticks_ms(self) -> int:
        return int(time.monotonic() * 1000)

    def wait(self, ms: int) -> None:
        fds = [self.serial.fileno()]
        if self._control_fd is not None:
            fds.append(self._control_fd)
        ready, _, _ = select.select(fds, [], [], ms / 1000)
        if self.serial.fileno() in ready:
            self._readable = True
        if self._control_fd is not None and self._control_fd in ready:
            chunk = os.read(self._control_fd, 4096)
            if not chunk:
                self.control_lines.append("quit")
                self._control_fd = None
            self._control_buf += chunk
            while b"\n" in self._control_buf:
                line, self._control_buf = self._control_buf.split(b"\n", 1)
                if line.strip():
                    self.control_lines.append(line.decode("utf-8", "replace").strip())

    # --- keys, LEDs, display ----------------------------------------------------------------------------
    def push_key(self, key: int) -> None:
        self._keys.append(key)

    def keys(self) -> list[int]:
        keys, self._keys = self._keys, []
        return keys

    def emit(self, line: str) -> None:
        self._out.write(line + "\n")
        self._out.flush()

    def set_leds(self, mask: int, blink: bool = False) -> None:
        self.emit(f"leds {mask}" + ("|blink" if blink else ""))

    def show(self, text: str, blink: bool = False) -> None:
        self.emit(f"show {text}" + ("|blink" if blink else ""))

    def log(self, message: str) -> None:
        self.emit(f"log {message}")

    def close(self) -> None:
        try:
            self.serial.close()
        except (serial.SerialException, OSError):
            pass
