"""The demo's bookings and notifications (issue 16): the mock SMS gateway (queue_server.mock_gateway, its inbox a page
a demo user opens), the hub's ``[bookings]`` / ``[notifications]`` tables pointing at it with a token made for this
run, and the morning's booked citizens: bookings pushed by the "province's portal" (signed with the demo's push
secret) before the doors open, most of them checked in at the kiosk inside their window, the rest left to become
no-shows. Called by demo/run.py; holds no booking rule (the hub decides every answer)."""
from __future__ import annotations

import json
import logging
import random
import secrets
import threading
from datetime import datetime, timedelta
from typing import Any

import requests

from demo.clock import AcceleratedClock
from demo.tally import Tally
from queue_server.adapters.main_system import signed_headers
from queue_server.broker import free_port
from queue_server.mock_gateway import MockGateway

log = logging.getLogger(__name__)

CAPACITY = {"ho-tich": 3, "dat-dai": 2, "dang-ky-kinh-doanh": 2, "tra-ket-qua": 3}
# (service, slot "HH:MM", comes?) of the morning's portal bookings: most come, a few never do (no-shows)
MORNING = [("ho-tich", "08:00", True), ("ho-tich", "08:00", True), ("dat-dai", "08:30", True),
           ("ho-tich", "09:00", False), ("dang-ky-kinh-doanh", "09:00", True), ("tra-ket-qua", "09:30", True),
           ("ho-tich", "10:00", True), ("dat-dai", "10:00", False), ("tra-ket-qua", "10:30", True),
           ("ho-tich", "11:00", True)]


def tables(gateway_url: str, token: str, hub_url: str) -> dict[str, Any]:
    """``[bookings]`` and ``[notifications]`` for the demo hub: SMS through the mock gateway (bearer ``token``),
    links in messages to the hub itself, the sweep and retries quick enough for an accelerated morning."""
    return {
        "bookings": {"capacity": dict(CAPACITY), "slot_minutes": 30, "early_min": 30, "late_min": 15,
                     "per_person_per_day": 2, "per_person_per_service_per_day": 1, "days_ahead": 14,
                     "sweep_every_s": 1},
        "notifications": {"public_base_url": hub_url, "turn_near_at": 3, "reminder_before_min": 60,
                          "retry_base_s": 0.5, "retry_max_s": 10,
                          "sms": {"url": gateway_url + "/sms", "auth": "bearer", "token": token}},
    }


class BookingsPart:
    """The mock gateway (started at once: the hub's config names its URL) and the morning's booked citizens."""

    def __init__(self, seed: int = 16) -> None:
        self.token = secrets.token_urlsafe(24)       # made for this run; the gateway refuses any other
        self.gateway = MockGateway(port=free_port(), token=self.token).start()
        self.rand = random.Random(seed)
        self.pushed: list[dict[str, Any]] = []
        self.checked_in = 0
        self.refused = 0
        self._thread: threading.Thread | None = None

    @property
    def inbox_url(self) -> str:
        return self.gateway.url + "/"

    def tables(self, hub_url: str) -> dict[str, Any]:
        return tables(self.gateway.url, self.token, hub_url)

    def push_morning(self, api: str, push_secret: str, day: datetime) -> int:
        """The portal's bookings for today, pushed signed like dossier updates; returns how many were stored."""
        items = []
        for i, (service, hhmm, _comes) in enumerate(MORNING):
            hh, mm = (int(x) for x in hhmm.split(":"))
            items.append({"external_id": f"demo-portal-{day:%Y%m%d}-{i}", "service": service,
                          "slot_start": day.replace(hour=hh, minute=mm, second=0, microsecond=0).isoformat(),
                          "person_id": f"0010990{i:05d}", "contact": f"09{self.rand.randrange(10**8):08d}"})
        body = json.dumps({"bookings": items}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", **signed_headers(push_secret, body)}
        try:
            answer = requests.post(api + "/integration/bookings", data=body, headers=headers, timeout=10)
            answer.raise_for_status()
            results = answer.json()["results"]
        except (requests.RequestException, ValueError, KeyError) as err:
            log.warning("demo: the portal's bookings were not accepted: %s", err)
            return 0
        for item, result, (_s, _t, comes) in zip(items, results, MORNING, strict=True):
            if result.get("stored") in ("created", "duplicate"):
                self.pushed.append({**item, "code": result["code"], "comes": comes})
        return len(self.pushed)

    def start(self, api: str, clock: AcceleratedClock, stop: threading.Event, device_key: str | None,
              tally: Tally | None = None) -> None:
        """Each citizen who comes scans the booking at the kiosk a few minutes before the slot; the ticket it
        gives counts as issued at the kiosk (``tally``), like a walk-in's."""
        http = requests.Session()
        if device_key:
            http.headers["X-Device-Key"] = device_key
        arrivals = []
        for b in self.pushed:
            if b["comes"]:
                early = timedelta(minutes=self.rand.randrange(2, 25))
                arrivals.append((datetime.fromisoformat(b["slot_start"]) - early, b["code"]))
        arrivals.sort()

        def run() -> None:
            for at, code in arrivals:
                wait = (at - clock.now()).total_seconds()
                if wait > 0 and stop.wait(clock.real_seconds(wait)):
                    return
                try:
                    r = http.post(f"{api}/bookings/check-in", json={"scan": f"MOTCUA-BK:{code}",
                                                                    "kiosk": "kiosk-1"}, timeout=10)
                except requests.RequestException as err:
                    log.warning("demo: check-in of %s failed: %s", code, err)
                    continue
                if r.status_code == 201:
                    self.checked_in += 1
                    if tally is not None:
                        tally.add("issued")
                else:
                    self.refused += 1

        self._thread = threading.Thread(target=run, name="demo-bookings", daemon=True)
        self._thread.start()

    def join(self, timeout: float = 10) -> None:
        """Wait for a check-in in flight (the demo's account counts it once the hub answered)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def stop(self) -> None:
        self.join(5)
        self.gateway.stop()
