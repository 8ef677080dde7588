"""Ticket confirmation screen: the number in very large type while it prints, or with the printer-failure
sentence, and the optional "Nhắn tin khi sắp đến lượt" button; renders TicketView."""
from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.properties import BooleanProperty, StringProperty

from .base import KioskScreen, load_kv

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("ticket")

FIELDS = ("heading", "number", "service", "message", "ahead", "wait", "done", "is_problem", "busy",
          "lang_toggle", "mode_mark", "notify", "notify_space")


class TicketScreen(KioskScreen):
    heading = StringProperty("")
    number = StringProperty("")
    service = StringProperty("")
    message = StringProperty("")
    ahead = StringProperty("")
    wait = StringProperty("")
    done = StringProperty("")
    is_problem = BooleanProperty(False)
    busy = BooleanProperty(False)
    lang_toggle = StringProperty("")
    mode_mark = StringProperty("")
    notify = StringProperty("")
    notify_space = BooleanProperty(False)

    def render(self, kiosk: Kiosk) -> None:
        self.set_props(self, kiosk.take.view(), FIELDS)


SCREEN = TicketScreen
