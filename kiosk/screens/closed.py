"""Out-of-hours screen: no numbers now, the working hours, and the lookup still offered; renders ClosedView."""
from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.properties import StringProperty

from .base import KioskScreen, load_kv

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("closed")


class ClosedScreen(KioskScreen):
    title = StringProperty("")
    body = StringProperty("")
    hours = StringProperty("")
    lookup_hint = StringProperty("")
    lookup = StringProperty("")
    home = StringProperty("")
    lang_toggle = StringProperty("")

    def render(self, kiosk: Kiosk) -> None:
        self.set_props(self, kiosk.closed.view(), ("title", "body", "hours", "lookup_hint", "lookup", "home",
                                                    "lang_toggle"))


SCREEN = ClosedScreen
