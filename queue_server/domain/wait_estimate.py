"""The wait a citizen is told: simulate the queue forward over the counters really serving now, give a range.

Pure: no I/O, no clock reads. The caller (QueueState) describes the hall as it is (counters open or paused, the
ticket each holds and how long it has held it, who waits for what, how fast tickets arrive) and the service-time
statistics (``ServiceTimes``); ``estimate_wait`` replays the counters' call rules forward in time: every counter,
when free, calls the first of its services, in its order of preference, that has someone waiting (tickets
transferred to it first), so a service a counter takes only as a second choice gets that counter only when its
first choices are empty — which the old "people ahead × mean ÷ counters listing it" ignored. Arrivals still to come
are fed in as a fluid (a counter's first-choice queue keeps refilling), the lunch break and the end of the day are
skipped over (``working_spans``), and the answer is a range (``low_min``–``high_min``), not a false minute.

Why a range: a queue of n tickets served in parallel has a spread of about √n service-time deviations, plus what no
model sees (a pause, a long case). The spread below is calibrated by ``bench/estimate.py`` against simulated days.
"""
from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import median

# -- the statistics of one counter's occupancy per ticket (call → done / no-show / transfer), in seconds ----------
BLEND_K = 8.0            # samples that weigh as much as the prior (shrinkage towards history, then the default)
TRIM = 0.1               # share dropped at each end before averaging: a few outliers do not move the mean
RESIDUAL_FLOOR = 0.3     # a ticket held longer than its mean still needs this share of a mean to finish
PAUSE_EXPECTED_S = 15 * 60.0   # a paused counter is expected back this long after it paused
MAX_STEPS = 20_000
# Between releasing one ticket and calling the next, staff file papers and press the button: time no sample of
# call → release contains (the bench's counters take 5–40 s plus their polling; real centres more, not less).
TURNAROUND_S = 30.0


def robust_mean(samples: Sequence[float]) -> float | None:
    """Mean of the samples with the top and bottom ``TRIM`` share dropped (the median below 5 samples)."""
    values = sorted(v for v in samples if v >= 0 and math.isfinite(v))
    if not values:
        return None
    if len(values) < 5:
        return float(median(values))
    cut = int(len(values) * TRIM)
    kept = values[cut:len(values) - cut] if cut else values
    return sum(kept) / len(kept)


def blend(samples: Sequence[float], prior_s: float, k: float = BLEND_K) -> float:
    """Today's robust mean shrunk towards ``prior_s``: with n samples, weight n / (n + k)."""
    centre = robust_mean(samples)
    if centre is None:
        return prior_s
    n = sum(1 for v in samples if v >= 0 and math.isfinite(v))
    return (n * centre + k * prior_s) / (n + k)


@dataclass(frozen=True, slots=True)
class HistoryPrior:
    """Occupancy per ticket learnt from past days: robust means by (service), (service, counter) and
    (service, counter, hour), each with its sample count. Built by ``HistoryPrior.from_samples``."""

    by_service: Mapping[str, tuple[float, int]] = field(default_factory=dict)
    by_counter: Mapping[tuple[str, str], tuple[float, int]] = field(default_factory=dict)
    by_hour: Mapping[tuple[str, str, int], tuple[float, int]] = field(default_factory=dict)

    @staticmethod
    def from_samples(samples: Sequence[tuple[str, str, int, float]]) -> HistoryPrior:
        """``samples``: (service, counter, hour of the call, seconds) of past days."""
        groups: tuple[dict[object, list[float]], ...] = ({}, {}, {})
        for service, counter, hour, seconds in samples:
            groups[0].setdefault(service, []).append(seconds)
            groups[1].setdefault((service, counter), []).append(seconds)
            groups[2].setdefault((service, counter, hour), []).append(seconds)
        out: list[dict[object, tuple[float, int]]] = []
        for group in groups:
            stats: dict[object, tuple[float, int]] = {}
            for key, values in group.items():
                centre = robust_mean(values)
                if centre is not None:
                    stats[key] = (centre, len(values))
            out.append(stats)
        return HistoryPrior(out[0], out[1], out[2])  # type: ignore[arg-type]

    def seconds(self, service: str, counter: str, hour: int, default_s: float) -> float:
        """Hierarchical shrinkage: the config default ← the service's history ← the counter's ← that hour's."""
        value = default_s
        for stats in (self.by_service.get(service), self.by_counter.get((service, counter)),
                      self.by_hour.get((service, counter, hour))):
            if stats is not None:
                centre, n = stats
                value = (n * centre + BLEND_K * value) / (n + BLEND_K)
        return value


