"""Home screen (two large choices) and the out-of-hours screen; no Kivy import."""
from __future__ import annotations

from dataclasses import dataclass

from kiosk.i18n import pick, t

from .catalog import format_hours
from .context import ClosedContext, HomeContext


@dataclass(frozen=True, slots=True)
class HomeView:
    center: str
    title: str
    subtitle: str
    take_ticket: str
    take_ticket_hint: str
    lookup: str
    lookup_hint: str
    scan_hint: str
    lang_toggle: str
    mode_mark: str


class HomePresenter:
    def __init__(self, ctx: HomeContext) -> None:
        self.ctx = ctx
        self.k = ctx.shell

    def view(self) -> HomeView:
        k, lang = self.k, self.k.lang
        return HomeView(
            center=pick(k.catalog.center_name, k.catalog.center_name_en, lang),
            title=t("home.title", lang), subtitle=t("home.subtitle", lang),
            take_ticket=t("home.take_ticket", lang), take_ticket_hint=t("home.take_ticket.hint", lang),
            lookup=t("home.lookup", lang), lookup_hint=t("home.lookup.hint", lang),
            scan_hint=t("home.scan_hint", lang), lang_toggle=t("lang.toggle", lang), mode_mark=k.mode_mark())

    def take_ticket(self) -> None:
        if not self.k.tap():
            return
        if self.k.catalog.all_closed or self._closed_while_offline():
            self.k.go("closed")
            return
        self.ctx.open_services()

    def _closed_while_offline(self) -> bool:
        # The hub decides opening hours; while it is unreachable the kiosk must not hand out leased numbers at
        # night, so it applies the last hours it heard of.
        return self.ctx.desk_mode() == "offline" and self.k.catalog.open_at(self.ctx.wall_clock()) is False

    def lookup(self) -> None:
        if not self.k.tap():
            return
        self.ctx.open_lookup()


@dataclass(frozen=True, slots=True)
class ClosedView:
    title: str
    body: str
    hours: str
    lookup_hint: str
    lookup: str
    home: str
    lang_toggle: str


class ClosedPresenter:
    """Outside ticket hours: say so plainly, show the hours, and still offer the dossier lookup."""

    def __init__(self, ctx: ClosedContext) -> None:
        self.ctx = ctx
        self.k = ctx.shell

    def view(self) -> ClosedView:
        lang = self.k.lang
        hours = format_hours(self.k.catalog.working_hours, lang)
        return ClosedView(
            title=t("closed.title", lang), body=t("closed.body", lang),
            hours=t("closed.hours", lang, hours=hours) if hours else "",
            lookup_hint=t("closed.lookup", lang), lookup=t("home.lookup", lang), home=t("nav.home", lang),
            lang_toggle=t("lang.toggle", lang))

    def lookup(self) -> None:
        if not self.k.tap():
            return
        self.ctx.open_lookup()
