""""Nhắn tin khi sắp đến lượt" screen: the number box, a big phone keypad, the reason a number is not yet right in a
reserved area, then the confirmation; renders ContactView. Holds no flow logic (kiosk/presenters/contact.py does)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.factory import Factory
from kivy.properties import BooleanProperty, StringProperty

from .base import KioskScreen, load_kv

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("lookup")      # KeyButton
load_kv("contact")

FIELDS = ("title", "subtitle", "number", "placeholder", "message", "is_problem", "busy", "keypad_on", "submit",
          "can_submit", "delete", "clear", "done", "back", "lang_toggle", "mode_mark")


class ContactScreen(KioskScreen):
    title = StringProperty("")
    subtitle = StringProperty("")
    number = StringProperty("")
    placeholder = StringProperty("")
    message = StringProperty("")
    is_problem = BooleanProperty(False)
    busy = BooleanProperty(False)
    keypad_on = BooleanProperty(True)
    submit = StringProperty("")
    can_submit = BooleanProperty(False)
    delete = StringProperty("")
    clear = StringProperty("")
    done = StringProperty("")
    back = StringProperty("")
    lang_toggle = StringProperty("")
    mode_mark = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._built = False
        self.key_buttons: dict[str, Any] = {}

    def _build_keys(self, kiosk: Kiosk, rows: tuple[tuple[str, ...], ...]) -> None:
        from kivy.uix.boxlayout import BoxLayout

        box = self.ids.keypad
        for row in rows:
            line = BoxLayout(orientation="horizontal", spacing=box.spacing)
            for key in row:
                button = Factory.KeyButton(text=key)
                button.bind(on_release=lambda _b, k=key: kiosk.contact.press(k))
                line.add_widget(button)
                self.key_buttons[key] = button
            box.add_widget(line)
        self._built = True

    def render(self, kiosk: Kiosk) -> None:
        view = kiosk.contact.view()
        if not self._built:
            self._build_keys(kiosk, view.key_rows)
        self.set_props(self, view, FIELDS)


SCREEN = ContactScreen
