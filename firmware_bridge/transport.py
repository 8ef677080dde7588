"""Serial ports for the bridge: find them by stable id, open, read with a timeout, notice when they vanish.

A port is named by a stable path (``/dev/serial/by-id/usb-motcua_pad-05-if00``, a udev symlink, or in tests
a symlink to a /dev/pts/N) so an unplugged and replugged device comes back at the same name even when the
kernel gives it another ttyACM number. Nothing here knows about frames or MQTT.
"""
from __future__ import annotations

import glob
import logging
import os
import select

import serial  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

BY_ID = "/dev/serial/by-id/*"


def discover(pattern: str = BY_ID) -> list[str]:
    """Stable paths of the serial ports present now, sorted."""
    return sorted(glob.glob(pattern))


class PortLost(Exception):
    """The port went away while open (unplugged, or the pty's other end closed)."""


class SerialTransport:
    def __init__(self, path: str, baudrate: int = 115200) -> None:
        self.path = path
        self.baudrate = baudrate
        self._serial: serial.Serial | None = None
        self.opened_as: str | None = None     # what the stable path pointed to when opened

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    def open(self) -> bool:
        """Try to open the port; False (not an exception) when it is not there yet."""
        if self._serial is not None:
            return True
        if "://" not in self.path and not os.path.exists(self.path):
            return False
        try:
            if "://" in self.path:
                self._serial = serial.serial_for_url(self.path, baudrate=self.baudrate, timeout=0.05)
            else:
                self._serial = serial.Serial(self.path, self.baudrate, timeout=0, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as err:
            log.debug("cannot open %s yet: %s", self.path, err)
            self._serial = None
            return False
        self.opened_as = os.path.realpath(self.path) if "://" not in self.path else self.path
        log.info("opened %s (%s)", self.path, self.opened_as)
        return True

    def close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except (serial.SerialException, OSError):
                pass
        self._serial = None

    def read(self, timeout_s: float) -> bytes:
        """Bytes available within ``timeout_s`` (b"" if none); PortLost if the port died."""
        port = self._serial
        if port is None:
            raise PortLost(f"{self.path} is not open")
        try:
            if "://" in self.path:
                return bytes(port.read(max(1, port.in_waiting)))
            ready, _, _ = select.select([port.fileno()], [], [], timeout_s)
            if not ready:
                # A udev symlink re-pointed or removed while we hold the old node: treat as unplugged.
                if not os.path.exists(self.path) or os.path.realpath(self.path) != self.opened_as:
                    raise PortLost(f"{self.path} now points elsewhere")
                return b""
            return bytes(port.read(max(1, port.in_waiting)))
        except (serial.SerialException, OSError, TypeError) as err:
            # pyserial raises SerialException("readiness to read but returned no data") on a hung-up pty.
            raise PortLost(f"{self.path}: {err}") from err

    def write(self, data: bytes) -> None:
        port = self._serial
        if port is None:
            raise PortLost(f"{self.path} is not open")
        try:
            port.write(data)
        except (serial.SerialException, OSError, TypeError) as err:
            raise PortLost(f"{self.path}: {err}") from err
