"""The notification outbox: every message to a citizen stored first, then sent — once, in order per recipient.

- **Durable**: ``enqueue`` writes the rendered message to SQLite before anything is sent; a crash or a restart resends
  nothing twice and forgets nothing.
- **Deduplicated**: a message's key (``called:<ticket>``) is UNIQUE; enqueueing it again is a no-op.
- **In order per recipient**: a recipient's next message waits until the one before it was sent (or gave up), so
  "còn 2 người" never arrives after "mời quý vị đến quầy 5"; different recipients never wait for each other.
- **Retried** with exponential backoff (plus jitter) while the gateway's failure is retryable; a permanent refusal or
  too many attempts makes a dead letter the manager can see and requeue.
- **Opt-out honoured** at send time: a number that replied "TU CHOI" (or was opted out by staff) is skipped, also for
  messages already queued.
- **Contacts** (the phone number a citizen left with a ticket) live here, not in the event log, and are purged with
  the day (``purge_contacts_before``).

Must not: send from inside ``enqueue`` (the caller may hold the hub's writer), log addresses or texts at INFO, or
log or store a gateway's error text before ``redact_contacts`` took out any phone number or e-mail address in it.
"""
from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from queue_server.adapters.notifiers import Gateway, OutgoingMessage, SendError
from queue_server.adapters.worker_loop import WorkerLoop
from queue_server.app.notifications import Contact, Notification, redact_contacts, render
from runtime.sqlite import Migration, connect, immediate, migrate

log = logging.getLogger(__name__)


def _redact_stored_errors(conn: sqlite3.Connection) -> None:
    # errors stored before gateway texts were redacted may hold the number or address a gateway echoed
    rows = conn.execute("SELECT id, address, text, last_error FROM notify_items WHERE last_error != ''").fetchall()
    conn.executemany("UPDATE notify_items SET last_error = ? WHERE id = ?",
                     [(redact_contacts(error, address, text), item_id) for item_id, address, text, error in rows])


MIGRATIONS = (
    Migration(1, "notification outbox, opt-outs and ticket contacts", """
        CREATE TABLE notify_items (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            channel TEXT NOT NULL,
            address TEXT NOT NULL,
            template TEXT NOT NULL,
            text TEXT NOT NULL,
            params TEXT NOT NULL,
            created_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending',
            last_error TEXT NOT NULL DEFAULT '',
            sent_at REAL
        );
        CREATE INDEX notify_items_recipient ON notify_items (channel, address, status, id);
        CREATE INDEX notify_items_pending ON notify_items (status, next_attempt_at);
        CREATE TABLE notify_optout (channel TEXT NOT NULL, address TEXT NOT NULL, at REAL NOT NULL,
                                    PRIMARY KEY (channel, address));
        CREATE TABLE notify_contacts (ticket_id TEXT PRIMARY KEY, channel TEXT NOT NULL, address TEXT NOT NULL,
                                      day TEXT NOT NULL, created_at REAL NOT NULL);
        CREATE INDEX notify_contacts_day ON notify_contacts (day)
    """),
    Migration(2, "contacts taken out of gateway errors stored before", _redact_stored_errors),
)
# a message still waiting after this many attempts becomes a dead letter (≈ 2 hours with the default backoff cap)
DONE = ("sent", "dead", "skipped")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 12
    base_backoff_s: float = 2.0
    max_backoff_s: float = 600.0
    jitter: float = 0.2

    def delay(self, attempts: int, rng: random.Random) -> float:
        base = min(self.max_backoff_s, self.base_backoff_s * float(2 ** max(0, attempts - 1)))
        return float(base * (1 + self.jitter * rng.random()))


