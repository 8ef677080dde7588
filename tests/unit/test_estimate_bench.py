"""The estimate bench's replays (bench/estimate.py ``--floor``): a replica of a simulated day must be the day itself
up to its branch moment and only then differ, or the floor it prints would measure the replay, not the days."""
from __future__ import annotations

import importlib.util
import random
import sys
from itertools import pairwise
from pathlib import Path
from types import ModuleType

import pytest

from queue_server.config import load_settings
from queue_server.domain import wait_estimate

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_estimate", ROOT / "bench" / "estimate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_estimate"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _bench()


@pytest.fixture(scope="module")
def day(bench: ModuleType) -> tuple[object, object]:
    center = load_settings(str(bench.EXAMPLE)).center
    rng = random.Random(5)
    speed = {c.id: rng.uniform(0.7, 1.45) for c in center.counters}
    sim = bench.Day(center, bench.FIRST_DAY, rng.random(), wait_estimate.HistoryPrior(), speed)
    sim.run()
    return sim, speed


def test_a_replica_branched_after_closing_is_the_day_itself(bench: ModuleType, day: tuple[object, object]) -> None:
    sim, speed = day
    twin = bench.Day(sim.center, sim.day, sim.seed, sim.prior, speed, replica=3,  # type: ignore[attr-defined]
                     branch_at=sim.at(23, 0))  # type: ignore[attr-defined]
    twin.run()
    assert len(sim.first_called) > 200  # type: ignore[attr-defined]
    assert twin.first_called == sim.first_called  # type: ignore[attr-defined]


def test_a_replica_keeps_the_past_and_redraws_the_future(bench: ModuleType, day: tuple[object, object]) -> None:
    sim, speed = day
    branch = sim.at(10, 0)  # type: ignore[attr-defined]
    twin = bench.Day(sim.center, sim.day, sim.seed, sim.prior, speed, replica=1,  # type: ignore[attr-defined]
                     branch_at=branch)
    twin.run()
    before = {t: c for t, c in sim.first_called.items() if c < branch}  # type: ignore[attr-defined]
    assert before and all(twin.first_called.get(t) == c for t, c in before.items())
    after = {t: c for t, c in sim.first_called.items() if c > branch}  # type: ignore[attr-defined]
    # the afternoon differs: other citizens arrive, other service times are drawn
    assert sum(1 for t, c in after.items() if twin.first_called.get(t) != c) > len(after) // 2
    assert set(twin.first_called) != set(sim.first_called)      # new citizens after the branch


def test_the_floor_is_the_median_of_the_replicas_waits(bench: ModuleType) -> None:
    center = load_settings(str(bench.EXAMPLE)).center
    rng = random.Random(9)
    speed = {c.id: rng.uniform(0.7, 1.45) for c in center.counters}
    sim = bench.Day(center, bench.FIRST_DAY, rng.random(), wait_estimate.HistoryPrior(), speed)
    sim.run()
    estimate = bench.tr.QueueState.wait_estimate
    bench.replay_floor(sim, 3, 60)
    sampled = [t for t in sim.told.values() if t.floor is not None]
    assert sampled, "some tickets are replayed"
    first = min(sampled, key=lambda t: t.issued_at)
    tid = next(k for k, v in sim.told.items() if v is first)
    waits = []
    for k in (1, 2, 3):
        twin = bench.Day(center, sim.day, sim.seed, sim.prior, speed, replica=k, branch_at=first.issued_at)
        twin.run()
        waits.append((twin.first_called[tid] - first.issued_at).total_seconds() / 60.0)
    assert first.floor == sorted(waits)[1]
    # the estimate is back in place after the replays (they tell nobody anything)
    assert bench.tr.QueueState.wait_estimate is estimate
    figures = bench.floor_figures(list(sim.told.values()))
    assert figures["floor_tickets"] == len([t for t in sampled if t.real is not None])
    known = [t for t in sampled if t.real is not None and t.floor is not None]
    assert figures["floor_bias_min"] == round(sum(t.floor - t.real for t in known) / len(known), 2)


def test_load_scales_the_citizens_of_a_day(bench: ModuleType) -> None:
    center = load_settings(str(bench.EXAMPLE)).center
    rng = random.Random(3)
    speed = {c.id: rng.uniform(0.7, 1.45) for c in center.counters}
    seed = rng.random()
    counts = {}
    for load in (1.0, 0.5):
        sim = bench.Day(center, bench.FIRST_DAY, seed, wait_estimate.HistoryPrior(), speed, load=load)
        sim.run()
        counts[load] = len(sim.told)
    assert counts[1.0] > 250
    assert 0.4 < counts[0.5] / counts[1.0] < 0.6


def test_a_replica_does_not_know_which_counters_not_yet_open_will_open(bench: ModuleType,
                                                                       day: tuple[object, object]) -> None:
    """Whether staff not yet in at the branch come today, and when, is drawn anew; those already in opened as
    they did (the floor knew every late opening and every absence before)."""
    sim, speed = day
    branch = sim.at(7, 31)  # type: ignore[attr-defined]
    opened = first_openings(sim.openings)  # type: ignore[attr-defined]
    early = {c: s for c, s in opened.items() if s < 7 * 3600 + 31 * 60}
    assert early and len(early) < len(sim.center.counters)  # type: ignore[attr-defined]
    seen: list[dict[str, float]] = []
    for k in range(1, 9):
        twin = bench.Day(sim.center, sim.day, sim.seed, sim.prior, speed, replica=k,  # type: ignore[attr-defined]
                         branch_at=branch)
        twin.run()
        mine = first_openings(twin.openings)
        assert {c: mine.get(c) for c in early} == early
        seen.append({c: s for c, s in mine.items() if c not in early})
    late = {c: s for c, s in opened.items() if c not in early}
    assert any(other != late for other in seen)
    assert len({tuple(sorted(o.items())) for o in seen}) > 1


def first_openings(openings: list[tuple[str, str, float, str | None]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for counter, _, clock_s, _ in openings:
        out[counter] = min(out.get(counter, clock_s), clock_s)
    return out


def test_a_simulated_day_never_goes_back_in_time(bench: ModuleType) -> None:
    """A meeting that ended while its counter was still serving used to pause the counter until that past end and
    resume it then: the hub saw commands dated before the ones it had already applied (and the counter gained the
    time). Every command of a day is dated no earlier than the one before it."""
    center = load_settings(str(bench.EXAMPLE)).center
    rng = random.Random(3)
    speed = {c.id: rng.uniform(0.7, 1.45) for c in center.counters}
    seen: list[object] = []
    for _ in range(4):
        sim = bench.Day(center, bench.FIRST_DAY, rng.random(), wait_estimate.HistoryPrior(), speed)
        apply = sim.apply

        def dated(command: object, now: object, apply: object = apply) -> object:
            seen.append(now)
            return apply(command, now)  # type: ignore[operator]

        sim.apply = dated
        sim.run()
        assert len(seen) > 500          # a whole day's commands
        assert all(a <= b for a, b in pairwise(seen)), "a command dated before the one before it"
        seen.clear()
