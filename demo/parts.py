"""The demo's simulated hardware and neighbours: counter devices on virtual serial ports with the bridge, the
kiosk's printer with its health on MQTT, the mock main system. Each part is the real code with only the
hardware or the province simulated."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from demo.settings import FOOTER, PRINTER_ID, TICKET_PNGS
from demo.tally import Tally
from queue_server.broker import free_port
from queue_server.config import HubSettings

log = logging.getLogger(__name__)


# --- counter hardware ------------------------------------------------------------------------------------------
@dataclass
class CounterKit:
    counter: str
    keypad: Any      # firmware_bridge.sim.virtual_device.VirtualDevice
    led: Any
    pad: Any

    @staticmethod
    def last_shown(dev: Any) -> str:
        for line in reversed(dev.history[-50:]):
            if line.startswith("show "):
                return line[5:].split("|")[0] or "—"
        return "—"


class CounterDevices:
    """Per counter in DEVICE_COUNTERS a keypad, an LED display and a rating pad (firmware on CPython behind socat
    ptys, stable symlinks like /dev/serial/by-id), and the bridge that connects them to the broker."""

    def __init__(self, center: str, mqtt_port: int, counters: tuple[str, ...], folder: Path) -> None:
        from firmware_bridge.bridge import Bridge
        from firmware_bridge.config import BridgeSettings, DeviceBinding
        from firmware_bridge.sim.virtual_device import VirtualDevice

        folder.mkdir(parents=True, exist_ok=True)
        self.devices: list[Any] = []
        self.kits: dict[str, CounterKit] = {}
        bindings: list[Any] = []
        made: dict[str, Any] = {}
        for counter in counters:
            for kind, prefix in (("staff_keypad", "kp"), ("led_display", "led"), ("rating_pad", "pad")):
                dev_id = f"{prefix}-{counter}"
                dev = VirtualDevice(kind, dev_id, folder / f"usb-motcua_{dev_id}-if00", heartbeat_ms=1000)
                self.devices.append(dev)
                made[dev_id] = dev
                bindings.append(DeviceBinding(dev_id, kind, str(dev.stable_path), counter))
            self.kits[counter] = CounterKit(counter, made[f"kp-{counter}"], made[f"led-{counter}"],
                                            made[f"pad-{counter}"])
        self.bridge = Bridge(BridgeSettings(center=center, mqtt_host="127.0.0.1", mqtt_port=mqtt_port,
                                            devices=tuple(bindings)))
        self.bridge_started = False

    @property
    def ids(self) -> list[str]:
        return [d.device_id for d in self.devices]

    def start(self) -> None:
        """Plug every device (in parallel: each boots a Python process) and start the bridge."""
        failures: list[BaseException] = []

        def plug(dev: Any) -> None:
            try:
                dev.plug()
            except BaseException as err:  # noqa: BLE001 - reported below, all together
                failures.append(err)

        threads = [threading.Thread(target=plug, args=(d,), daemon=True) for d in self.devices]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        if failures:
            raise RuntimeError(f"{len(failures)} device(s) did not boot: {failures[0]}")
        self.bridge.start()
        self.bridge_started = True

    def stop(self) -> None:
        if self.bridge_started:
            try:
                self.bridge.stop()
            except Exception:
                log.exception("demo: bridge stop failed")
        for dev in self.devices:
            try:
                dev.stop()
            except Exception:
                log.debug("demo: %s stop", dev.device_id, exc_info=True)
                for proc in (getattr(dev.pair, "process", None), dev.firmware):
                    if proc is not None and proc.poll() is None:
                        proc.kill()
                        proc.wait(5)

    def shown(self) -> str:
        parts = []
        for c, kit in self.kits.items():
            parts.append(f"quầy {c}: LED {CounterKit.last_shown(kit.led)} · phím «{CounterKit.last_shown(kit.keypad)}»")
        return " | ".join(parts)


# --- the kiosk's printer ---------------------------------------------------------------------------------------
class KioskPrinter:
    """Kiosk ``kiosk-1``'s simulated ESC/POS printer (devices.printer ``sim://printer``); its health goes to the
    hub over MQTT like a real kiosk's (devices.health.ReportingPrinter), so paper-out is a device alert there."""

    def __init__(self, settings: HubSettings, public_url: str, ticket_dir: Path, mqtt_port: int | None) -> None:
        from devices.printer import open_printer

        self.center = settings.center
        self.public_url = public_url
        self.ticket_dir = ticket_dir
        self.printer = open_printer("sim://printer", name=PRINTER_ID)
        self.sim = self.printer.simulator  # type: ignore[attr-defined]  # set for sim:// URLs
        self.device: Any = self.printer
        self.publisher: Any = None
        if mqtt_port is not None:
            from devices.health import DeviceHealthPublisher, ReportingPrinter

            self.publisher = DeviceHealthPublisher(self.center.id, PRINTER_ID, "printer", "127.0.0.1", mqtt_port)
            self.publisher.start()
            self.device = ReportingPrinter(self.printer, self.publisher)
        self.saved: list[Path] = []
        self._lock = threading.Lock()     # one kiosk, one printer: jobs in order
        self.labels = {p.code: p.label for p in self.center.priorities}

    def print(self, issued: dict[str, Any]) -> Any:
        from devices.printer import PrintableTicket

        t = issued["ticket"]
        service = self.center.service(t["service"])
        ticket = PrintableTicket(
            center_name=self.center.name, number=t["number"], service_name=service.name if service else t["service"],
            people_ahead=int(issued.get("ahead") or 0), estimated_wait_min=issued.get("estimated_wait_min"),
            issued_at=datetime.fromisoformat(t["issued_at"]),
            tracking_url=self.public_url + str(issued.get("tracking_url") or f"/t/{t['id']}"),
            footer_lines=FOOTER, priority_label=self.labels.get(t.get("priority") or ""))
        with self._lock:
            report = self.device.print_ticket(ticket)
            if report.printed and self.sim.tickets and len(self.saved) < TICKET_PNGS:
                self.ticket_dir.mkdir(parents=True, exist_ok=True)
                path = self.ticket_dir / f"ticket-{t['number']}.png"
                self.sim.tickets[-1].image.save(path)
                self.saved.append(path)
            self.sim.tickets.clear()      # a morning of rendered paper would only fill memory
        return report

    def run_out_of_paper(self) -> None:
        self.sim.set_faults(paper="out")

    def refill(self) -> None:
        """Staff put a new roll in; the status read clears the alert on the hub."""
        self.sim.set_faults(paper="ok")
        with self._lock:
            self.device.status()

    def stop(self) -> None:
        if self.publisher is not None:
            self.publisher.stop()




# --- the main system's stand-in ----------------------------------------------------------------------------------
class MainSystemPart:
    """The mock main system, plus a thread that moves a sample dossier on every so often and pushes it."""

    def __init__(self, outbox_secret: str, push_secret: str) -> None:
        from queue_server.mock_main_system import MockMainSystem

        self.mock = MockMainSystem("127.0.0.1", free_port(), secret=outbox_secret, hub_secret=push_secret).start()
        self.pushed: list[str] = []
        self._thread: threading.Thread | None = None

    def start_pushing(self, hub_url: str, every_s: float, stop: threading.Event, tally: Tally) -> None:
        self.mock.hub_url = hub_url

        def loop() -> None:
            while not stop.wait(every_s):
                code = self.mock.advance_one()
                if code:
                    self.pushed.append(code)
                    tally.add("dossier_pushes")

        self._thread = threading.Thread(target=loop, name="demo-main-system-push", daemon=True)
        self._thread.start()

    def received(self) -> int:
        return len(self.mock.received)

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.join(10)
        self.mock.stop()
