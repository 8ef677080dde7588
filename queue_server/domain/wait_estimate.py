"""The wait a citizen is told: simulate the queue forward over the counters really serving now, give a range.

Pure: no I/O, no clock reads. The caller (QueueState) describes the hall as it is (counters open or paused, the
ticket each holds and how long it has held it, who waits for what, how fast tickets arrive) and the service-time
statistics (``ServiceTimes``); ``estimate_wait`` replays the counters' call rules forward in time: every counter,
when free, calls the first of its services, in its order of preference, that has someone waiting (tickets
transferred to it first), so a service a counter takes only as a second choice gets that counter only when its
first choices are empty — which the old "people ahead × mean ÷ counters listing it" ignored. Arrivals still to come
are fed in as a fluid (a counter's first-choice queue keeps refilling; a preferred service counts as waiting once
``FIRST_CHOICE_AT`` of a ticket has come), the lunch break and the end of the day are skipped over
(``working_spans``; a ticket in service when the break begins is finished in it), and the answer is a range
(``low_min``–``high_min``), not a false minute.

Why a range: a queue of n tickets served in parallel has a spread of about √n service-time deviations, plus what no
model sees (a pause, a long case). The spread below is calibrated by ``bench/estimate.py`` against simulated days.
"""
from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from statistics import median

# -- the statistics of one counter's occupancy per ticket (call → done / no-show / transfer), in seconds ----------
BLEND_K = 8.0            # samples that weigh as much as the prior (shrinkage towards history, then the default)
# Today's samples of a counter whose usual staff are there weigh less: that person's mean on one day differs from
# their history by some 10 % (τ), one ticket's occupancy by some 60 % (cv), so n of today's samples are worth as
# much as the prior at n ≈ (cv / τ)² ≈ 36. Someone else standing in (``ServiceTimes.stand_ins``) has no history
# at that counter: the service's prior, and today's samples at ``BLEND_K``. (bench/estimate.py, 30 days × 6 seeds,
# a stand-in at 10 % of counter-days: see docs/hub-internals.md.)
TODAY_K = 40.0
OWN_HISTORY_MIN = 20      # past samples of a service at a counter that make its prior that person's own record
TRIM = 0.05              # share clipped at each end before averaging: a few outliers do not move the mean
RESIDUAL_FLOOR = 0.3     # a ticket held longer than its mean still needs this share of a mean to finish
PAUSE_EXPECTED_S = 15 * 60.0   # a paused counter is expected back this long after it paused
HORIZON_S = 16 * 3600.0  # working time simulated (two days); a longer queue is extrapolated at its counters' pace
# Random runs per estimate (0: the one deterministic steady-flow run). bench/estimate.py --paths 8: bias nearer 0
# on seeds 1 and 2, further on 3; MAE up to 6 % lower or 1 % higher depending on the random numbers drawn (8 runs
# are few), and one estimate costs about 6× the CPU (5 ms instead of 0.8 at 60 waiting): not worth it at every
# issue (docs/hub-internals.md).
PATHS = 0
# Between releasing one ticket and calling the next, staff file papers and press the button: time no sample of
# call → release contains (the bench's counters take 5–40 s plus their polling; real centres more, not less).
TURNAROUND_S = 30.0
# A counter freed when the steady flow holds ln 2 ≈ 0.69 of a ticket of a service it prefers takes that service: with
# arrivals at random (Poisson), one has then more likely than not come (P = 1 − e^−x ≥ 1/2 from x = ln 2 on).
# Waiting for a whole ticket gave the services a counter takes after its first choices that counter's gaps sooner
# than chance does, and told their citizens short (bench/estimate.py seeds 1–6, mean bias −1.13 → +0.07 min at 0.75
# before the break rule of ``_done_at``; with it, 0.75 told seeds 2 and 3 1.05–1.2 min short, ln 2 keeps seeds 1–4
# within ±1; docs/hub-internals.md).
FIRST_CHOICE_AT = math.log(2.0)


