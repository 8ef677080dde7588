"""``motcua demo``: the whole product on this machine, no hardware: a broker, the hub, counter devices on virtual
serial ports, the main system's stand-in, a kiosk's printer, and a simulated morning at a provincial center.

What runs (each part the real code, only the hardware and the province are simulated):
- the MQTT broker (Mosquitto, else embedded amqtt) and the hub (queue_server.wiring.build_hub);
- counters 1–3: a staff keypad, an LED counter display and a rating pad each, the reference firmware on CPython
  behind socat pty pairs (firmware_bridge.sim.virtual_device), and the serial bridge (firmware_bridge.Bridge);
  staff drive those counters by pressing keypad keys, citizens press a rating key when the pad lights up (and now
  and then try a second time, which the hub refuses);
- the other counters are driven over the HTTP API, as the staff console does;
- the mock main system (queue_server.mock_main_system): the hub's outbox delivers every event to it, signed; the
  kiosk look-up pulls a dossier from it on a miss; it pushes a few status changes to the hub;
- kiosk "kiosk-1" prints every ticket on the simulated ESC/POS printer (devices.printer ``sim://printer``), with
  its health on MQTT (a paper-out now and then becomes a device alert on the hub); a few tickets are saved as PNG.

Time: the hub runs on an accelerated clock that starts at 07:30 today, so the whole morning session
(07:30–11:30, 4 hours) passes in ``--duration`` seconds (60 s → 240× speed); without a duration it runs at
240× until Ctrl-C. Everything lives in a work folder (a new temporary one, or ``$MOTCUA_DEMO_DIR``); at the end
only ``tickets/*.png`` and ``summary.json`` are kept there. This module starts and stops processes and threads;
it holds no business rule.
"""
from __future__ import annotations

import json
import logging
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import requests

from contracts import topics
from contracts.messages import VN_TZ
from queue_server.broker import free_port, start_broker
from queue_server.config import WEEKDAYS, HubSettings, settings_from_dict

log = logging.getLogger(__name__)

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "center.example.toml"
DEMO_PASSWORD = "motcua-demo"
MORNING_S = 4 * 3600.0
DEFAULT_SPEED = 240.0
# How many citizens want each service, roughly as a provincial center sees it (hộ tịch and đất đai lead).
SERVICE_WEIGHTS = {"ho-tich": 20, "dat-dai": 16, "dang-ky-kinh-doanh": 10, "xay-dung": 6, "lao-dong": 8,
                   "giao-thong": 9, "tai-nguyen": 5, "y-te": 4, "giao-duc": 3, "cong-thuong": 3, "noi-vu": 3,
                   "thue": 6, "tra-ket-qua": 12}
OPEN_COUNTERS = ("1", "2", "3", "4", "5", "7", "8", "9", "10", "12", "13", "14")
# Counters with hardware: keypad kp-<n>, LED display led-<n>, rating pad pad-<n> (counter 1 busiest: hộ tịch).
DEVICE_COUNTERS = ("1", "2", "3")
KIOSK_ID = "kiosk-1"
PRINTER_ID = "kiosk-1-printer"
TICKET_PNGS = 5                 # rendered tickets kept as PNG (the rest are printed and dropped)
FOOTER = ("Xin vui lòng chờ đến lượt", "Please wait for your number")
REPLY_TIMEOUT_S = 8.0           # a keypad/pad press → the hub's reply, through broker and bridge
DEMO_DIR_ENV = "MOTCUA_DEMO_DIR"


