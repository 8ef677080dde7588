"""Home screen: two large choices (take a number, look up a dossier), the language toggle; renders HomeView."""
from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.properties import StringProperty

from .base import KioskScreen, load_kv

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("home")

FIELDS = ("title", "subtitle", "take_ticket", "take_ticket_hint", "lookup", "lookup_hint", "scan_hint",
          "lang_toggle", "mode_mark", "notice", "face", "help", "help_message", "booking", "booking_hint")


class HomeScreen(KioskScreen):
    center_name = StringProperty("")
    title = StringProperty("")
    subtitle = StringProperty("")
    take_ticket = StringProperty("")
    take_ticket_hint = StringProperty("")
    lookup = StringProperty("")
    lookup_hint = StringProperty("")
    scan_hint = StringProperty("")
    lang_toggle = StringProperty("")
    mode_mark = StringProperty("")
    help = StringProperty("")
    help_message = StringProperty("")
    booking = StringProperty("")
    booking_hint = StringProperty("")
    notice = StringProperty("")
    face = StringProperty("")

    def render(self, kiosk: Kiosk) -> None:
        view = kiosk.home.view()
        self.set_props(self, view, FIELDS)
        self.center_name = view.center


SCREEN = HomeScreen
