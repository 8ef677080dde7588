""""Nhắn tin khi sắp đến lượt" screen: the number box, a big phone keypad, the reason a number is not yet right in a
reserved area, then the confirmation; renders ContactView. Holds no flow logic (kiosk/presenters/contact.py does)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.properties import BooleanProperty, StringProperty

from .base import load_kv
from .keyboard import KeyboardScreen

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("contact")

FIELDS = ("title", "subtitle", "number", "placeholder", "message", "is_problem", "busy", "keypad_on", "submit",
          "can_submit", "delete", "clear", "done", "back", "lang_toggle", "mode_mark")


class ContactScreen(KeyboardScreen):
    keyboard_id = "keypad"
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

    def press(self, kiosk: Kiosk, key: str) -> None:
        kiosk.contact.press(key)

    def render(self, kiosk: Kiosk) -> None:
        view = kiosk.contact.view()
        self.build_keys(kiosk, view.key_rows)
        self.set_props(self, view, FIELDS)


SCREEN = ContactScreen
