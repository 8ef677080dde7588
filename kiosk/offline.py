"""The kiosk's ticket desk: issues through the hub when it answers, from leased number blocks when it does not.

While the hub is up, ``maintain()`` (run off the UI thread) keeps a block of numbers leased per service
(POST /leases). When a call to the hub fails, the desk switches to offline mode at once and issues the next
leased number, writing each ticket to a local SQLite journal *before* it is shown or printed, so a crash or a
power cut loses nothing. When the hub answers again, ``maintain()`` hands the journal's tickets in
(POST /leases/<id>/tickets, idempotent per number) and only then goes back online. Numbers of a lease that are
never used stay unused: a gap in the day's numbering is harmless, a duplicate number is not.

Must not import Kivy or queue_server. The mode is shown to staff as a small mark, never to citizens.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from contracts.errors import ErrorCode
from contracts.messages import VN_TZ, format_at
from contracts.tickets import display_number, ticket_id_for
from runtime import sqlite as db
from runtime.sqlite import Migration

from .hub_client import HubError, HubUnavailable

log = logging.getLogger(__name__)

Mode = Literal["online", "offline"]


class HubPort(Protocol):
    """The part of HubClient the desk needs (a stand-in in tests)."""

    def issue_ticket(self, service: str, priority: str | None = None, request_id: str | None = None
                     ) -> dict[str, Any]: ...
    def report_print(self, ticket_id: str, printed: bool, fault: str | None = None) -> dict[str, Any]: ...
    def health(self) -> dict[str, Any]: ...
    def lease(self, service: str, size: int) -> dict[str, Any]: ...
    def hand_in(self, lease_id: str, tickets: list[dict[str, Any]]) -> dict[str, Any]: ...


class NoOfflineNumbers(Exception):
    """The hub is unreachable and no leased number is left for that service today."""


@dataclass(frozen=True, slots=True)
class IssuedTicket:
    """A ticket as the kiosk shows and prints it, whether the hub or a lease issued it."""

    id: str
    number: str                     # as displayed and called: "A023"
    service: str
    priority: str | None
    issued_at: str
    ahead: int | None = None
    estimated_wait_min: int | None = None
    tracking_url: str | None = None
    offline: bool = False
    wait_low_min: int | None = None
    wait_high_min: int | None = None
    wait_served: bool | None = None
    wait_past_close: bool = False       # the expected call falls after today's working hours

    @staticmethod
    def from_hub(body: dict[str, Any]) -> IssuedTicket:
        ticket = body["ticket"]
        return IssuedTicket(
            id=str(ticket["id"]), number=str(ticket["number"]), service=str(ticket["service"]),
            priority=ticket.get("priority"), issued_at=str(ticket.get("issued_at", "")),
            ahead=_int_or_none(body.get("ahead")), estimated_wait_min=_int_or_none(body.get("estimated_wait_min")),
            # the hub's public base URL ([notifications] public_base_url) wins: the QR then works off the LAN too
            tracking_url=body.get("public_tracking_url") or body.get("tracking_url") or f"/t/{ticket['id']}",
            offline=False,
            wait_low_min=_int_or_none(body.get("wait_low_min")), wait_high_min=_int_or_none(body.get("wait_high_min")),
            wait_served=body.get("wait_served") if isinstance(body.get("wait_served"), bool) else None,
            wait_past_close=body.get("wait_past_close") is True)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


COMPONENT = "kiosk_journal"
MIGRATIONS: tuple[Migration, ...] = (Migration(1, "leases and offline-issued tickets", """
CREATE TABLE IF NOT EXISTS leases (
  id TEXT PRIMARY KEY, service TEXT NOT NULL, day TEXT NOT NULL, prefix TEXT NOT NULL,
  first INTEGER NOT NULL, last INTEGER NOT NULL, next INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS issued (
  lease_id TEXT NOT NULL, number INTEGER NOT NULL, display TEXT NOT NULL, service TEXT NOT NULL,
  priority TEXT, issued_at TEXT NOT NULL, printed INTEGER, fault TEXT,
  handed_in INTEGER NOT NULL DEFAULT 0, print_reported INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (lease_id, number)
)
"""), Migration(2, "the hub's last /config answer (a kiosk booting while the hub is down still has its services)", """
CREATE TABLE IF NOT EXISTS remembered (key TEXT PRIMARY KEY, value TEXT NOT NULL)
"""))


def _legacy_version(conn: sqlite3.Connection) -> int:
    # journals made before runtime.sqlite had no version: their tables are version 1
    return 1 if db.table_exists(conn, "issued") else 0


class OfflineJournal:
    """Leases and offline-issued tickets in one SQLite file; every write is one committed transaction."""

    def __init__(self, path: str | Path) -> None:
        self._db = db.connect(path)   # synchronous=FULL: a ticket handed to a citizen must survive a power cut
        db.migrate(self._db, COMPONENT, MIGRATIONS, legacy_version=_legacy_version)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def remember(self, key: str, value: Any) -> None:
        """Keep a hub answer (JSON) across restarts; written only when it changed."""
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        with self._lock:
            if self._db.execute("SELECT 1 FROM remembered WHERE key=? AND value=?", (key, text)).fetchone():
                return
            with db.immediate(self._db):
                self._db.execute("INSERT OR REPLACE INTO remembered (key, value) VALUES (?, ?)", (key, text))

    def recall(self, key: str) -> Any:
        """What ``remember`` kept under ``key``, None when nothing was."""
        with self._lock:
            row = self._db.execute("SELECT value FROM remembered WHERE key=?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def add_lease(self, lease: dict[str, Any], prefix: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO leases (id, service, day, prefix, first, last, next) VALUES (?,?,?,?,?,?,?)",
                (str(lease["id"]), lease["service"], lease["day"], prefix, int(lease["first"]), int(lease["last"]),
                 int(lease["first"])))

    def numbers_left(self, service: str, day: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COALESCE(SUM(last - next + 1), 0) FROM leases WHERE service=? AND day=? AND next<=last",
                (service, day)).fetchone()
        return int(row[0])

    def take_number(self, service: str, day: str, priority: str | None, issued_at: str
                    ) -> tuple[str, int, str, str]:
        """Reserve and record the next leased number in one transaction: (lease_id, number, display, day)."""
        with self._lock, db.immediate(self._db) as cur:
            row = cur.execute(
                "SELECT id, prefix, next, day FROM leases WHERE service=? AND day=? AND next<=last "
                "ORDER BY first LIMIT 1", (service, day)).fetchone()
            if row is None:
                raise NoOfflineNumbers(service)
            lease_id, prefix, number, lease_day = row
            shown = display_number(prefix, number)
            cur.execute("UPDATE leases SET next=next+1 WHERE id=?", (lease_id,))
            cur.execute("INSERT INTO issued (lease_id, number, display, service, priority, issued_at) "
                        "VALUES (?,?,?,?,?,?)", (lease_id, number, shown, service, priority, issued_at))
        return str(lease_id), int(number), shown, str(lease_day)

    def record_print(self, lease_id: str, number: int, printed: bool, fault: str | None) -> None:
        with self._lock:
            self._db.execute("UPDATE issued SET printed=?, fault=? WHERE lease_id=? AND number=?",
                             (int(printed), fault, lease_id, number))

    def lease_of(self, service: str, number: int) -> str | None:
        """The lease an offline ticket came from (the newest, should a number ever repeat across days)."""
        with self._lock:
            row = self._db.execute(
                "SELECT lease_id FROM issued WHERE service=? AND number=? ORDER BY rowid DESC LIMIT 1",
                (service, number)).fetchone()
        return None if row is None else str(row[0])

    def pending(self) -> dict[str, list[dict[str, Any]]]:
        """Tickets not yet handed in, grouped by lease, in issue order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT lease_id, number, issued_at, priority FROM issued WHERE handed_in=0 "
                "ORDER BY lease_id, number").fetchall()
        out: dict[str, list[dict[str, Any]]] = {}
        for lease_id, number, issued_at, priority in rows:
            out.setdefault(lease_id, []).append({"number": number, "issued_at": issued_at, "priority": priority})
        return out

    def held_today(self, today: str) -> dict[str, list[dict[str, Any]]]:
        """Every lease of today with the tickets printed from it (handed in or not; not those whose paper never
        came out and the hub was told so), in issue order: what the kiosk re-reports on each upkeep."""
        with self._lock:
            leases = self._db.execute("SELECT id FROM leases WHERE day=? ORDER BY first", (today,)).fetchall()
            rows = self._db.execute(
                "SELECT i.lease_id, i.number, i.issued_at, i.priority FROM issued i JOIN leases l ON l.id=i.lease_id "
                "WHERE l.day=? AND NOT (i.handed_in=1 AND i.printed=0) ORDER BY i.lease_id, i.number",
                (today,)).fetchall()
        out: dict[str, list[dict[str, Any]]] = {str(lease_id): [] for (lease_id,) in leases}
        for lease_id, number, issued_at, priority in rows:
            out[lease_id].append({"number": number, "issued_at": issued_at, "priority": priority})
        return out

    def pending_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM issued WHERE handed_in=0").fetchone()[0])

    def mark_handed_in(self, lease_id: str, numbers: Iterable[int]) -> None:
        with self._lock:
            self._db.executemany("UPDATE issued SET handed_in=1 WHERE lease_id=? AND number=?",
                                 [(lease_id, n) for n in numbers])

    def unprinted_to_report(self) -> list[tuple[str, int, str, str, str | None]]:
        """Handed-in tickets whose printing failed and whose failure the hub has not heard of yet."""
        with self._lock:
            rows = self._db.execute(
                "SELECT i.lease_id, i.number, i.service, l.day, i.fault FROM issued i JOIN leases l ON l.id=i.lease_id "
                "WHERE i.handed_in=1 AND i.printed=0 AND i.print_reported=0").fetchall()
        return [(str(a), int(b), str(c), str(d), e) for a, b, c, d, e in rows]

    def mark_print_reported(self, lease_id: str, number: int) -> None:
        with self._lock:
            self._db.execute("UPDATE issued SET print_reported=1 WHERE lease_id=? AND number=?", (lease_id, number))

    def drop_old_leases(self, today: str) -> None:
        """Leases of past days are worthless (numbering restarts each day); keep their tickets until handed in."""
        with self._lock:
            self._db.execute("DELETE FROM leases WHERE day<>? AND id NOT IN "
                             "(SELECT lease_id FROM issued WHERE handed_in=0 OR (printed=0 AND print_reported=0))",
                             (today,))


