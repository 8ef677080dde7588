"""Booking check-in screen ("Có lịch hẹn"): the code box, a keyboard of the code's letters and digits, the walk-in
offer when the hub refuses; renders BookingView. Holds no flow logic (kiosk/presenters/booking.py does)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.factory import Factory
from kivy.properties import BooleanProperty, StringProperty

from .base import KioskScreen, load_kv

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("lookup")      # KeyButton
load_kv("booking")

FIELDS = ("title", "subtitle", "code", "placeholder", "message", "is_problem", "busy", "submit", "can_submit",
          "walk_in", "delete", "clear", "back", "lang_toggle", "mode_mark")


class BookingScreen(KioskScreen):
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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._built = False

    def _build_keys(self, kiosk: Kiosk, rows: tuple[tuple[str, ...], ...]) -> None:
        from kivy.uix.boxlayout import BoxLayout

        box = self.ids.keyboard
        for row in rows:
            line = BoxLayout(orientation="horizontal", spacing=box.spacing)
            for key in row:
                button = Factory.KeyButton(text=key)
                button.bind(on_release=lambda _b, k=key: kiosk.booking.press(k))
                line.add_widget(button)
            box.add_widget(line)
        self._built = True

    def render(self, kiosk: Kiosk) -> None:
        view = kiosk.booking.view()
        if not self._built:
            self._build_keys(kiosk, view.key_rows)
        self.set_props(self, view, FIELDS)


SCREEN = BookingScreen