def robust_mean(samples: Sequence[float]) -> float | None:
    """Winsorised mean: the ``TRIM`` share at each end (at least one value) clipped to its neighbour; the median
    below 5 samples. Clipping, not dropping: service times are skewed, and dropping the long tail would tell every
    wait short (bench/estimate.py: a 10 % trimmed mean moved the bias by −1.7 min)."""
    values = sorted(v for v in samples if v >= 0 and math.isfinite(v))
    if not values:
        return None
    if len(values) < 5:
        return float(median(values))
    cut = max(1, int(len(values) * TRIM))
    low, high = values[cut], values[-cut - 1]
    return sum(min(max(v, low), high) for v in values) / len(values)


def blend(samples: Sequence[float], prior_s: float, k: float = BLEND_K) -> float:
    """Today's robust mean shrunk towards ``prior_s``: with n samples, weight n / (n + k)."""
    centre = robust_mean(samples)
    if centre is None:
        return prior_s
    n = sum(1 for v in samples if v >= 0 and math.isfinite(v))
    return (n * centre + k * prior_s) / (n + k)


@dataclass(frozen=True, slots=True)
class HistoryPrior:
    """Learnt from past days: occupancy per ticket as robust means by (service), (service, counter) and
    (service, counter, hour), each with its sample count; and how many tickets each service gets in each hour of a
    working day (the day's waves). Built by ``HistoryPrior.from_samples``."""

    by_service: Mapping[str, tuple[float, int]] = field(default_factory=dict)
    by_counter: Mapping[tuple[str, str], tuple[float, int]] = field(default_factory=dict)
    by_hour: Mapping[tuple[str, str, int], tuple[float, int]] = field(default_factory=dict)
    arrivals_by_hour: Mapping[tuple[str, int], float] = field(default_factory=dict)   # tickets per day
    days: int = 0                                   # working days the arrivals were counted over
    priority_share: Mapping[str, float] = field(default_factory=dict)   # of a service's tickets, priority ones
    # per counter, the first opening (seconds after midnight) of each past day it opened, sorted; and the days looked
    # at — so a counter not yet open at 07:35 is expected soon, not left out of the hall until it opens (which told
    # the first citizens of a day far too long; ``opening_after``)
    first_openings: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    opening_days: int = 0
    usual_staff: Mapping[str, str] = field(default_factory=dict)   # per counter, who opened it on most past days

    @staticmethod
    def from_samples(samples: Sequence[tuple[str, str, int, float]],
                     issues: Sequence[tuple[str, str, int, bool]] = (),
                     openings: Sequence[tuple[str, str, float] | tuple[str, str, float, str | None]] = ()
                     ) -> HistoryPrior:
        """``samples``: (service, counter, hour of the call, seconds) of past days; ``issues``: (service, day,
        hour of issue, priority) of the tickets issued on past days; ``openings``: (counter, day, seconds after
        midnight[, staff]) of each counter's openings on past days (the first of a day counts)."""
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
        days = len({day for _, day, _, _ in issues})
        counts: dict[tuple[str, int], float] = {}
        totals: dict[str, list[int]] = {}
        for service, _, hour, priority in issues:
            counts[(service, hour)] = counts.get((service, hour), 0.0) + 1.0
            tally = totals.setdefault(service, [0, 0])
            tally[0] += 1
            tally[1] += 1 if priority else 0
        arrivals = {k: v / days for k, v in counts.items()} if days else {}
        share = {s: p / n for s, (n, p) in totals.items() if n}
        first: dict[tuple[str, str], float] = {}
        who: dict[tuple[str, str], tuple[float, str]] = {}
        for opening in openings:
            counter, day, clock_s = opening[0], opening[1], opening[2]
            key = (counter, day)
            first[key] = min(first.get(key, clock_s), clock_s)
            staff = opening[3] if len(opening) > 3 else None
            if staff and (key not in who or clock_s < who[key][0]):
                who[key] = (clock_s, staff)
        days_of: dict[str, dict[str, int]] = {}      # per counter, per staff login: days they opened it first
        for (counter, _), (_, staff) in who.items():
            mine = days_of.setdefault(counter, {})
            mine[staff] = mine.get(staff, 0) + 1
        # the most days, ties to the first login in order (the same answer in every process)
        usual = {c: min(t, key=lambda s: (-t[s], s)) for c, t in days_of.items()}
        by_counter: dict[str, list[float]] = {}
        for (counter, _), clock_s in first.items():
            by_counter.setdefault(counter, []).append(clock_s)
        open_days = max(days, len({day for _, day in first}))
        return HistoryPrior(out[0], out[1], out[2], arrivals, days, share,  # type: ignore[arg-type]
                            {c: tuple(sorted(v)) for c, v in by_counter.items()}, open_days, usual)

    @property
    def openings(self) -> dict[str, tuple[float, float, float]]:
        """Per counter: the share of past days it opened at all, and the mean and latest first opening."""
        return {c: (len(v) / self.opening_days, sum(v) / len(v), max(v))
                for c, v in self.first_openings.items() if v and self.opening_days}

    def opening_after(self, counter: str, clock_s: float) -> float | None:
        """When a counter not open by ``clock_s`` (seconds after midnight) is expected to open today, or None when
        on past days it more often stayed shut than opened later than that: of the days it had not opened by then,
        those it opened on later against those it never did (the median's side, which is what a citizen is best
        told); expected at the mean of those later openings. A hard cut at the latest opening seen took a counter
        opened at 07:50 as absent at 07:49 when three days of history had seen 07:40 at the latest, and told the
        one citizen of its first service "455–815 phút" (bench/estimate.py seed 3)."""
        times = self.first_openings.get(counter)
        if not times or self.opening_days <= 0:
            return None
        later = times[bisect_right(times, clock_s):]
        never = max(0, self.opening_days - len(times))
        if not later or len(later) < never:
            return None
        return sum(later) / len(later)

    def seconds(self, service: str, counter: str | None, hour: int, default_s: float) -> float:
        """Hierarchical shrinkage: the config default ← the service's history ← the counter's ← that hour's (the
        service's alone for ``counter`` None)."""
        value = default_s
        levels = (self.by_service.get(service),) if counter is None else (
            self.by_service.get(service), self.by_counter.get((service, counter)),
            self.by_hour.get((service, counter, hour)))
        for stats in levels:
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
    # counters staffed today by someone other than their usual staff (``HistoryPrior.usual_staff``): that counter's
    # history is another person's, so the service's is used and today's samples count as soon as they come
    stand_ins: frozenset[str] = frozenset()

    def seconds(self, service: str, counter: str) -> float:
        default = self.default_s.get(service, 600.0)
        stand_in = counter in self.stand_ins
        prior = self.prior.seconds(service, None if stand_in else counter, self.hour, default)
        # today weighs little only against this person's own record of the service at this counter: against the
        # config's default (a new site, a service new to the counter) or someone else's, it follows today sooner
        history = 0 if stand_in else self.prior.by_counter.get((service, counter), (0.0, 0))[1]
        k = TODAY_K if history >= OWN_HISTORY_MIN else BLEND_K
        # the service's other counters today (a day of harder cases moves them all), then this counter's own:
        # each of today's samples counted once (blending the whole service's, this counter's included, and then
        # this counter's again counted them twice — all of them, for a service one counter serves)
        others = [v for (s, c), values in self.today_by_counter.items() if s == service and c != counter
                  for v in values]
        level = blend(others, prior, k)
        return max(1.0, blend(self.today_by_counter.get((service, counter), ()), level, k)) + TURNAROUND_S

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
    # per service, a rate that changes over the day (the waves learnt from history): ((from working s, per h), …);
    # a service listed here ignores its flat ``arrivals_per_h``
    arrival_steps: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)