@dataclass(frozen=True, slots=True)
class ServiceTimes:
    """What one ticket of a service occupies a counter for, today: today's samples blended with the prior."""

    default_s: Mapping[str, float]                                  # per service, from config (new sites)
    prior: HistoryPrior = field(default_factory=HistoryPrior)
    today_by_counter: Mapping[tuple[str, str], Sequence[float]] = field(default_factory=dict)
    today_by_service: Mapping[str, Sequence[float]] = field(default_factory=dict)
    hour: int = 9

    def seconds(self, service: str, counter: str) -> float:
        default = self.default_s.get(service, 600.0)
        prior = self.prior.seconds(service, counter, self.hour, default)
        service_level = blend(self.today_by_service.get(service, ()), prior)
        return max(1.0, blend(self.today_by_counter.get((service, counter), ()), service_level)) + TURNAROUND_S

    def spread(self, service: str) -> float:
        """Coefficient of variation of one ticket's occupancy (today's, else a typical 0.6)."""
        values = [v for v in self.today_by_service.get(service, ()) if v >= 0]
        if len(values) < 8:
            return 0.6
        mean = sum(values) / len(values)
        if mean <= 0:
            return 0.6
        var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
        return min(1.5, max(0.3, math.sqrt(var) / mean))


# -- the hall as it is now -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CounterNow:
    """One counter that can call (open) or will again (paused); closed counters are left out."""

    id: str
    services: tuple[str, ...]          # order of preference
    free_in_s: float = 0.0             # until it can call (time left on its ticket, or on its pause)
    targeted: int = 0                  # tickets transferred to this very counter, called before anything else


@dataclass(frozen=True, slots=True)
class Hall:
    counters: tuple[CounterNow, ...]
    waiting: Mapping[str, int]                          # per service, people waiting (the target's own not used)
    arrivals_per_h: Mapping[str, float] = field(default_factory=dict)   # expected new tickets per service
    # working time from now: (start, end) in seconds after now, e.g. the rest of the morning and the afternoon
    working_spans: tuple[tuple[float, float], ...] = ((0.0, math.inf),)
    arrivals_until_s: float = math.inf      # working seconds from now until ticket issue stops for the day


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    expected_min: float
    low_min: int
    high_min: int
    served: bool            # some open or paused counter serves the service (else: nobody to call it now)

    @property
    def minutes(self) -> int:
        """The old single figure (API field ``estimated_wait_min``): the expected wait, rounded."""
        return round(self.expected_min)


# Spread of the range: z × √(per-ticket randomness² + model error²), then rounded outward (see bench/estimate.py).
RANGE_Z = 1.3
MODEL_REL = 0.25          # share of the expected wait the model itself may miss by (pauses, long cases)
MODEL_ABS_S = 180.0       # and a floor: nobody is promised to the minute
ROUND_S = 5               # the range's ends are multiples of this many minutes


def free_in_s(mean_s: float, held_s: float) -> float:
    """Expected time left on a ticket held ``held_s`` seconds whose occupancy averages ``mean_s``."""
    return max(mean_s - held_s, RESIDUAL_FLOOR * mean_s)


