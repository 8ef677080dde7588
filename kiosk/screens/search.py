"""Procedure search screen: what was typed, up to three matching procedures (a tap takes a ticket for its service),
a letter keyboard that never moves (the message and the matches have areas of their own); renders SearchView."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.factory import Factory
from kivy.properties import StringProperty

from .base import KioskScreen, load_kv

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("search")

FIELDS = ("title", "hint", "query", "message", "space", "delete", "back")


class SearchScreen(KioskScreen):
    title = StringProperty("")
    hint = StringProperty("")
    query = StringProperty("")
    message = StringProperty("")
    space = StringProperty("")
    delete = StringProperty("")
    back = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._built = False
        self.key_buttons: dict[str, Any] = {}

    def _build_keys(self, kiosk: Kiosk, rows: tuple[tuple[str, ...], ...]) -> None:
        from kivy.uix.boxlayout import BoxLayout

        box = self.ids.keyboard
        for row in rows:
            line = BoxLayout(orientation="horizontal", spacing=box.spacing)
            for key in row:
                button = Factory.KeyButton(text=key)
                button.bind(on_release=lambda _b, k=key: kiosk.services.type_key(k))
                line.add_widget(button)
                self.key_buttons[key] = button
            box.add_widget(line)
        self._built = True

    def render(self, kiosk: Kiosk) -> None:
        view = kiosk.services.search_view()
        if not self._built:
            self._build_keys(kiosk, view.key_rows)
        self.set_props(self, view, FIELDS)
        slots = self.ids.matches.children[::-1]          # fixed slots: the layout never changes height
        for i, slot in enumerate(slots):
            if i < len(view.matches):
                label, code = view.matches[i]
                slot.text, slot.opacity, slot.disabled = label, 1, False
                slot.code = code
            else:
                slot.text, slot.opacity, slot.disabled = "", 0, True


SCREEN = SearchScreen
