"""Lookup screen: the code box, a keyboard of digits, letters, dot and dash, the camera preview; renders LookupView."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.factory import Factory
from kivy.properties import BooleanProperty, StringProperty

from kiosk.i18n import t

from .base import KioskScreen, load_kv

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("lookup")

FIELDS = ("title", "subtitle", "code", "placeholder", "message", "is_problem", "busy", "delete", "clear", "search",
          "can_search", "camera", "camera_on", "camera_hint", "back", "lang_toggle", "mode_mark")
# Separators get their name beside the sign: a lone "." is too small to find for someone with poor sight.
KEY_FACES = {".": "key.dot", "-": "key.dash"}


class LookupScreen(KioskScreen):
    title = StringProperty("")
    subtitle = StringProperty("")
    code = StringProperty("")
    placeholder = StringProperty("")
    message = StringProperty("")
    is_problem = BooleanProperty(False)
    busy = BooleanProperty(False)
    delete = StringProperty("")
    clear = StringProperty("")
    search = StringProperty("")
    can_search = BooleanProperty(False)
    camera = StringProperty("")
    camera_on = BooleanProperty(False)
    camera_hint = StringProperty("")
    back = StringProperty("")
    lang_toggle = StringProperty("")
    mode_mark = StringProperty("")

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
                if key in KEY_FACES:
                    button.size_hint_x = 2  # wide keys for the two separators every code has
                    button.base_size = button.font_size
                button.bind(on_release=lambda _b, k=key: kiosk.lookup.press(k))
                line.add_widget(button)
                self.key_buttons[key] = button
            box.add_widget(line)
        self._built = True

    def render(self, kiosk: Kiosk) -> None:
        view = kiosk.lookup.view()
        if not self._built:
            self._build_keys(kiosk, view.key_rows)
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
