"""The reporting read model against the real QueueService on real SQLite files: its aggregates equal figures
computed independently from the raw event log (a Hypothesis property over random days of operations), each
ticket counts once across a hub restart and an offline kiosk merged twice, the model resumes after its own
restart, and a rebuild gives the same aggregates as the incremental path."""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hub_center import DAT_DAI, HO_TICH, MONDAY_0800, make_center
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.errors import MotcuaError
from contracts.messages import VN_TZ, parse_at
from queue_server.adapters.report_store import ReportStore
from queue_server.adapters.sqlite_store import SqliteStore
from queue_server.app import reporting as rp
from queue_server.app.ports import FixedClock
from queue_server.app.queue_service import QueueService
from queue_server.app.report_service import Period, ReportService

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(600)]
CENTER = make_center()
SERVICES = (HO_TICH, DAT_DAI)
COUNTERS = ("1", "2", "3")
STAFF = {"1": "an", "2": "binh", "3": "chi"}

OPS = st.lists(st.tuples(
    st.sampled_from(("issue", "issue", "issue", "open", "call", "call", "start", "done", "done", "recall_no_show",
                     "transfer", "reactivate", "cancel", "pause", "resume", "close", "lease", "restart")),
    st.integers(0, 2), st.integers(0, 1), st.integers(0, 600)), min_size=5, max_size=60)


class Center:
    """The real QueueService on a temp file, restartable; the clock only moves forward through the day."""

    def __init__(self, folder: Path, start: datetime) -> None:
        self.path = folder / "hub.sqlite3"
        self.clock = FixedClock(start)
        self.svc = QueueService(CENTER, SqliteStore(self.path), self.clock)
        self.no_shows: list[str] = []
        self.waiting: list[str] = []

    def restart(self) -> None:
        self.svc.close()
        self.svc = QueueService(CENTER, SqliteStore(self.path), self.clock)

    def close(self) -> None:
        self.svc.close()

    def run(self, ops: list[tuple[str, int, int, int]]) -> None:
        for op, a, b, secs in ops:
            self.clock.advance(seconds=secs)
            counter = COUNTERS[a]
            try:
                self.step(op, counter, SERVICES[b])
            except MotcuaError:
                pass     # refused commands (nothing to call, counter closed ...) are part of a real day

    def step(self, op: str, counter: str, service: str) -> None:
        s = self.svc
        if op == "issue":
            self.waiting.append(s.issue_ticket(service).ticket.id)
        elif op == "open":
            s.open_counter(counter, STAFF[counter])
        elif op == "call":
            s.call_next(counter)
        elif op == "start":
            s.start_service(counter)
        elif op == "done":
            s.complete(counter)
        elif op == "recall_no_show":
            self.clock.advance(seconds=31)
            s.recall(counter)
            self.no_shows.append(s.mark_no_show(counter).id)
        elif op == "transfer":
            s.transfer(counter, to_service=DAT_DAI if service == HO_TICH else HO_TICH)
        elif op == "reactivate" and self.no_shows:
            s.reactivate(self.no_shows.pop())
        elif op == "cancel" and self.waiting:
            s.cancel(self.waiting.pop(0))
        elif op == "pause":
            s.pause_counter(counter, "họp")
        elif op == "resume":
            s.resume_counter(counter)
        elif op == "close":
            s.close_counter(counter)
        elif op == "lease":
            lease = s.lease_numbers("kiosk-1", service, 3)
            at = self.clock.now() - timedelta(seconds=20)
            tickets = [{"number": lease.first + i, "issued_at": at.isoformat()} for i in range(2)]
            s.merge_leased(lease.id, tickets)
            s.merge_leased(lease.id, tickets)          # the kiosk retries: nothing new
        elif op == "restart":
            self.restart()


