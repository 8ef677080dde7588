""""Nhắn tin khi sắp đến lượt" screen: the number box, a big phone keypad, the reason a number is not yet right in a
reserved area, then the confirmation; renders ContactView. Holds no flow logic (kiosk/presenters/contact.py does)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.properties import BooleanProperty, StringProperty

from .base import load_kv
from .keyboard import CODE_ENTRY_FIELDS, CodeEntryScreen

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("contact")

FIELDS = CODE_ENTRY_FIELDS + ("number", "keypad_on", "submit", "can_submit", "done")


class ContactScreen(CodeEntryScreen):
    keyboard_id = "keypad"
    number = StringProperty("")
    keypad_on = BooleanProperty(True)
    submit = StringProperty("")
    can_submit = BooleanProperty(False)
    done = StringProperty("")

    def press(self, kiosk: Kiosk, key: str) -> None:
        kiosk.contact.press(key)

    def render(self, kiosk: Kiosk) -> None:
        view = kiosk.contact.view()
        self.build_keys(kiosk, view.key_rows)
        self.set_props(self, view, FIELDS)


SCREEN = ContactScreen
