"""Booking check-in screen ("Có lịch hẹn"): the code box, a keyboard of the code's letters and digits, the walk-in
offer when the hub refuses; renders BookingView. Holds no flow logic (kiosk/presenters/booking.py does)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.properties import BooleanProperty, StringProperty

from .base import load_kv
from .keyboard import KeyboardScreen

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("booking")

FIELDS = ("title", "subtitle", "code", "placeholder", "message", "is_problem", "busy", "submit", "can_submit",
          "walk_in", "delete", "clear", "back", "lang_toggle", "mode_mark")


class BookingScreen(KeyboardScreen):
    title = StringProperty("")
    subtitle = StringProperty("")
    code = StringProperty("")
    placeholder = StringProperty("")
    message = StringProperty("")
    is_problem = BooleanProperty(False)
    busy = BooleanProperty(False)
    submit = StringProperty("")
    can_submit = BooleanProperty(False)
    walk_in = StringProperty("")
    delete = StringProperty("")
    clear = StringProperty("")
    back = StringProperty("")
    lang_toggle = StringProperty("")
    mode_mark = StringProperty("")

    def press(self, kiosk: Kiosk, key: str) -> None:
        kiosk.booking.press(key)

    def render(self, kiosk: Kiosk) -> None:
        view = kiosk.booking.view()
        self.build_keys(kiosk, view.key_rows)
        self.set_props(self, view, FIELDS)


SCREEN = BookingScreen
