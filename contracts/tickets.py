"""Ticket identity and display rules every process shares: the ticket id, the displayed number, the prefix rule.

The hub issues with these rules and a kiosk in offline mode builds the same id and the same "A023" from a leased
number, so a ticket issued offline is the same ticket once handed in (its tracking QR works). Pure, no I/O.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import NewType

__all__ = ["DISPLAY_PATTERN", "PREFIX_PATTERN", "TicketId", "TicketNumber", "display_number", "ticket_id_for"]

TicketId = NewType("TicketId", str)

# A service's ticket prefix: one or two capital letters A-Z (what fits the LED counter displays and is read aloud
# letter by letter).
PREFIX_PATTERN = re.compile(r"^[A-Z]{1,2}$")
# A displayed number as printed and called: the prefix, then three digits (four past 999; numbers end at 9999).
DISPLAY_PATTERN = re.compile(r"^[A-Z]{1,2}[0-9]{3,4}$")


@dataclass(frozen=True, slots=True)
class TicketNumber:
    prefix: str
    number: int

    @property
    def display(self) -> str:
        """``TicketNumber("A", 23).display == "A023"``; four digits once the number passes 999."""
        return f"{self.prefix}{self.number:03d}"


def display_number(prefix: str, number: int) -> str:
    """The displayed and called form of a number: prefix and at least three digits (``A023``)."""
    return TicketNumber(prefix, number).display


def ticket_id_for(day: date, service: str, number: int) -> TicketId:
    """``20261123-ho-tich-23``: stable, unique per day and origin service (a transfer keeps it)."""
    return TicketId(f"{day.year:04d}{day.month:02d}{day.day:02d}-{service}-{number}")
