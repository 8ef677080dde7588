"""Service grid (with waiting counts and estimated waits) and the priority question; no Kivy import."""
from __future__ import annotations

from dataclasses import dataclass

from kiosk.i18n import pick, t

from .catalog import Catalog
from .context import PriorityContext, ServiceGridContext
from .ports import Outcome


@dataclass(frozen=True, slots=True)
class ServiceTile:
    code: str
    name: str
    prefix: str
    waiting: str
    wait: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class ServiceGridView:
    title: str
    subtitle: str
    tiles: tuple[ServiceTile, ...]
    empty: str
    back: str
    lang_toggle: str
    mode_mark: str


class ServiceGridPresenter:
    def __init__(self, ctx: ServiceGridContext) -> None:
        self.ctx = ctx
        self.k = ctx.shell
        self.chosen: str | None = None

    def clear(self) -> None:
        self.chosen = None

    def enter(self) -> None:
        """Show the grid at once from what is known, then refresh the counts in the background."""
        self.chosen = None
        self.k.go("services")
        self.k.run(self.ctx.refresh_catalog, self._refreshed)

    def _refreshed(self, outcome: Outcome[Catalog]) -> None:
        if outcome.value is None:
            return
        self.k.catalog = outcome.value
        if self.k.screen == "services" and outcome.value.all_closed:
            self.k.go("closed")
            return
        self.k.changed()

    def view(self) -> ServiceGridView:
        k, lang = self.k, self.k.lang
        tiles = []
        for s in k.catalog.services:
            if not s.accepting:
                waiting, wait = t("services.closed", lang), ""
            else:
                if s.waiting is None:
                    waiting = ""
                elif s.waiting == 0:
                    waiting = t("services.waiting.none", lang)
                else:
                    waiting = t("services.waiting", lang, n=s.waiting)
                wait = (t("services.wait", lang, min=s.estimated_wait_min)
                        if s.estimated_wait_min and s.waiting else "")
            tiles.append(ServiceTile(s.code, pick(s.name, s.name_en, lang), s.prefix, waiting, wait, s.accepting))
        return ServiceGridView(t("services.title", lang), t("services.subtitle", lang), tuple(tiles),
                               t("services.empty", lang) if not tiles else "", t("nav.back", lang),
                               t("lang.toggle", lang), k.mode_mark())

    def choose(self, code: str) -> None:
        if not self.k.tap():
            return
        service = self.k.catalog.service(code)
        if service is None or not service.accepting:
            return  # a disabled tile: nothing happens, the tile already says why
        self.chosen = code
        if self.k.catalog.priorities:
            self.k.go("priority")
        else:
            self.ctx.start_ticket(code, None)

    def back(self) -> None:
        if not self.k.tap():
            return
        self.k.reset()


@dataclass(frozen=True, slots=True)
class PriorityOption:
    code: str | None
    label: str


@dataclass(frozen=True, slots=True)
class PriorityView:
    title: str
    subtitle: str
    service: str
    options: tuple[PriorityOption, ...]   # the "no priority" choice first: it is the common answer
    back: str
    lang_toggle: str


class PriorityPresenter:
    def __init__(self, ctx: PriorityContext) -> None:
        self.ctx = ctx
        self.k = ctx.shell

    def view(self) -> PriorityView:
        k, lang = self.k, self.k.lang
        service = k.catalog.service(self.ctx.chosen_service() or "")
        options = [PriorityOption(None, t("priority.none", lang))]
        options += [PriorityOption(p.code, pick(p.label, p.label_en, lang)) for p in k.catalog.priorities]
        return PriorityView(t("priority.title", lang), t("priority.subtitle", lang),
                            pick(service.name, service.name_en, lang) if service else "", tuple(options),
                            t("nav.back", lang), t("lang.toggle", lang))

    def choose(self, code: str | None) -> None:
        if not self.k.tap():
            return
        service = self.ctx.chosen_service()
        if service is None:
            self.k.reset()
            return
        if code is not None and self.k.catalog.priority(code) is None:
            return
        self.ctx.start_ticket(service, code)

    def back(self) -> None:
        if not self.k.tap():
            return
        self.k.go("services")