class _Stream:
    """Arrivals at a piecewise-constant rate (per second) that stop at ``until``."""

    __slots__ = ("cum", "rates", "starts")

    def __init__(self, steps: Sequence[tuple[float, float]], until: float) -> None:
        ordered = sorted((max(0.0, a), max(0.0, r)) for a, r in steps if a < until)
        if not ordered or ordered[0][0] > 0.0:
            ordered.insert(0, (0.0, 0.0))
        self.starts = [a for a, _ in ordered] + [until]
        self.rates = [r for _, r in ordered] + [0.0]
        self.cum = [0.0]         # arrivals from 0 to each start
        for k in range(1, len(self.starts)):
            self.cum.append(self.cum[-1] + self.rates[k - 1] * (self.starts[k] - self.starts[k - 1]))

    def since_start(self, t: float) -> float:
        """Arrivals from now (0) until ``t``."""
        if t <= 0.0:
            return 0.0
        k = bisect_right(self.starts, t) - 1
        return self.cum[k] + self.rates[k] * (t - self.starts[k]) if self.rates[k] > 0.0 else self.cum[k]

    def integral(self, a: float, b: float) -> float:
        return self.since_start(b) - self.since_start(a)

    def time_when(self, a: float, amount: float) -> float:
        """The moment from ``a`` on when ``amount`` more tickets have arrived (inf if they never do)."""
        left = amount
        for k, rate in enumerate(self.rates):
            lo, hi = self.starts[k], self.starts[k + 1] if k + 1 < len(self.starts) else math.inf
            if hi <= a:
                continue
            lo = max(lo, a)
            if rate > 0.0:
                if rate * (hi - lo) >= left:
                    return lo + left / rate
                left -= rate * (hi - lo)
        return math.inf


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    expected_min: float
    low_min: int
    high_min: int
    served: bool            # some open or paused counter serves the service (else: nobody to call it now)
    # the expected call falls after today's last working session: the range would read "khoảng 455–805 phút", a
    # figure nobody can act on; screens say instead that the turn may come only after today's working hours
    past_close: bool = False

    @property
    def minutes(self) -> int:
        """The old single figure (API field ``estimated_wait_min``): the expected wait, rounded."""
        return round(self.expected_min)


