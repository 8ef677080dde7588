"""Lookup screen: the code box, a keyboard of digits, letters, dot and dash, the camera preview; renders LookupView."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.properties import BooleanProperty, StringProperty

from kiosk.i18n import t

from .base import load_kv
from .keyboard import CODE_ENTRY_FIELDS, CodeEntryScreen

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("lookup")

FIELDS = CODE_ENTRY_FIELDS + ("code", "search", "can_search", "camera", "camera_on", "camera_hint")
# Separators get their name beside the sign: a lone "." is too small to find for someone with poor sight.
KEY_FACES = {".": "key.dot", "-": "key.dash"}


class LookupScreen(CodeEntryScreen):
    code = StringProperty("")
    search = StringProperty("")
    can_search = BooleanProperty(False)
    camera = StringProperty("")
    camera_on = BooleanProperty(False)
    camera_hint = StringProperty("")

    def press(self, kiosk: Kiosk, key: str) -> None:
        kiosk.lookup.press(key)

    def shape_key(self, button: Any, key: str) -> None:
        if key in KEY_FACES:
            button.size_hint_x = 2  # wide keys for the two separators every code has
            button.base_size = button.font_size

    def render(self, kiosk: Kiosk) -> None:
        view = kiosk.lookup.view()
        self.build_keys(kiosk, view.key_rows)
        self.set_props(self, view, FIELDS)
        for key, name in KEY_FACES.items():
            button = self.key_buttons[key]
            # one line: the sign large, its name small beside it (a key is never tall enough for two lines)
            big, small = int(button.base_size * 1.2), int(button.base_size * 0.62)
            button.text = f"[size={big}]{key}[/size]  [size={small}]{t(name, kiosk.lang)}[/size]"

    def show_frame(self, texture: Any) -> None:
        """The camera feed hands each preview frame here (UI thread)."""
        self.ids.preview.texture = texture


SCREEN = LookupScreen
