"""Counter devices for ``make demo``: per counter an LED display and a rating pad (firmware on CPython in
child processes, on socat ptys) plus the bridge, and citizens who press a rating key when the pad lights up.

    python -m firmware_bridge.sim.demo_devices --center tt-hcc --mqtt-port 1883 --counters 1,2,3

Needs socat. Talks to the hub only through MQTT, like the real bridge.
"""
from __future__ import annotations

import argparse
import logging
import random
import shutil
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from firmware_bridge.bridge import Bridge
from firmware_bridge.config import BridgeSettings, DeviceBinding
from firmware_bridge.sim.virtual_device import VirtualDevice

log = logging.getLogger(__name__)

# How citizens tend to vote at the counter (key 1 = Rất hài lòng, 2 = Hài lòng, 3 = Không hài lòng).
VOTE_WEIGHTS = (70, 25, 5)


@dataclass
class DemoDevices:
    bridge: Bridge
    devices: list[VirtualDevice]
    workdir: Path
    own_workdir: bool
    stop_event: threading.Event = field(default_factory=threading.Event)
    presses: int = 0
    shown: dict[str, str] = field(default_factory=dict)      # counter -> what its LED shows

    def stop(self) -> None:
        self.stop_event.set()
        self.bridge.stop()
        for dev in self.devices:
            dev.stop()
        if self.own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_demo_devices(center: str, mqtt_host: str, mqtt_port: int, counters: list[str],
                       workdir: Path | None = None, rate_probability: float = 0.7,
                       seed: int | None = None) -> DemoDevices:
    own = workdir is None
    work = Path(tempfile.mkdtemp(prefix="motcua-devices-")) if workdir is None else workdir
    rng = random.Random(seed)
    devices: list[VirtualDevice] = []
    bindings: list[DeviceBinding] = []
    for counter in counters:
        for kind, prefix in (("led_display", "led"), ("rating_pad", "pad")):
            dev_id = f"{prefix}-{counter}"
            dev = VirtualDevice(kind, dev_id, work / f"usb-motcua_{dev_id}-if00", heartbeat_ms=1000).plug()
            devices.append(dev)
            bindings.append(DeviceBinding(dev_id, kind, str(dev.stable_path), counter))
    bridge = Bridge(BridgeSettings(center=center, mqtt_host=mqtt_host, mqtt_port=mqtt_port,
                                   devices=tuple(bindings)))
    demo = DemoDevices(bridge, devices, work, own)
    bridge.start()
    for dev, binding in zip(devices, bindings, strict=True):
        threading.Thread(target=_citizen, args=(demo, dev, binding.counter, rng, rate_probability),
                         name=f"citizen-{dev.device_id}", daemon=True).start()
    return demo


def _citizen(demo: DemoDevices, dev: VirtualDevice, counter: str, rng: random.Random, p: float) -> None:
    """Watch one device's output; on a pad, press a key when it lights up (most citizens do)."""
    while not demo.stop_event.is_set():
        try:
            line = dev.wait_for("", timeout=1.0)
        except TimeoutError:
            continue
        if dev.kind == "led_display" and line.startswith("show "):
            demo.shown[counter] = line[5:].split("|")[0]
        elif (dev.kind == "rating_pad" and line[5:] in ("3", "7", "15") and line.startswith("leds ")
              and rng.random() < p and not demo.stop_event.wait(rng.uniform(0.2, 1.5))):
            key = rng.choices((1, 2, 3), weights=VOTE_WEIGHTS)[0]
            demo.presses += 1
            try:
                dev.press(str(key))
            except (OSError, AssertionError, ValueError):
                pass     # the device was unplugged meanwhile


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--center", required=True)
    ap.add_argument("--mqtt-host", default="127.0.0.1")
    ap.add_argument("--mqtt-port", type=int, default=1883)
    ap.add_argument("--counters", default="1,2,3")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    demo = start_demo_devices(args.center, args.mqtt_host, args.mqtt_port, args.counters.split(","))
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    while not done.wait(5):
        print("LED:", ", ".join(f"quầy {c}: {n or '—'}" for c, n in sorted(demo.shown.items())),
              f"| rating presses: {demo.presses}", flush=True)
    demo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
