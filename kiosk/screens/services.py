"""Service grid screen: one large tile per service with waiting count and estimated wait; renders ServiceGridView."""
from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.factory import Factory
from kivy.properties import NumericProperty, StringProperty

from .base import KioskScreen, load_kv

if TYPE_CHECKING:
    from kiosk.presenters import Kiosk

load_kv("services")


class ServicesScreen(KioskScreen):
    title = StringProperty("")
    subtitle = StringProperty("")
    empty = StringProperty("")
    back = StringProperty("")
    lang_toggle = StringProperty("")
    mode_mark = StringProperty("")
    rows = NumericProperty(1)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._tiles: dict[str, object] = {}

    def render(self, kiosk: Kiosk) -> None:
        view = kiosk.services.view()
        self.set_props(self, view, ("title", "subtitle", "empty", "back", "lang_toggle", "mode_mark"))
        grid = self.ids.grid
        codes = [tile.code for tile in view.tiles]
        if list(self._tiles) != codes:
            grid.clear_widgets()
            self._tiles = {}
            for code in codes:
                button = Factory.BigButton()
                button.markup = True
                button.font_size = self._app().u * 46
                button.size_hint_y = 1  # fill the grid row (whose height fits every tile on one screen)
                button.bind(on_release=lambda _b, c=code: kiosk.services.choose(c))
                grid.add_widget(button)
                self._tiles[code] = button
        cols = 3 if self._app().landscape else 2
        self.rows = max(1, -(-len(codes) // cols))
        u = self._app().u
        for tile in view.tiles:
            button = self._tiles[tile.code]
            small = int(u * 34)
            extra = "\n".join(x for x in (tile.waiting, tile.wait) if x)
            button.text = f"{tile.name}" + (f"\n[size={small}][b]{extra}[/b][/size]" if extra else "")
            button.disabled = not tile.enabled

    @staticmethod
    def _app():
        from kivy.app import App
        return App.get_running_app()


SCREEN = ServicesScreen