class AcceleratedClock:
    """A Clock (queue_server.app.ports) that runs ``speed`` times faster than the wall clock from ``start``."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.start = start
        self.speed = speed
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    def reset(self) -> None:
        """Back to ``start`` (used once, when everything is up and before the first command)."""
        self._t0 = time.monotonic()

    def real_seconds(self, sim_seconds: float) -> float:
        return sim_seconds / self.speed


@dataclass
class Tally:
    """What the simulated people did and what the hub answered them (the demo's own view; the hub's own counts
    come from its event log at the end)."""

    issued: int = 0
    priority: int = 0
    called: int = 0
    recalled: int = 0
    done: int = 0
    no_show: int = 0
    transferred: int = 0
    printed: int = 0
    print_faults: int = 0
    keypad_calls: int = 0
    ratings: int = 0
    ratings_refused: int = 0
    dossier_pushes: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    FIELDS = ("issued", "priority", "called", "recalled", "done", "no_show", "transferred", "printed",
              "print_faults", "keypad_calls", "ratings", "ratings_refused", "dossier_pushes", "errors")

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, int]:
        with self.lock:
            return {name: getattr(self, name) for name in self.FIELDS}

    def line(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.as_dict().items())


def demo_settings(config: Path, workdir: Path, http_port: int, mqtt_port: int | None,
                  integration: dict[str, Any] | None = None) -> HubSettings:
    raw = tomllib.loads(config.read_text(encoding="utf-8"))
    # the demo runs any day of the week, so every day gets the usual two sessions
    raw["working_hours"] = [{"days": list(WEEKDAYS), "sessions": [["07:30", "11:30"], ["13:30", "17:00"]]}]
    # ... and public holidays too: a demo on Tết must still show a morning
    raw.setdefault("center", {})["observe_holidays"] = False
    raw["store"] = {"path": str(workdir / "hub.sqlite3")}
    raw["http"] = {**raw.get("http", {}), "host": "127.0.0.1", "port": http_port}
    raw["mqtt"] = {"enabled": mqtt_port is not None, "host": "127.0.0.1", "port": mqtt_port or 1883}
    raw["security"] = {**raw.get("security", {}), "device_keys": []}
    if integration is not None:
        raw["integration"] = integration
    return settings_from_dict(raw, source=f"{config} (demo)")


def integration_table(workdir: Path, main_url: str, agency: str, outbox_secret: str, push_secret: str) -> dict[str, Any]:
    """The hub's [integration] for the demo: outbox to the mock (signed), pull on a look-up miss, pushes accepted."""
    return {
        "mirror_path": str(workdir / "dossiers.sqlite3"),
        "outbox_path": str(workdir / "outbox.sqlite3"),
        "push_hmac_secret": push_secret,
        "pull_on_miss": True,
        "main_system": {"base_url": main_url, "agency_code": agency, "auth": "token", "username": "motcua",
                        "password": "motcua", "hmac_secret": outbox_secret, "timeout_s": 3.0},
        # events in batches: a morning at 240× is a few thousand events a minute on a shared 2-core machine
        "outbox": {"batch_size": 25, "base_backoff_s": 0.5, "max_backoff_s": 5.0},
    }


# --- the broker, seen from the side: which device sent which command, and what the hub answered ----------------
@dataclass(frozen=True, slots=True)
class Reply:
    command: str
    source: str | None
    ok: bool
    code: str | None


class DeviceTraffic:
    """An MQTT observer: pairs each ``cmd/<command>`` with its ``reply/<command>`` by correlation id, so the demo
    knows that a call was made by keypad kp-1 and whether the hub took it; follows device availability."""

    def __init__(self, center: str, host: str, port: int) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.center = center
        self.replies: list[Reply] = []
        self.online: dict[str, bool] = {}
        self._sources: dict[str, tuple[str, str | None]] = {}
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"motcua-demo-{uuid.uuid4().hex[:8]}")
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            self.stop()
            raise TimeoutError("no SUBACK from the broker")

    def _on_connect(self, client: Any, userdata: object, flags: object, reason: Any, props: object = None) -> None:
        client.subscribe([(topics.cmd_filter(self.center), 1), (topics.reply_filter(self.center), 1),
                          (topics.devices_filter(self.center, "availability"), 1)])

    def _on_message(self, client: Any, userdata: object, msg: Any) -> None:
        try:
            parsed = topics.parse(msg.topic)
            if parsed.kind == "device_availability":
                with self._cond:
                    self.online[parsed.key] = msg.payload == b"online"
                    self._cond.notify_all()
                return
            body = json.loads(msg.payload)
            corr = str(body.get("correlation_id", ""))
            with self._cond:
                if parsed.kind == "cmd":
                    self._sources[corr] = (parsed.key, body.get("source"))
                elif parsed.kind == "reply":
                    _, source = self._sources.pop(corr, (parsed.key, None))
                    code = (body.get("error") or {}).get("code") if not body.get("ok") else None
                    self.replies.append(Reply(parsed.key, source, bool(body.get("ok")), code))
                    self._cond.notify_all()
        except (ValueError, AttributeError, topics.TopicError):
            log.debug("demo: unreadable message on %s", msg.topic)

    def mark(self) -> int:
        with self._cond:
            return len(self.replies)

    def wait_reply(self, command: str, source: str, after: int, timeout: float) -> Reply | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for r in self.replies[after:]:
                    if r.command == command and r.source == source:
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def wait_online(self, devices: list[str], timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: all(self.online.get(d) for d in devices), timeout)

    def from_devices(self) -> dict[str, int]:
        """Answers the hub gave to device commands: ok per command, and refusals per error code."""
        with self._cond:
            seen = [r for r in self.replies if r.source]
        counts: Counter[str] = Counter()
        for r in seen:
            counts[f"{r.command}:{'ok' if r.ok else r.code}"] += 1
        return dict(counts)

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        self.client.publish(topic, json.dumps(payload), qos=1)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


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


