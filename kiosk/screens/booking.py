"""Booking check-in screen ("Có lịch hẹn"): the code box, a keyboard of the code's letters and digits, the walk-in
offer when the hub refuses; renders BookingView. Holds no flow logic (kiosk/presenters/booking.py does)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.properties import BooleanProperty, StringProperty

from .base import load_kv
from .keyboard import CODE_ENTRY_FIELDS, CodeEntryScreen

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("booking")

FIELDS = CODE_ENTRY_FIELDS + ("code", "submit", "can_submit", "walk_in")


class BookingScreen(CodeEntryScreen):
    code = StringProperty("")
    submit = StringProperty("")
    can_submit = BooleanProperty(False)
    walk_in = StringProperty("")

    def press(self, kiosk: Kiosk, key: str) -> None:
        kiosk.booking.press(key)

    def render(self, kiosk: Kiosk) -> None:
        view = kiosk.booking.view()
        self.build_keys(kiosk, view.key_rows)
        self.set_props(self, view, FIELDS)


SCREEN = BookingScreen
