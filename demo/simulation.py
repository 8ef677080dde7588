"""Citizens and staff of a simulated morning: the kiosk and the staff console over HTTP, the counters with
hardware through their keypads and rating pads (serial → bridge → MQTT → hub)."""
from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests

from contracts import topics
from demo.clock import AcceleratedClock
from demo.parts import CounterDevices, CounterKit, KioskPrinter
from demo.settings import KIOSK_ID, OPEN_COUNTERS, REPLY_TIMEOUT_S, RUN_PASSWORD, SERVICE_WEIGHTS
from demo.tally import Tally
from demo.traffic import DeviceTraffic, Reply
from queue_server.config import HubSettings

log = logging.getLogger(__name__)


class Simulation:
    """Citizens and staff: the kiosk and the staff console over HTTP, the counters with hardware through their
    keypads and rating pads (serial → bridge → MQTT → hub)."""

    def __init__(self, base: str, settings: HubSettings, clock: AcceleratedClock, stop: threading.Event,
                 seed: int = 2026, kiosk: KioskPrinter | None = None, devices: CounterDevices | None = None,
                 traffic: DeviceTraffic | None = None, phone_share: float = 0.0) -> None:
        self.base = base
        self.phone_share = phone_share       # walk-ins who leave a phone at the kiosk (told when their turn nears)
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
        resp = http.post(self.base + "/auth/login", json={"username": username, "password": RUN_PASSWORD}, timeout=10)
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
        if self.settings.security.device_keys:       # the kiosk's credential
            http.headers["X-Device-Key"] = self.settings.security.device_keys[0]
        weights = [SERVICE_WEIGHTS.get(s.code, 3) for s in self.services]
        while not self.stop.is_set():
            rate = self.arrivals_per_min(self.clock.now())
            with self.rand_lock:
                gap = self.rand.expovariate(rate / 60.0)
                service = self.rand.choices(self.services, weights)[0]
                priority = self.rand.choice(self.priorities) if self.priorities and self.rand.random() < 0.12 else None
                phone = (f"09{self.rand.randrange(10**8):08d}"
                         if self.phone_share and self.rand.random() < self.phone_share else None)
            if not self.pause_sim(gap):
                return
            body = {"service": service.code, "priority": priority, "kiosk": KIOSK_ID}
            if phone is not None:
                body["contact"] = phone
            status, data = self.post(http, "/tickets", body, expect=(201, 409))
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