class Simulation:
    """Citizens and staff: the kiosk and the staff console over HTTP, the counters with hardware through their
    keypads and rating pads (serial → bridge → MQTT → hub)."""

    def __init__(self, base: str, settings: HubSettings, clock: AcceleratedClock, stop: threading.Event,
                 seed: int = 2026, kiosk: KioskPrinter | None = None, devices: CounterDevices | None = None,
                 traffic: DeviceTraffic | None = None) -> None:
        self.base = base
        self.settings = settings
        self.clock = clock
        self.stop = stop
        self.tally = Tally()
        self.rand = random.Random(seed)
        self.rand_lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.center = settings.center
        self.services = [s for s in self.center.services if s.code in SERVICE_WEIGHTS] or list(self.center.services)
        self.priorities = [p.code for p in self.center.priorities]
        self.kiosk = kiosk
        self.devices = devices if traffic is not None else None
        self.traffic = traffic
        self.first_ticket: dict[str, Any] | None = None

    # helpers ---------------------------------------------------------------------------------------
    def r(self) -> float:
        with self.rand_lock:
            return self.rand.random()

    def pause_sim(self, sim_seconds: float) -> bool:
        """Sleep this many simulated seconds; False when the demo is ending."""
        return not self.stop.wait(max(0.02, self.clock.real_seconds(sim_seconds)))

    def post(self, http: requests.Session, path: str, body: dict[str, Any] | None = None,
             expect: tuple[int, ...] = (200, 201)) -> tuple[int, dict[str, Any]]:
        try:
            resp = http.post(self.base + path, json=body or {}, timeout=10)
        except requests.RequestException as err:
            if not self.stop.is_set():
                self.tally.add("errors")
                log.warning("demo: %s failed: %s", path, err)
            return 0, {}
        data = resp.json() if resp.content else {}
        if resp.status_code not in expect:
            self.tally.add("errors")
            log.warning("demo: %s → %s %s", path, resp.status_code, data)
        return resp.status_code, data

    def login(self, username: str) -> requests.Session:
        http = requests.Session()
        resp = http.post(self.base + "/auth/login", json={"username": username, "password": DEMO_PASSWORD}, timeout=10)
        resp.raise_for_status()
        http.headers["Authorization"] = f"Bearer {resp.json()['token']}"
        return http

    def service_minutes(self, service_code: str) -> float:
        service = self.center.service(service_code)
        avg = service.avg_service_min if service else 10.0
        with self.rand_lock:
            return max(1.0, min(4 * avg, self.rand.expovariate(1.0 / avg)))

    # citizens --------------------------------------------------------------------------------------
    def arrivals_per_min(self, now: datetime) -> float:
        minute = now.hour * 60 + now.minute
        if 7 * 60 + 30 <= minute < 8 * 60 + 45:
            return 2.2            # the first wave: people waiting at the door at opening
        if 9 * 60 + 15 <= minute < 10 * 60:
            return 1.6            # the mid-morning wave
        if 13 * 60 + 30 <= minute < 14 * 60 + 30:
            return 1.8
        return 0.8

    def citizens(self) -> None:
        http = requests.Session()
        weights = [SERVICE_WEIGHTS.get(s.code, 3) for s in self.services]
        while not self.stop.is_set():
            rate = self.arrivals_per_min(self.clock.now())
            with self.rand_lock:
                gap = self.rand.expovariate(rate / 60.0)
                service = self.rand.choices(self.services, weights)[0]
                priority = self.rand.choice(self.priorities) if self.priorities and self.rand.random() < 0.12 else None
            if not self.pause_sim(gap):
                return
            status, data = self.post(http, "/tickets", {"service": service.code, "priority": priority,
                                                        "kiosk": KIOSK_ID}, expect=(201, 409))
            if status != 201:
                continue
            self.tally.add("issued")
            if self.first_ticket is None:
                self.first_ticket = data["ticket"]
            if priority:
                self.tally.add("priority")
            self.print_ticket(http, data)

    def print_ticket(self, http: requests.Session, issued: dict[str, Any]) -> None:
        """Print on the kiosk's printer and tell the hub how it went: a failed print is recorded printed:false,
        so the ticket is not a phantom (the citizen saw the number on screen)."""
        runs_out = self.tally.issued == 8 or self.r() < 0.02     # the roll ends now and then (once early on)
        if self.kiosk is None:
            printed, fault = not runs_out, (None if not runs_out else "paper_out")
        else:
            if runs_out:
                self.kiosk.run_out_of_paper()
            try:
                report = self.kiosk.print(issued)
                printed, fault = bool(report.printed), report.fault
            except Exception as err:  # noqa: BLE001 - a printer bug must not stop the morning; the hub hears of it
                log.warning("demo: printing %s failed: %s", issued["ticket"]["number"], err)
                printed, fault = False, "printer_error"
            if runs_out:
                self.kiosk.refill()
        self.tally.add("printed" if printed else "print_faults")
        self.post(http, f"/tickets/{issued['ticket']['id']}/print-result",
                  {"printed": printed, "fault": None if printed else (fault or "paper_out")})

    # staff at the console --------------------------------------------------------------------------
    def counter(self, counter_id: str, http: requests.Session) -> None:
        rules = self.center.rules
        cdef = self.center.counter(counter_id)
        assert cdef is not None
        self.post(http, f"/counters/{counter_id}/open")
        took_break = False
        while not self.stop.is_set():
            now = self.clock.now()
            if counter_id == "4" and not took_break and now.hour == 9 and now.minute >= 30:
                took_break = True
                self.post(http, f"/counters/{counter_id}/pause", {"reason": "Nghỉ giải lao"})
                if not self.pause_sim(15 * 60):
                    return
                self.post(http, f"/counters/{counter_id}/resume")
            status, data = self.post(http, f"/counters/{counter_id}/call-next", expect=(200, 409))
            if status != 200:
                if not self.pause_sim(45):
                    return
                continue
            self.tally.add("called")
            ticket = data["ticket"]
            if self.r() < 0.07:                      # the citizen has gone home
                for _ in range(rules.recalls_before_no_show):
                    if not self.pause_sim(rules.recall_delay_s + 5):
                        return
                    self.post(http, f"/counters/{counter_id}/recall")
                    self.tally.add("recalled")
                if not self.pause_sim(rules.recall_delay_s + 5):
                    return
                status, _ = self.post(http, f"/counters/{counter_id}/no-show")
                if status == 200:
                    self.tally.add("no_show")
                continue
            if not self.pause_sim(30 + 60 * self.r()):          # walking to the counter
                return
            self.post(http, f"/counters/{counter_id}/start")
            if not self.pause_sim(60 * self.service_minutes(ticket["service"])):
                return
            if self.r() < 0.05:                      # wrong queue: send them to another service
                others = [s.code for s in self.services if s.code != ticket["service"]]
                with self.rand_lock:
                    target = self.rand.choice(others)
                status, _ = self.post(http, f"/counters/{counter_id}/transfer", {"service": target})
                if status == 200:
                    self.tally.add("transferred")
                continue
            status, _ = self.post(http, f"/counters/{counter_id}/complete")
            if status == 200:
                self.tally.add("done")

    # staff with a keypad, citizens with a rating pad -----------------------------------------------
    def press(self, dev: Any, key: str, command: str) -> Reply | None:
        """Press a key on a virtual device and wait for the hub's answer to the command the bridge sent."""
        assert self.traffic is not None
        mark = self.traffic.mark()
        try:
            dev.press(key)
        except (OSError, ValueError, AssertionError) as err:
            if not self.stop.is_set():
                log.warning("demo: pressing %s on %s failed: %s", key, dev.device_id, err)
                self.tally.add("errors")
            return None
        reply = self.traffic.wait_reply(command, dev.device_id, mark, REPLY_TIMEOUT_S)
        if reply is None and not self.stop.is_set():
            log.warning("demo: no answer to %s from %s", command, dev.device_id)
            self.tally.add("errors")
        return reply

    def keypad_counter(self, kit: CounterKit, http: requests.Session) -> None:
        """A counter run from its keypad: next, start, complete; the citizen then rates on the pad."""
        self.post(http, f"/counters/{kit.counter}/open")     # staff log in at the console once, then use keys
        ratings_here = 0
        while not self.stop.is_set():
            reply = self.press(kit.keypad, "next", "call-next")
            if reply is None or not reply.ok:                 # nothing to call (or no answer): look again soon
                if not self.pause_sim(45):
                    return
                continue
            self.tally.add("called")
            self.tally.add("keypad_calls")
            if not self.pause_sim(30 + 60 * self.r()):
                return
            self.press(kit.keypad, "start", "start")
            service = self.first_service(kit.counter)
            if not self.pause_sim(60 * self.service_minutes(service)):
                return
            kit.pad.clear()
            reply = self.press(kit.keypad, "complete", "complete")
            if reply is None or not reply.ok:
                continue
            self.tally.add("done")
            if self.r() < 0.85:
                ratings_here += 1
                # the first citizen at each counter, and some later ones, try to rate a second time
                self.rate(kit, again=ratings_here == 1 or self.r() < 0.2)

    def first_service(self, counter: str) -> str:
        cdef = self.center.counter(counter)
        return cdef.services[0] if cdef is not None and cdef.services else "ho-tich"

    def rate(self, kit: CounterKit, again: bool) -> None:
        assert self.traffic is not None
        levels = len(self.settings.rating_scale) or 3
        lit = f"leds {(1 << levels) - 1}"
        try:
            kit.pad.wait_for(lit, timeout=5.0)                 # the pad lights up after ticket.done
        except TimeoutError:
            log.info("demo: %s did not light up", kit.pad.device_id)
            return
        with self.rand_lock:
            key = self.rand.choices(range(1, levels + 1), weights=(70, 25, 5, 3)[:levels])[0]
        reply = self.press(kit.pad, str(key), "submit-rating")
        if reply is None:
            return
        self.tally.add("ratings" if reply.ok else "ratings_refused")
        if not (again and reply.ok):
            return
        # The pad goes dark after a rating; a tool command lights it again, as if the citizen found a way to
        # press twice. The hub must refuse (already_rated): one rating per ticket.
        kit.pad.clear()
        self.traffic.publish(topics.device_set(self.center.id, kit.pad.device_id), {"enable": levels, "timeout_s": 30})
        try:
            kit.pad.wait_for(lit, timeout=5.0)
        except TimeoutError:
            return
        reply = self.press(kit.pad, "1", "submit-rating")
        if reply is not None:
            self.tally.add("ratings" if reply.ok else "ratings_refused")

    # ------------------------------------------------------------------------------------------------
    def start(self) -> None:
        staff = [u.username for u in self.settings.users if u.role == "staff"]
        if not staff:
            raise RuntimeError("the demo config has no staff users")
        sessions = {name: self.login(name) for name in staff}
        targets: list[tuple[Callable[..., None], tuple[Any, ...]]] = [(self.citizens, ())]
        kits = self.devices.kits if self.devices is not None else {}
        for i, cid in enumerate(c for c in OPEN_COUNTERS if self.center.counter(c) is not None):
            http = requests.Session()
            http.headers.update(sessions[staff[i % len(staff)]].headers)
            if cid in kits:
                targets.append((self.keypad_counter, (kits[cid], http)))
            else:
                targets.append((self.counter, (cid, http)))
        self.clock.reset()      # the morning starts now that the hub is up and staff are logged in
        for fn, args in targets:
            t = threading.Thread(target=fn, args=args, daemon=True, name=f"demo-{fn.__name__}")
            t.start()
            self.threads.append(t)

    def join(self, timeout: float = 10.0) -> None:
        for t in self.threads:
            t.join(timeout)


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


