"""The wait estimate: never negative, monotone in the people ahead, a counter not serving a service adds nothing,
and the cases the old formula got wrong (second-choice services, time left on the tickets in hand)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hub_center import DAT_DAI, HO_TICH, MONDAY_0800, make_center
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.messages import VN_TZ
from contracts.wait_text import wait_range_text
from queue_server.domain import transitions as tr
from queue_server.domain import wait_estimate as we

pytestmark = pytest.mark.unit

SERVICES = ("a", "b", "c")
TIMES = we.ServiceTimes(default_s={"a": 600.0, "b": 900.0, "c": 300.0})

counter_st = st.builds(
    we.CounterNow,
    id=st.sampled_from([str(i) for i in range(1, 7)]),
    services=st.lists(st.sampled_from(SERVICES), min_size=1, max_size=3, unique=True).map(tuple),
    free_in_s=st.floats(0, 3600),
    targeted=st.integers(0, 2),
)
hall_st = st.builds(
    we.Hall,
    counters=st.lists(counter_st, max_size=5, unique_by=lambda c: c.id).map(tuple),
    waiting=st.fixed_dictionaries({s: st.integers(0, 30) for s in SERVICES}),
    arrivals_per_h=st.fixed_dictionaries({s: st.floats(0, 12) for s in SERVICES}),
    working_spans=st.sampled_from([((0.0, float("inf")),), ((0.0, 3600.0), (10800.0, 23400.0))]),
)


@settings(max_examples=150, deadline=None)
@given(hall=hall_st, service=st.sampled_from(SERVICES), ahead=st.integers(0, 40))
def test_never_negative_and_a_true_range(hall: we.Hall, service: str, ahead: int) -> None:
    w = we.estimate_wait(service, ahead, hall, TIMES)
    assert w.expected_min >= 0 and w.low_min >= 0 and w.minutes >= 0
    assert w.low_min <= w.expected_min <= w.high_min
    assert w.low_min < w.high_min


@settings(max_examples=150, deadline=None)
@given(hall=hall_st, service=st.sampled_from(SERVICES), ahead=st.integers(0, 40))
def test_monotone_in_people_ahead(hall: we.Hall, service: str, ahead: int) -> None:
    one = we.estimate_wait(service, ahead, hall, TIMES)
    more = we.estimate_wait(service, ahead + 1, hall, TIMES)
    assert more.expected_min >= one.expected_min
    assert more.low_min >= one.low_min and more.high_min >= one.high_min


@settings(max_examples=150, deadline=None)
@given(hall=hall_st, ahead=st.integers(0, 40), free=st.floats(0, 3600))
def test_a_counter_that_does_not_serve_the_service_adds_nothing(hall: we.Hall, ahead: int, free: float) -> None:
    # service "a" for a hall of counters serving "a"/"b" only; the extra counter serves "c", which none of them does
    hall = we.Hall(tuple(we.CounterNow(c.id, tuple(s for s in c.services if s != "c") or ("a",), c.free_in_s)
                         for c in hall.counters), hall.waiting, hall.arrivals_per_h, hall.working_spans)
    extra = we.Hall(hall.counters + (we.CounterNow("99", ("c",), free),), hall.waiting, hall.arrivals_per_h,
                    hall.working_spans)
    assert we.estimate_wait("a", ahead, hall, TIMES) == we.estimate_wait("a", ahead, extra, TIMES)


def test_second_choice_service_waits_for_the_first_choice_queue() -> None:
    # counter 1 serves a first, b second; 10 wait for a: b's citizen waits for all of them (the old formula: 0)
    hall = we.Hall((we.CounterNow("1", ("a", "b")),), {"a": 10, "b": 0})
    w = we.estimate_wait("b", 0, hall, TIMES)
    assert w.served and 95 <= w.expected_min <= 110        # 10 × (10 min + turnaround)
    assert w.low_min <= 100 <= w.high_min


def test_time_left_on_the_ticket_in_hand_and_nobody_serving() -> None:
    idle = we.estimate_wait("a", 0, we.Hall((we.CounterNow("1", ("a",)),), {}), TIMES)
    busy = we.estimate_wait("a", 0, we.Hall((we.CounterNow("1", ("a",), free_in_s=420.0),), {}), TIMES)
    assert idle.expected_min == 0 and busy.expected_min == 7
    assert format_ok(idle) == "dưới 10 phút"      # nobody ahead is still not "now"
    nobody = we.estimate_wait("a", 3, we.Hall((we.CounterNow("1", ("b",)),), {}), TIMES)
    assert not nobody.served


def format_ok(w: we.WaitEstimate) -> str:
    return we.format_range_vi(w)


def test_lunch_break_is_skipped() -> None:
    # one hour of morning left, then a two-hour break; tickets of 10.5 min: five end by 52.5 min, the sixth is still
    # in service when the break begins and is finished in it (3 min into the break), so after lunch the counter
    # starts afresh: the 7th, 8th and 9th take 31.5 min, and the citizen is called 60 + 120 + 31.5 min from now —
    # not 3 min later, as when that ticket's remainder was carried over the break
    hall = we.Hall((we.CounterNow("1", ("a",)),), {}, working_spans=((0.0, 3600.0), (10800.0, 23400.0)))
    w = we.estimate_wait("a", 9, hall, TIMES)
    assert w.expected_min == pytest.approx(60 + 120 + 31.5, abs=0.01)
    # a citizen called exactly when the sixth ticket ends is called after the break, not at its start
    assert we.estimate_wait("a", 6, hall, TIMES).expected_min == pytest.approx(180.0, abs=0.01)
    # a break shorter than the remainder: the counter calls again once that ticket is done (1 min into the
    # afternoon), and the time left on a ticket in hand is seen through the break the same way
    short = we.Hall((we.CounterNow("1", ("a",), free_in_s=3780.0),), {}, working_spans=((0.0, 3600.0), (3720.0, 1e6)))
    assert we.estimate_wait("a", 0, short, TIMES).expected_min == pytest.approx(63.0, abs=0.01)


def test_a_call_expected_after_todays_hours_is_flagged() -> None:
    # a service one counter takes only when its first choice is empty, and that first choice keeps coming all day:
    # the call is expected after today's 5 working hours — said as such, not as "khoảng 455–805 phút"
    spans = ((0.0, 3600.0), (10800.0, 25200.0))
    counter = we.CounterNow("1", ("a", "b"))
    busy = we.Hall((counter,), {"a": 3, "b": 0}, {"a": 7.0}, working_spans=spans, arrivals_until_s=18000.0)
    late = we.estimate_wait("b", 0, busy, TIMES)
    assert late.past_close and late.served and late.expected_min > 7 * 60
    assert we.estimate_wait("a", 0, busy, TIMES).past_close is False
    # the same queue with no end of day in sight (after the last session, or a 24-hour center): nothing to flag
    endless = we.Hall((counter,), {"a": 3, "b": 0}, {"a": 7.0}, arrivals_until_s=18000.0)
    assert we.estimate_wait("b", 0, endless, TIMES).past_close is False
    assert wait_range_text(late.low_min, late.high_min, late.served, "vi", late.past_close) == \
        "có thể quá giờ làm việc"
    assert wait_range_text(late.low_min, late.high_min, late.served, "en", late.past_close) == \
        "possibly past closing time"
    # nobody serving it now still says that first
    assert wait_range_text(None, None, False, "vi", True).startswith("Chưa có quầy")


def test_robust_statistics_and_the_prior() -> None:
    assert we.robust_mean([600] * 18 + [60, 7200]) == 600         # two outliers clipped
    assert we.blend([], 500.0) == 500.0
    assert we.blend([100.0] * 8, 500.0) == pytest.approx(300.0)   # 8 samples weigh as much as the prior
    prior = we.HistoryPrior.from_samples([("a", "1", 9, 1200.0)] * 40)
    times = we.ServiceTimes(default_s={"a": 600.0}, prior=prior, hour=9)
    assert times.seconds("a", "1") > times.seconds("a", "2") > 600.0 + we.TURNAROUND_S


def test_hub_state_tells_a_range_and_learns_from_today() -> None:
    state = tr.QueueState(center=make_center())          # ho-tich default: 6 min
    now = MONDAY_0800
    state, _ = tr.transition(state, tr.OpenCounter("2"), now)
    for _ in range(3):
        state, _ = tr.transition(state, tr.IssueTicket(HO_TICH), now)
    first = tr.decide(state, tr.IssueTicket(HO_TICH), now).result
    assert isinstance(first, tr.Issued) and first.wait is not None
    assert first.ahead == 3 and first.wait.low_min <= first.wait.expected_min <= first.wait.high_min
    # today every ticket takes 20 minutes at counter 2: the estimate moves towards it
    for _ in range(3):
        state, _ = tr.transition(state, tr.CallNext("2"), now)
        state, _ = tr.transition(state, tr.StartService("2"), now)
        now += timedelta(minutes=20)
        state, _ = tr.transition(state, tr.Complete("2"), now)
    assert list(state.occupancy_s[(HO_TICH, tr.CounterId("2"))]) == [1200.0] * 3
    for _ in range(3):
        state, _ = tr.transition(state, tr.IssueTicket(HO_TICH), now)
    later = tr.decide(state, tr.IssueTicket(HO_TICH), now).result
    assert isinstance(later, tr.Issued) and later.wait is not None
    assert later.wait.expected_min > first.wait.expected_min


@settings(max_examples=60, deadline=None)
@given(hall=hall_st, service=st.sampled_from(SERVICES), ahead=st.integers(0, 25))
def test_random_runs_are_monotone_too(hall: we.Hall, service: str, ahead: int) -> None:
    one = we.estimate_wait(service, ahead, hall, TIMES, paths=4)
    more = we.estimate_wait(service, ahead + 1, hall, TIMES, paths=4)
    assert 0 <= one.expected_min <= more.expected_min
    assert one.low_min <= more.low_min and one.high_min <= more.high_min


def test_a_counter_usually_open_by_now_is_expected_until_its_latest_opening() -> None:
    """Staff opened counter 3 at 08:05–08:15 on past days (and counter 1 on one day in four): at 08:00 counter 3 is
    expected soon and shortens the wait; counter 1 is not counted; after 08:15 counter 3 is taken as absent."""
    openings = [("3", f"2026-11-{d:02d}", 8 * 3600.0 + m * 60.0) for d, m in ((16, 5), (17, 10), (18, 15), (19, 10))]
    openings += [("3", "2026-11-19", 9 * 3600.0)]            # reopened later that day: only the first opening counts
    openings += [("1", "2026-11-16", 7 * 3600.0)]
    prior = we.HistoryPrior.from_samples([], [(HO_TICH, f"2026-11-{d:02d}", 8, False) for d in (16, 17, 18, 19)],
                                         openings)
    assert prior.openings["3"] == (1.0, 8 * 3600.0 + 600.0, 8 * 3600.0 + 900.0)
    assert prior.openings["1"][0] == 0.25

    def told(prior: we.HistoryPrior, at: timedelta) -> float:
        state = tr.QueueState(center=make_center(), prior=prior)
        now = MONDAY_0800 + at
        state, _ = tr.transition(state, tr.OpenCounter("2"), now)
        for _ in range(6):
            state, _ = tr.transition(state, tr.IssueTicket(HO_TICH), now)
        result = tr.decide(state, tr.IssueTicket(HO_TICH), now).result
        assert isinstance(result, tr.Issued) and result.wait is not None
        return result.wait.expected_min

    no_history = we.HistoryPrior.from_samples([], [(HO_TICH, "2026-11-16", 8, False)])
    assert told(prior, timedelta()) < told(no_history, timedelta())
    assert told(prior, timedelta(minutes=20)) == told(no_history, timedelta(minutes=20))


def test_a_counter_not_open_yet_is_expected_when_it_more_often_opened_later_than_stayed_shut() -> None:
    """Counter 3 over 15 past days: opened at 07:30 on 10, at 07:50 on 3, never on 2. At 07:45 three of the five days
    not open by then opened later: expected at 07:50 (the mean of those openings, not the mean of all, a minute from
    now), even past 07:48, which a hard cut at the latest opening of fewer days took as absent. With 2 later against
    3 shut it is taken as absent; after every later opening seen, too."""
    days = [f"2026-11-{d:02d}" for d in range(2, 17)]
    openings = [("3", day, 7.5 * 3600.0) for day in days[:10]] + [("3", day, 7 * 3600.0 + 50 * 60.0)
                                                                  for day in days[10:13]]
    prior = we.HistoryPrior.from_samples([], [(HO_TICH, day, 8, False) for day in days], openings)
    at_0745 = 7 * 3600.0 + 45 * 60.0
    assert prior.opening_after("3", at_0745) == pytest.approx(7 * 3600.0 + 50 * 60.0)
    assert prior.opening_after("3", 7 * 3600.0) == pytest.approx((10 * 7.5 * 3600.0 + 3 * (7 * 3600.0 + 3000.0)) / 13)
    assert prior.opening_after("3", 7 * 3600.0 + 51 * 60.0) is None
    assert prior.opening_after("9", at_0745) is None            # never seen open
    shut_more = we.HistoryPrior.from_samples([], [(HO_TICH, day, 8, False) for day in days],
                                             openings[:10] + openings[11:13])    # 2 later, 3 never
    assert shut_more.opening_after("3", at_0745) is None

    def hall_at(prior: we.HistoryPrior, minute: int) -> dict[str, float]:
        state = tr.QueueState(center=make_center(), prior=prior)
        now = MONDAY_0800.replace(hour=7, minute=minute)
        state.roll_to(now.date())
        times = state.service_times(now)
        return {c.id: c.free_in_s for c in state.hall(now, times).counters}

    assert hall_at(prior, 45)["3"] == pytest.approx(5 * 60.0)
    assert hall_at(prior, 49)["3"] == pytest.approx(60.0)       # due any minute: not before a minute from now
    assert "3" not in hall_at(shut_more, 45)


def test_todays_samples_of_a_counter_are_counted_once() -> None:
    """A service one counter serves: its samples today are the service's too, and were blended in twice (service
    level, then counter level), so a few long cases today outweighed weeks of history. Counted once, with the weight
    ``TODAY_K``; the service's other counters today move this counter's level (a day of harder cases)."""
    prior = we.HistoryPrior.from_samples([("a", "1", 9, 600.0)] * 200 + [("a", "2", 9, 600.0)] * 200)
    long_today = (1200.0,) * 10
    alone = we.ServiceTimes(default_s={"a": 600.0}, prior=prior, hour=9, today_by_counter={("a", "1"): long_today},
                            today_by_service={"a": long_today})
    once = 10 / (10 + we.TODAY_K)
    assert alone.seconds("a", "1") == pytest.approx(600.0 + once * 600.0 + we.TURNAROUND_S, rel=1e-3)
    # counter 2 has no sample of its own today: it moves with counter 1's day, by the same weight
    assert alone.seconds("a", "2") == pytest.approx(alone.seconds("a", "1"), rel=1e-3)
    both = we.ServiceTimes(default_s={"a": 600.0}, prior=prior, hour=9,
                           today_by_counter={("a", "1"): long_today, ("a", "2"): (300.0,) * 10},
                           today_by_service={"a": long_today + (300.0,) * 10})
    # counter 2 quick today: it pulls counter 1's level down, and counter 1's long day pulls counter 2's up
    assert both.seconds("a", "1") == pytest.approx(540.0 + once * (1200.0 - 540.0) + we.TURNAROUND_S, rel=1e-3)
    assert both.seconds("a", "2") == pytest.approx(720.0 + once * (300.0 - 720.0) + we.TURNAROUND_S, rel=1e-3)


def test_today_weighs_little_only_against_a_counters_own_record() -> None:
    """A new site (the config's 10 min, no history) whose counter takes 5 min today: eight samples move it halfway
    (``BLEND_K``), not a sixth of the way (``TODAY_K`` is for a person's own record, ≥ ``OWN_HISTORY_MIN`` samples)."""
    today = {("a", "1"): (300.0,) * 8}
    new_site = we.ServiceTimes(default_s={"a": 600.0}, today_by_counter=today, today_by_service={"a": (300.0,) * 8})
    assert new_site.seconds("a", "1") == pytest.approx(450.0 + we.TURNAROUND_S)
    few = we.HistoryPrior.from_samples([("a", "1", 9, 600.0)] * (we.OWN_HISTORY_MIN - 1))
    assert we.ServiceTimes(default_s={"a": 600.0}, prior=few, hour=9, today_by_counter=today).seconds("a", "1") \
        == pytest.approx(450.0 + we.TURNAROUND_S)
    own = we.HistoryPrior.from_samples([("a", "1", 9, 600.0)] * we.OWN_HISTORY_MIN)
    assert we.ServiceTimes(default_s={"a": 600.0}, prior=own, hour=9, today_by_counter=today).seconds("a", "1") \
        == pytest.approx(600.0 - 300.0 * 8 / (8 + we.TODAY_K) + we.TURNAROUND_S)


def test_someone_standing_in_at_a_counter_is_not_taken_for_its_usual_staff() -> None:
    """Counter 1's usual staff (who opened it on most past days) take 20 min a ticket there; the service's history
    over both counters is 12.5 min. Today a stand-in opened counter 1: the estimate uses the service's history, not
    the usual person's, and follows today's samples at ``BLEND_K`` rather than ``TODAY_K``."""
    days = [f"2026-11-{d:02d}" for d in range(2, 12)]
    openings = [("1", day, 7.5 * 3600.0, "lan") for day in days[:8]] + [("1", day, 7.5 * 3600.0, "hoa")
                                                                       for day in days[8:]]
    openings += [("1", days[0], 13.5 * 3600.0, "hoa")]      # not the day's first opening: not counted
    samples = [("a", "1", 9, 1200.0)] * 100 + [("a", "2", 9, 300.0)] * 100
    prior = we.HistoryPrior.from_samples(samples, [("a", day, 8, False) for day in days], openings)
    assert prior.usual_staff == {"1": "lan"}
    usual = we.ServiceTimes(default_s={"a": 600.0}, prior=prior, hour=9)
    stand_in = we.ServiceTimes(default_s={"a": 600.0}, prior=prior, hour=9, stand_ins=frozenset({"1"}))
    assert usual.seconds("a", "1") > 1100.0 + we.TURNAROUND_S
    service_level = prior.seconds("a", None, 9, 600.0)
    assert 700.0 < service_level < 800.0
    assert stand_in.seconds("a", "1") == pytest.approx(service_level + we.TURNAROUND_S)
    today = {("a", "1"): (300.0,) * 8}
    followed = we.ServiceTimes(default_s={"a": 600.0}, prior=prior, hour=9, stand_ins=frozenset({"1"}),
                               today_by_counter=today)
    assert followed.seconds("a", "1") == pytest.approx((service_level + 300.0) / 2 + we.TURNAROUND_S)

    # the hub: the staff member who opened counter 1 today decides
    center = make_center()
    for staff, standing_in in (("lan", False), ("hoa", True)):
        state = tr.QueueState(center=center, prior=prior)
        state, _ = tr.transition(state, tr.OpenCounter("1", staff), MONDAY_0800)
        assert ("1" in state.service_times(MONDAY_0800).stand_ins) is standing_in


def test_a_ticket_held_past_its_mean_is_likely_a_long_case() -> None:
    """Skewed occupancy: the time left on a ticket in hand never drops to a sliver and grows again for a ticket held
    long (a long case); without a spread, the old mean − held floored rule."""
    assert we.free_in_s(600.0, 0.0, 0.6) == pytest.approx(600.0)
    left = [we.free_in_s(600.0, h, 0.6) for h in (600.0, 1200.0, 2400.0)]
    assert all(v > 0.5 * 600.0 for v in left) and left[0] < left[1] < left[2]
    assert we.free_in_s(600.0, 600.0) == pytest.approx(we.RESIDUAL_FLOOR * 600.0)


def test_priority_across_services_in_the_estimate() -> None:
    """Counter 1 takes ho-tich first, đất đai second. With priority across services (the default), an elderly đất
    đai citizen is called before counter 1's normal ho-tich queue, so is told much less than a normal one; and a
    normal ho-tich citizen is told more when an elderly đất đai citizen waits (counter 1 calls them first)."""
    state = tr.QueueState(center=make_center())
    now = MONDAY_0800
    state, _ = tr.transition(state, tr.OpenCounter("1"), now)
    for _ in range(8):
        state, _ = tr.transition(state, tr.IssueTicket(HO_TICH), now)

    def told(state: tr.QueueState, service: str, priority: str | None) -> float:
        result = tr.decide(state, tr.IssueTicket(service, priority), now).result
        assert isinstance(result, tr.Issued) and result.wait is not None
        return result.wait.expected_min

    assert told(state, DAT_DAI, "elderly") < told(state, DAT_DAI, None) / 3
    before = told(state, HO_TICH, None)
    state, _ = tr.transition(state, tr.IssueTicket(DAT_DAI, "elderly"), now)
    assert told(state, HO_TICH, None) > before


def _arrival_steps_reference(state: tr.QueueState, now: datetime,
                             spans: tuple[tuple[float, float], ...], until: float
                             ) -> dict[str, tuple[tuple[float, float], ...]]:
    """The per-service loop ``QueueState._arrival_steps`` had before it computed the hour starts once per call."""
    prior = state.prior
    local = now.astimezone(VN_TZ)
    sessions = state.center.sessions_on(local.date())

    def worked_in_hour(h: int, upto: datetime | None = None) -> float:
        a = local.replace(hour=h, minute=0, second=0, microsecond=0)
        b = a + timedelta(hours=1) if upto is None else min(a + timedelta(hours=1), upto)
        total = 0.0
        for sess in sessions:
            s0 = datetime.combine(local.date(), sess.start, tzinfo=VN_TZ)
            s1 = datetime.combine(local.date(), sess.end, tzinfo=VN_TZ)
            total += max(0.0, (min(b, s1) - max(a, s0)).total_seconds()) / 3600.0
        return total

    share = [worked_in_hour(h) for h in range(24)]
    out: dict[str, tuple[tuple[float, float], ...]] = {}
    for s in state.center.services:
        usual = [prior.arrivals_by_hour.get((s.code, h), 0.0) for h in range(24)]
        now_share = worked_in_hour(local.hour, local)
        expected = sum(usual[:local.hour]) + (usual[local.hour] * now_share / share[local.hour]
                                              if share[local.hour] > 0 else 0.0)
        issued = state.service_days[s.code].issued if s.code in state.service_days else 0
        factor = (issued + tr.ARRIVAL_SHRINK) / (expected + tr.ARRIVAL_SHRINK)
        steps: list[tuple[float, float]] = []
        for h in range(local.hour, 24):
            start = local.replace(hour=h, minute=0, second=0, microsecond=0)
            at = tr._working_s(max(0.0, (start - local).total_seconds()), spans)
            if at >= until:
                break
            rate = usual[h] / share[h] if share[h] > 0 else 0.0
            steps.append((at, rate * factor))
        out[s.code] = tuple(steps)
    return out


@pytest.mark.parametrize("minutes", [-45, 0, 37, 150, 215, 330, 400, 505, 600])
def test_arrival_steps_are_the_same_as_the_per_service_loop(minutes: int) -> None:
    # usual days: a morning and an afternoon wave of both services; today so far: a busier morning
    issues = [(s, f"2026-11-{d:02d}", h, False) for d in (16, 17, 18) for s in (HO_TICH, DAT_DAI)
              for h in (7, 8, 8, 9, 10, 13, 14, 14, 15, 16)]
    state = tr.QueueState(center=make_center(), prior=we.HistoryPrior.from_samples([], issues))
    now = MONDAY_0800
    for _ in range(4):
        state, _ = tr.transition(state, tr.IssueTicket(HO_TICH), now)
    at = MONDAY_0800 + timedelta(minutes=minutes)
    spans = state._spans(at)
    until = state._issue_left_s(at, spans)
    assert state._arrival_steps(at, spans, until) == _arrival_steps_reference(state, at, spans, until)


def test_random_runs_draw_the_same_numbers_whatever_was_drawn_before() -> None:
    """The random runs read named streams drawn once: a stream's values do not depend on which streams were
    read before or how far, so an estimate is the same in a fresh process and after thousands of others."""
    fresh = we._Draws()
    used = we._Draws()
    used.values("n:0:2", 5000)
    used.values("e:0:arrivals:a", 70)
    assert used.values("n:0:1", 300)[:300] == fresh.values("n:0:1", 300)[:300]
    assert fresh.values("e:3:arrivals:b", 10)[:10] == used.values("e:3:arrivals:b", 10)[:10]
    assert min(fresh.values("e:3:arrivals:b", 200)) > 0.0              # exponential draws: waiting times
    hall = we.Hall((we.CounterNow("1", ("a", "b"), 300.0), we.CounterNow("2", ("b",))), {"a": 6, "b": 9},
                   {"a": 4.0, "b": 6.0})
    first = we.estimate_wait("b", 5, hall, TIMES, paths=8)
    we._DRAWS.values("n:5:1", 20000)
    assert we.estimate_wait("b", 5, hall, TIMES, paths=8) == first


def test_a_counter_freed_when_most_of_a_preferred_ticket_has_come_takes_it_first() -> None:
    # counter 1 prefers "a" to "b"; it is free in 10 min, when 0.8 of an "a" ticket is expected (4.8 an hour): with
    # arrivals at random one has more likely than not come (from ln 2 ≈ 0.69 on), so the "b" citizen waits for it
    # too; at 0.6 expected (3.6 an hour) not
    times = we.ServiceTimes(default_s={"a": 300.0, "b": 300.0})
    counter = we.CounterNow("1", ("a", "b"), free_in_s=600.0)

    def wait_s(per_h: float) -> float:
        hall = we.Hall((counter,), {"a": 0, "b": 0}, {"a": per_h})
        result = we.simulate("b", 0, hall, times)
        assert result is not None
        return result

    assert wait_s(4.8) == pytest.approx(600.0 + 300.0 + we.TURNAROUND_S)
    assert wait_s(3.6) == pytest.approx(600.0)