def simulate(service: str, ahead: int, hall: Hall, times: ServiceTimes,
             extra_ahead_per_h: float = 0.0) -> tuple[float, int] | None:
    """Working seconds until the ticket with ``ahead`` people before it in ``service`` is called, and how many
    distinct counters called for ``service`` meanwhile; None when no counter in ``hall`` serves ``service``.

    ``extra_ahead_per_h``: arrivals that will still go before it (priority citizens ahead of a normal ticket)."""
    counters = [c for c in hall.counters if c.services]
    if not any(service in c.services for c in counters):
        return None
    queue: dict[str, float] = {s: float(n) for s, n in hall.waiting.items() if s != service}
    queue[service] = float(ahead)
    # under one ticket a week is no arrival (and would divide by ~0 below)
    rates = {s: r / 3600.0 for s, r in hall.arrivals_per_h.items() if r > 1e-3 and s != service}
    if extra_ahead_per_h > 1e-3:
        rates[service] = extra_ahead_per_h / 3600.0
    targeted = [c.targeted for c in counters]
    heap = [(c.free_in_s, i) for i, c in enumerate(counters)]
    heapq.heapify(heap)
    clock = 0.0
    helpers: set[int] = set()
    steps = 0
    while heap and steps < MAX_STEPS:
        steps += 1
        t, i = heapq.heappop(heap)
        if t > clock:
            span = max(0.0, min(t, hall.arrivals_until_s) - clock)
            for s, rate in rates.items():
                queue[s] = queue.get(s, 0.0) + rate * span
            clock = t
        counter = counters[i]
        if targeted[i] > 0:
            targeted[i] -= 1
            heapq.heappush(heap, (t + times.seconds(counter.services[0], counter.id), i))
            continue
        chosen: str | None = None
        for s in counter.services:
            if queue.get(s, 0.0) >= 1.0:
                chosen = s
                break
            if s == service:        # nobody left before our citizen in the first service it would call
                return t, len(helpers | {i})
        if chosen is not None:
            queue[chosen] -= 1.0
            if chosen == service:
                helpers.add(i)
            heapq.heappush(heap, (t + times.seconds(chosen, counter.id), i))
            continue
        # idle: wake when the first of its services gets a whole ticket; never, if none is arriving
        waits = [(1.0 - queue.get(s, 0.0)) / rates[s] for s in counter.services if s in rates]
        if waits and t + min(waits) <= hall.arrivals_until_s:
            heapq.heappush(heap, (t + max(1.0, min(waits)), i))
    return None


def _to_wall(working_s: float, spans: tuple[tuple[float, float], ...]) -> float:
    """Seconds of wall time from now until ``working_s`` seconds of working time have passed."""
    left = working_s
    for start, end in spans:
        if end - start >= left:
            return start + left
        left -= end - start
    last_end = spans[-1][1] if spans else 0.0
    return last_end + left      # past the day's end: count on (tomorrow's numbers start again anyway)


def estimate_wait(service: str, ahead: int, hall: Hall, times: ServiceTimes,
                  extra_ahead_per_h: float = 0.0) -> WaitEstimate:
    """The wait for a citizen with ``ahead`` people before them in ``service`` (see module docstring)."""
    ahead = max(0, ahead)
    result = simulate(service, ahead, hall, times, extra_ahead_per_h)
    served = result is not None
    if result is None:
        # nobody serves it now: say what one counter would take once it opens (flagged, never "soon")
        lone = CounterNow("~", (service,))
        result = simulate(service, ahead, Hall((lone,), hall.waiting, {}, hall.working_spans, 0.0), times)
        assert result is not None
    working_s, _ = result
    serving = [c for c in hall.counters if service in c.services] if served else [CounterNow("~", (service,))]
    mean_s = sum(times.seconds(service, c.id) for c in serving) / len(serving)
    # Both ends grow with the expected wait alone, so the range is monotone in the people ahead: below, what the
    # model may miss (pauses, long cases); above, that plus the randomness of the tickets served meanwhile
    # (n ≈ working_s × counters ÷ mean tickets, each with spread cv × mean, over len(serving) counters).
    cv = times.spread(service)
    n = working_s * len(serving) / mean_s + 1.0
    randomness = cv * mean_s * math.sqrt(n) / len(serving)
    low_s = working_s * (1.0 - RANGE_Z * MODEL_REL) - RANGE_Z * MODEL_ABS_S
    high_s = working_s + RANGE_Z * math.sqrt(randomness ** 2 + (MODEL_REL * working_s) ** 2 + MODEL_ABS_S ** 2)
    wall = _to_wall(working_s, hall.working_spans)
    low_w = _to_wall(max(0.0, low_s), hall.working_spans)
    high_w = _to_wall(high_s, hall.working_spans)
    low = math.floor(low_w / 60.0 / ROUND_S) * ROUND_S
    high = max(low + ROUND_S, math.ceil(high_w / 60.0 / ROUND_S) * ROUND_S)
    return WaitEstimate(expected_min=max(0.0, wall / 60.0), low_min=max(0, low), high_min=high, served=served)


def format_range_vi(estimate: WaitEstimate) -> str:
    """``"khoảng 20–30 phút"``; ``"dưới 5 phút"`` when the range starts at zero and is short."""
    if estimate.low_min <= 0:
        return f"dưới {estimate.high_min} phút"
    return f"khoảng {estimate.low_min}–{estimate.high_min} phút"


def format_range_en(estimate: WaitEstimate) -> str:
    if estimate.low_min <= 0:
        return f"under {estimate.high_min} min"
    return f"about {estimate.low_min}–{estimate.high_min} min"
