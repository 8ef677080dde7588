"""Face lookup screen: camera preview with a face guide, the challenge prompt, the dossiers found, the fallback
and withdrawal buttons; renders FaceView. All decisions are in kiosk/presenters/face.py."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.properties import BooleanProperty, StringProperty

from kiosk.i18n import t

from .base import KioskScreen, load_kv

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("face")

FIELDS = ("title", "prompt", "is_problem", "show_preview", "primary", "secondary", "withdraw", "back")


class FaceScreen(KioskScreen):
    title = StringProperty("")
    prompt = StringProperty("")
    is_problem = BooleanProperty(False)
    show_preview = BooleanProperty(False)
    dossier_text = StringProperty("")
    primary = StringProperty("")
    secondary = StringProperty("")
    withdraw = StringProperty("")
    back = StringProperty("")
    lang_toggle = StringProperty("")
    state = StringProperty("")

    def render(self, kiosk: Kiosk) -> None:
        if kiosk.face is None:
            return
        view = kiosk.face.view()
        self.set_props(self, view, FIELDS)
        self.state = view.state
        self.dossier_text = ("\n\n" if view.state == "consent" else "\n").join(view.dossiers)
        self.lang_toggle = t("lang.toggle", kiosk.lang)

    def show_frame(self, texture: Any) -> None:
        self.ids.preview.texture = texture


SCREEN = FaceScreen
