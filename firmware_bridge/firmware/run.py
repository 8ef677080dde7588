"""Run a device's firmware on CPython against a serial port or pty (tests, demo).

    python -m firmware_bridge.firmware.run --kind rating_pad --port /dev/pts/5 --id pad-05

Exits 0 on ``quit`` or end of stdin, 3 when the port is lost (a real device would reboot on replug too).
"""
from __future__ import annotations

import argparse
import os
import sys

from firmware_bridge.firmware.device import Device
from firmware_bridge.firmware.hal_cpython import CpythonHal, PortLost
from firmware_bridge.firmware.led_display import LedDisplay
from firmware_bridge.firmware.rating_pad import RatingPad
from firmware_bridge.firmware.staff_keypad import KEYS as KEYPAD_KEYS
from firmware_bridge.firmware.staff_keypad import StaffKeypad

KINDS: dict[str, type[Device]] = {"rating_pad": RatingPad, "led_display": LedDisplay, "staff_keypad": StaffKeypad}


def _key_number(kind: str, key: str) -> int:
    if key.isdigit():
        return int(key)
    if kind == "staff_keypad" and key in KEYPAD_KEYS:
        return KEYPAD_KEYS.index(key) + 1
    raise ValueError(f"unknown key {key!r}")


def apply_control(line: str, kind: str, device: Device, hal: CpythonHal) -> bool:
    """Apply one control line; return False when the firmware should stop."""
    word, _, arg = line.partition(" ")
    if word == "quit":
        return False
    if word == "press":
        hal.push_key(_key_number(kind, arg.strip()))
    elif word == "silent":
        device.silent = arg.strip() == "on"
    elif word == "garbage":
        # Line noise: random bytes, but never a lone delimiter run that would look like a real frame.
        hal.write(os.urandom(int(arg or "16")))
    elif word == "drop":
        device.drop_next = int(arg or "1")
    elif word == "slowack":
        # the bridge answers late: every ACK is acted on <ms> after it arrived (0 = at once)
        device.ack_delay_ms = int(arg or "0")
    elif word == "hello":
        device.send_hello()      # say HELLO again within this boot (as after unanswered ones), same boot id
    elif word == "reboot":
        # a power cycle: a new boot id; the injected slowness is the line's, so it survives the reboot
        delay = device.ack_delay_ms
        device.__init__(hal, device.device_id, heartbeat_ms=device.heartbeat_ms)  # type: ignore[misc]
        device.ack_delay_ms = delay
        device.begin()
    else:
        hal.log(f"unknown control {line!r}")
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", required=True, choices=sorted(KINDS))
    ap.add_argument("--port", required=True)
    ap.add_argument("--id", required=True, dest="device_id")
    ap.add_argument("--heartbeat-ms", type=int, default=1000)
    args = ap.parse_args(argv)
    hal = CpythonHal(args.port, control=sys.stdin.buffer)
    device = KINDS[args.kind](hal, args.device_id, heartbeat_ms=args.heartbeat_ms)
    try:
        device.begin()
        hal.emit(f"ready {args.device_id}")
        while True:
            hal.wait(20)
            while hal.control_lines:
                if not apply_control(hal.control_lines.pop(0), args.kind, device, hal):
                    return 0
            device.step()
    except PortLost as err:
        hal.emit(f"log port lost: {err}")
        return 3
    except KeyboardInterrupt:
        return 0
    finally:
        hal.close()


if __name__ == "__main__":
    sys.exit(main())
