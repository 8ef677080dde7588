"""The on-screen keyboard shared by the screens where a citizen types (dossier code, booking code, procedure search,
phone number): keys built once from the view's ``key_rows`` so they never move, each tap handed to the presenter.
Loads keyboard.kv (KeyButton, MessageArea). Holds no flow logic: what a key does is the presenter's."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.factory import Factory
from kivy.properties import BooleanProperty, StringProperty

from .base import KioskScreen, load_kv

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("keyboard")


class KeyboardScreen(KioskScreen):
    """A screen whose .kv holds an empty vertical box (``keyboard_id``) the keys are put in, row by row."""

    keyboard_id = "keyboard"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._built = False
        self.key_buttons: dict[str, Any] = {}

    def press(self, kiosk: Kiosk, key: str) -> None:  # pragma: no cover - every keyboard screen overrides
        raise NotImplementedError

    def shape_key(self, button: Any, key: str) -> None:
        """Hook for a screen whose keys are not all alike (a wide key, a named sign)."""

    def build_keys(self, kiosk: Kiosk, rows: tuple[tuple[str, ...], ...]) -> None:
        """Once per screen: the rows never change, so a key is where it was at the last tap."""
        if self._built:
            return
        from kivy.uix.boxlayout import BoxLayout

        box = self.ids[self.keyboard_id]
        for row in rows:
            line = BoxLayout(orientation="horizontal", spacing=box.spacing)
            for key in row:
                button = Factory.KeyButton(text=key)
                self.shape_key(button, key)
                button.bind(on_release=lambda _b, k=key: self.press(kiosk, k))
                line.add_widget(button)
                self.key_buttons[key] = button
            box.add_widget(line)
        self._built = True


# the view fields behind CodeEntryScreen's own properties
CODE_ENTRY_FIELDS = ("title", "subtitle", "placeholder", "message", "is_problem", "busy", "delete", "clear", "back",
                     "lang_toggle", "mode_mark")


class CodeEntryScreen(KeyboardScreen):
    """A screen where a citizen types one thing (a dossier code, a booking code, a phone number) into a box above
    the keys, with a reserved message area: the texts every such view carries. A screen adds its own."""

    title = StringProperty("")
    subtitle = StringProperty("")
    placeholder = StringProperty("")
    message = StringProperty("")
    is_problem = BooleanProperty(False)
    busy = BooleanProperty(False)
    delete = StringProperty("")
    clear = StringProperty("")
    back = StringProperty("")
    lang_toggle = StringProperty("")
    mode_mark = StringProperty("")