# --- what the terminal shows -------------------------------------------------------------------------------------
def render_summary(state: dict[str, Any], stats: dict[str, Any] | None, clock: AcceleratedClock, tally: Tally,
                   mqtt: str = "", devices: str = "", integration: str = "") -> str:
    now = clock.now()
    t = tally.as_dict()
    lines = [f"── {now:%H:%M} (giờ mô phỏng / simulated time) ── mqtt: {mqtt or '?'}",
             (f"  Phát số / issued {t['issued']} · gọi / called {t['called']} (bàn phím / keypad "
              f"{t['keypad_calls']}) · xong / done {t['done']} · vắng / no-show {t['no_show']} · chuyển / transfers "
              f"{t['transferred']}"),
             (f"  Đánh giá / ratings {t['ratings']} (từ chối / refused {t['ratings_refused']}) · vé in / printed "
              f"{t['printed']} (lỗi máy in / print faults {t['print_faults']}) · lỗi demo / errors {t['errors']}")]
    served = {}
    if stats:
        for code, s in (stats.get("services") or {}).items():
            if isinstance(s, dict):
                served[code] = s.get("served", 0)
    lines.append(f"  {'Lĩnh vực / Service':<36} {'chờ':>4} {'đã phục vụ':>10}  gọi gần nhất")
    for s in state.get("services", []):
        lines.append(f"  {s['name'][:36]:<36} {s['waiting']:>4} {served.get(s['service'], 0):>10}  "
                     f"{s.get('last_called') or '—'}")
    busy = []
    for c in state.get("counters", []):
        if c["status"] == "closed":
            continue
        what = c.get("current_ticket") or ("tạm nghỉ" if c["status"] == "paused" else "trống")
        busy.append(f"{c['name']}: {what}")
    for i in range(0, len(busy), 7):          # seven counters a line keeps it within a terminal's width
        lines.append("  " + " | ".join(busy[i:i + 7]))
    if devices:
        lines.append(f"  Thiết bị / devices: {devices}")
    if integration:
        lines.append(f"  Hệ thống chính / main system: {integration}")
    return "\n".join(lines)