# Spread of the range: z × √(per-ticket randomness² + model error²), then rounded outward (see bench/estimate.py).
RANGE_Z = 1.3
MODEL_REL = 0.25          # share of the expected wait the model itself may miss by (pauses, long cases)
MODEL_ABS_S = 180.0       # and a floor: nobody is promised to the minute
ROUND_S = 5               # the range's ends are multiples of this many minutes


def free_in_s(mean_s: float, held_s: float, cv: float | None = None) -> float:
    """Expected time left on a ticket held ``held_s`` seconds whose occupancy averages ``mean_s``.

    With ``cv`` (the spread of one ticket's occupancy): the mean residual life of a lognormal occupancy, E[T − h |
    T > h]. Skewed service times mean a ticket held past its mean is likely a long case with much still to go;
    ``mean − held`` (floored) told every citizen behind a long case too short. Without ``cv``: that old rule."""
    if cv is None or cv <= 0.0 or held_s <= 0.0 or mean_s <= 0.0:
        return max(mean_s - held_s, RESIDUAL_FLOOR * mean_s)
    s2 = math.log(1.0 + cv * cv)
    s = math.sqrt(s2)
    mu = math.log(mean_s) - s2 / 2.0
    z = (mu - math.log(held_s)) / s
    tail = 0.5 * math.erfc(-z / math.sqrt(2.0))             # P(T > h)
    if tail < 1e-9:     # far out in the tail: numerically void, keep the floor
        return RESIDUAL_FLOOR * mean_s
    beyond = mean_s * 0.5 * math.erfc(-(z + s) / math.sqrt(2.0))   # E[T; T > h]
    return max(beyond / tail - held_s, 1.0)


class _Draws:
    """The k-th value of a named random stream (standard normal "n:…" or unit exponential "e:…"), the same in
    every process and every call: each stream is drawn once, in chunks of ``CHUNK`` from a generator seeded by its
    name and the chunk's number, and kept (a few hundred streams: runs × (counters + services) of the config).
    Seeding a generator per counter and run for every estimate cost more than the runs themselves. No lock: two
    request threads growing the same stream at once compute the same values, and each publishes a whole tuple."""

    CHUNK = 256

    def __init__(self) -> None:
        self.streams: dict[str, tuple[float, ...]] = {}

    def values(self, name: str, at_least: int) -> tuple[float, ...]:
        have = self.streams.get(name, ())
        if len(have) >= at_least:
            return have
        normal = name.startswith("n:")
        grown = list(have)
        while len(grown) < at_least:
            generator = random.Random(f"{name}#{len(grown) // self.CHUNK}")
            grown.extend(generator.gauss(0.0, 1.0) if normal else generator.expovariate(1.0)
                         for _ in range(self.CHUNK))
        out = self.streams[name] = tuple(grown)
        return out


