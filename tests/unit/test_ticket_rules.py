"""Ticket id and display rules live once in contracts.tickets: the hub's domain and the kiosk's offline desk use
the same functions, so a ticket issued offline has the id and number the hub gives it when handed in."""
from __future__ import annotations

from datetime import date

import pytest

from contracts import tickets
from kiosk import offline
from queue_server.domain import model

pytestmark = pytest.mark.unit


def test_display_rule_pads_to_three_digits_and_grows_past_999() -> None:
    assert tickets.TicketNumber("A", 23).display == "A023"
    assert tickets.display_number("BC", 7) == "BC007"
    assert tickets.display_number("A", 1000) == "A1000"


def test_the_kiosk_offline_id_is_the_hub_id() -> None:
    assert offline.offline_ticket_id("2026-11-23", "ho-tich", 23) == "20261123-ho-tich-23"
    assert offline.offline_ticket_id("2026-11-23", "ho-tich", 23) == model.ticket_id_for(date(2026, 11, 23),
                                                                                          "ho-tich", 23)


def test_one_definition_each() -> None:
    assert model.TicketNumber is tickets.TicketNumber and model.ticket_id_for is tickets.ticket_id_for
    assert offline.display_number is tickets.display_number
    assert tickets.PREFIX_PATTERN.match("A") and tickets.PREFIX_PATTERN.match("AB")
    assert not tickets.PREFIX_PATTERN.match("a") and not tickets.PREFIX_PATTERN.match("ABC")
    for number in (1, 23, 999, 1000, 9999):
        assert tickets.DISPLAY_PATTERN.match(tickets.display_number("AB", number))
