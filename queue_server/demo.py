"""``motcua demo``: a broker, the hub and a simulated morning at a provincial center, all on this machine.

Citizens arrive in waves through the HTTP API (some with priority), staff at several counters call, start,
complete, sometimes recall and mark no-shows or transfer; a live summary prints every few seconds.

Time: the hub runs on an accelerated clock that starts at 07:30 today, so the whole morning session
(07:30–11:30, 4 hours) passes in ``--duration`` seconds (60 s → 240× speed); without a duration it runs at
240× until Ctrl-C (a morning per minute, then the lunch break, then the afternoon). Everything the demo writes
lives in a temporary folder that is removed at the end.
"""
from __future__ import annotations

import logging
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import requests

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
    issued: int = 0
    priority: int = 0
    called: int = 0
    recalled: int = 0
    done: int = 0
    no_show: int = 0
    transferred: int = 0
    print_faults: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def line(self) -> str:
        with self.lock:
            return (f"issued={self.issued} priority={self.priority} called={self.called} recalled={self.recalled} "
                    f"done={self.done} no_show={self.no_show} transferred={self.transferred} "
                    f"print_faults={self.print_faults} errors={self.errors}")


def demo_settings(config: Path, workdir: Path, http_port: int, mqtt_port: int | None) -> HubSettings:
    raw = tomllib.loads(config.read_text(encoding="utf-8"))
    # the demo runs any day of the week, so every day gets the usual two sessions
    raw["working_hours"] = [{"days": list(WEEKDAYS), "sessions": [["07:30", "11:30"], ["13:30", "17:00"]]}]
    raw["store"] = {"path": str(workdir / "hub.sqlite3")}
    raw["http"] = {**raw.get("http", {}), "host": "127.0.0.1", "port": http_port}
    raw["mqtt"] = {"enabled": mqtt_port is not None, "host": "127.0.0.1", "port": mqtt_port or 1883}
    raw["security"] = {**raw.get("security", {}), "device_keys": []}
    return settings_from_dict(raw, source=f"{config} (demo)")


class Simulation:
    """Citizens and staff, all talking to the hub over HTTP like the real kiosk and console would."""

    def __init__(self, base: str, settings: HubSettings, clock: AcceleratedClock, stop: threading.Event,
                 seed: int = 2026) -> None:
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
                                                        "kiosk": "kiosk-1"}, expect=(201, 409))
            if status != 201:
                continue
            self.tally.add("issued")
            if priority:
                self.tally.add("priority")
            printed = self.r() > 0.02
            if not printed:
                self.tally.add("print_faults")
            self.post(http, f"/tickets/{data['ticket']['id']}/print-result",
                      {"printed": printed, "fault": None if printed else "paper_out"})

    # staff -----------------------------------------------------------------------------------------
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
            service = self.center.service(ticket["service"])
            avg = service.avg_service_min if service else 10.0
            with self.rand_lock:
                minutes = min(4 * avg, self.rand.expovariate(1.0 / avg))
            if not self.pause_sim(60 * max(1.0, minutes)):
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

    def start(self) -> None:
        staff = [u.username for u in self.settings.users if u.role == "staff"]
        if not staff:
            raise RuntimeError("the demo config has no staff users")
        sessions = {name: self.login(name) for name in staff}
        targets: list[tuple[Any, tuple[Any, ...]]] = [(self.citizens, ())]
        for i, cid in enumerate(c for c in OPEN_COUNTERS if self.center.counter(c) is not None):
            http = requests.Session()
            http.headers.update(sessions[staff[i % len(staff)]].headers)
            targets.append((self.counter, (cid, http)))
        self.clock.reset()      # the morning starts now that the hub is up and staff are logged in
        for fn, args in targets:
            t = threading.Thread(target=fn, args=args, daemon=True, name=f"demo-{fn.__name__}")
            t.start()
            self.threads.append(t)

    def join(self, timeout: float = 10.0) -> None:
        for t in self.threads:
            t.join(timeout)


