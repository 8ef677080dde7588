"""The booking store: appointments in their own SQLite file (``bookings.sqlite3`` beside the hub's store).

Holds what the hub must remember of a booking: code, service, slot, status, source, the portal's external id (UNIQUE,
so a booking pushed twice is stored once), the ticket it became, and the person as a salted hash — never the phone or
CCCD number (that stays in the notification outbox's contact book, purged with the day). ``insert_checked`` runs
the caller's limit check and the insert in ONE immediate transaction, so two citizens racing for the last place
cannot both get it.

Must not: decide the rules (queue_server.domain.bookings does), send anything, or store personal data in clear.
"""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

from queue_server.domain.bookings import Booking, BookingStatus
from runtime.sqlite import Migration, connect, immediate, migrate

MIGRATIONS = (
    Migration(1, "bookings", """
        CREATE TABLE bookings (
            code TEXT PRIMARY KEY,
            service TEXT NOT NULL,
            slot_start TEXT NOT NULL,
            day TEXT NOT NULL,
            person TEXT NOT NULL,
            status TEXT NOT NULL,
            source TEXT NOT NULL,
            created_at TEXT,
            ticket_id TEXT,
            external_id TEXT UNIQUE,
            checked_in_at TEXT
        );
        CREATE INDEX bookings_day ON bookings (day, service, slot_start);
        CREATE INDEX bookings_person ON bookings (person, day);
        CREATE TABLE booking_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)
    """),
)
_COLUMNS = "code, service, slot_start, person, status, source, created_at, ticket_id, external_id"


def _row(r: Sequence[object]) -> Booking:
    return Booking(code=str(r[0]), service=str(r[1]), slot_start=datetime.fromisoformat(str(r[2])),
                   person=str(r[3]), status=BookingStatus(str(r[4])), source=str(r[5]),
                   created_at=datetime.fromisoformat(str(r[6])) if r[6] else None,
                   ticket_id=str(r[7]) if r[7] else None, external_id=str(r[8]) if r[8] else None)


class BookingStore:
    def __init__(self, path: Path | str) -> None:
        self._conn = connect(path)
        migrate(self._conn, "bookings", MIGRATIONS)
        self._lock = threading.Lock()

    def salt(self) -> str:
        """This hub's secret salt for person keys, made once at first use (never in the config, never shipped)."""
        import secrets

        with self._lock, immediate(self._conn):
            row = self._conn.execute("SELECT value FROM booking_meta WHERE key = 'person_salt'").fetchone()
            if row is not None:
                return str(row[0])
            value = secrets.token_hex(32)
            self._conn.execute("INSERT INTO booking_meta VALUES ('person_salt', ?)", (value,))
            return value

    def get(self, code: str) -> Booking | None:
        with self._lock:
            r = self._conn.execute(f"SELECT {_COLUMNS} FROM bookings WHERE code = ?", (code,)).fetchone()
        return _row(r) if r else None

    def by_external_id(self, external_id: str) -> Booking | None:
        with self._lock:
            r = self._conn.execute(f"SELECT {_COLUMNS} FROM bookings WHERE external_id = ?",
                                   (external_id,)).fetchone()
        return _row(r) if r else None

    def on_day(self, day: date) -> list[Booking]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM bookings WHERE day = ? ORDER BY slot_start, code",
                                      (day.isoformat(),)).fetchall()
        return [_row(r) for r in rows]

    def between(self, first: date, last: date) -> list[Booking]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM bookings WHERE day BETWEEN ? AND ? "
                                      "ORDER BY slot_start, code", (first.isoformat(), last.isoformat())).fetchall()
        return [_row(r) for r in rows]

    def open_before(self, moment: datetime) -> list[Booking]:
        """Bookings still ``booked`` whose slot started before ``moment`` (candidates for the no-show sweep)."""
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM bookings WHERE status = 'booked' AND slot_start < ?",
                                      (moment.isoformat(),)).fetchall()
        return [_row(r) for r in rows]

    def codes(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._conn.execute("SELECT code FROM bookings")}

    def insert_checked(self, day: date, make: Callable[[list[Booking], set[str]], Booking],
                       external_id: str | None = None) -> tuple[Booking, bool]:
        """``make(bookings_holding_a_place_on_day, taken_codes)`` checks the rules and builds the booking;
        it runs inside the transaction that inserts it. Returns (booking, created); a booking whose external id is
        already stored is returned as it is, with ``created`` False (a push retried)."""
        with self._lock, immediate(self._conn):
            if external_id is not None:
                r = self._conn.execute(f"SELECT {_COLUMNS} FROM bookings WHERE external_id = ?",
                                       (external_id,)).fetchone()
                if r is not None:
                    return _row(r), False
            # one day of one center is small (hundreds of bookings): read it, decide, write
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM bookings WHERE day = ? AND status IN "
                                      "('booked', 'checked_in')", (day.isoformat(),)).fetchall()
            codes = {r[0] for r in self._conn.execute("SELECT code FROM bookings")}
            booking = make([_row(r) for r in rows], codes)
            self._conn.execute(
                f"INSERT INTO bookings ({_COLUMNS}, day) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (booking.code, booking.service, booking.slot_start.isoformat(), booking.person, str(booking.status),
                 booking.source, booking.created_at.isoformat() if booking.created_at else None, booking.ticket_id,
                 booking.external_id, booking.slot_start.date().isoformat()))
            return booking, True

    def update(self, booking: Booking, *, expect: BookingStatus, checked_in_at: datetime | None = None) -> bool:
        """Store the new status (and ticket) only if the stored status is still ``expect``: two kiosks scanning the
        same code at once cannot both check it in. Returns whether it was stored."""
        with self._lock, immediate(self._conn):
            cur = self._conn.execute(
                "UPDATE bookings SET status = ?, ticket_id = ?, checked_in_at = COALESCE(?, checked_in_at) "
                "WHERE code = ? AND status = ?",
                (str(booking.status), booking.ticket_id, checked_in_at.isoformat() if checked_in_at else None,
                 booking.code, str(expect)))
            return cur.rowcount == 1

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
