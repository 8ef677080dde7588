"""A province's month across sites equals the sum of the sites' own monthly reports: two real hubs (build_hub, a
hand-moved clock, their province sink over HTTP) work two days each — served, no-show then reactivated, transferred,
cancelled, rated — and the province's monthly figures from PostgreSQL are compared with each hub's
/reports/summary for the month. Separate from the walk's file: it needs the API test support module."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from api_support import MONDAY_0800, login, make_settings

from province.config import config_from_dict
from province.web import ProvinceServer
from queue_server.adapters.province_sink import parse_province
from queue_server.app.ports import FixedClock
from queue_server.broker import free_port
from queue_server.web.common import API_PREFIX
from queue_server.wiring import build_hub
from tests.province.pgfix import pg_dsn, pg_server  # noqa: F401  (fixtures)
from tests.province.test_province_e2e import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SITES = {"xa-a": "khoa-tinh-cua-xa-a-0123456789abcdef", "xa-b": "khoa-tinh-cua-xa-b-0123456789abcdef"}


def a_day(hub: Any, clock: FixedClock, client: Any, tickets: int) -> None:
    s = hub.service

    def later(minutes: float) -> None:
        clock.advance(timedelta(minutes=minutes))

    s.open_counter("1")
    s.open_counter("2")
    ids = [s.issue_ticket("ho-tich").ticket.id for _ in range(tickets)]
    later(5)
    s.call_next("1"); later(2); s.start_service("1"); later(5); s.complete("1")
    assert client.post(f"{API_PREFIX}/ratings", json={"counter": "1", "level": 3}).status_code == 201
    missed = s.call_next("1")                              # a no-show who comes back: not a no-show in the end
    for _ in range(2):
        later(1); s.recall("1")
    later(1); s.mark_no_show("1"); s.reactivate(missed.id)
    s.call_next("2"); later(1); s.transfer("2", to_counter="1")
    s.cancel(ids[-1])
    for _ in range(tickets - 4):
        s.call_next("1"); later(1); s.start_service("1"); later(3); s.complete("1")
        assert client.post(f"{API_PREFIX}/ratings", json={"counter": "1", "level": 1}).status_code == 201
    s.call_next("2")
    for _ in range(2):
        later(1); s.recall("2")
    later(1); s.mark_no_show("2")
    s.close_counter("1")
    s.close_counter("2")


def test_the_provinces_month_is_the_sum_of_the_sites_own_reports(tmp_path: Path, pg_dsn: str) -> None:
    province = ProvinceServer(config_from_dict({
        "province": {"dsn": pg_dsn, "port": free_port(), "threads": 4},
        "centers": [{"id": c, "key": k, "tier": "commune"} for c, k in SITES.items()]}, environ={}))
    province.start()
    hubs = []
    try:
        for n, (center, key) in enumerate(SITES.items()):
            base = make_settings(tmp_path / center)
            settings = replace(base, center=replace(base.center, id=center), province=parse_province(
                {"url": province.url + "/api/v1/events", "key": key}, base.store_path))
            clock = FixedClock(MONDAY_0800)
            hub = build_hub(settings, clock=clock, extra_blueprints=[], keepalive_s=0.05)
            hub.start_background()
            hubs.append(hub)
            client = hub.app.test_client()
            a_day(hub, clock, client, 8 + n)
            clock.advance(timedelta(days=2))               # Tuesday 24/11 is a day off in the example calendar
            a_day(hub, clock, client, 6 + 3 * n)
        wait_until(lambda: [s["applied_seq"] for s in province.store.board()] == [h.service.last_seq for h in hubs],
                   what="every site's events")
        own = []
        for hub in hubs:
            client = hub.app.test_client()
            report = client.get(f"{API_PREFIX}/reports/summary?period=month&date=2026-11-23",
                                headers=login(client, "quanly"))
            assert report.status_code == 200, report.json
            own.append(report.json["totals"])
        units = {u["center"]: u for u in province.store.monthly(MONDAY_0800.date())}
    finally:
        for hub in hubs:
            hub.stop()
        province.stop()

    assert set(units) == set(SITES)
    for center, totals in zip(SITES, own, strict=True):
        unit = units[center]
        for key in ("issued", "served", "no_show", "cancelled"):
            assert unit[key] == totals[key], (center, key)
        assert unit["ratings"] == totals["ratings"]["count"]
        assert unit["satisfaction_rate"] == pytest.approx(1 - totals["ratings"]["dissatisfied_share"], abs=1e-3)
        assert unit["avg_wait_min"] == totals["wait_avg_min"], center
        assert unit["max_wait_min"] == totals["wait_max_min"], center
        assert unit["on_time_rate"] == pytest.approx(1 - totals["wait_over_target_share"], abs=1e-3), center
        assert unit["avg_service_min"] == totals["service_avg_min"], center
    assert sum(u["no_show"] for u in units.values()) == sum(t["no_show"] for t in own) == 4
    assert sum(u["served"] for u in units.values()) == sum(t["served"] for t in own)
