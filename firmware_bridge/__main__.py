"""``motcua bridge`` / ``python -m firmware_bridge --config bridge.toml``: wiring and logging, nothing else."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from firmware_bridge.bridge import Bridge
from firmware_bridge.config import BridgeConfigError, check_can_run, load_settings
from firmware_bridge.transport import discover
from runtime.mqtt import MqttError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="motcua bridge", description="Counter devices (serial) ↔ the hub (MQTT)")
    ap.add_argument("--config", help="bridge TOML file")
    ap.add_argument("--list-ports", action="store_true", help="print the stable serial port paths and exit")
    ap.add_argument("--wire-log", help="write serial traffic (>>>/<<< hex) to this file")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.list_ports:
        print("\n".join(discover()) or "no /dev/serial/by-id ports")
        return 0
    if not args.config:
        ap.error("--config is required")
    wire = logging.getLogger("motcua.wire")
    wire.propagate = bool(args.verbose)
    if args.wire_log:
        handler = logging.FileHandler(args.wire_log)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        wire.addHandler(handler)
        wire.setLevel(logging.DEBUG)
    try:
        settings = load_settings(args.config)
        check_can_run(settings)
    except BridgeConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    for note in settings.notes:
        logging.getLogger("motcua.bridge").warning("config: %s", note)
    try:
        bridge = Bridge(settings)
    except MqttError as err:          # a CA or client certificate that does not load
        print(f"config error: {err}", file=sys.stderr)
        return 2
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    bridge.start()
    done.wait()
    bridge.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