def independent(events: list[Any]) -> dict[str, Any]:
    """Figures per service straight from the raw log, without the model's code."""
    issued: dict[str, set[str]] = defaultdict(set)
    served: dict[str, set[str]] = defaultdict(set)
    cancelled: dict[str, set[str]] = defaultdict(set)
    transferred: dict[str, set[str]] = defaultdict(set)
    last_ns: dict[str, tuple[str, bool]] = {}
    first_call: dict[str, tuple[str, float]] = {}
    service_s: dict[str, list[float]] = defaultdict(list)
    for env in events:
        t = env.data.get("ticket")
        if not isinstance(t, dict):
            continue
        tid = t["id"]
        if env.type == "ticket.issued":
            issued[t["origin_service"]].add(tid)
        elif env.type == "ticket.called" and tid not in first_call:
            first_call[tid] = (t["service"], (parse_at(t["called_at"]) - parse_at(t["issued_at"])).total_seconds())
        elif env.type == "ticket.done" and all(tid not in v for v in served.values()):
            served[t["service"]].add(tid)
            service_s[t["service"]].append((parse_at(t["done_at"]) - parse_at(t["serving_at"])).total_seconds())
        elif env.type == "ticket.no_show":
            last_ns[tid] = (t["service"], True)
        elif env.type == "ticket.reactivated" and tid in last_ns:
            last_ns[tid] = (last_ns[tid][0], False)
        elif env.type == "ticket.cancelled":
            cancelled[t["service"]].add(tid)
        elif env.type == "ticket.transferred" and all(tid not in v for v in transferred.values()):
            transferred[env.data["from_service"]].add(tid)
    waits: dict[str, list[float]] = defaultdict(list)
    for service, secs in first_call.values():
        waits[service].append(secs)
    no_show: dict[str, int] = defaultdict(int)
    for service, is_ns in last_ns.values():
        no_show[service] += int(is_ns)
    return {"issued": {k: len(v) for k, v in issued.items()}, "served": {k: len(v) for k, v in served.items()},
            "cancelled": {k: len(v) for k, v in cancelled.items()},
            "transferred": {k: len(v) for k, v in transferred.items()}, "no_show": dict(no_show),
            "waits": dict(waits), "service_s": dict(service_s)}


