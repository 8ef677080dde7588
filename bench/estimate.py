"""Bench: how true is the wait a citizen is told at issue? Simulated days of the example center through the domain.

Replays simulated working days (arrivals in a morning and an afternoon wave, ~8 % priority citizens; counters with the
example center's preferences, staff of different speeds, late openings, a pause or two, an absent counter some days,
someone else standing in at a counter some days; walk time, no-shows after two recalls, transfers to another service;
lunch break; everyone with a ticket is served) through the pure domain (``decide``/``evolve`` on a QueueState, the
hub's own code, no I/O), each day with the prior learnt from the days before. For every ticket it compares what the
citizen was told at issue with the real wait (first call − issue):

* the estimate (``wait_estimate``): its expected minutes, and whether the real wait fell inside its range;
* the naive one it replaces: people ahead × mean of the last 10 service times ÷ open counters listing the service (its
  "range" for the inside share: the 5-minute band around its figure, as a screen would round it).

Prints per-estimator mean and p90 absolute error, mean bias (told − real; negative = too short), share inside the
range, and how many were told ≤ 5 minutes (the range's top for the estimate) but waited ≥ 20. Targets (issue 13): MAE
≤ half the naive one's (``mae_ratio`` ≤ 0.5), |bias| ≤ 1 min, ≥ 80 % inside, nobody told ≤ 5 who waits ≥ 20. Then what
one estimate costs with 60 waiting (``estimate_call_*``: wall p50/p99, noisy on a shared machine, and CPU p99). Last
line: one JSON object with unit-carrying keys. ``--dump FILE`` writes every ticket told (service, told, range, naive,
real, people ahead, day) as JSON lines, to see where the error sits; ``--paths N`` uses N random runs per estimate
instead of the hub's default.

``--floor R`` (slow: ~10 min) asks what the bench's days allow at all. For every ``--floor-every``-th ticket it
replays the day R times, identical up to the ticket's issue and drawn anew after it (the citizens still to come,
whether and when the counters not yet open open, the pauses not yet begun, the time left on tickets in service, every
later ticket's service time, walk, no-show and transfer) and takes the median of the ticket's R real waits: the figure
of an estimator that knows exactly how the bench makes its days and simulates them (it still knows the day's own
arrival level and each staff member's speed of the day, which no estimator is told) (``floor_mae_min``,
``floor_mae_ratio`` to the naive MAE, and the estimate's MAE on the same tickets; ``floor_bias_min``: a median
minimises the absolute error, and as waits are skewed it tells short on average — the MAE and bias targets pull
apart). ``--floor-kind clairvoyant`` redraws service times only (it knows every future arrival and pause): a lower
bound no estimator reaches. The randomness is drawn from keyed streams (the day's plan; each citizen; each counter's
gaps; each counter's service times) so that a replica differs from the day only where it should.

``--load F`` scales every service's tickets per day: 1.0 loads the hall to ~80 % and past it in the morning wave
(waits of 35–40 min on average); 0.7 gives days like those issue 13 measured (the naive off by 8–9 min on average).

    .venv/bin/python bench/estimate.py [--days 10] [--seed 1] [--load 1.0] [--paths N] [--dump FILE]
                                       [--floor 7 --floor-every 25]
"""
from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contracts.errors import MotcuaError
from contracts.messages import VN_TZ
from queue_server.config import load_settings
from queue_server.domain import estimates, wait_estimate
from queue_server.domain import transitions as tr
from queue_server.domain.model import CenterDef, CounterId, Ticket, TicketId

EXAMPLE = Path(__file__).resolve().parent.parent / "deploy" / "center.example.toml"
FIRST_DAY = date(2026, 3, 9)      # a Monday with no holiday in the weeks after it
COST_WAITING = 60                 # tickets waiting when the cost of one estimate is measured
COST_ROUNDS = 40
PAUSE_P = 0.6                     # share of counters that pause once a day (8–25 min)
ABSENT_P = 0.08                   # share of days a counter's staff do not come
LATE_MIN = (0, 0, 0, 2, 5, 10, 20)   # minutes after 07:30 a counter opens, equally likely
PAUSE_HOURS = (8, 9, 10, 14, 15)  # a pause starts within one of these hours, equally likely
STAND_IN_P = 0.1                  # share of days another member of staff stands in at a counter (leave, training)

