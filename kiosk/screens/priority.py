"""Priority question screen: "no priority" first, then each configured category; renders PriorityView."""
from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import StringProperty
from kivy.utils import get_color_from_hex

from .base import KioskScreen, load_kv

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("priority")


class PriorityScreen(KioskScreen):
    title = StringProperty("")
    subtitle = StringProperty("")
    service = StringProperty("")
    back = StringProperty("")
    lang_toggle = StringProperty("")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._codes: list[str | None] = []

    def render(self, kiosk: Kiosk) -> None:
        view = kiosk.priority.view()
        self.set_props(self, view, ("title", "subtitle", "service", "back", "lang_toggle"))
        box = self.ids.options
        codes = [o.code for o in view.options]
        if codes != self._codes:
            box.clear_widgets()
            for option in view.options:
                button = Factory.BigButton()
                if option.code is None:
                    button.background_color = get_color_from_hex("#0E6B4F")
                    button.height = max(App.get_running_app().min_target, App.get_running_app().u * 220)
                button.bind(on_release=lambda _b, c=option.code: kiosk.priority.choose(c))
                box.add_widget(button)
            self._codes = codes
        for button, option in zip(reversed(box.children), view.options, strict=True):
            button.text = option.label


SCREEN = PriorityScreen
