"""Feeds the notification outbox from the hub: committed events → NotificationRules → ``Notifier.enqueue``.

``on_events`` is an EventListener called on the writer thread after the commit: it only appends the batch to a
list and wakes a thread of its own, which plans the messages (reading the queue through the service's queries) and
stores them in the outbox. So the writer never waits on planning, SQLite of the outbox, or a gateway. ``drain()``
does the same work in the caller's thread (tests, shutdown). Also: the contact a citizen leaves at the kiosk
(validated, stored only in the outbox's contact book) — with the ticket, or attached to an already-issued ticket that
is still waiting (``attach_contact``, the kiosk's "Nhắn tin khi sắp đến lượt") — booking confirmations and reminders.

Must not: send anything itself (the outbox's thread does), put a phone number or e-mail in the event log or a log
line at INFO.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ, Envelope
from queue_server.app.notifications import (
    Contact,
    Notification,
    NotificationRules,
    Position,
    mask_address,
    normalise_address,
)
from queue_server.app.ports import Clock, Notifier
from queue_server.domain.bookings import Booking, BookingStatus

log = logging.getLogger(__name__)


def parse_contact(raw: str, phone_channel: str = "sms") -> Contact:
    """A contact typed at the kiosk or on the booking page: an e-mail, or a Vietnamese mobile number (sent by
    ``phone_channel``: sms or zalo). ``MotcuaError(bad_request)`` with a sentence otherwise."""
    text = raw.strip()
    channel = "email" if "@" in text else phone_channel
    address = normalise_address(channel, text)
    if address is None:
        if channel == "email":
            raise MotcuaError(ErrorCode.BAD_REQUEST, "contact: địa chỉ e-mail chưa đúng / expected an e-mail address")
        raise MotcuaError(ErrorCode.BAD_REQUEST,
                          "contact: số di động Việt Nam gồm 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09 (hoặc +84) "
                          "/ expected a Vietnamese mobile number (10 digits starting 03/05/07/08/09, or +84)")
    return Contact(channel, address)


class ServiceQueueView:
    """``QueueView`` over the QueueService's queries."""

    def __init__(self, service: Any) -> None:
        self.service = service

    def position(self, ticket_id: str) -> Position | None:
        try:
            view = self.service.get_ticket(ticket_id)
        except MotcuaError:
            return None
        t = view.ticket
        if str(t.status) != "issued":
            return None
        svc = self.service.center.service(t.service)
        return Position(view.ahead, t.display, svc.name if svc is not None else t.service)


@dataclass(frozen=True, slots=True)
class ContactAttached:
    """The answer to a contact attached at the kiosk: never the address itself, only its masked form."""

    ticket_id: str
    number: str
    channel: str
    masked: str
    ahead: int
    turn_near_at: int
    stored: str               # "created", or "unchanged" when the same contact was attached before (a retry)

    def to_json(self) -> dict[str, Any]:
        return {"ticket": self.ticket_id, "number": self.number, "notify": self.channel, "masked": self.masked,
                "ahead": self.ahead, "turn_near_at": self.turn_near_at, "stored": self.stored}


