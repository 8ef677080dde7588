"""Procedure search screen: what was typed, up to three matching procedures (a tap takes a ticket for its service),
a letter keyboard that never moves (the message and the matches have areas of their own); renders SearchView."""
from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.properties import StringProperty

from .base import load_kv
from .keyboard import KeyboardScreen

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("search")

FIELDS = ("title", "hint", "query", "message", "space", "delete", "back")


class SearchScreen(KeyboardScreen):
    title = StringProperty("")
    hint = StringProperty("")
    query = StringProperty("")
    message = StringProperty("")
    space = StringProperty("")
    delete = StringProperty("")
    back = StringProperty("")

    def press(self, kiosk: Kiosk, key: str) -> None:
        kiosk.services.type_key(key)

    def render(self, kiosk: Kiosk) -> None:
        view = kiosk.services.search_view()
        self.build_keys(kiosk, view.key_rows)
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