def duty_seconds(events: list[Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Open and paused seconds per staff member from the counter events (nothing crosses midnight here)."""
    state: dict[str, tuple[str, str, datetime]] = {}
    open_s: dict[str, int] = defaultdict(int)
    pause_s: dict[str, int] = defaultdict(int)
    for env in events:
        if not env.type.startswith("counter."):
            continue
        at = parse_at(env.at)
        prev = state.get(env.data["counter"])
        if prev is not None:
            status, staff, since = prev
            target = open_s if status == "open" else pause_s if status == "paused" else None
            if target is not None:
                target[staff] += int((at - since).total_seconds())
        state[env.data["counter"]] = (env.data["status"], env.data.get("staff") or "", at)
    return dict(open_s), dict(pause_s)


def exact_quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def bucket_width(seconds: float) -> float:
    i = rp.bucket_of(seconds)
    return rp.BOUNDS[i] - (rp.BOUNDS[i - 1] if i else 0) if i < len(rp.BOUNDS) else float("inf")


def check_against_log(center: Center, store: ReportStore, day: str) -> None:
    events = center.svc.events_after(0, limit=1_000_000)
    want = independent(events)
    d = datetime.fromisoformat(day).date()
    got = store.measures(d, d, "service")
    for name in ("issued", "served", "cancelled", "transferred", "no_show"):
        have = {k: getattr(m, name) for k, m in got.items() if getattr(m, name)}
        assert have == {k: v for k, v in want[name].items() if v}, name
    for service in SERVICES:
        m = got.get(service, rp.Measures())
        waits = want["waits"].get(service, [])
        assert m.called == len(waits)
        assert m.wait_sum == sum(int(w) for w in waits)
        assert m.wait_max == (int(max(waits)) if waits else 0)
        expect_hist: dict[int, int] = defaultdict(int)
        for w in waits:
            expect_hist[rp.bucket_of(w)] += 1
        assert m.wait == dict(expect_hist)
        for q in (0.5, 0.9):
            est = rp.percentile(m.wait, q, m.wait_max)
            if waits:
                exact = exact_quantile(waits, q)
                assert est is not None and abs(est - exact) <= bucket_width(exact)
            else:
                assert est is None
        svc_times = want["service_s"].get(service, [])
        assert m.served == len(svc_times)
        assert m.timed == len(svc_times)          # one day's services: every one has its time
        assert m.service_sum == sum(int(s) for s in svc_times)
        if waits:
            for target in (60, 300, 600):         # targets on bucket bounds: the share is exact
                share = rp.share_over(m.wait, target)
                assert share == pytest.approx(sum(1 for w in waits if w > target) / len(waits))
    open_s, pause_s = duty_seconds(events)
    by_staff = store.measures(d, d, "staff")
    assert {k: m.open_s for k, m in by_staff.items() if m.open_s} == {k: v for k, v in open_s.items() if v}
    assert {k: m.pause_s for k, m in by_staff.items() if m.pause_s} == {k: v for k, v in pause_s.items() if v}
    # the rollups and the fine cells agree
    fine = store.measures(d, d, "service", service=HO_TICH)
    assert {k: (m.issued, m.served, m.wait) for k, m in fine.items()} == \
        {k: (m.issued, m.served, m.wait) for k, m in got.items() if k == HO_TICH}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(ops=OPS, day_offset=st.integers(0, 4), catch_every=st.integers(1, 30))
def test_aggregates_equal_figures_from_the_raw_log(tmp_path_factory: pytest.TempPathFactory, ops: Any,
                                                   day_offset: int, catch_every: int) -> None:
    folder = tmp_path_factory.mktemp("day")
    start = MONDAY_0800 + timedelta(days=day_offset)
    center = Center(folder, start)
    store = ReportStore(folder / "reports.sqlite3", center.path, batch=7)
    try:
        for i in range(0, len(ops), catch_every):    # the model catches up at random points of the day
            center.run(ops[i:i + catch_every])
            store.catch_up()
        store.catch_up()
        check_against_log(center, store, start.date().isoformat())
        # a rebuild from scratch gives the very same aggregates
        before = {k: (m.issued, m.served, m.no_show, m.wait, m.open_s) for k, m in
                  store.measures(start.date(), start.date(), "counter").items()}
        store.rebuild()
        after = {k: (m.issued, m.served, m.no_show, m.wait, m.open_s) for k, m in
                 store.measures(start.date(), start.date(), "counter").items()}
        assert before == after
    finally:
        store.close()
        center.close()


def test_each_ticket_counts_once_across_a_restart_and_an_offline_merge(tmp_path: Path) -> None:
    center = Center(tmp_path, MONDAY_0800)
    store = ReportStore(tmp_path / "reports.sqlite3", center.path)
    svc = center.svc
    for _ in range(3):
        svc.issue_ticket(HO_TICH)
    svc.open_counter("1", "an")
    svc.call_next("1")
    svc.start_service("1")
    center.clock.advance(minutes=5)
    svc.complete("1")
    store.catch_up()
    # the kiosk loses the hub, issues from its lease, the hub restarts meanwhile
    lease = svc.lease_numbers("kiosk-1", HO_TICH, 5)
    center.clock.advance(minutes=10)
    center.restart()
    store.close()
    store = ReportStore(tmp_path / "reports.sqlite3", center.path)      # the reports model restarts too
    offline = [{"number": lease.first + i, "issued_at": (center.clock.now() - timedelta(minutes=8 - i)).isoformat()}
               for i in range(3)]
    center.svc.merge_leased(lease.id, offline)
    center.svc.merge_leased(lease.id, offline)          # the kiosk sends the same batch again after a timeout
    center.svc.merge_leased(lease.id, offline[:2])
    center.svc.call_next("1")
    center.svc.start_service("1")
    center.clock.advance(minutes=3)
    center.svc.complete("1")
    store.catch_up()
    store.catch_up()
    report = ReportService(store, center.clock).summary(Period(MONDAY_0800.date(), MONDAY_0800.date()))
    assert report["totals"]["issued"] == 6
    assert report["totals"]["served"] == 2
    assert [r["key"] for r in report["rows"]] == [HO_TICH]
    # an offline ticket arrives at the hour it was taken at the kiosk, not at the merge
    hours = store.measures(MONDAY_0800.date(), MONDAY_0800.date(), "hour")
    assert sum(m.issued for m in hours.values()) == 6
    # replaying the same log into the same model changes nothing (the ledger), and a rebuild agrees
    store._writer.execute("UPDATE rpt_meta SET value = '0' WHERE key = 'last_seq'")   # forget the position only
    store.catch_up()
    check_against_log(center, store, MONDAY_0800.date().isoformat())
    store.rebuild()
    assert ReportService(store, center.clock).summary(Period(MONDAY_0800.date(), MONDAY_0800.date()))[
        "totals"]["issued"] == 6
    check_against_log(center, store, MONDAY_0800.date().isoformat())
    store.close()
    center.close()


def test_counter_left_open_overnight_counts_until_midnight_only() -> None:
    start = datetime(2026, 11, 23, 16, 30, tzinfo=VN_TZ)
    pieces = list(rp.split_interval(start, start + timedelta(hours=20)))
    assert pieces[0] == ("2026-11-23", 16, 1800)
    assert sum(p[2] for p in pieces) == int(7.5 * 3600)
    assert {p[0] for p in pieces} == {"2026-11-23"}


def test_a_model_of_another_version_is_dropped_and_caught_up_again(tmp_path: Path) -> None:
    center = Center(tmp_path, MONDAY_0800)
    for _ in range(4):
        center.svc.issue_ticket(HO_TICH)
    store = ReportStore(tmp_path / "reports.sqlite3", center.path)
    store.catch_up()
    store._writer.execute("UPDATE rpt_meta SET value = 'old' WHERE key = 'schema_version'")
    store.close()
    store = ReportStore(tmp_path / "reports.sqlite3", center.path)
    assert store.counts()["rpt_roll"] == 0 and store.last_seq == 0
    store.catch_up()
    assert store.measures(MONDAY_0800.date(), MONDAY_0800.date(), "all")[""].issued == 4
    store.close()
    center.close()
