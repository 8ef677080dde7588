"""Home screen: two large choices (take a number, look up a dossier), the language toggle; renders HomeView."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

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

    _extras: BoxLayout | None = None

    def on_kv_post(self, base_widget: Any) -> None:
        app = App.get_running_app()
        if app is None or not getattr(app, "landscape", False):
            return
        # Landscape: the booking and face buttons go in a third column beside the two big choices; stacked under
        # them, as in portrait, they push the top bar out of a 1080-px-high window.
        column = BoxLayout(orientation="vertical", spacing=app.u * 28)
        for button in (self.ids.booking, self.ids.face):
            button.parent.remove_widget(button)
            column.add_widget(button)
        self._extras = column
        self.bind(face=self._place_extras, booking=self._place_extras)
        self._place_extras()

    def _place_extras(self, *_args: Any) -> None:
        """The third column only while there is something in it (the hub says whether it takes bookings)."""
        column, row = self._extras, self.ids.choices
        if column is None:
            return
        shown = bool(self.face or self.booking)
        app = App.get_running_app()
        column.spacing = app.u * 28 if (self.face and self.booking) else 0    # no gap above a lone button
        for button, text in ((self.ids.booking, self.booking), (self.ids.face, self.face)):
            button.size_hint_y = 1 if text else None      # the shown ones share the column's height
        if shown and column.parent is None:
            row.add_widget(column)              # after the two big choices
        elif not shown and column.parent is not None:
            row.remove_widget(column)

    def render(self, kiosk: Kiosk) -> None:
        view = kiosk.home.view()
        self.set_props(self, view, FIELDS)
        self.center_name = view.center


SCREEN = HomeScreen
