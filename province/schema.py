"""Versioned schema migrations for the province PostgreSQL database (applied in order, each exactly once).

A migration is (version, name, SQL). ``migrate`` takes an advisory lock so two province processes starting at
once cannot both apply one; ``schema_migrations`` records what ran. Never edit a shipped migration: add one.

Events are partitioned by month of ``at`` (the hub's local time, Asia/Ho_Chi_Minh): years of a province stay fast
because a month's report touches one partition, and an old year can be detached and archived as a whole.
Partitions are created on demand by the ingest (``ensure_partition``).
"""
from __future__ import annotations

from datetime import date

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "centers, events partitioned by month, live projections, daily rollups", """
CREATE TABLE centers (
    center              text PRIMARY KEY,
    name                text NOT NULL DEFAULT '',
    tier                text NOT NULL DEFAULT '',
    unit_code           text NOT NULL DEFAULT '',
    applied_seq         bigint NOT NULL DEFAULT 0,     -- every event 1..applied_seq is stored and projected
    max_seq             bigint NOT NULL DEFAULT 0,     -- the highest seq stored (> applied_seq means a gap)
    replay_requested_at timestamptz,
    replay_from         bigint,
    last_event_at       timestamptz,
    last_received_at    timestamptz
);
CREATE TABLE events (
    center      text NOT NULL,
    seq         bigint NOT NULL,
    at          timestamptz NOT NULL,
    id          text NOT NULL,
    type        text NOT NULL,
    data        jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (center, seq, at)
) PARTITION BY RANGE (at);
CREATE TABLE live_tickets (
    center    text NOT NULL,
    ticket_id text NOT NULL,
    day       date NOT NULL,
    status    text NOT NULL,
    service   text NOT NULL DEFAULT '',
    number    text NOT NULL DEFAULT '',
    queued_at timestamptz,
    counter   text,
    PRIMARY KEY (center, ticket_id)
);
CREATE INDEX live_tickets_waiting ON live_tickets (day, center) WHERE status = 'issued';
CREATE TABLE live_counters (
    center  text NOT NULL,
    counter text NOT NULL,
    name    text NOT NULL DEFAULT '',
    status  text NOT NULL,
    staff   text,
    since   timestamptz,
    PRIMARY KEY (center, counter)
);
CREATE TABLE live_alerts (
    center     text NOT NULL,
    device     text NOT NULL,
    code       text NOT NULL,
    kind       text NOT NULL DEFAULT '',
    severity   text NOT NULL DEFAULT '',
    message_vi text NOT NULL DEFAULT '',
    message_en text NOT NULL DEFAULT '',
    since      timestamptz,
    PRIMARY KEY (center, device, code)
);
CREATE TABLE daily_stats (
    center           text NOT NULL,
    day              date NOT NULL,
    issued           integer NOT NULL DEFAULT 0,
    served           integer NOT NULL DEFAULT 0,
    no_show          integer NOT NULL DEFAULT 0,
    cancelled        integer NOT NULL DEFAULT 0,
    wait_sum_s       double precision NOT NULL DEFAULT 0,
    wait_max_s       double precision NOT NULL DEFAULT 0,
    within_target    integer NOT NULL DEFAULT 0,
    service_sum_s    double precision NOT NULL DEFAULT 0,
    ratings          integer NOT NULL DEFAULT 0,
    ratings_unhappy  integer NOT NULL DEFAULT 0,
    ratings_top      integer NOT NULL DEFAULT 0,
    dossiers_returned integer NOT NULL DEFAULT 0,
    PRIMARY KEY (day, center)
);
"""),
    (2, "centers: a hub that went back to an earlier seq (restored from a backup); a hub refused for its clock; waits per first call", """
ALTER TABLE centers
    ADD COLUMN rewound_at      timestamptz,   -- when the province first saw the latest rewind's new events
    ADD COLUMN rewind_to_seq   bigint,        -- the seq the hub went back to (its backup's last seq)
    ADD COLUMN rewind_from_seq bigint,        -- the highest seq the province held then
    ADD COLUMN rewind_next     bigint,        -- the seq that continues that rewind's run
    ADD COLUMN clock_refused_at timestamptz,  -- the last delivery refused only for the hub's clock (cleared by one accepted)
    ADD COLUMN clock_skew_s    bigint;        -- how far the hub's clock was from the province's then (+ = ahead)
-- waits are now issue -> first call over called tickets (the hub's report's definition); rows written before kept
-- their waits over served tickets, so their denominator is what it was
ALTER TABLE daily_stats ADD COLUMN called integer NOT NULL DEFAULT 0;
UPDATE daily_stats SET called = served;
"""),
    (3, "daily_stats: timed, the served tickets with a measured service time (a service across a closing is not)", """
-- a ticket left in hand at closing and completed on a later day is served on its own day, but the nights between
-- are nobody's service time: the average service time is service_sum_s over timed. Rows written before summed
-- every served ticket's time, so their denominator is what it was
ALTER TABLE daily_stats ADD COLUMN timed integer NOT NULL DEFAULT 0;
UPDATE daily_stats SET timed = served;
"""),
)


def partition_name(month: date) -> str:
    return f"events_{month.year:04d}_{month.month:02d}"


def partition_sql(month: date) -> str:
    start = month.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return (f"CREATE TABLE IF NOT EXISTS {partition_name(start)} PARTITION OF events FOR VALUES "
            f"FROM ('{start.isoformat()} 00:00:00+07') TO ('{end.isoformat()} 00:00:00+07')")


def migrate(conn: object) -> list[int]:
    """Apply pending migrations; returns the versions applied now. ``conn``: a psycopg Connection."""
    applied: list[int] = []
    with conn.transaction():  # type: ignore[attr-defined]
        conn.execute("SELECT pg_advisory_xact_lock(7170017)")  # type: ignore[attr-defined]
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "  # type: ignore[attr-defined]
                     "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}  # type: ignore[attr-defined]
        for version, name, sql in MIGRATIONS:
            if version in done:
                continue
            conn.execute(sql)  # type: ignore[attr-defined]
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",  # type: ignore[attr-defined]
                         (version, name))
            applied.append(version)
    return applied


def current_version(conn: object) -> int:
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()  # type: ignore[attr-defined]
    return int(row[0])
