"""Result screen: the status words in a large band, dates, warnings, masked name and freshness; renders ResultView."""
from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.factory import Factory
from kivy.properties import StringProperty

from .base import KioskScreen, load_kv

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("result")


class ResultScreen(KioskScreen):
    title = StringProperty("")
    code = StringProperty("")
    status = StringProperty("")
    freshness = StringProperty("")
    again = StringProperty("")
    home = StringProperty("")
    lang_toggle = StringProperty("")
    collect = StringProperty("")
    face_enrol = StringProperty("")          # issue 15: "" unless the kiosk offers face enrolment

    def render(self, kiosk: Kiosk) -> None:
        view = kiosk.result.view()
        self.set_props(self, view, ("title", "code", "status", "freshness", "again", "home", "lang_toggle",
                                    "collect"))
        self.face_enrol = kiosk.face.enrol_offer() if kiosk.face is not None else ""
        warnings, lines = self.ids.warnings, self.ids.lines
        warnings.clear_widgets()
        for text in view.warnings:
            label = Factory.ProblemLabel(text=text)
            label.font_size = label.font_size * 1.1
            warnings.add_widget(label)
        lines.clear_widgets()
        for text in view.lines:
            label = Factory.KLabel(text=text)
            label.font_size = label.font_size * 1.1
            lines.add_widget(label)


SCREEN = ResultScreen