def integration_line(health: dict[str, Any] | None, main: MainSystemPart | None) -> str:
    if main is None:
        return ""
    outbox = (health or {}).get("outbox") or {}
    return (f"outbox chờ gửi / pending {outbox.get('pending_count', '?')}, đã gửi / delivered "
            f"{outbox.get('delivered_total', '?')} · mock đã nhận / received {main.received()} sự kiện / events · "
            f"liên kết / link {(health or {}).get('link', '?')}\n"
            f"    hồ sơ / dossiers: mock {len(main.mock.codes)}, bản sao trên hub / hub mirror "
            f"{(health or {}).get('mirror_dossiers', '?')} · cập nhật được đẩy / pushed updates {len(main.pushed)}")


def hub_event_counts(api: str, manager: requests.Session | None, device_counters: tuple[str, ...],
                     morning_from_seq: int = 0, morning_until_seq: int | None = None) -> dict[str, Any]:
    """Read the hub's whole event log (manager API) and count what happened, from the hub's point of view.
    Device alerts count between the two seqs: devices coming up before the morning, or going away because the
    demo is being stopped, are not alerts."""
    if manager is None:
        return {}
    by_type: Counter[str] = Counter()
    device_calls = 0
    alerts = 0
    after = 0
    while True:
        resp = manager.get(f"{api}/events", params={"after": after, "limit": 1000}, timeout=10)
        resp.raise_for_status()
        events = resp.json()["events"]
        if not events:
            break
        for e in events:
            by_type[e["type"]] += 1
            data = e.get("data") or {}
            if e["type"] == "ticket.called":
                counter = data.get("counter") or (data.get("ticket") or {}).get("counter")
                if str(counter) in device_counters:
                    device_calls += 1
            if morning_from_seq < e["seq"] <= (morning_until_seq or e["seq"]) and (
                    (e["type"] == "device.fault" and data.get("active")) or e["type"] == "device.offline"):
                alerts += 1
        after = events[-1]["seq"]
    return {"by_type": dict(by_type), "calls_at_device_counters": device_calls, "device_alerts": alerts}