class NotificationOutbox:
    def __init__(self, path: Path | str, gateways: Mapping[str, Gateway], templates: Mapping[str, str],
                 retry: RetryPolicy = RetryPolicy(), wall: Callable[[], float] = time.time,
                 poll_interval_s: float = 1.0, seed: int | None = None) -> None:
        self._conn = connect(path)
        migrate(self._conn, "notifications", MIGRATIONS)
        self._lock = threading.Lock()
        self.gateways = dict(gateways)
        self.templates = dict(templates)
        self.retry = retry
        self.wall = wall
        self.poll_interval_s = poll_interval_s
        self._rng = random.Random(seed)
        self._worker = WorkerLoop("notification-outbox", self.run_once, self._idle_wait, survive=sqlite3.Error,
                                  failure="notification outbox: store error; retrying", log=log)

    # ---- contacts (personal data, kept here only) ------------------------------------------------------------
    def add_contact(self, ticket_id: str, contact: Contact, day: str) -> None:
        with self._lock, immediate(self._conn):
            self._conn.execute("INSERT OR REPLACE INTO notify_contacts VALUES (?, ?, ?, ?, ?)",
                               (ticket_id, contact.channel, contact.address, day, self.wall()))

    def contact_for(self, ticket_id: str) -> Contact | None:
        with self._lock:
            row = self._conn.execute("SELECT channel, address FROM notify_contacts WHERE ticket_id = ?",
                                     (ticket_id,)).fetchone()
        return Contact(row[0], row[1]) if row else None

    def waiting_with_contacts(self) -> list[str]:
        # a ticket already told "turn near" needs no second look
        with self._lock:
            rows = self._conn.execute(
                "SELECT c.ticket_id FROM notify_contacts c WHERE NOT EXISTS (SELECT 1 FROM notify_items i "
                "WHERE i.key = 'turn_near:' || c.ticket_id) ORDER BY c.created_at").fetchall()
        return [r[0] for r in rows]

    def purge_contacts_before(self, day: str) -> int:
        with self._lock, immediate(self._conn):
            return self._conn.execute("DELETE FROM notify_contacts WHERE day < ?", (day,)).rowcount

    # ---- opt-out ---------------------------------------------------------------------------------------------
    def opt_out(self, channel: str, address: str) -> None:
        with self._lock, immediate(self._conn):
            self._conn.execute("INSERT OR IGNORE INTO notify_optout VALUES (?, ?, ?)", (channel, address, self.wall()))
        self.wake()

    def opted_out(self, channel: str, address: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM notify_optout WHERE channel = ? AND address = ?",
                                      (channel, address)).fetchone() is not None

    # ---- enqueue ---------------------------------------------------------------------------------------------
    def enqueue(self, notifications: Sequence[Notification]) -> int:
        """Store each message once (by key); returns how many were new. Never sends."""
        if not notifications:
            return 0
        now = self.wall()
        rows = [(n.key, n.channel, n.address, n.template, render(self.templates, n.template, n.params),
                 json.dumps(dict(n.params), ensure_ascii=False, default=str), now) for n in notifications]
        with self._lock, immediate(self._conn):
            before = self._conn.total_changes
            self._conn.executemany(
                "INSERT OR IGNORE INTO notify_items (key, channel, address, template, text, params, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            added = self._conn.total_changes - before
        if added:
            self.wake()
        return added

    # ---- delivery --------------------------------------------------------------------------------------------
    def _due(self, limit: int) -> list[tuple[Any, ...]]:
        """The head message of each recipient whose turn has come (older ones of that recipient all done)."""
        with self._lock:
            return self._conn.execute(
                "SELECT i.id, i.key, i.channel, i.address, i.template, i.text, i.params, i.attempts"
                " FROM notify_items i WHERE i.status = 'pending' AND i.next_attempt_at <= ?"
                " AND NOT EXISTS (SELECT 1 FROM notify_items e WHERE e.channel = i.channel AND e.address = i.address"
                "   AND e.status = 'pending' AND e.id < i.id)"
                " ORDER BY i.id LIMIT ?", (self.wall(), limit)).fetchall()

    def _finish(self, item_id: int, status: str, error: str = "") -> None:
        with self._lock, immediate(self._conn):
            tried = 0 if status == "skipped" else 1
            self._conn.execute("UPDATE notify_items SET status = ?, last_error = ?, sent_at = ?,"
                               " attempts = attempts + ? WHERE id = ?",
                               (status, error[:300], self.wall() if status == "sent" else None, tried, item_id))

    def _retry_later(self, item_id: int, attempts: int, error: str) -> None:
        with self._lock, immediate(self._conn):
            self._conn.execute("UPDATE notify_items SET attempts = ?, next_attempt_at = ?, last_error = ?"
                               " WHERE id = ?", (attempts, self.wall() + self.retry.delay(attempts, self._rng),
                                                 error[:300], item_id))

    def run_once(self, limit: int = 200) -> int:
        """One pass over due messages; returns how many were sent. Safe to call from tests without the thread."""
        sent = 0
        for item_id, key, channel, address, template, text, params, attempts in self._due(limit):
            if self.opted_out(channel, address):
                self._finish(item_id, "skipped", "opted out")
                continue
            gateway = self.gateways.get(channel)
            if gateway is None:
                self._finish(item_id, "dead", f"no gateway configured for {channel}")
                continue
            message = OutgoingMessage(key, channel, address, template, text, json.loads(params))
            try:
                gateway.send(message)
            except SendError as err:
                # a gateway may echo the number or address it refused: neither reaches a log line or the store
                why = redact_contacts(str(err), address, text)
                tries = attempts + 1
                if not err.retryable or tries >= self.retry.max_attempts:
                    log.warning("notification %s dead after %d attempt(s): %s", key, tries, why)
                    self._finish(item_id, "dead", why)
                else:
                    log.info("notification %s: attempt %d failed (%s); will retry", key, tries, why)
                    self._retry_later(item_id, tries, why)
                continue
            except Exception as err:  # noqa: BLE001 - a gateway bug must not stop every other citizen's messages
                why = redact_contacts(str(err), address, text)
                # where it failed (code lines only, no values) without the exception's text unredacted
                log.error("notification %s: gateway %s crashed: %s: %s\n%s", key, channel, err.__class__.__name__,
                          why, "".join(traceback.format_tb(err.__traceback__)).rstrip())
                self._retry_later(item_id, attempts + 1, f"gateway error: {why}")
                continue
            self._finish(item_id, "sent")
            sent += 1
        return sent

    def wake(self, *_: object) -> None:
        self._worker.wake()

    def start(self) -> NotificationOutbox:
        self._worker.start()
        return self

    def _idle_wait(self) -> float:
        with self._lock:
            row = self._conn.execute("SELECT MIN(next_attempt_at) FROM notify_items WHERE status = 'pending'"
                                     ).fetchone()
        if row is None or row[0] is None:
            return self.poll_interval_s
        return max(0.01, min(self.poll_interval_s, float(row[0]) - self.wall()))

    def stop(self, timeout: float = 10.0) -> None:
        self._worker.stop(timeout)

    def close(self) -> None:
        self.stop()
        with self._lock:
            self._conn.close()

    # ---- what a manager sees ---------------------------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        with self._lock:
            counts = dict(self._conn.execute("SELECT status, COUNT(*) FROM notify_items GROUP BY status").fetchall())
            oldest = self._conn.execute("SELECT MIN(created_at) FROM notify_items WHERE status = 'pending'"
                                        ).fetchone()[0]
        return {"pending": counts.get("pending", 0), "sent": counts.get("sent", 0), "dead": counts.get("dead", 0),
                "skipped": counts.get("skipped", 0),
                "oldest_pending_age_s": None if oldest is None else round(self.wall() - oldest, 1)}

    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute("SELECT key, channel, template, attempts, last_error FROM notify_items"
                                      " WHERE status = 'dead' ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{"key": r[0], "channel": r[1], "template": r[2], "attempts": r[3], "error": r[4]} for r in rows]

    def requeue_dead(self) -> int:
        with self._lock, immediate(self._conn):
            n = self._conn.execute("UPDATE notify_items SET status = 'pending', attempts = 0, next_attempt_at = 0"
                                   " WHERE status = 'dead'").rowcount
        self.wake()
        return n

    def history(self, channel: str, address: str) -> list[tuple[str, str]]:
        """(key, status) of one recipient's messages in order (for staff answering "did you send it?")."""
        with self._lock:
            return [(r[0], r[1]) for r in self._conn.execute(
                "SELECT key, status FROM notify_items WHERE channel = ? AND address = ? ORDER BY id",
                (channel, address))]
