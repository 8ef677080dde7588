"""20 hubs feed one province over real HTTP into a real PostgreSQL: the province's web service goes down and
returns, its database restarts, a hub dies mid-send and restarts, the province loses its newest events (restored
from an older backup) and asks for a replay. Afterwards every event is in PostgreSQL exactly once, in order per
center, with no gap — the same ids in the same order as each hub's own log."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from werkzeug.security import generate_password_hash

from province.config import config_from_dict
from province.pgserver import PgServer
from province.web import ProvinceServer
from queue_server.broker import free_port
from tests.province.hubsim import DyingSender, SimHub
from tests.province.pgfix import pg_dsn, pg_server  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")]

HUBS = 20


def key_of(i: int) -> str:
    return f"khoa-bi-mat-cua-xa-{i:02d}-0123456789"


def wait_until(check: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def make_config(dsn: str, port: int) -> object:
    return config_from_dict({
        "province": {"dsn": dsn, "port": port, "threads": 8},
        "centers": [{"id": f"xa-{i:02d}", "name": f"UBND xã số {i}", "tier": "commune", "key": key_of(i)}
                    for i in range(HUBS)],
        "users": [{"username": "tinh", "password_hash": generate_password_hash("mat-khau-tinh"),
                   "role": "province_admin"}],
    }, environ={})


@pytest.fixture
def province(pg_dsn: str) -> Iterator[list[ProvinceServer]]:
    port = free_port()
    server = ProvinceServer(make_config(pg_dsn, port))  # type: ignore[arg-type]
    server.start()
    holder = [server]
    yield holder
    holder[0].stop()


def progress(dsn: str) -> dict[str, int]:
    try:
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            return dict(conn.execute("SELECT center, applied_seq FROM centers").fetchall())
    except psycopg.OperationalError:
        return {}


def all_in(dsn: str, hubs: list[SimHub]) -> bool:
    seen = progress(dsn)
    return all(seen.get(h.center_id) == h.last_seq for h in hubs)


def test_twenty_hubs_through_outages_restarts_and_a_replay(province: list[ProvinceServer], pg_dsn: str,
                                                           pg_server: PgServer, tmp_path: Path) -> None:
    url = province[0].url + "/api/v1/events"
    hubs = [SimHub(tmp_path / f"hub{i}", f"xa-{i:02d}", url, key_of(i)).start() for i in range(HUBS)]
    try:
        for h in hubs:
            h.work(4)
        wait_until(lambda: all_in(pg_dsn, hubs), what="the first morning")

        # 1. The province's service goes down; the hubs keep working (hub 7 builds a long backlog).
        config = province[0].config
        province[0].stop()
        for i, h in enumerate(hubs):
            h.work(25 if i == 7 else 3)
        time.sleep(0.5)                               # some deliveries fail and back off meanwhile
        # hub 7 will die right after its first POST once the province is back
        dying = DyingSender(hubs[7].sink.outbox_settings(), after=1)
        dying.relay = hubs[7].relay
        hubs[7].relay.sender = dying
        province[0] = ProvinceServer(config)
        province[0].start(config.port)

        # 2. Hub 7 dies mid-send (its POST arrived; its own bookkeeping did not) and restarts.
        wait_until(lambda: dying.posts >= 1 and not hubs[7].relay.running, what="hub 7 to die")
        hubs[7].crash()
        hubs[7].restart()

        # 3. PostgreSQL restarts under the province while hubs work.
        pg_server.restart()
        for h in hubs:
            h.work(2)
        wait_until(lambda: all_in(pg_dsn, hubs), what="every hub after the outages")

        # 4. The province loses hub 0's newest events (restored from an older backup): the next delivery
        #    shows a gap, the province answers replay_from, the hub re-sends.
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM events WHERE center = 'xa-00' AND seq > 10")
            conn.execute("UPDATE centers SET applied_seq = 10, max_seq = 10 WHERE center = 'xa-00'")
        hubs[0].work(1)
        wait_until(lambda: all_in(pg_dsn, hubs), what="hub 0's replay")
    finally:
        for h in hubs:
            h.close()

    with psycopg.connect(pg_dsn) as conn:
        for h in hubs:
            stored = conn.execute("SELECT seq, id FROM events WHERE center = %s ORDER BY seq, id",
                                  (h.center_id,)).fetchall()
            assert stored == h.event_ids(), h.center_id      # exactly once, in order, no gap, same ids
        gaps = conn.execute("SELECT count(*) FROM centers WHERE max_seq <> applied_seq").fetchone()[0]
        assert gaps == 0
        served = conn.execute("SELECT sum(served) FROM daily_stats WHERE center <> 'xa-00'").fetchone()[0]
    assert served == sum(9 + (22 if i == 7 else 0) for i in range(1, HUBS))