def offline_ticket_id(day: str, service: str, number: int) -> str:
    """The hub's id for this number (contracts.tickets), so the tracking QR of an offline ticket works once merged."""
    return ticket_id_for(date.fromisoformat(day), service, number)


def now_vn() -> datetime:
    return datetime.now(VN_TZ)


class TicketDesk:
    """Issue tickets online or offline; the UI calls ``issue`` and ``report_print``, a worker calls ``maintain``."""

    def __init__(self, hub: HubPort, journal: OfflineJournal, *, prefixes: dict[str, str] | None = None,
                 lease_size: int = 50, reserve: int = 20, clock: Callable[[], datetime] = now_vn) -> None:
        self.hub = hub
        self.journal = journal
        self.prefixes = dict(prefixes or {})
        self.lease_size = lease_size
        self.reserve = reserve
        self._clock = clock
        self._mode: Mode = "online"
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Mode], None]] = []
        self.services: list[str] = list(self.prefixes)
        self._hub_boot: str | None = None      # the hub process last seen (GET /health ``boot``)
        self._lease_hold_logged = False        # a restored hub's hold on new leases: said once, not every round

    # --- state --------------------------------------------------------------------------------------------
    @property
    def mode(self) -> Mode:
        return self._mode

    def on_mode_change(self, fn: Callable[[Mode], None]) -> None:
        self._listeners.append(fn)

    def _set_mode(self, mode: Mode) -> None:
        with self._lock:
            changed = mode != self._mode
            self._mode = mode
        if changed:
            log.warning("ticket desk now %s (pending hand-in: %d)", mode, self.journal.pending_count())
            for fn in list(self._listeners):
                fn(mode)

    def today(self) -> str:
        return self._clock().date().isoformat()

    def numbers_left(self, service: str) -> int:
        return self.journal.numbers_left(service, self.today())

    def set_services(self, services: dict[str, str]) -> None:
        """Service code -> prefix, from the hub's /config (kept for offline issuing)."""
        self.prefixes.update(services)
        self.services = list(services)

    # --- issuing ------------------------------------------------------------------------------------------
    def issue(self, service: str, priority: str | None = None) -> IssuedTicket:
        """The hub's ticket when it answers; a leased one when it does not. HubError (a refusal) passes through."""
        if self._mode == "online":
            try:
                return self._issue_online(service, priority)
            except HubUnavailable:
                self._set_mode("offline")
        return self._issue_offline(service, priority)

    def _issue_online(self, service: str, priority: str | None) -> IssuedTicket:
        """The hub's next number, never one this kiosk already printed today. A hub restored from a backup taken
        earlier in the day (the disk failed at 14:30, the 12:00 backup is put back) does not know the numbers it
        handed out after the backup and would give them again, while citizens hold them on paper. Asking again
        takes each such number in the restored hub's queue (where its holder waits: that citizen is then called)
        until the hub is past the highest this kiosk printed. Numbers are per day, per service, increasing."""
        today = self.today()
        key = f"online-high:{today}:{service}"
        high = self.journal.recall(key)
        for _ in range(10_000):                  # a day's numbers for one service: the hub moves on each time
            ticket = self._ask_hub(service, priority)
            day, _, number = ticket.id.rpartition("-")
            if not number.isdigit() or day[:8] != today.replace("-", ""):
                return ticket                    # not a number of this kiosk's day: nothing to compare with
            if not (isinstance(high, int) and int(number) <= high):
                self.journal.remember(key, int(number))
                return ticket
            log.warning("the hub gave %s again, which this kiosk printed earlier today (was the hub restored from "
                        "a backup?): left in its queue for the citizen holding it, asking again", ticket.number)
        return ticket

    def _ask_hub(self, service: str, priority: str | None) -> IssuedTicket:
        request_id = uuid.uuid4().hex
        for attempt in (1, 2):
            try:
                return IssuedTicket.from_hub(self.hub.issue_ticket(service, priority, request_id))
            except HubUnavailable as err:
                # An answer lost after the hub stored the ticket: asking again with the same key returns
                # that ticket instead of leaving it behind as a phantom while an offline one is printed.
                if not (err.maybe_done and attempt == 1):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _issue_offline(self, service: str, priority: str | None) -> IssuedTicket:
        at = format_at(self._clock())
        lease_id, number, shown, day = self.journal.take_number(service, self.today(), priority, at)
        log.info("offline ticket %s (lease %s)", shown, lease_id)
        return IssuedTicket(id=offline_ticket_id(day, service, number), number=shown, service=service,
                            priority=priority, issued_at=at, offline=True,
                            tracking_url=f"/t/{offline_ticket_id(day, service, number)}")

    def report_print(self, ticket: IssuedTicket, printed: bool, fault: str | None = None) -> None:
        """Tell the hub whether the paper came out (no phantom tickets); offline, keep it for the hand-in."""
        if ticket.offline:
            number = int(ticket.id.rsplit("-", 1)[1])
            lease_id = self._lease_of(ticket.service, number)
            if lease_id is not None:
                self.journal.record_print(lease_id, number, printed, fault)
            return
        try:
            self.hub.report_print(ticket.id, printed, fault)
        except HubUnavailable:
            log.warning("print result for %s not delivered (hub unreachable)", ticket.id)
            self._set_mode("offline")
        except HubError as err:
            log.warning("print result for %s refused: %s", ticket.id, err)

    def _lease_of(self, service: str, number: int) -> str | None:
        return self.journal.lease_of(service, number)

    # --- background upkeep --------------------------------------------------------------------------------
    def maintain(self) -> Mode:
        """Probe, hand in, top up leases. Blocking (network): call it from a worker thread, never the UI."""
        try:
            health = self.hub.health()   # cheap, and the staff mark tells the truth even before the first ticket
            boot = health.get("boot") if isinstance(health, dict) else None
            if isinstance(boot, str) and boot != self._hub_boot:
                # a hub started since the last upkeep (a restore is always a restart): re-report once, not every
                # round — each re-report is a request per lease through the hub's one writer; a hub too old to say
                # its boot cannot take a lease back either
                self.re_report_leases()
                self._hub_boot = boot
                self._lease_hold_logged = False     # a new start may hold new leases again: worth a line again
            self.hand_in_pending()
            self.top_up_leases()
        except HubUnavailable:
            self._set_mode("offline")
            return self._mode
        self._set_mode("online")
        return self._mode

    def re_report_leases(self) -> None:
        """Re-report every lease of today with every ticket printed from it. A hub restored from a backup taken
        earlier in the day lost the leases it granted after the backup (and would grant the same block to another
        kiosk: two citizens with one number) and the tickets handed in after it (citizens gone from its queue): it
        adopts such a lease back and merges its tickets again. For a hub that knows them it changes nothing."""
        for lease_id, tickets in self.journal.held_today(self.today()).items():
            try:
                self.hub.hand_in(lease_id, tickets)
            except HubError as err:
                log.error("re-report of lease %s refused: %s", lease_id, err)
                continue
            self.journal.mark_handed_in(lease_id, [t["number"] for t in tickets])

    def hand_in_pending(self) -> int:
        handed = 0
        for lease_id, tickets in self.journal.pending().items():
            try:
                self.hub.hand_in(lease_id, tickets)
            except HubError as err:
                # A refusal is not a reason to lose tickets: keep them and say so loudly for staff.
                log.error("hand-in of lease %s refused: %s (kept in the journal)", lease_id, err)
                continue
            self.journal.mark_handed_in(lease_id, [t["number"] for t in tickets])
            handed += len(tickets)
            log.info("handed in %d offline tickets of lease %s", len(tickets), lease_id)
        for lease_id, number, service, day, fault in self.journal.unprinted_to_report():
            try:
                self.hub.report_print(offline_ticket_id(day, service, number), False, fault)
            except HubError as err:
                log.warning("print failure of offline ticket %s-%s refused: %s", service, number, err)
            self.journal.mark_print_reported(lease_id, number)
        return handed

    def top_up_leases(self) -> None:
        today = self.today()
        self.journal.drop_old_leases(today)
        for service in self.services:
            if self.journal.numbers_left(service, today) >= self.reserve:
                continue
            try:
                lease = self.hub.lease(service, self.lease_size)
            except HubError as err:
                if err.code == ErrorCode.LEASES_ON_HOLD:
                    # a hub just restored from a backup waits for every kiosk to re-report its blocks: not a
                    # fault, nothing for the citizen to see; the next upkeep asks again (for every service then)
                    if not self._lease_hold_logged:
                        log.info("new offline blocks on hold (hub just restored), asking again later: %s",
                                 err.message)
                        self._lease_hold_logged = True
                    return
                log.warning("no lease for %s: %s", service, err)
                continue
            self._lease_hold_logged = False
            self.journal.add_lease(lease, lease.get("prefix") or self.prefixes.get(service, ""))
