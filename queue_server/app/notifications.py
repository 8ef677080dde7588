"""Who is told what, and when: notification templates and the rules that turn queue events into messages.

A citizen who left a phone number (or an e-mail, or a Zalo number) with their ticket is told "còn N người nữa đến
lượt quý vị" once when their turn nears and "mời quý vị đến quầy …" when called; a booking brings a confirmation and
a reminder. This module decides *which* message, *to whom* and under *which key*; it sends nothing. The key makes a
message idempotent: the outbox stores a key once, so deciding twice (a replay, a restart, two events in a row) never
sends twice.

Pure: no I/O, no clock reads, no gateway; the notification outbox and the gateways are adapters behind ports. Personal
data (the phone number) never enters the hub's event log — it stays in the contact book, which is purged daily.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from contracts.messages import Envelope

CHANNELS = ("sms", "zalo", "email")

# Short, polite, Vietnamese first; an admin can replace any of them ([notifications.templates]).
DEFAULT_TEMPLATES: Mapping[str, str] = {
    "turn_near": "{center}: còn {ahead} người nữa đến lượt quý vị (số {number}, {service}). "
                 "Xin quý vị quay lại khu chờ. Theo dõi: {track_url}",
    "called": "{center}: mời quý vị có số {number} đến {counter}.",
    "booking_confirmed": "{center}: quý vị đã đặt lịch {service} lúc {slot}, mã {code}. "
                         "Hủy lịch: {cancel_url}",
    "booking_reminder": "{center}: nhắc lịch hẹn {service} lúc {slot}, mã {code}. "
                        "Quét mã hoặc nhập mã tại kiosk khi đến.",
    "otp": "Mã xác thực của quý vị: {code} (hiệu lực {minutes} phút). Không chia sẻ mã này.",
}
TEMPLATE_FIELDS: Mapping[str, frozenset[str]] = {
    "turn_near": frozenset({"center", "ahead", "number", "service", "track_url"}),
    "called": frozenset({"center", "number", "counter"}),
    "booking_confirmed": frozenset({"center", "service", "slot", "code", "cancel_url"}),
    "booking_reminder": frozenset({"center", "service", "slot", "code"}),
    "otp": frozenset({"code", "minutes"}),
}


class TemplateError(ValueError):
    """A template an admin wrote that names a field the message does not have (caught when the config loads)."""


def template_fields(text: str) -> set[str]:
    import string

    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def check_templates(templates: Mapping[str, str]) -> dict[str, str]:
    """The default templates overridden by ``templates``, each checked: known name, only known fields."""
    merged = dict(DEFAULT_TEMPLATES)
    for name, text in templates.items():
        if name not in DEFAULT_TEMPLATES:
            raise TemplateError(f"notifications.templates.{name}: unknown message (one of "
                                f"{', '.join(sorted(DEFAULT_TEMPLATES))})")
        try:
            unknown = template_fields(text) - TEMPLATE_FIELDS[name]
        except ValueError as err:
            raise TemplateError(f"notifications.templates.{name}: {err}") from err
        if unknown:
            raise TemplateError(f"notifications.templates.{name}: unknown field {{{min(unknown)}}} (allowed: "
                                + ", ".join("{" + f + "}" for f in sorted(TEMPLATE_FIELDS[name])) + ")")
        if not text.strip():
            raise TemplateError(f"notifications.templates.{name}: empty")
        merged[name] = text
    return merged


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render(templates: Mapping[str, str], name: str, params: Mapping[str, Any]) -> str:
    """The message text; a field the caller did not know stays empty rather than losing the whole message."""
    return templates[name].format_map(_Blank({k: ("" if v is None else v) for k, v in params.items()}))


def strip_diacritics(text: str) -> str:
    """"Mời quý vị đến quầy" → "Moi quy vi den quay": for SMS brandname gateways that only take GSM-7 text."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def normalise_phone(raw: str) -> str | None:
    """A Vietnamese mobile number as 0 + 9 digits (``0912 345 678``, ``+84912345678``, ``84912345678``), or None."""
    digits = "".join(c for c in raw if c.isdigit())
    if raw.strip().startswith("+"):
        digits = digits if digits.startswith("84") else ""
    if digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if len(digits) == 10 and digits.startswith("0") and digits[1] in "35789":
        return digits
    return None


def normalise_address(channel: str, raw: str) -> str | None:
    raw = raw.strip()
    if channel in ("sms", "zalo"):
        return normalise_phone(raw)
    if channel == "email":
        local, at, domain = raw.partition("@")
        if at and local and "." in domain and " " not in raw and len(raw) <= 254:
            return raw.lower()
        return None
    return None


def mask_address(channel: str, address: str) -> str:
    """What may be shown back on a public screen or in an answer: ``0912***678``, ``n***@example.vn``."""
    if channel == "email":
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"{address[:4]}***{address[-3:]}" if len(address) >= 8 else "***"


