"""Service grid screen: one large tile per service with waiting count and estimated wait; renders ServiceGridView."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    search = StringProperty("")
    rows = NumericProperty(1)

    cols = NumericProperty(2)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._tiles: dict[str, Any] = {}
        self._view: Any = None
        # Text sizes follow the tile height, so 13 services still fit one screen without clipped names.
        self.ids.grid.bind(row_default_height=lambda *_a: self._fill())

    def render(self, kiosk: Kiosk) -> None:
        view = kiosk.services.view()
        self._view = view
        self.set_props(self, view, ("title", "subtitle", "empty", "back", "lang_toggle", "mode_mark", "search"))
        grid = self.ids.grid
        codes = [tile.code for tile in view.tiles]
        if list(self._tiles) != codes:
            grid.clear_widgets()
            self._tiles = {}
            for code in codes:
                button = Factory.BigButton()
                button.markup = True
                button.size_hint_y = 1  # fill the grid row (whose height fits every tile on one screen)
                button.bind(on_release=lambda _b, c=code: kiosk.services.choose(c))
                grid.add_widget(button)
                self._tiles[code] = button
        landscape = self._app().landscape
        self.cols = (4 if len(codes) > 9 else 3) if landscape else 2
        self.rows = max(1, -(-len(codes) // self.cols))
        self._fill()

    def _fill(self) -> None:
        view = self._view
        if view is None:
            return
        u = self._app().u
        row_h = self.ids.grid.row_default_height
        # a name of up to three lines plus one detail line must fit the tile
        name_px = max(20.0, min(u * 46, row_h * 0.19))
        small = int(max(16.0, min(u * 34, row_h * 0.14)))
        for tile in view.tiles:
            button = self._tiles.get(tile.code)
            if button is None:
                continue
            detail = " · ".join(x for x in (tile.waiting, tile.wait) if x)
            if tile.examples:        # what a first-time citizen recognises: the procedures, not the lĩnh vực
                detail = f"{tile.examples}\n{detail}" if detail else tile.examples
            button.font_size = name_px
            button.text = tile.name + (f"\n[size={small}][b]{detail}[/b][/size]" if detail else "")
            button.disabled = not tile.enabled

    @staticmethod
    def _app() -> Any:
        from kivy.app import App
        return App.get_running_app()


SCREEN = ServicesScreen