class NotificationService:
    def __init__(self, outbox: Notifier, rules: NotificationRules, queue: Any, clock: Clock, *,
                 phone_channel: str = "sms", booking_url: Callable[[str], str] = lambda code: "",
                 reminder_before_min: int = 24 * 60, public_base_url: str = "",
                 channels: Sequence[str] | None = None) -> None:
        self.outbox = outbox
        # the channels a gateway is configured for (None: assume all; a bare service in unit tests)
        self.channels = tuple(channels) if channels is not None else ("sms", "zalo", "email")
        self.public_base_url = public_base_url
        self.rules = rules
        self.queue = queue
        self.view = ServiceQueueView(queue)
        self.clock = clock
        self.phone_channel = phone_channel
        self.booking_url = booking_url
        self.reminder_before_min = reminder_before_min
        self._pending: list[Envelope] = []
        self._fresh: list[str] = []          # tickets whose contact just arrived: maybe already near their turn
        self._attach_lock = threading.Lock()
        self._lock = threading.Lock()
        self._plan_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- contacts ------------------------------------------------------------------------------------------
    def contact(self, raw: str) -> Contact:
        return parse_contact(raw, self.phone_channel)

    def add_ticket_contact(self, ticket_id: str, contact: Contact, day: str) -> None:
        self.outbox.add_contact(ticket_id, contact, day)
        with self._lock:
            self._fresh.append(ticket_id)
        self._wake.set()     # the ticket may already be near its turn: told now, not at the next call

    @property
    def phone_offered(self) -> bool:
        """A kiosk may offer "Nhắn tin khi sắp đến lượt": the phone channel has a gateway."""
        return self.phone_channel in self.channels

    def kiosk_offer(self) -> dict[str, Any]:
        """What GET /config tells kiosks about notifications."""
        return {"phone": self.phone_offered, "channel": self.phone_channel, "turn_near_at": self.rules.turn_near_at}

    def attach_contact(self, ticket_id: str, raw: str) -> ContactAttached:
        """A contact left at the kiosk after the ticket was printed: only for today's ticket still waiting; the same
        contact again is a no-op (a retry after a lost answer), another one for the same ticket is refused (a
        ticket's messages never change hands). Refusals are MotcuaErrors with a sentence (vi / en)."""
        contact = self.contact(raw)
        if contact.channel not in self.channels:
            raise MotcuaError(ErrorCode.BAD_REQUEST,
                              f"contact: trung tâm chưa gửi tin qua {contact.channel} / this center does not send "
                              f"{contact.channel} messages")
        view = self.queue.get_ticket(ticket_id)          # MotcuaError(unknown_ticket) when there is no such ticket
        ticket = view.ticket
        if str(ticket.status) != "issued" or ticket.day != self.clock.now().date():
            raise MotcuaError(ErrorCode.TICKET_NOT_WAITING,
                              f"Số {ticket.display} không còn chờ gọi. / Ticket {ticket.display} is no longer "
                              "waiting.")
        with self._attach_lock:      # two kiosks' retries at once: one stores, the other sees it stored
            known = self.outbox.contact_for(str(ticket.id))
            if known is not None and known != contact:
                raise MotcuaError(ErrorCode.CONTACT_EXISTS,
                                  f"Số {ticket.display} đã có số nhận tin khác. / Ticket {ticket.display} already "
                                  "has another contact.")
            if known is None:
                self.add_ticket_contact(str(ticket.id), contact, ticket.day.isoformat())
        return ContactAttached(str(ticket.id), ticket.display, contact.channel,
                               mask_address(contact.channel, contact.address), view.ahead, self.rules.turn_near_at,
                               "unchanged" if known is not None else "created")

    # ---- events (EventListener) ----------------------------------------------------------------------------
    def on_events(self, envelopes: Sequence[Envelope]) -> None:
        with self._lock:
            self._pending.extend(envelopes)
        self._wake.set()

    def drain(self) -> int:
        """Plan and store the messages for every event received so far; returns how many were new."""
        with self._plan_lock:       # one planner at a time keeps each recipient's messages in event order
            with self._lock:
                batch, self._pending = self._pending, []
                fresh, self._fresh = self._fresh, []
            if not batch and not fresh:
                return 0
            contacts = _TicketContacts(self.outbox)
            planned = self.rules.plan(batch, contacts, self.view) if batch else []
            if fresh:
                # after the events' own messages: a contact that came with (or after) the ticket is told at once
                planned += self.rules.turn_near(fresh, contacts, self.view)
            return self.outbox.enqueue(planned)

    # ---- bookings ------------------------------------------------------------------------------------------
    def booking_created(self, booking: Booking, contact: Contact | None, service_name: str) -> None:
        if contact is None:
            return
        self.outbox.add_contact(f"booking:{booking.code}", contact, booking.slot_start.date().isoformat())
        self.outbox.enqueue([Notification(
            f"booking_confirmed:{booking.code}", contact.channel, contact.address, "booking_confirmed",
            {"center": self.rules.center_name, "service": service_name, "code": booking.code,
             "slot": _when(booking.slot_start), "cancel_url": self.booking_url(booking.code)})])

    def send_code(self, contact: Contact, code: str, minutes: int) -> None:
        """A one-time code for the booking page (its own key: every code is a message of its own)."""
        import secrets

        self.outbox.enqueue([Notification(f"otp:{secrets.token_hex(8)}", contact.channel, contact.address, "otp",
                                          {"code": code, "minutes": minutes})])

    def remind(self, bookings: Sequence[Booking], service_names: dict[str, str]) -> int:
        """Reminders for booked slots starting within ``reminder_before_min`` (each booking reminded once: the
        key is the booking's)."""
        now = self.clock.now()
        out = []
        for b in bookings:
            if b.status is not BookingStatus.BOOKED or not now < b.slot_start <= now + timedelta(
                    minutes=self.reminder_before_min):
                continue
            contact = self.outbox.contact_for(f"booking:{b.code}")
            if contact is None:
                continue
            out.append(Notification(f"booking_reminder:{b.code}", contact.channel, contact.address,
                                    "booking_reminder",
                                    {"center": self.rules.center_name, "service": service_names.get(b.service,
                                                                                                    b.service),
                                     "slot": _when(b.slot_start), "code": b.code}))
        return self.outbox.enqueue(out)

    # ---- thread --------------------------------------------------------------------------------------------
    def start(self) -> NotificationService:
        self.outbox.start()
        self._thread = threading.Thread(target=self._run, name="notification-planner", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            try:
                self.drain()
            except Exception:  # a bad event must not stop every later message
                log.exception("notification planner failed on a batch")

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        try:
            self.drain()
        except Exception:
            log.exception("notification planner: final drain failed")
        self.outbox.close()


class _TicketContacts:
    """The outbox's contact book narrowed to tickets (booking contacts share the book under ``booking:``)."""

    def __init__(self, outbox: Notifier) -> None:
        self.outbox = outbox

    def contact_for(self, ticket_id: str) -> Contact | None:
        c = self.outbox.contact_for(ticket_id)
        return c if isinstance(c, Contact) else None

    def waiting_with_contacts(self) -> Sequence[str]:
        return [t for t in self.outbox.waiting_with_contacts() if not t.startswith("booking:")]


def _when(moment: datetime) -> str:
    return moment.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")