_DRAWS = _Draws()


class _Cursor:
    """Reads one named stream of ``_DRAWS`` in order."""

    __slots__ = ("i", "name", "values")

    def __init__(self, name: str) -> None:
        self.name = name
        self.values = _DRAWS.values(name, 1)
        self.i = 0

    def next(self) -> float:
        if self.i >= len(self.values):
            self.values = _DRAWS.values(self.name, self.i + 1)
        value = self.values[self.i]
        self.i += 1
        return value


class _Table:
    """``ServiceTimes.seconds`` memoised for one estimate (each look-up blends sorted samples)."""

    def __init__(self, times: ServiceTimes) -> None:
        self.times = times
        self.memo: dict[tuple[str, str], float] = {}
        self.built: tuple[str, Hall, float, dict[str, _Stream]] | None = None

    def streams(self, service: str, hall: Hall, extra_ahead_per_h: float) -> dict[str, _Stream]:
        """The arrivals still to come per service (``service``'s own: only those who will go before the citizen),
        built once for all the runs of one estimate."""
        built = self.built
        if built is not None and built[0] == service and built[1] is hall and built[2] == extra_ahead_per_h:
            return built[3]
        until = hall.arrivals_until_s
        streams: dict[str, _Stream] = {}
        for s, r in hall.arrivals_per_h.items():
            if s != service and s not in hall.arrival_steps and r > 1e-3:   # under one a week is none
                streams[s] = _Stream(((0.0, r / 3600.0),), until)
        for s, profile in hall.arrival_steps.items():
            if s != service:
                streams[s] = _Stream(tuple((a, r / 3600.0) for a, r in profile), until)
        if extra_ahead_per_h > 1e-3:
            streams[service] = _Stream(((0.0, extra_ahead_per_h / 3600.0),), until)
        self.built = (service, hall, extra_ahead_per_h, streams)
        return streams

    def __call__(self, service: str, counter: str) -> float:
        key = (service, counter)
        value = self.memo.get(key)
        if value is None:
            value = self.memo[key] = self.times.seconds(service, counter)
        return value


def _breaks(spans: tuple[tuple[float, float], ...]) -> list[tuple[float, float]]:
    """(working seconds from now at which a span ends, length of the break after it), for each break between spans."""
    out: list[tuple[float, float]] = []
    worked = 0.0
    for (start, end), (following, _) in pairwise(spans):
        worked += end - start
        out.append((worked, following - end))
    return out


def _done_at(t: float, duration: float, breaks: Sequence[tuple[float, float]]) -> float:
    """When a counter that calls at working time ``t`` a ticket of ``duration`` can call again. A ticket still in
    service when a break begins is seen through in the break (staff finish with the citizen before lunch), so the
    counter calls again when work resumes — not that ticket's remainder later, which told every citizen called after
    lunch some minutes long (bench/estimate.py: those issued in the morning +10 / +10 / +18 min on seeds 1–3)."""
    end = t + duration
    for at, gap in breaks:
        if t < at < end:
            # just past ``at``: a call at exactly the end of a span reads as before the break (``_to_wall``)
            return at + 1e-3 + max(0.0, end - at - gap)
    return end