# tickets per day per service (the example center's quotas suggest the mix); the total loads the hall to ~80 %, more in the waves
DAILY = {"ho-tich": 60, "dat-dai": 42, "dang-ky-kinh-doanh": 30, "xay-dung": 16, "lao-dong": 22, "giao-thong": 28,
         "tai-nguyen": 16, "y-te": 12, "giao-duc": 10, "cong-thuong": 12, "noi-vu": 9, "thue": 24,
         "tra-ket-qua": 70}


def wave(minute: float) -> float:
    """Relative arrival intensity by minute of the day: a morning and a smaller afternoon wave."""
    h = minute / 60.0
    if 7.5 <= h < 11.5:
        return 1.0 + 1.6 * math.exp(-((h - 8.4) / 0.7) ** 2)
    if 13.5 <= h < 16.5:
        return 0.8 + 1.0 * math.exp(-((h - 14.2) / 0.6) ** 2)
    return 0.0


@dataclass
class Told:
    service: str
    expected: float
    low: int
    high: int
    naive: int
    priority: bool
    issued_at: datetime
    real: float | None = None
    ahead: int = 0
    day_index: int = 0
    floor: float | None = None      # the median real wait over replicas of the day (``--floor``)


@dataclass
class Day:
    center: CenterDef
    day: date
    seed: float
    prior: wait_estimate.HistoryPrior
    staff_speed: dict[str, float]
    index: int = 0
    replica: int = 0        # 0: the day as told; k > 0: the same day with the k-th draw of service times only
    branch_at: datetime | None = None   # a replica's own draws start here (see ``clairvoyant`` for which)
    clairvoyant: bool = False   # True: the replica redraws service times only; False: every draw after branch_at
    load: float = 1.0           # scales every service's tickets per day (``--load``)
    told: dict[TicketId, Told] = field(default_factory=dict)
    samples: list[tuple[str, str, int, float]] = field(default_factory=list)
    issues: list[tuple[str, str, int, bool]] = field(default_factory=list)
    openings: list[tuple[str, str, float, str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = tr.QueueState(center=self.center, prior=self.prior)
        self.state.roll_to(self.day)
        self.events: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self.n = 0
        # Keyed random streams, so that a replica of the day (``replica`` k) differs from it in service times only:
        # the day's plan (staff, absences, arrivals, openings, pauses) from ``rng``, each citizen's own behaviour
        # (priority, walk, no-show, transfer) from a stream named by the ticket, each counter's gaps between
        # tickets from its own stream, and its service times from a stream named by the replica too.
        self.rng = random.Random(self.seed)
        self.gaps = {c.id: random.Random(f"{self.seed}:gaps:{c.id}") for c in self.center.counters}
        self.service_rng = {c.id: random.Random(f"{self.seed}:service:{c.id}:0") for c in self.center.counters}
        self.replica_rng = {c.id: random.Random(f"{self.seed}:service:{c.id}:{self.replica}:{self.branch_at}")
                            for c in self.center.counters}
        # a present-only replica: what happens after branch_at (arrivals, pauses, citizens' and staff's choices)
        self.future = random.Random(f"{self.seed}:future:{self.replica}:{self.branch_at}")
        self.redraw = self.branch_at is not None and not self.clairvoyant
        self.first_called: dict[TicketId, datetime] = {}
        # the same staff at the same counter most days, a little faster or slower from one day to the next
        self.speed = {c.id: self.staff_speed[c.id] * self.rng.uniform(0.9, 1.1) for c in self.center.counters}
        # some days someone else stands in at a counter, at their own speed (a stream of its own, so the rest of the
        # day's plan is drawn as before)
        self.staff = {c.id: f"staff-{c.id}" for c in self.center.counters}
        for c in self.center.counters:
            draw = random.Random(f"{self.seed}:stand-in:{c.id}")
            if draw.random() < STAND_IN_P:
                self.staff[c.id] = f"stand-in-{c.id}"
                self.speed[c.id] = draw.uniform(0.7, 1.45)
        self.absent = {c.id for c in self.center.counters if self.rng.random() < ABSENT_P}
        self.paused_until: dict[CounterId, datetime] = {}

    def at(self, hh: int, mm: float) -> datetime:
        return datetime.combine(self.day, datetime.min.time(), tzinfo=VN_TZ) + timedelta(hours=hh, minutes=mm)

    def schedule(self, when: datetime, fn: Callable[[datetime], None]) -> None:
        self.n += 1
        heapq.heappush(self.events, (when, self.n, fn))

    def apply(self, command: tr.Command, now: datetime) -> tr.Decision:
        decision = tr.decide(self.state, command, now)
        for event in decision.events:
            old = self.state.tickets.get(event.ticket.id) if event.ticket is not None else None
            sample = tr.occupancy_sample(old, event)
            if sample is not None and old is not None and old.called_at is not None:
                self.samples.append((sample[0], sample[1], old.called_at.hour, sample[2]))

            if event.type.value == "ticket.issued" and event.ticket is not None:
                self.issues.append((event.ticket.origin_service, self.day.isoformat(), event.at.hour,
                                    event.ticket.priority is not None))
            if event.type.value == "counter.opened" and event.counter is not None:
                local = event.at.astimezone(VN_TZ)
                self.openings.append((event.counter.id, self.day.isoformat(),
                                      local.hour * 3600.0 + local.minute * 60.0 + local.second, event.counter.staff))
            tr.evolve(self.state, event)
            if event.type.value == "ticket.called" and event.ticket is not None:
                self.first_called.setdefault(event.ticket.id, now)
                told = self.told.get(event.ticket.id)
                if told is not None and told.real is None:
                    told.real = (now - told.issued_at).total_seconds() / 60.0
        return decision

    # -- citizens
    def arrivals(self) -> None:
        total = sum(DAILY.values())
        for service in self.center.services:
            daily = DAILY.get(service.code, 10) * self.load * self.rng.uniform(0.85, 1.15)
            # thinning over the day's intensity profile
            peak = 2.6
            minutes = [m for m in range(7 * 60 + 30, 16 * 60 + 30)]
            mass = sum(wave(m) for m in minutes)
            rate_max = daily * peak / mass            # per minute at the peak
            t = 7 * 60 + 30.0
            while True:
                t += self.rng.expovariate(rate_max)
                if t >= 16 * 60 + 30:
                    break
                if self.rng.random() < wave(t) / peak:
                    priority = "nguoi-cao-tuoi" if self.rng.random() < 0.08 else None
                    if self.redraw and self.at(0, t) > self.branch_at:   # type: ignore[operator]
                        continue
                    self.schedule(self.at(0, t), lambda now, s=service.code, p=priority: self.issue(s, p, now))
            if self.redraw:      # the rest of the day's citizens drawn anew, at the same rates
                assert self.branch_at is not None
                local = self.branch_at.astimezone(VN_TZ)
                t = local.hour * 60 + local.minute + local.second / 60.0 + local.microsecond / 6e7
                while True:
                    t += self.future.expovariate(rate_max)
                    if t >= 16 * 60 + 30:
                        break
                    if self.future.random() < wave(t) / peak:
                        priority = "nguoi-cao-tuoi" if self.future.random() < 0.08 else None
                        self.schedule(self.at(0, t), lambda now, s=service.code, p=priority: self.issue(s, p, now))
        del total

    def citizen(self, ticket: Ticket) -> random.Random:
        """The stream of one citizen's own choices (the same in every replica of the day)."""
        if self.redraw and ticket.last_called_at is not None and ticket.last_called_at >= self.branch_at:  # type: ignore[operator]
            return random.Random(f"{self.seed}:citizen:{ticket.id}:{ticket.service}:{self.replica}:{self.branch_at}")
        return random.Random(f"{self.seed}:citizen:{ticket.id}:{ticket.service}")

    def issue(self, service: str, priority: str | None, now: datetime) -> None:
        try:
            decision = self.apply(tr.IssueTicket(service, priority), now)
        except MotcuaError:
            return
        result = decision.result
        assert isinstance(result, tr.Issued) and result.wait is not None
        if self.branch_at is not None:
            return      # a replica: only when tickets are called matters
        state = self.state
        svc = self.center.service(service)
        assert svc is not None
        # the naive figure the hub used to give (computed on the state before this ticket, like the old code)
        naive = estimates.estimate_wait_min(result.ahead, state.avg_service_min(svc),
                                            state.open_counters_serving(service))
        self.told[result.ticket.id] = Told(service, result.wait.expected_min, result.wait.low_min,
                                           result.wait.high_min, naive, priority is not None, now,
                                           ahead=result.ahead, day_index=self.index)

    # -- counters
    def open_counters(self) -> None:
        for c in self.center.counters:
            absent = c.id in self.absent
            late: int | None = None
            pause: tuple[datetime, timedelta] | None = None
            if not absent:      # the day's plan, drawn in the same order in every replica
                late = self.rng.choice(LATE_MIN)
                if self.rng.random() < PAUSE_P:     # a pause (meeting, break) at a random time
                    pause = (self.at(self.rng.choice(PAUSE_HOURS), self.rng.uniform(0, 59)),
                             timedelta(minutes=self.rng.uniform(8, 25)))
            if self.redraw and (late is None or self.at(7, 30 + late) > self.branch_at):   # type: ignore[operator]
                # a counter not yet open when the replica branches: whether its staff come today, and when, is not
                # known then — drawn anew among what is still possible (a later opening, or none)
                choices = [lt for lt in LATE_MIN if self.at(7, 30 + lt) > self.branch_at]   # type: ignore[operator]
                weight = (1.0 - ABSENT_P) / len(LATE_MIN)
                draw = self.future.random() * (weight * len(choices) + ABSENT_P)
                late = choices[int(draw / weight)] if draw < weight * len(choices) else None
                pause = self.pause_after_branch() if late is not None else None
            elif self.redraw and (pause is None or pause[0] > self.branch_at):   # type: ignore[operator]
                # no pause begun by the branch: whether one comes, and when, is not known then
                pause = self.pause_after_branch()
            if late is None:
                continue
            self.schedule(self.at(7, 30 + late), lambda now, cid=c.id: self.open(cid, now))
            if pause is not None:
                self.schedule(pause[0], lambda now, cid=c.id, d=pause[1]: self.want_pause(cid, now, d))

    def pause_after_branch(self) -> tuple[datetime, timedelta] | None:
        """A replica's pause for a counter that has not paused by its branch: one with the probability a day's plan
        has one after the branch given none before it, at a start drawn after the branch."""
        assert self.branch_at is not None
        local = self.branch_at.astimezone(VN_TZ)
        branch_min = local.hour * 60 + local.minute + local.second / 60.0
        later = sum(min(1.0, max(0.0, (h * 60 + 59 - branch_min) / 59.0)) for h in PAUSE_HOURS) / len(PAUSE_HOURS)
        if later <= 0.0 or self.future.random() >= PAUSE_P * later / (1.0 - PAUSE_P * (1.0 - later)):
            return None
        while True:
            start = self.at(self.future.choice(PAUSE_HOURS), self.future.uniform(0, 59))
            if start > self.branch_at:
                return start, timedelta(minutes=self.future.uniform(8, 25))

    def open(self, cid: CounterId, now: datetime) -> None:
        self.apply(tr.OpenCounter(cid, self.staff[cid]), now)
        self.schedule(now, lambda t: self.next(cid, t))

    def want_pause(self, cid: CounterId, now: datetime, length: timedelta) -> None:
        self.paused_until[cid] = now + length

    def in_session(self, now: datetime) -> datetime | None:
        """None if a counter may call now, else when it may next."""
        hm = now.hour * 60 + now.minute
        if hm < 11 * 60 + 30:
            return None
        if hm < 13 * 60 + 30:
            return self.at(13, 30)
        return None

    def next(self, cid: CounterId, now: datetime) -> None:
        counter = self.state.counters[cid]
        if counter.current is not None:
            return
        resume = self.in_session(now)
        if resume is not None:
            if counter.status.value == "open":
                self.apply(tr.PauseCounter(cid, "nghỉ trưa"), now)
            self.schedule(resume, lambda t: self.resume(cid, t))
            return
        until = self.paused_until.pop(cid, None)
        # a meeting that ended while the counter was still serving is over: no pause (resuming at its end would
        # send the day back in time)
        if until is not None and until > now and counter.status.value == "open":
            self.apply(tr.PauseCounter(cid, "họp"), now)
            self.schedule(until, lambda t: self.resume(cid, t))
            return
        try:
            decision = self.apply(tr.CallNext(cid), now)
        except MotcuaError:
            if now.hour >= 17 and not any(len(q) for q in self.state.queues.values()) and not self.state.targeted:
                return          # the day is over
            self.schedule(now + timedelta(seconds=self.gaps[cid].uniform(15, 45)), lambda t: self.next(cid, t))
            return
        ticket = decision.result
        assert isinstance(ticket, tr.Ticket)
        own = self.citizen(ticket)
        if own.random() < 0.07:       # nobody comes: two recalls, then a no-show
            self.schedule(now + timedelta(seconds=35), lambda t: self.recall(cid, t, 1))
            return
        walk = own.uniform(0.3, 1.5)
        self.schedule(now + timedelta(minutes=walk), lambda t: self.start(cid, t))

    def resume(self, cid: CounterId, now: datetime) -> None:
        if self.state.counters[cid].status.value == "paused":
            self.apply(tr.ResumeCounter(cid), now)
        self.schedule(now, lambda t: self.next(cid, t))

    def recall(self, cid: CounterId, now: datetime, n: int) -> None:
        self.apply(tr.Recall(cid), now)
        if n < 2:
            self.schedule(now + timedelta(seconds=35), lambda t: self.recall(cid, t, n + 1))
        else:
            self.schedule(now + timedelta(seconds=20), lambda t: self.no_show(cid, t))

    def no_show(self, cid: CounterId, now: datetime) -> None:
        self.apply(tr.MarkNoShow(cid), now)
        self.schedule(now + timedelta(seconds=self.gaps[cid].uniform(5, 30)), lambda t: self.next(cid, t))

    def start(self, cid: CounterId, now: datetime) -> None:
        decision = self.apply(tr.StartService(cid), now)
        ticket = decision.result
        assert isinstance(ticket, tr.Ticket)
        svc = self.center.service(ticket.service)
        mean = (svc.avg_service_min if svc else 10.0) * self.speed[cid]
        sigma = 0.55
        draws = self.replica_rng if self.branch_at is not None and now >= self.branch_at else self.service_rng
        minutes = max(0.5, draws[cid].lognormvariate(math.log(mean) - sigma ** 2 / 2, sigma))
        if self.redraw and now < self.branch_at and now + timedelta(minutes=minutes) > self.branch_at:  # type: ignore[operator]
            # a ticket still in service when the replica branches: how long it will last is not known then, only
            # that it has lasted so far; drawn anew given that (so the floor does not know the time left on it)
            lasted = (self.branch_at - now).total_seconds() / 60.0   # type: ignore[operator]
            while True:
                minutes = max(0.5, self.future.lognormvariate(math.log(mean) - sigma ** 2 / 2, sigma))
                if minutes > lasted:
                    break
        self.schedule(now + timedelta(minutes=minutes), lambda t: self.finish(cid, t))

    def finish(self, cid: CounterId, now: datetime) -> None:
        ticket = self.state.tickets[self.state.counters[cid].current]  # type: ignore[index]
        moved = False
        key = f"{self.seed}:transfer:{ticket.id}:{ticket.service}"
        own = random.Random(key + (f":{self.replica}:{self.branch_at}" if self.redraw and now >= self.branch_at  # type: ignore[operator]
                                   else ""))
        if own.random() < 0.04:
            others = [s.code for s in self.center.services if s.code != ticket.service]
            try:
                self.apply(tr.Transfer(cid, to_service=own.choice(others)), now)
                moved = True
            except MotcuaError:     # nobody serves that one now: the hub refuses, staff finish here
                pass
        if not moved:
            self.apply(tr.Complete(cid), now)
        self.schedule(now + timedelta(seconds=self.gaps[cid].uniform(5, 40)), lambda t: self.next(cid, t))

    def run(self) -> None:
        self.arrivals()
        self.open_counters()
        while self.events:
            when, _, fn = heapq.heappop(self.events)
            if when > self.at(20, 0):
                break
            fn(when)


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarise(told: list[Told]) -> dict[str, float]:
    done = [t for t in told if t.real is not None]
    real = [t.real for t in done if t.real is not None]
    err = [t.expected - r for t, r in zip(done, real, strict=True)]
    nerr = [t.naive - r for t, r in zip(done, real, strict=True)]
    inside = [t.low <= r <= t.high for t, r in zip(done, real, strict=True)]
    ninside = [5 * math.floor(t.naive / 5) <= r <= 5 * math.floor(t.naive / 5) + 5 for t, r in
               zip(done, real, strict=True)]
    n = max(1, len(done))
    return {
        "tickets": len(done),
        "mae_min": round(sum(abs(e) for e in err) / n, 2),
        "p90_abs_err_min": round(pct([abs(e) for e in err], 0.9), 2),
        "bias_min": round(sum(err) / n, 2),
        "inside_range_pct": round(100 * sum(inside) / n, 1),
        "told_le5_waited_ge20": sum(1 for t, r in zip(done, real, strict=True) if t.high <= 5 and r >= 20),
        "mean_range_width_min": round(sum(t.high - t.low for t in done) / n, 1),
        "naive_mae_min": round(sum(abs(e) for e in nerr) / n, 2),
        "naive_p90_abs_err_min": round(pct([abs(e) for e in nerr], 0.9), 2),
        "naive_bias_min": round(sum(nerr) / n, 2),
        "naive_inside_band_pct": round(100 * sum(ninside) / n, 1),
        "naive_told_le5_waited_ge20": sum(1 for t, r in zip(done, real, strict=True) if t.naive <= 5 and r >= 20),
        "mean_real_wait_min": round(sum(real) / n, 1),
        **floor_figures(done),
    }


def floor_figures(done: list[Told]) -> dict[str, float]:
    """The error of the replayed floor (``--floor``) and of the estimate on the same tickets."""
    known = [t for t in done if t.floor is not None and t.real is not None]
    if not known:
        return {}
    n = len(known)
    return {"floor_tickets": n,
            "floor_mae_min": round(sum(abs(t.floor - t.real) for t in known) / n, 2),   # type: ignore[operator]
            # a median is what minimises the absolute error; waits are skewed, so it tells short on average
            "floor_bias_min": round(sum(t.floor - t.real for t in known) / n, 2),   # type: ignore[operator]
            "floor_mae_ratio": round(sum(abs(t.floor - t.real) for t in known)    # type: ignore[operator]
                                     / max(1e-9, sum(abs(t.naive - t.real) for t in known)), 3),  # type: ignore[operator]
            "estimate_mae_same_tickets_min": round(sum(abs(t.expected - t.real) for t in known) / n, 2)}  # type: ignore[operator]


def call_cost(center: CenterDef, prior: wait_estimate.HistoryPrior, day: date, waiting: int = COST_WAITING,
              rounds: int = COST_ROUNDS) -> dict[str, float]:
    """What one estimate costs the hub: every counter open at 08:30 of a working day, each holding a ticket,
    ``waiting`` tickets spread over the services as the day's mix, the prior learnt from the bench's days; then the
    estimate a new ticket of each service would be told (``QueueState.wait_estimate``, the call the hub makes at every
    issue), ``rounds`` times over. Wall time (noisy on a busy machine) and this thread's CPU time."""
    rng = random.Random(7)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    state = tr.QueueState(center=center, prior=prior)
    state.roll_to(day)
    t0 = datetime.combine(day, datetime.min.time(), tzinfo=VN_TZ) + timedelta(hours=8)
    codes = [s.code for s in center.services]
    weights = [DAILY.get(c, 10) for c in codes]
    for i in range(len(center.counters) + waiting):
        now = t0 + timedelta(seconds=20 * i)
        tr_apply(state, tr.IssueTicket(rng.choices(codes, weights)[0],
                                       "nguoi-cao-tuoi" if rng.random() < 0.08 else None), now)
    now = t0 + timedelta(minutes=25)
    for c in center.counters:
        tr_apply(state, tr.OpenCounter(c.id, f"staff-{c.id}"), now)
        try:
            tr_apply(state, tr.CallNext(c.id), now)
        except MotcuaError:
            pass
    now = t0 + timedelta(minutes=30)
    in_queue = sum(len(state.queue(c)) for c in codes)
    timings: list[float] = []
    cpu: list[float] = []
    for _ in range(rounds):
        for code in codes:
            started, started_cpu = time.perf_counter(), time.thread_time()
            state.wait_estimate(code, len(state.queue(code)), False, now)
            cpu.append((time.thread_time() - started_cpu) * 1000.0)
            timings.append((time.perf_counter() - started) * 1000.0)
    return {"estimate_call_waiting": in_queue, "estimate_call_p50_ms": round(pct(timings, 0.5), 2),
            "estimate_call_p99_ms": round(pct(timings, 0.99), 2),
            "estimate_call_cpu_p99_ms": round(pct(cpu, 0.99), 2)}


def replay_floor(sim: Day, replicas: int, every: int, clairvoyant: bool = False) -> None:
    """For every ``every``-th ticket told on ``sim``'s day: replay the day ``replicas`` times, identical up to the
    ticket's issue and drawn anew after it (``Day.redraw``; with ``clairvoyant`` service times only), and keep the
    median of its real waits as ``Told.floor`` (see the module docstring)."""
    stub = wait_estimate.WaitEstimate(0.0, 0, 5, True)
    real = tr.QueueState.wait_estimate
    tr.QueueState.wait_estimate = lambda *a, **k: stub     # type: ignore[method-assign]   # replicas tell nobody
    try:
        for n, (tid, told) in enumerate(sorted(sim.told.items(), key=lambda kv: kv[1].issued_at)):
            if n % every or told.real is None:
                continue
            waits: list[float] = []
            for k in range(1, replicas + 1):
                twin = Day(sim.center, sim.day, sim.seed, sim.prior, sim.staff_speed, index=sim.index, replica=k,
                           branch_at=told.issued_at, clairvoyant=clairvoyant, load=sim.load)
                twin.run()
                called = twin.first_called.get(tid)
                if called is not None:
                    waits.append((called - told.issued_at).total_seconds() / 60.0)
            if len(waits) * 2 > replicas:      # called in most replicas
                waits.sort()
                told.floor = waits[len(waits) // 2]
    finally:
        tr.QueueState.wait_estimate = real     # type: ignore[method-assign]


def tr_apply(state: tr.QueueState, command: tr.Command, now: datetime) -> None:
    for event in tr.decide(state, command, now).events:
        tr.evolve(state, event)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--config", default=str(EXAMPLE))
    parser.add_argument("--paths", type=int, default=None, help="random runs per estimate (default: the hub's)")
    parser.add_argument("--dump", default=None, help="write every ticket told (JSON lines) to this file")
    parser.add_argument("--floor", type=int, default=0,
                        help="replicas per sampled ticket (service times redrawn from its issue on): the floor")
    parser.add_argument("--floor-every", type=int, default=8, help="sample every N-th ticket for the floor")
    parser.add_argument("--floor-kind", choices=("present", "clairvoyant"), default="present",
                        help="present: replicas redraw everything after the issue; clairvoyant: service times only")
    parser.add_argument("--load", type=float, default=1.0,
                        help="scales every service's tickets per day (0.7: the quieter days issue 13 measured)")
    args = parser.parse_args()
    if args.paths is not None:
        wait_estimate.PATHS = args.paths
    center = load_settings(args.config).center
    rng = random.Random(args.seed)
    history: list[list[tuple[str, str, int, float]]] = []
    issues: list[list[tuple[str, str, int, bool]]] = []
    openings: list[list[tuple[str, str, float, str | None]]] = []
    staff_speed = {c.id: rng.uniform(0.7, 1.45) for c in center.counters}
    told: list[Told] = []
    day = FIRST_DAY
    for _ in range(args.days):
        while day.weekday() >= 5:
            day += timedelta(days=1)
        prior = wait_estimate.HistoryPrior.from_samples([s for d in history[-20:] for s in d],
                                                         [i for d in issues[-20:] for i in d],
                                                         [o for d in openings[-20:] for o in d])
        sim = Day(center, day, rng.random(), prior, staff_speed, index=len(history), load=args.load)
        sim.run()
        if args.floor:
            replay_floor(sim, args.floor, args.floor_every, args.floor_kind == "clairvoyant")
        history.append(sim.samples)
        issues.append(sim.issues)
        openings.append(sim.openings)
        day_told = list(sim.told.values())
        told.extend(day_told)
        s = summarise(day_told)
        print(f"{day}: {s['tickets']} tickets, real wait {s['mean_real_wait_min']} min; estimate MAE "
              f"{s['mae_min']} bias {s['bias_min']:+} inside {s['inside_range_pct']} %; naive MAE "
              f"{s['naive_mae_min']} bias {s['naive_bias_min']:+}")
        day += timedelta(days=1)
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as out:
            out.writelines(json.dumps({**t.__dict__, "issued_at": t.issued_at.isoformat()}) + "\n" for t in told)
    total = summarise(told)
    by_service: dict[str, list[Told]] = {}
    for t in told:
        by_service.setdefault(t.service, []).append(t)
    for code, items in sorted(by_service.items()):
        s = summarise(items)
        print(f"  {code:20s} n={s['tickets']:4d} real {s['mean_real_wait_min']:6.1f}  est MAE {s['mae_min']:5.1f} "
              f"bias {s['bias_min']:+6.1f} in {s['inside_range_pct']:5.1f}%  | naive MAE {s['naive_mae_min']:5.1f} "
              f"bias {s['naive_bias_min']:+6.1f}")
    # where the error sits: by the expected wait told (a compressing estimator is short in the middle, long at
    # the top) and by the hour of issue (the morning wave)
    for label, key in (("told", lambda t: f"{min(int(t.expected // 20), 6) * 20:3d}+ min"),
                       ("issued", lambda t: f"{t.issued_at.hour:02d}h")):
        buckets: dict[str, list[Told]] = {}
        for t in told:
            buckets.setdefault(key(t), []).append(t)
        for name, items in sorted(buckets.items()):
            s = summarise(items)
            print(f"  {label} {name:8s} n={s['tickets']:4d} real {s['mean_real_wait_min']:6.1f}  est MAE "
                  f"{s['mae_min']:5.1f} bias {s['bias_min']:+6.1f} in {s['inside_range_pct']:5.1f}%")
    ok = (total["mae_min"] <= total["naive_mae_min"] / 2 and abs(total["bias_min"]) <= 1
          and total["inside_range_pct"] >= 80 and total["told_le5_waited_ge20"] == 0)
    total["targets_met"] = ok  # type: ignore[assignment]
    total["days"] = args.days
    total["seed"] = args.seed
    total["load"] = args.load
    total["mae_ratio"] = round(total["mae_min"] / total["naive_mae_min"], 3) if total["naive_mae_min"] else 0.0
    prior = wait_estimate.HistoryPrior.from_samples([s for d in history[-20:] for s in d],
                                                     [i for d in issues[-20:] for i in d],
                                                     [o for d in openings[-20:] for o in d])
    total.update(call_cost(center, prior, day))
    print(json.dumps(total))


if __name__ == "__main__":
    main()
