"""OutboxRelay: delivers every hub event and the daily rating aggregates to the main system, at least once.

HTTPS POST, body signed with HMAC-SHA256 (``X-Motcua-Signature``), the event id as ``Idempotency-Key`` so the
receiver can drop duplicates; in order per center (a failing head blocks the ones behind it), exponential backoff
with jitter, a dead-letter state after ``max_attempts`` (then the next item goes, so one poisoned event cannot
stop the center's stream for ever; an admin can requeue dead letters). Implements the Outbox port. Its own SQLite tables (``outbox_``, runtime.sqlite migrations) hold
the cursor into the hub's event log and each item's attempts, so a restart resumes where it stopped.

Reads hub events only through the ``fetch_events(after_seq, limit)`` callable: it never touches the hub's store.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import logging
import random
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from contracts.messages import Envelope, withhold_private
from queue_server.adapters.main_system import IDEMPOTENCY_HEADER, signed_headers
from queue_server.adapters.worker_loop import WorkerLoop
from queue_server.app.ports import Outbox
from runtime import sqlite as db
from runtime.settings import OutboxSettings  # the settings type lives in the one settings model
from runtime.sqlite import Migration

log = logging.getLogger(__name__)

FetchEvents = Callable[[int, int], Sequence[Envelope]]
FetchAggregates = Callable[[], Sequence[Mapping[str, Any]]]

KIND_EVENT = "event"
KIND_RATINGS = "rating_aggregate"

COMPONENT = "outbox"
MIGRATIONS: tuple[Migration, ...] = (Migration(1, "outbox items, cursor, meta", """
CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox_cursor (center TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    center TEXT NOT NULL,
    kind TEXT NOT NULL,
    seq INTEGER,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT NOT NULL DEFAULT '',
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_items_pending ON outbox_items (status, center, id)
"""),)


def _legacy_version(conn: sqlite3.Connection) -> int:
    # files made before runtime.sqlite kept the version in outbox_meta
    if not db.table_exists(conn, "outbox_meta"):
        return 0
    row = conn.execute("SELECT value FROM outbox_meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    key: str
    center: str
    kind: str
    seq: int | None
    payload: str
    attempts: int


class DeliveryError(Exception):
    """A failed delivery; ``retryable=False`` means the receiver refused the payload itself (dead-letter now)."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Sender(Protocol):
    def send(self, item: OutboxItem) -> None:
        """Deliver or raise DeliveryError."""
        ...


class HttpSender:
    """POST each item (or a batch) with its signature and idempotency key over a kept-alive connection.

    Uses http.client rather than requests on this hot path: one persistent connection per host, a fraction of
    the per-request overhead, which is what lets a hub drain a backlog quickly after an outage."""

    def __init__(self, settings: OutboxSettings, extra_headers: Callable[[], dict[str, str]] | None = None,
                 on_unauthorised: Callable[[], None] | None = None) -> None:
        self.wall_clock: Callable[[], float] = time.time   # the machine's clock the signatures carry
        self.settings = settings
        self.extra_headers = extra_headers
        self.on_unauthorised = on_unauthorised     # e.g. drop an expired token so the next try logs in
        self._conns: dict[tuple[str, str, int], http.client.HTTPConnection] = {}
        self._used: set[tuple[str, str, int]] = set()
        self._ssl: ssl.SSLContext | None = None

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            verify = self.settings.verify_tls
            if verify is False:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            elif isinstance(verify, str):
                ctx = ssl.create_default_context(cafile=verify)    # a provincial private CA
            else:
                ctx = ssl.create_default_context()
            self._ssl = ctx
        return self._ssl

    def _connection(self, key: tuple[str, str, int]) -> http.client.HTTPConnection:
        conn = self._conns.get(key)
        if conn is None:
            scheme, host, port = key
            if scheme == "https":
                conn = http.client.HTTPSConnection(host, port, timeout=self.settings.timeout_s,
                                                   context=self._context())
            else:
                conn = http.client.HTTPConnection(host, port, timeout=self.settings.timeout_s)
            self._conns[key] = conn
            self._used.discard(key)
        return conn

    def _drop(self, key: tuple[str, str, int]) -> None:
        conn = self._conns.pop(key, None)
        self._used.discard(key)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        for key in list(self._conns):
            self._drop(key)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DeliveryError(f"bad URL {url!r}", retryable=False)
        key = (parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        for attempt in (1, 2):
            reused = key in self._used
            conn = self._connection(key)
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                text = response.read().decode("utf-8", "replace")
            except (OSError, http.client.HTTPException) as err:
                self._drop(key)
                # A kept-alive connection the server closed meanwhile: one fresh try before counting a failure.
                if reused and attempt == 1:
                    continue
                raise DeliveryError(f"{err.__class__.__name__}: {err}") from err
            self._used.add(key)
            if response.will_close:
                self._drop(key)
            return response.status, text
        raise DeliveryError("unreachable")  # pragma: no cover

    def _headers(self, key: str, center: str, body: bytes, seq: int | None = None) -> dict[str, str]:
        headers = {"Content-Type": "application/json; charset=utf-8", IDEMPOTENCY_HEADER: key,
                   "X-Motcua-Center": center}
        if seq is not None:
            headers["X-Motcua-Seq"] = str(seq)
        if self.extra_headers is not None:
            headers.update(self.extra_headers())
        if self.settings.hmac_secret:
            headers.update(signed_headers(self.settings.hmac_secret, body, now=self.wall_clock()))
        return headers

    def _check(self, status: int, text: str) -> None:
        if 200 <= status < 300 or status == 409:     # 409: the receiver already has it
            return
        if status == 401 and self.on_unauthorised is not None:
            self.on_unauthorised()
        # Auth trouble, throttling and server errors pass; any other 4xx is a refusal of this payload.
        retryable = status in (401, 403, 408, 425, 429) or status >= 500
        raise DeliveryError(f"HTTP {status}: {text[:200]}", retryable=retryable)

    def send(self, item: OutboxItem) -> None:
        body = item.payload.encode()
        url = self.settings.ratings_url if item.kind == KIND_RATINGS and self.settings.ratings_url \
            else self.settings.events_url
        self._check(*self.post(url, body, self._headers(item.key, item.center, body, item.seq)))

    def send_batch(self, items: Sequence[OutboxItem]) -> None:
        """``{"events": [envelope, ...]}`` in seq order; each envelope's ``id`` is its idempotency key, the
        header carries the first and last ids. Only for receivers that accept batches (``batch_size`` > 1)."""
        body = ('{"events":[' + ",".join(i.payload for i in items) + "]}").encode()
        key = f"batch:{items[0].key}:{items[-1].key}"
        self._check(*self.post(self.settings.events_url, body, self._headers(key, items[0].center, body)))


def aggregate_key(aggregate: Mapping[str, Any]) -> str:
    """Same content -> same key (deduplicated); a changed aggregate for the same day is a new delivery."""
    digest = hashlib.sha256(json.dumps(aggregate, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    return f"ratings:{aggregate.get('center', '')}:{aggregate.get('day', '')}:{digest}"


class OutboxRelay:
    """Runs in a thread (``start``/``stop``); ``run_once`` does one pass and is what tests and benches drive."""

    def __init__(self, path: Path | str, center: str, fetch_events: FetchEvents, sender: Sender,
                 settings: OutboxSettings, fetch_aggregates: FetchAggregates | None = None,
                 clock: Callable[[], float] = time.time, rng: Callable[[], float] = random.random,
                 on_result: Callable[[bool, str], None] | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.center = center
        self.fetch_events = fetch_events
        self.fetch_aggregates = fetch_aggregates
        self.sender = sender
        self.settings = settings
        self.clock = clock
        self.rng = rng
        self.on_result = on_result          # e.g. DossierService.link: the outbox also tells if the link is up
        self._conn = db.connect(self.path, busy_timeout_s=10)
        db.migrate(self._conn, COMPONENT, MIGRATIONS, legacy_version=_legacy_version)
        # Metrics and the idle wait read through their own connection so the manager board never waits
        # behind a pass that is stuck in a slow POST.
        self._read = db.connect(self.path, busy_timeout_s=10)
        self._read_lock = threading.Lock()
        self._lock = threading.RLock()       # one pass at a time
        self._worker = WorkerLoop(f"outbox-{center}", self._pass, self._idle_wait, survive=Exception,
                                  failure="outbox: pass failed", log=log)   # the relay must outlive any bug in one pass
        self._next_purge = 0.0
        self._next_aggregate_at = 0.0
        self._replay_from: int | None = None     # province sink: a requested replay, applied at the next pass
        self.delivered_total = 0
        self.last_error = ""
        self.last_success_at: float | None = None

    # ---- thread -----------------------------------------------------------------------------------------------
    def start(self) -> OutboxRelay:
        self._next_purge = self.clock() + 3600
        self._worker.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._worker.stop(timeout)

    @property
    def running(self) -> bool:
        """Whether the relay's thread is alive (a pass that raised what it does not survive ended it)."""
        return self._worker.running

    def close(self) -> None:
        self.stop()
        with self._lock, self._read_lock:
            self._conn.close()
            self._read.close()

    def wake(self, *_: object) -> None:
        """Nudge the relay (e.g. ``queue_service.add_listener(relay.wake)``) so new events go out at once."""
        self._worker.wake()

    def _pass(self) -> int:
        """The thread's pass: the hourly purge when due, then ``run_once``."""
        if self.clock() >= self._next_purge:
            self._next_purge = self.clock() + 3600
            try:
                self.purge_delivered(self.settings.keep_delivered_s)
            except sqlite3.Error:
                log.exception("outbox: purge failed")
        return self.run_once()

    def _idle_wait(self) -> float:
        with self._read_lock:
            row = self._read.execute("SELECT min(next_attempt_at) FROM outbox_items WHERE status = 'pending'") \
                .fetchone()
        wait = self.settings.poll_interval_s
        if row and row[0] is not None:
            wait = min(wait, max(0.0, float(row[0]) - self.clock()))
        return max(wait, 0.005)

    # ---- one pass ---------------------------------------------------------------------------------------------
    def run_once(self) -> int:
        with self._lock:
            self._apply_replay()
            self._enqueue_events()
            self._enqueue_aggregates()
            return self._deliver()

    def _cursor(self) -> int:
        row = self._conn.execute("SELECT last_seq FROM outbox_cursor WHERE center = ?", (self.center,)).fetchone()
        return int(row[0]) if row else 0

    def _enqueue_events(self) -> None:
        for _ in range(20):                  # bounded, so a huge backlog still lets deliveries run
            after = self._cursor()
            events = self.fetch_events(after, self.settings.fetch_limit)
            if not events:
                return
            now = self.clock()
            last = after
            with db.immediate(self._conn):
                for e in events:
                    # INSERT OR IGNORE: a re-read event (same id) is never queued twice.
                    self._conn.execute(
                        "INSERT OR IGNORE INTO outbox_items (key, center, kind, seq, payload, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (e.id, e.center or self.center, KIND_EVENT, e.seq,
                                                      withhold_private(e).to_json(), now))
                    last = max(last, e.seq)
                self._conn.execute("INSERT OR REPLACE INTO outbox_cursor VALUES (?, ?)", (self.center, last))
            if len(events) < self.settings.fetch_limit:
                return

    def _enqueue_aggregates(self) -> None:
        if self.fetch_aggregates is None or self.clock() < self._next_aggregate_at:
            return
        self._next_aggregate_at = self.clock() + self.settings.aggregate_interval_s
        try:
            aggregates = list(self.fetch_aggregates())
        except Exception:  # a ratings bug must not stop event delivery
            log.exception("outbox: could not compute rating aggregates")
            return
        now = self.clock()
        for agg in aggregates:
            payload = json.dumps({"type": "rating.daily_aggregate", **agg}, ensure_ascii=False,
                                 separators=(",", ":"), sort_keys=True)
            self._conn.execute(
                "INSERT OR IGNORE INTO outbox_items (key, center, kind, seq, payload, created_at) "
                "VALUES (?, ?, ?, NULL, ?, ?)",
                (aggregate_key(agg), str(agg.get("center") or self.center), KIND_RATINGS, payload, now))

    def _deliver(self) -> int:
        delivered = 0
        centers = [r[0] for r in self._conn.execute(
            "SELECT DISTINCT center FROM outbox_items WHERE status = 'pending'")]
        for center in centers:
            rows = self._conn.execute(
                "SELECT id, key, center, kind, seq, payload, attempts, next_attempt_at FROM outbox_items "
                "WHERE status = 'pending' AND center = ? ORDER BY id LIMIT ?",
                (center, self.settings.deliver_per_pass)).fetchall()
            done: list[tuple[float, int]] = []
            items = [OutboxItem(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]
            due = [r[7] for r in rows]
            index = 0
            try:
                while index < len(items):
                    if float(due[index]) > self.clock():
                        break                  # head of line still backing off: keep the order
                    batch = self._batch_at(items, index)
                    if len(batch) > 1 and self._send_batch(batch):
                        now = self.clock()
                        done.extend((now, i.id) for i in batch)
                        index += len(batch)
                    else:
                        item = items[index]
                        try:
                            self.sender.send(item)
                        except DeliveryError as err:
                            if not self._failed(item, err):
                                break          # will retry this one later; nothing behind it may pass
                            index += 1
                            continue           # dead-lettered: the next one may go
                        done.append((self.clock(), item.id))
                        index += 1
                    if len(done) >= 100:       # bounded loss of bookkeeping on a crash (redelivered, deduped)
                        self._mark_delivered(done)
                        delivered += len(done)
                        done = []
            finally:
                if done:
                    self._mark_delivered(done)
                    delivered += len(done)
        return delivered

    def _batch_at(self, items: list[OutboxItem], index: int) -> list[OutboxItem]:
        """Consecutive events from ``index`` that have never failed (a failing one goes alone, to isolate it)."""
        if self.settings.batch_size <= 1 or not hasattr(self.sender, "send_batch"):
            return items[index:index + 1]
        batch: list[OutboxItem] = []
        for item in items[index:index + self.settings.batch_size]:
            if item.kind != KIND_EVENT or item.attempts:
                break
            batch.append(item)
        return batch or items[index:index + 1]

    def _send_batch(self, batch: list[OutboxItem]) -> bool:
        """True when delivered; on failure the items go one by one (same pass), so backoff, dead-lettering
        and order work per event exactly as without batching."""
        try:
            self.sender.send_batch(batch)  # type: ignore[attr-defined]
        except DeliveryError as err:
            log.info("outbox: batch of %d failed (%s); falling back to single events", len(batch), err)
            return False
        return True

    def _mark_delivered(self, done: list[tuple[float, int]]) -> None:
        with db.immediate(self._conn):
            self._conn.executemany("UPDATE outbox_items SET status = 'delivered', delivered_at = ?, last_error = '' "
                                   "WHERE id = ?", done)
        self.delivered_total += len(done)
        self.last_success_at = done[-1][0]
        if self.on_result is not None:
            self.on_result(True, "")

    def _failed(self, item: OutboxItem, err: DeliveryError) -> bool:
        """Record a failure; True when the item went to the dead-letter state."""
        attempts = item.attempts + 1
        message = str(err)[:500]
        self.last_error = message
        if self.on_result is not None and err.retryable:
            self.on_result(False, message)
        if not err.retryable or attempts >= self.settings.max_attempts:
            self._conn.execute("UPDATE outbox_items SET status = 'dead', attempts = ?, last_error = ? WHERE id = ?",
                               (attempts, message, item.id))
            log.error("outbox: %s %s (seq %s) dead-lettered after %d attempts: %s", item.kind, item.key, item.seq,
                      attempts, message)
            return True
        delay = min(self.settings.max_backoff_s, self.settings.base_backoff_s * 2 ** (attempts - 1))
        delay = delay / 2 + self.rng() * delay / 2        # "equal jitter": spread hubs retrying after an outage
        self._conn.execute("UPDATE outbox_items SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                           (attempts, self.clock() + delay, message, item.id))
        log.warning("outbox: %s (seq %s) attempt %d failed, retry in %.1f s: %s", item.key, item.seq, attempts,
                    delay, message)
        return False

    # ---- replay (province sink; issue 17) ------------------------------------------------------------------------
    def request_replay(self, from_seq: int) -> None:
        """Re-send every event >= ``from_seq`` (the receiver found a gap). Safe from inside a send: it takes
        effect at the start of the next pass, so the pass in progress finishes with its own items."""
        if from_seq < 1:
            raise ValueError("from_seq must be >= 1")
        current = self._replay_from
        self._replay_from = from_seq if current is None else min(current, from_seq)
        self.wake()

    def _apply_replay(self) -> None:
        """Drop this center's event items >= seq (whatever their state) and move the cursor back, so the next
        enqueue re-reads them from the hub's log in seq order: replayed events keep their order and ids (the
        receiver deduplicates by id / seq), and one purged long ago is re-sent too."""
        from_seq, self._replay_from = self._replay_from, None
        if from_seq is None:
            return
        with db.immediate(self._conn):
            self._conn.execute("DELETE FROM outbox_items WHERE center = ? AND kind = ? AND seq >= ?",
                               (self.center, KIND_EVENT, from_seq))
            self._conn.execute("UPDATE outbox_cursor SET last_seq = min(last_seq, ?) WHERE center = ?",
                               (from_seq - 1, self.center))
        log.info("outbox: replaying events from seq %d", from_seq)

    # ---- metrics and admin ------------------------------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        """For the manager board: pending_count, oldest_undelivered_age_s, dead_count, delivered_total, ..."""
        with self._read_lock:
            pending, oldest = self._read.execute(
                "SELECT count(*), min(created_at) FROM outbox_items WHERE status = 'pending'").fetchone()
            dead = self._read.execute("SELECT count(*) FROM outbox_items WHERE status = 'dead'").fetchone()[0]
            row = self._read.execute("SELECT last_seq FROM outbox_cursor WHERE center = ?", (self.center,)).fetchone()
            cursor = int(row[0]) if row else 0
        return {"pending_count": int(pending),
                "oldest_undelivered_age_s": round(max(0.0, self.clock() - float(oldest)), 1) if oldest else 0.0,
                "dead_count": int(dead), "delivered_total": self.delivered_total, "cursor_seq": cursor,
                "last_error": self.last_error, "last_success_at": self.last_success_at}

    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._read_lock:
            rows = self._read.execute("SELECT key, kind, seq, attempts, last_error FROM outbox_items "
                                      "WHERE status = 'dead' ORDER BY id LIMIT ?", (limit,)).fetchall()
        return [{"key": r[0], "kind": r[1], "seq": r[2], "attempts": r[3], "last_error": r[4]} for r in rows]

    def requeue_dead(self) -> int:
        """Admin action after fixing the cause: dead letters go back to pending, in their original order."""
        with self._lock:
            cur = self._conn.execute("UPDATE outbox_items SET status = 'pending', attempts = 0, next_attempt_at = 0 "
                                     "WHERE status = 'dead'")
        self.wake()
        return cur.rowcount

    def purge_delivered(self, older_than_s: float) -> int:
        """Housekeeping: delivered rows older than this go (the hub's event log keeps the events)."""
        with self._lock:
            cur = self._conn.execute("DELETE FROM outbox_items WHERE status = 'delivered' AND delivered_at < ?",
                                     (self.clock() - older_than_s,))
        return cur.rowcount


def _implements_the_port(relay: OutboxRelay) -> Outbox:
    return relay          # mypy checks that OutboxRelay satisfies the Outbox port