def simulate(service: str, ahead: int, hall: Hall, times: ServiceTimes | _Table,
             extra_ahead_per_h: float = 0.0, path: int | None = None) -> float | None:
    """Working seconds until the ticket with ``ahead`` people before it in ``service`` is called; None when no
    counter in ``hall`` serves ``service``.

    ``path`` None: one deterministic run with mean service times and arrivals as a steady flow. ``path`` k: the
    k-th random run — service times drawn around their means (spread ``ServiceTimes.spread``), arrivals as Poisson
    streams — from random streams seeded by (k, counter id) and (k, service), so the runs for ``ahead`` and
    ``ahead + 1`` are the same until the first calls its citizen (the estimate is monotone run by run), and a
    counter added to the hall draws from its own stream only.
    ``extra_ahead_per_h``: arrivals that will still go before it (priority citizens ahead of a normal ticket)."""
    table = times if isinstance(times, _Table) else _Table(times)
    counters = [c for c in hall.counters if c.services]
    if not any(service in c.services for c in counters):
        return None
    queue: dict[str, float] = {s: float(n) for s, n in hall.waiting.items() if s != service}
    queue[service] = float(ahead)
    streams = table.streams(service, hall, extra_ahead_per_h)
    draws: list[_Cursor] = []
    arrivals: dict[str, _Cursor] = {}
    sigma: dict[str, float] = {}
    next_at: dict[str, float] = {}
    if path is not None:
        draws = [_Cursor(f"n:{path}:{c.id}") for c in counters]
        for s, stream in sorted(streams.items()):
            arrivals[s] = _Cursor(f"e:{path}:arrivals:{s}")
            next_at[s] = stream.time_when(0.0, arrivals[s].next())

    def duration(s: str, i: int, mean: float) -> float:
        if path is None:
            return mean
        sg = sigma.get(s)
        if sg is None:
            cv = table.times.spread(s)
            sg = sigma[s] = math.sqrt(math.log(1.0 + cv * cv))
        return mean * math.exp(sg * draws[i].next() - sg * sg / 2.0)

    targeted = [c.targeted for c in counters]
    breaks = _breaks(hall.working_spans)
    if path is None:
        heap = [(_done_at(0.0, c.free_in_s, breaks), i) for i, c in enumerate(counters)]
    else:   # the time left on a ticket in hand is uncertain too
        heap = [(_done_at(0.0, c.free_in_s * math.exp(0.5 * draws[i].next() - 0.125), breaks)
                 if c.free_in_s > 0 else 0.0, i) for i, c in enumerate(counters)]
    heapq.heapify(heap)
    base = dict(queue)
    taken: dict[str, float] = {}
    while heap:
        t, i = heapq.heappop(heap)
        if t > HORIZON_S:
            # a very long queue: the rest at the pace of every counter serving it, from the horizon (not from this
            # event, which may be another service's counter), so monotone in ``ahead`` and blind to other counters
            serving = [c.id for c in counters if service in c.services]
            mean = sum(table(service, cid) for cid in serving) / len(serving)
            left = queue.get(service, 0.0)
            if service in streams and path is None:
                left = base.get(service, 0.0) + streams[service].since_start(HORIZON_S) - taken.get(service, 0.0)
            elif service in next_at:
                at = next_at[service]
                while at <= HORIZON_S:
                    left += 1.0
                    at = streams[service].time_when(at, arrivals[service].next())
            return HORIZON_S + left * mean / len(serving)
        if path is not None:
            for s, at in next_at.items():
                while at <= t:
                    queue[s] = queue.get(s, 0.0) + 1.0
                    at = streams[s].time_when(at, arrivals[s].next())
                next_at[s] = at
        counter = counters[i]
        if targeted[i] > 0:
            targeted[i] -= 1
            first = counter.services[0]
            heapq.heappush(heap, (_done_at(t, duration(first, i, table(first, counter.id)), breaks), i))
            continue
        chosen: str | None = None
        for s in counter.services:
            if path is None and s in streams:
                # from the start each time, not added step by step: the same moment gives the same queue however
                # many other counters' events came in between (float sums differ in the last bit and flip a choice)
                queue[s] = base.get(s, 0.0) + streams[s].since_start(t) - taken.get(s, 0.0)
            if queue.get(s, 0.0) >= (1.0 if s == service else FIRST_CHOICE_AT):
                chosen = s
                break
            if s == service:        # nobody left before our citizen in the first service it would call
                return t
        if chosen is not None:
            queue[chosen] -= 1.0
            taken[chosen] = taken.get(chosen, 0.0) + 1.0
            heapq.heappush(heap, (_done_at(t, duration(chosen, i, table(chosen, counter.id)), breaks), i))
            continue
        # idle: wake when the first of its services gets a whole ticket; never, if none is arriving
        if path is None:
            waits = [streams[s].time_when(t, 1.0 - queue.get(s, 0.0)) for s in counter.services if s in streams]
        else:
            waits = [next_at[s] for s in counter.services if s in next_at]
        wake = min(waits, default=math.inf)
        if wake < math.inf:
            heapq.heappush(heap, (max(t + 1.0, wake), i))
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
                  extra_ahead_per_h: float = 0.0, paths: int | None = None,
                  standby: tuple[CounterNow, ...] = ()) -> WaitEstimate:
    """The wait for a citizen with ``ahead`` people before them in ``service`` (see module docstring).

    ``standby``: the closed counters configured for it, assumed to open now if none of ``hall`` serves it (the
    answer is then flagged ``served=False``: a guess, never a promise)."""
    ahead = max(0, ahead)
    table = _Table(times)
    served = any(service in c.services for c in hall.counters)
    if not served and any(service in c.services for c in standby):
        hall = Hall(hall.counters + standby, hall.waiting, hall.arrivals_per_h, hall.working_spans,
                    hall.arrivals_until_s, hall.arrival_steps)
    elif not served:
        # nobody serves it now: say what one counter would take once it opens (flagged, never "soon")
        hall = Hall((CounterNow("~", (service,)),), {}, {}, hall.working_spans, 0.0)
        extra_ahead_per_h = 0.0
    serving = [c for c in hall.counters if service in c.services]
    mean_s = sum(table(service, c.id) for c in serving) / len(serving)
    runs = PATHS if paths is None else paths
    if runs > 0:
        # the mean of the random runs: a counter's later choices get the gaps chance leaves in its first choices'
        # queues, which the one steady-flow run never sees (it told such citizens too short)
        results = [r for k in range(runs) if (r := simulate(service, ahead, hall, table, extra_ahead_per_h, k))
                   is not None]
        working_s = sum(results) / len(results)
    else:
        working = simulate(service, ahead, hall, table, extra_ahead_per_h)
        assert working is not None
        working_s = working
    # Both ends grow with the expected wait alone, so the range is monotone in the people ahead: below, what the
    # model may miss (pauses, long cases); above, that plus the randomness of the tickets served meanwhile
    # (n ≈ working_s × counters ÷ mean tickets, each with spread cv × mean, over len(serving) counters). Not the
    # spread of the runs: widened by the model error it made ranges of an hour (bench/estimate.py).
    cv = times.spread(service)
    n = working_s * len(serving) / mean_s + 1.0
    randomness = cv * mean_s * math.sqrt(n) / len(serving)
    low_s = working_s * (1.0 - RANGE_Z * MODEL_REL) - RANGE_Z * MODEL_ABS_S
    high_s = working_s + RANGE_Z * math.sqrt(randomness ** 2 + (MODEL_REL * working_s) ** 2 + MODEL_ABS_S ** 2)
    wall = _to_wall(working_s, hall.working_spans)
    low_w = _to_wall(max(0.0, min(low_s, working_s)), hall.working_spans)
    high_w = _to_wall(max(high_s, working_s), hall.working_spans)
    low = math.floor(low_w / 60.0 / ROUND_S) * ROUND_S
    high = max(low + ROUND_S, math.ceil(high_w / 60.0 / ROUND_S) * ROUND_S)
    worked_today = sum(end - start for start, end in hall.working_spans)
    return WaitEstimate(expected_min=max(0.0, wall / 60.0), low_min=max(0, low), high_min=high, served=served,
                        past_close=math.isfinite(worked_today) and working_s > worked_today)


def format_range_vi(estimate: WaitEstimate) -> str:
    """``"khoảng 20–30 phút"``; ``"dưới 5 phút"`` when the range starts at zero and is short."""
    if estimate.low_min <= 0:
        return f"dưới {estimate.high_min} phút"
    return f"khoảng {estimate.low_min}–{estimate.high_min} phút"


def format_range_en(estimate: WaitEstimate) -> str:
    if estimate.low_min <= 0:
        return f"under {estimate.high_min} min"
    return f"about {estimate.low_min}–{estimate.high_min} min"
