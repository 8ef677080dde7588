"""Base class of every kiosk screen: loads its .kv once, renders a presenter view; holds no flow logic."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.lang import Builder
from kivy.uix.screenmanager import Screen

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

_HERE = Path(__file__).resolve().parent
_loaded: set[str] = set()


def load_kv(name: str) -> None:
    """Load screens/<name>.kv once per process (Builder rules are global)."""
    if name in _loaded:
        return
    Builder.load_file(str(_HERE / f"{name}.kv"))
    _loaded.add(name)


load_kv("common")


class KioskScreen(Screen):
    @property
    def kiosk(self) -> Kiosk:
        return App.get_running_app().kiosk  # type: ignore[no-any-return]

    def render(self, kiosk: Kiosk) -> None:  # pragma: no cover - every screen overrides
        raise NotImplementedError

    @staticmethod
    def set_props(widget: Any, view: Any, names: tuple[str, ...]) -> None:
        for name in names:
            setattr(widget, name, getattr(view, name))