def render_summary(state: dict[str, Any], stats: dict[str, Any] | None, clock: AcceleratedClock, tally: Tally,
                   mqtt: str = "") -> str:
    now = clock.now()
    lines = [f"── {now:%H:%M} (giờ mô phỏng / simulated time) ── {tally.line()} mqtt={mqtt or '?'}"]
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
    lines.append("  " + " | ".join(busy))
    return "\n".join(lines)


def run_demo(duration: float | None = 60.0, port: int | None = None, config: Path | None = None,
             broker: str = "auto", out: TextIO = sys.stdout) -> int:
    from queue_server.wiring import build_hub

    config = config or EXAMPLE_CONFIG
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

    workdir = Path(tempfile.mkdtemp(prefix="motcua-demo-"))
    running_broker = None
    hub = None
    sim = None
    try:
        try:
            running_broker = start_broker(prefer=broker)
            mqtt_port: int | None = running_broker.port
        except (RuntimeError, OSError, TimeoutError) as err:
            print(f"no MQTT broker could be started ({err}); running without MQTT", file=out)
            mqtt_port = None
        http_port = port or free_port()
        settings = demo_settings(config, workdir, http_port, mqtt_port)
        speed = MORNING_S / duration if duration else DEFAULT_SPEED
        start = datetime.now(VN_TZ).replace(hour=7, minute=30, second=0, microsecond=0)
        clock = AcceleratedClock(start, speed)
        hub = build_hub(settings, clock=clock, keepalive_s=5.0)
        hub.start_background()
        hub.serve_in_thread()
        url = f"http://127.0.0.1:{hub.port}"
        c = settings.center
        print(f"motcua demo — {c.name}\n"
              f"  {len(c.services)} lĩnh vực, {len(c.counters)} quầy; đồng hồ mô phỏng từ 07:30, nhanh {speed:.0f}× "
              f"(simulated clock from 07:30, {speed:.0f}× speed)\n"
              f"  broker: {running_broker.kind + ' on 127.0.0.1:' + str(mqtt_port) if running_broker else 'none'}\n"
              f"  Màn hình sảnh / hall display:     {url}/display/hall\n"
              f"  Màn hình quầy / counter display:  {url}/display/counter/1\n"
              f"  Bàn làm việc / staff console:     {url}/console   (canbo1 / {DEMO_PASSWORD})\n"
              f"  Quản lý / manager board:          {url}/manager   (quanly / {DEMO_PASSWORD})\n"
              f"  API: {url}/api/v1/state   OpenAPI: {url}/api/v1/openapi.json\n"
              f"  {'Dừng sau / ends after ' + str(duration) + ' s' if duration else 'Ctrl-C để dừng / to stop'}",
              file=out, flush=True)
        api = url + "/api/v1"
        sim = Simulation(api, settings, clock, stop)
        manager = sim.login("quanly") if settings.user("quanly") else None
        sim.start()
        deadline = time.monotonic() + duration if duration else None
        every = min(5.0, max(1.0, (duration or 60.0) / 8))
        while not stop.is_set():
            wait = every if deadline is None else min(every, deadline - time.monotonic())
            if wait <= 0 or stop.wait(wait):
                break
            try:
                state = requests.get(api + "/state", timeout=5).json()
                stats = manager.get(api + "/stats/today", timeout=5).json() if manager else None
                mqtt = requests.get(api + "/health", timeout=5).json().get("mqtt", "")
                print(render_summary(state, stats, clock, sim.tally, mqtt), file=out, flush=True)
            except (requests.RequestException, ValueError) as err:
                log.warning("demo: summary failed: %s", err)
        stop.set()
        sim.join()
        print(f"demo: {sim.tally.line()}", file=out, flush=True)
        return 0
    finally:
        stop.set()
        if sim is not None:
            sim.join(5)
        if hub is not None:
            hub.stop()
        if running_broker is not None:
            running_broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