# A Vietnamese number as people and gateways write it: 0 / 84 / +84 / (+84) and 9–10 more digits, with single spaces,
# dots or dashes anywhere between them ("0912 345 678", "+84 912.345.678", "84-912-345-678", "(+84)912345678").
_PHONE = re.compile(r"(?<!\d)(?:\(\s?\+?84\s?\)|\+\s?84|84|0)(?:[ \u00a0.\-]?\d){9,10}(?!\d)")
_EMAIL = re.compile(r"[\w.%+\-]+(?:@|%40)[\w\-]+(?:\.[\w\-]+)+")
PHONE_REDACTED, EMAIL_REDACTED, TEXT_REDACTED = "[phone]", "[email]", "[message text]"


def redact_contacts(text: str, address: str = "", message_text: str = "") -> str:
    """``text`` (a gateway's error, say) with every phone number and e-mail address taken out, so it may be logged
    or stored: any that looks like one, and this message's own ``address`` in whatever spacing the gateway echoed it
    (also without its 0 / 84 prefix); the message's own ``message_text`` too when echoed as sent (it may hold a code).
    """
    if message_text:
        for variant in {message_text, strip_diacritics(message_text)}:
            text = text.replace(variant, TEXT_REDACTED)
    text = _EMAIL.sub(EMAIL_REDACTED, text)
    text = _PHONE.sub(PHONE_REDACTED, text)
    if "@" in address:
        text = re.sub(re.escape(address), EMAIL_REDACTED, text, flags=re.IGNORECASE)
    else:
        digits = "".join(c for c in address if c.isdigit())
        national = digits[2:] if digits.startswith("84") else digits.lstrip("0")
        if len(national) >= 8:
            text = re.sub(r"[ \u00a0.\-]?".join(national), PHONE_REDACTED, text)
    return text


@dataclass(frozen=True, slots=True)
class Contact:
    """How the holder of a ticket (or a booking) asked to be told; ``address`` already normalised."""

    channel: str
    address: str


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to send; ``key`` is its identity (the outbox stores each key once)."""

    key: str
    channel: str
    address: str
    template: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def recipient(self) -> str:
        return f"{self.channel}:{self.address}"


class ContactBook(Protocol):
    """The contacts citizens left with their tickets (personal data: kept apart from the event log)."""

    def contact_for(self, ticket_id: str) -> Contact | None: ...

    def waiting_with_contacts(self) -> Sequence[str]:
        """Ids of tickets that have a contact and may still be waiting (today's)."""
        ...


@dataclass(frozen=True, slots=True)
class Position:
    """A waiting ticket's place: how many are called before it, its number and its service's name."""

    ahead: int
    number: str
    service_name: str


class QueueView(Protocol):
    """What the rules need to know of the queue right now."""

    def position(self, ticket_id: str) -> Position | None:
        """None when the ticket is no longer waiting (called, done, cancelled, unknown)."""
        ...


@dataclass(frozen=True, slots=True)
class NotificationRules:
    """Which events make which messages. ``turn_near_at``: tell a waiting citizen when this many or fewer are ahead."""

    center_name: str
    turn_near_at: int = 3
    track_url: Callable[[str], str] = lambda ticket_id: ""

    def plan(self, events: Iterable[Envelope], contacts: ContactBook, queue: QueueView) -> list[Notification]:
        out: list[Notification] = []
        queue_moved = False
        for env in events:
            if env.type == "ticket.called":
                ticket = env.data.get("ticket") or {}
                contact = contacts.contact_for(str(ticket.get("id", "")))
                if contact is not None:
                    out.append(Notification(
                        f"called:{ticket['id']}", contact.channel, contact.address, "called",
                        {"center": self.center_name, "number": ticket.get("number", ""),
                         "counter": env.data.get("counter_name") or f"quầy {env.data.get('counter', '')}"}))
            if env.type.startswith("ticket.") or env.type.startswith("counter."):
                queue_moved = True
        if queue_moved:
            out += self.turn_near(contacts.waiting_with_contacts(), contacts, queue)
        return out

    def turn_near(self, ticket_ids: Iterable[str], contacts: ContactBook, queue: QueueView) -> list[Notification]:
        """"còn N người nữa" for those of ``ticket_ids`` now within ``turn_near_at`` of their turn: after the queue
        moved, and for a contact left when the ticket was already that near (told at once, not at the next call)."""
        out: list[Notification] = []
        if self.turn_near_at <= 0:
            return out
        for ticket_id in ticket_ids:
            place = queue.position(ticket_id)
            if place is None or place.ahead > self.turn_near_at:
                continue
            contact = contacts.contact_for(ticket_id)
            if contact is None:
                continue
            out.append(Notification(
                f"turn_near:{ticket_id}", contact.channel, contact.address, "turn_near",
                {"center": self.center_name, "ahead": place.ahead, "number": place.number,
                 "service": place.service_name, "track_url": self.track_url(ticket_id)}))
        return out