def _work_folder() -> Path:
    chosen = os.environ.get(DEMO_DIR_ENV)
    if chosen:
        path = Path(chosen)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return Path(tempfile.mkdtemp(prefix="motcua-demo-"))


def _tidy(workdir: Path) -> None:
    """Keep what the user may want to look at (ticket PNGs, summary.json); remove databases and device links."""
    for entry in workdir.iterdir():
        if entry.name in ("tickets", "summary.json"):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def run_demo(duration: float | None = 60.0, port: int | None = None, config: Path | None = None,
             broker: str = "auto", out: TextIO = sys.stdout) -> int:
    from queue_server.wiring import build_hub

    config = config or EXAMPLE_CONFIG
    stop = threading.Event()

    # Ctrl-C reaches the whole process group: socat, the firmware and Mosquitto end at once, so the morning's
    # account stops at the event seen then, and the parts' complaints about each other vanishing are not shown.
    until_seq: list[int] = []
    hub: Any = None

    def on_signal(signum: int, frame: Any) -> None:
        if hub is not None and not until_seq:
            until_seq.append(hub.service.last_seq)
        for name in ("firmware_bridge", "queue_server.adapters.mqtt", "devices.health"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    # a paper-out is part of the show (summary line, device alert on the hub), not a warning for the terminal
    logging.getLogger("devices.printer.escpos_printer").setLevel(logging.ERROR)
    workdir = _work_folder()
    ticket_dir = workdir / "tickets"
    running_broker = None
    sim: Simulation | None = None
    main: MainSystemPart | None = None
    devices: CounterDevices | None = None
    traffic: DeviceTraffic | None = None
    kiosk: KioskPrinter | None = None
    try:
        try:
            running_broker = start_broker(prefer=broker)
            mqtt_port: int | None = running_broker.port
        except (RuntimeError, OSError, TimeoutError) as err:
            say(f"không khởi động được MQTT broker / no MQTT broker could be started ({err}): chạy không có MQTT, "
                f"không có thiết bị quầy / running without MQTT and counter devices")
            mqtt_port = None
        outbox_secret, push_secret = secrets.token_hex(16), secrets.token_hex(16)
        try:
            main = MainSystemPart(outbox_secret, push_secret)
        except (OSError, RuntimeError) as err:
            say(f"không chạy được hệ thống chính giả lập / the mock main system did not start ({err})")
        http_port = port or free_port()
        raw_integration = (integration_table(workdir, main.mock.url, main.mock.agency_code, outbox_secret,
                                             push_secret) if main is not None else None)
        settings = demo_settings(config, workdir, http_port, mqtt_port, raw_integration)
        from queue_server.face_demo import with_face  # issue 15 hook: face lookup on in the demo

        settings = with_face(settings, workdir)
        speed = MORNING_S / duration if duration else DEFAULT_SPEED
        start = datetime.now(VN_TZ).replace(hour=7, minute=30, second=0, microsecond=0)
        clock = AcceleratedClock(start, speed)
        hub = build_hub(settings, clock=clock, keepalive_s=5.0)
        hub.start_background()
        hub.serve_in_thread()
        url = f"http://127.0.0.1:{hub.port}"
        api = url + "/api/v1"
        c = settings.center

        # counter hardware: needs the broker (the bridge speaks MQTT) and socat (the virtual serial ports)
        device_note = ""
        if mqtt_port is None:
            device_note = "không có (không có MQTT) / none (no MQTT broker)"
        elif shutil.which("socat") is None:
            device_note = ("không có: chưa cài socat (apt-get install socat) / none: socat is not installed; "
                           "các quầy 1–3 dùng màn hình quầy / counters 1–3 use the console instead")
        else:
            try:
                traffic = DeviceTraffic(c.id, "127.0.0.1", mqtt_port)
                devices = CounterDevices(c.id, mqtt_port, DEVICE_COUNTERS, workdir / "serial")
                devices.start()
                if not traffic.wait_online(devices.ids, 30):
                    say("  (một số thiết bị chưa trực tuyến / some devices are not online yet)")
                device_note = (f"{len(devices.devices)} thiết bị ảo trên cổng nối tiếp (socat) + bridge / virtual "
                               f"serial devices + bridge: " + ", ".join(devices.ids))
            except Exception as err:
                log.warning("demo: counter devices failed", exc_info=True)
                device_note = f"không chạy được / did not start ({err}); quầy 1–3 dùng màn hình / console instead"
                if devices is not None:
                    devices.stop()
                devices = None
        try:
            kiosk = KioskPrinter(settings, url, ticket_dir, mqtt_port)
        except Exception as err:  # noqa: BLE001 - e.g. fonts missing: tickets are then only on screen
            say(f"máy in giả lập không chạy / the simulated printer did not start ({err})")

        say(f"motcua demo — {c.name}\n"
            f"  {len(c.services)} lĩnh vực, {len(c.counters)} quầy; đồng hồ mô phỏng từ 07:30, nhanh {speed:.0f}× "
            f"(simulated clock from 07:30, {speed:.0f}× speed)\n"
            f"  broker: {running_broker.kind + ' on 127.0.0.1:' + str(mqtt_port) if running_broker else 'none'}\n"
            f"  Thiết bị quầy / counter devices: {device_note}\n"
            f"  Màn hình sảnh / hall display:     {url}/display/hall\n"
            f"  Màn hình quầy / counter display:  {url}/display/counter/1   (quầy 1 chạy bằng bàn phím / "
            f"counter 1 runs from its keypad)\n"
            f"  Bàn làm việc / staff console:     {url}/console   (canbo1 / {DEMO_PASSWORD})\n"
            f"  Quản lý / manager board:          {url}/manager   (quanly / {DEMO_PASSWORD})\n"
            f"  Đánh giá (máy tính bảng) / rating tablet: {url}/rate/5\n"
            f"  API: {api}/state   OpenAPI: {api}/openapi.json\n"
            f"  Ki-ốt / kiosk: .venv/bin/motcua kiosk --sim --hub {url}\n"
            f"  Vé in (PNG) / printed tickets: {ticket_dir}/" + ("" if kiosk else "  (không có máy in / no printer)"))
        if main is not None:
            codes = [code for code in main.mock.codes][:3]
            say(f"  Hệ thống chính giả lập / mock main system: {main.mock.url}  (outbox ký HMAC / HMAC-signed outbox)\n"
                f"  Tra cứu hồ sơ / dossier look-up (thử / try):\n"
                + "\n".join(f"    {api}/dossiers/{code}" for code in codes))
        say(f"  {'Dừng sau / ends after ' + format(duration, 'g') + ' s' if duration else 'Ctrl-C để dừng / to stop'}")

        sim = Simulation(api, settings, clock, stop, kiosk=kiosk, devices=devices, traffic=traffic)
        manager = sim.login("quanly") if settings.user("quanly") else None
        morning_from_seq = hub.service.last_seq
        sim.start()
        if main is not None:
            main.start_pushing(url, max(2.0, (duration or 60.0) / 6), stop, sim.tally)
            first = main.mock.codes[1] if len(main.mock.codes) > 1 else None
            if first:
                try:   # a first look-up: not in the mirror yet, so the hub pulls it from the main system
                    d = requests.get(f"{api}/dossiers/{first}", timeout=10).json()
                    say(f"  → {first}: {d['dossier']['status_vi']} / {d['dossier']['status_en']} "
                        f"(nguồn / source: {d['freshness']['source']})")
                except (requests.RequestException, ValueError, KeyError) as err:
                    say(f"  → tra cứu thất bại / look-up failed: {err}")
        if main is not None and main.mock.codes:
            # issue 15 hook: a simulated citizen enrolled at a counter, then found by face at a kiosk
            from queue_server.face_demo import enrol_and_look_up, say_result

            try:
                summary_face = enrol_and_look_up(url, "canbo1", DEMO_PASSWORD, main.mock.codes[0])
            except Exception as err:
                log.warning("demo: face look-up failed", exc_info=True)
                summary_face = {"state": "failed", "error": str(err)}
            say_result(summary_face, say)
            sim.tally_face = summary_face
        deadline = time.monotonic() + duration if duration else None
        every = min(5.0, max(1.0, (duration or 60.0) / 8))
        tracking_shown = False
        while not stop.is_set():
            wait = every if deadline is None else min(every, deadline - time.monotonic())
            if wait <= 0 or stop.wait(wait):
                break
            try:
                state = requests.get(api + "/state", timeout=5).json()
                stats = manager.get(api + "/stats/today", timeout=5).json() if manager else None
                mqtt = requests.get(api + "/health", timeout=5).json().get("mqtt", "")
                health = manager.get(api + "/integration/health", timeout=5).json() if manager and main else None
                if not tracking_shown and sim.first_ticket is not None:
                    tracking_shown = True
                    say(f"  Theo dõi vé / ticket tracking page ({sim.first_ticket['number']}): "
                        f"{url}/t/{sim.first_ticket['id']}")
                say(render_summary(state, stats, clock, sim.tally, mqtt, devices.shown() if devices else "",
                                   integration_line(health, main)))
            except (requests.RequestException, ValueError) as err:
                log.warning("demo: summary failed: %s", err)
        stop.set()
        sim.join()

        # the hub's own account, before anything is stopped (devices going offline is not part of the morning)
        summary: dict[str, Any] = {"tally": sim.tally.as_dict(), "url": url, "workdir": str(workdir)}
        try:
            if main is not None and hub.integration is not None and hub.integration.relay is not None:
                hub.integration.relay.wake()
                relay = hub.integration.relay
                end = time.monotonic() + 5     # let the outbox catch up with the last events
                while time.monotonic() < end and relay.metrics().get("pending_count"):
                    time.sleep(0.1)
            summary["hub"] = hub_event_counts(api, manager, tuple(devices.kits) if devices else (), morning_from_seq,
                                              until_seq[0] if until_seq else None)
            if manager is not None:
                summary["ratings"] = manager.get(api + "/ratings/aggregates", timeout=10).json()
                if main is not None:
                    summary["integration"] = manager.get(api + "/integration/health", timeout=10).json()
        except (requests.RequestException, ValueError, KeyError) as err:
            log.warning("demo: final summary failed: %s", err)
        if main is not None:
            summary["main_system"] = {"url": main.mock.url, "received": main.received(), "duplicates":
                                      main.mock.duplicates, "bad_signatures": main.mock.bad_signatures,
                                      "dossiers": main.mock.codes, "pushed": main.pushed}
        if devices is not None and traffic is not None:
            summary["device_replies"] = traffic.from_devices()
            summary["devices"] = devices.ids
        summary["tickets"] = [str(p) for p in kiosk.saved] if kiosk else []
        summary["face"] = getattr(sim, "tally_face", None)     # issue 15
        if sim.first_ticket is not None:
            summary["tracking_url"] = f"{url}/t/{sim.first_ticket['id']}"
        (workdir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
        t = sim.tally.as_dict()
        hub_counts = summary.get("hub", {})
        delivered = (summary.get("integration") or {}).get("outbox", {}).get("delivered_total", 0)
        say(f"demo: issued={t['issued']} called={t['called']} done={t['done']} no_show={t['no_show']} "
            f"transfers={t['transferred']} ratings={t['ratings']} ratings_refused={t['ratings_refused']} "
            f"keypad_calls={t['keypad_calls']} printed={t['printed']} print_faults={t['print_faults']} "
            f"outbox_delivered={delivered} main_system_received={main.received() if main else 0} "
            f"dossier_pushes={t['dossier_pushes']} device_alerts={hub_counts.get('device_alerts', 0)} "
            f"errors={t['errors']}")
        say(f"  Vé in (PNG) / printed tickets: {ticket_dir}/  ·  tóm tắt / summary: {workdir / 'summary.json'}")
        return 0
    finally:
        stop.set()
        if sim is not None:
            sim.join(5)
        for part, name in ((devices, "devices"), (kiosk, "printer"), (traffic, "traffic")):
            if part is not None:
                try:
                    part.stop()
                except Exception:
                    log.exception("demo: stopping %s failed", name)
        if hub is not None:
            hub.stop()
        if main is not None:
            main.stop()
        if running_broker is not None:
            running_broker.stop()
        _tidy(workdir)
