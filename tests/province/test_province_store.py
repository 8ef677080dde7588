"""ProvinceStore against a real PostgreSQL: idempotent, ordered per center, gaps answered with replay_from,
partitions by month, projections and monthly figures computed once per event."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import psycopg
import pytest

from contracts.messages import VN_TZ
from province.schema import MIGRATIONS, current_version, migrate
from province.simulate import busy_day
from province.store import BadEvents, ProvinceStore
from tests.province.pgfix import pg_dsn, pg_server  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(120)]

DAY = date(2026, 11, 23)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 23, 10, 0, tzinfo=VN_TZ))


@pytest.fixture
def store(pg_dsn: str, clock: Clock) -> ProvinceStore:
    s = ProvinceStore(pg_dsn, now=clock)
    yield s
    s.close()


def test_migrations_are_versioned_and_applied_once(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        assert migrate(conn) == [v for v, _, _ in MIGRATIONS]
        assert migrate(conn) == []
        assert current_version(conn) == MIGRATIONS[-1][0]


def test_duplicates_and_replays_change_nothing(store: ProvinceStore) -> None:
    day = list(busy_day("xa-a", DAY, tickets=50))
    first = store.ingest("xa-a", day[:100])
    assert (first.inserted, first.applied_seq, first.replay_from) == (100, 100, None)
    again = store.ingest("xa-a", day[:150])          # a retry overlapping what is stored
    assert (again.inserted, again.applied_seq) == (50, 150)
    store.ingest("xa-a", day[150:])
    before = store.monthly(DAY)
    store.ingest("xa-a", day)                          # a full replay
    assert store.events_of("xa-a") == [(e["seq"], e["id"]) for e in day]
    assert store.monthly(DAY) == before
    assert before[0]["issued"] == 50


def test_gap_is_stored_waits_and_asks_for_replay(store: ProvinceStore, clock: Clock) -> None:
    day = list(busy_day("xa-b", DAY, tickets=40))
    store.ingest("xa-b", day[:30])
    ahead = store.ingest("xa-b", day[50:60])
    assert (ahead.applied_seq, ahead.max_seq, ahead.replay_from) == (30, 60, 31)
    assert store.ingest("xa-b", day[60:62]).replay_from is None        # asked already: throttled
    clock.at += timedelta(seconds=11)
    assert store.ingest("xa-b", day[62:64]).replay_from == 31          # still stuck: ask again
    filling = store.ingest("xa-b", day[30:40])                          # replay in progress: no new request
    assert (filling.applied_seq, filling.replay_from) == (40, None)
    done = store.ingest("xa-b", day[40:50])                             # gap closed: stored events applied
    assert (done.applied_seq, done.max_seq, done.replay_from) == (64, 64, None)
    assert store.gaps() == []
    store.ingest("xa-b", day[64:])
    assert [s for s, _ in store.events_of("xa-b")] == list(range(1, len(day) + 1))


def test_projection_matches_the_day(store: ProvinceStore, clock: Clock) -> None:
    day = list(busy_day("xa-c", DAY, tickets=80))
    for i in range(0, len(day), 37):
        store.ingest("xa-c", day[i:i + 37])
    issued = sum(e["type"] == "ticket.issued" for e in day)
    served = sum(e["type"] == "ticket.done" for e in day)
    row = store.monthly(DAY)[0]
    assert (row["issued"], row["served"]) == (issued, served)
    assert row["no_show"] == sum(e["type"] == "ticket.no_show" for e in day)
    ratings = [e["data"]["level"] for e in day if e["type"] == "rating.submitted"]
    assert row["ratings"] == len(ratings)
    assert row["satisfaction_rate"] == round(1 - ratings.count(1) / len(ratings), 4)
    board = store.board(today=DAY)[0]
    assert board["waiting"] == 0 and board["open_counters"] == 0 and board["alerts"] == 0   # day is over
    assert board["served_today"] == served


def test_board_mid_morning(store: ProvinceStore, clock: Clock) -> None:
    day = list(busy_day("xa-d", DAY, tickets=200))
    cut = datetime(2026, 11, 23, 11, 3, tzinfo=VN_TZ)
    morning = [e for e in day if datetime.fromisoformat(e["at"]) <= cut]
    store.ingest("xa-d", morning)
    clock.at = cut
    board = store.board()[0]
    waiting = {}
    for e in morning:
        t = e["data"].get("ticket")
        if t:
            waiting[t["id"]] = t
    queued = [t for t in waiting.values() if t["status"] == "issued"]
    assert board["waiting"] == len(queued)
    assert board["open_counters"] == 6
    assert board["alerts"] == 1 and "hết giấy" in board["alert_text"]
    oldest = min(datetime.fromisoformat(t["queued_at"]) for t in queued)
    assert board["longest_wait_min"] == round((cut - oldest).total_seconds() / 60, 1)


def test_events_go_to_monthly_partitions(store: ProvinceStore, pg_dsn: str) -> None:
    store.ingest("xa-e", list(busy_day("xa-e", date(2026, 11, 30), tickets=5)))
    store.ingest("xa-e", list(busy_day("xa-e", date(2026, 12, 1), tickets=5, start_seq=1000))[:0])
    nov = list(busy_day("xa-f", date(2026, 11, 30), tickets=5))
    dec = list(busy_day("xa-f", date(2026, 12, 1), tickets=5, start_seq=len(nov) + 1))
    store.ingest("xa-f", nov + dec)
    with psycopg.connect(pg_dsn) as conn:
        parts = dict(conn.execute("SELECT tableoid::regclass::text, count(*) FROM events WHERE center = 'xa-f' "
                                  "GROUP BY 1").fetchall())
    assert parts == {"events_2026_11": len(nov), "events_2026_12": len(dec)}


@pytest.mark.parametrize("bad", [
    {"not": "a list"},
    [{"id": "x", "seq": 0, "type": "t", "center": "xa-g", "at": "2026-11-23T08:00:00+07:00", "data": {}}],
    [{"id": "x", "seq": 1, "type": "t", "center": "other", "at": "2026-11-23T08:00:00+07:00", "data": {}}],
    [{"id": "x", "seq": 1, "type": "t", "center": "xa-g", "at": "yesterday", "data": {}}],
])
def test_bad_deliveries_store_nothing(store: ProvinceStore, bad: object) -> None:
    good = {"id": "ok", "seq": 1, "type": "t", "center": "xa-g", "at": "2026-11-23T08:00:00+07:00", "data": {}}
    with pytest.raises(BadEvents):
        store.ingest("xa-g", [good, *bad] if isinstance(bad, list) else bad)
    assert store.events_of("xa-g") == []


def test_a_five_level_scale_is_counted_by_its_own_ends(store: ProvinceStore) -> None:
    """A site rating on 1–5 sends its scale's ends with each rating: its top share counts the 5s (not the
    3s, the default scale's top), its dissatisfied share the 1s; a site whose hub sends no ends is read as 3 / 2 / 1."""
    five = list(busy_day("xa-5", DAY, tickets=60, seed=5))
    ratings = [e for e in five if e["type"] == "rating.submitted"]
    assert len(ratings) >= 10
    for i, event in enumerate(ratings):
        event["data"] = {**event["data"], "level": (1, 3, 5, 5, 5, 4, 2)[i % 7], "scale": {"lowest": 1, "best": 5}}
    old = list(busy_day("xa-3", DAY, tickets=60, seed=5))
    store.ingest("xa-5", five)
    store.ingest("xa-3", old)
    rows = {r["center"]: r for r in store.monthly(DAY)}
    levels = [e["data"]["level"] for e in ratings]
    assert rows["xa-5"]["top_rating_share"] == round(levels.count(5) / len(levels), 4)
    assert rows["xa-5"]["satisfaction_rate"] == round(1 - levels.count(1) / len(levels), 4)
    plain = [e["data"]["level"] for e in old if e["type"] == "rating.submitted"]
    assert "scale" not in next(e["data"] for e in old if e["type"] == "rating.submitted")
    assert rows["xa-3"]["top_rating_share"] == round(plain.count(3) / len(plain), 4)
