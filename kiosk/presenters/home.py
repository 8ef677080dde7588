"""Home screen (two large choices) and the out-of-hours screen; no Kivy import."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from kiosk.i18n import Lang, pick, t

from .catalog import day_name, format_hours
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
    booking: str = ""            # empty: the center takes no bookings (no button)
    booking_hint: str = ""
    help: str = ""              # the "Cần hỗ trợ" button
    help_message: str = ""      # what happened to the request (staff are told / cannot reach the server)
    notice: str = ""          # a printer that cannot print says so here, before anyone taps
    face: str = ""          # issue 15: "Tra cứu bằng khuôn mặt" only where the kiosk has a face presenter


class HomePresenter:
    def __init__(self, ctx: HomeContext) -> None:
        self.ctx = ctx
        self.k = ctx.shell
        self.help_state: str | None = None        # None, "asking", "asked", "refused", "failed"

    def ask_help(self) -> None:
        """Cần hỗ trợ: tell the staff (consoles and board) which kiosk needs someone; say so on screen."""
        if not self.k.tap() or self.help_state == "asking" or self.ctx.ask_help is None:
            return
        self.help_state = "asking"
        self.k.changed()
        self.k.run(self.ctx.ask_help, self._helped)

    def _helped(self, outcome: Any) -> None:
        error = outcome.error
        if error is None:
            self.help_state = "asked"
        elif getattr(error, "status", None) == 429:
            # pressed again and again: the first press reached the staff (the hub keeps one request per kiosk)
            self.help_state = "asked"
        elif getattr(error, "status", None) is not None:
            # the hub answered but refused (e.g. this kiosk is not in the center's config): the server is there,
            # so "cannot connect" would send the IT admin looking at the network
            self.help_state = "refused"
        else:
            self.help_state = "failed"
        self.k.changed()

    def view(self) -> HomeView:
        k, lang = self.k, self.k.lang
        return HomeView(
            center=pick(k.catalog.center_name, k.catalog.center_name_en, lang),
            title=t("home.title", lang), subtitle=t("home.subtitle", lang),
            take_ticket=t("home.take_ticket", lang), take_ticket_hint=t("home.take_ticket.hint", lang),
            lookup=t("home.lookup", lang), lookup_hint=t("home.lookup.hint", lang),
            scan_hint=t("home.scan_hint", lang), lang_toggle=t("lang.toggle", lang), mode_mark=k.mode_mark(),
            booking=t("home.booking", lang) if k.catalog.bookings else "",
            booking_hint=t("home.booking.hint", lang) if k.catalog.bookings else "",
            notice=self._notice(), face=t("home.face", lang) if self.ctx.face_offered() else "",
            help=t("home.help", lang),
            help_message=t(f"home.help.{self.help_state}", lang) if self.help_state else "")

    def _notice(self) -> str:
        fault = self.ctx.printer_fault()
        if fault is None:
            return ""
        lang = self.k.lang
        if self.ctx.paper_tickets_paused():
            return t("printer.paused.home", lang, fault=fault_text(fault, lang))
        return t("printer.screen_only.home", lang)

    def take_ticket(self) -> None:
        if not self.k.tap():
            return
        if self.k.catalog.all_closed or self._closed_while_offline() or self.ctx.paper_tickets_paused():
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

    def booking(self) -> None:
        if not self.k.catalog.bookings or not self.k.tap():
            return
        self.ctx.open_booking()

    def face(self) -> None:
        self.ctx.open_face()


@dataclass(frozen=True, slots=True)
class ClosedView:
    title: str
    body: str
    hours: str
    lookup_hint: str
    lookup: str
    home: str
    lang_toggle: str


def fault_text(fault: str, lang: Lang) -> str:
    key = f"printer.fault.{fault}"
    return t(key if fault in ("paper_out", "cover_open", "offline") else "printer.fault.other", lang)


class ClosedPresenter:
    """No tickets now: outside ticket hours (the hours shown), or a printer that cannot print (why, and that it
    resumes by itself); the dossier lookup is still offered either way."""

    def __init__(self, ctx: ClosedContext) -> None:
        self.ctx = ctx
        self.k = ctx.shell

    def view(self) -> ClosedView:
        lang = self.k.lang
        fault = self.ctx.printer_fault()
        if fault is not None and self.ctx.paper_tickets_paused() and not self.k.catalog.all_closed:
            return ClosedView(
                title=t("printer.paused.title", lang), body=t("printer.paused.body", lang, fault=fault_text(fault, lang)),
                hours="", lookup_hint=t("closed.lookup", lang), lookup=t("home.lookup", lang), home=t("nav.home", lang),
                lang_toggle=t("lang.toggle", lang))
        hours = format_hours(self.k.catalog.working_hours, lang)
        return ClosedView(
            title=t("closed.title", lang), body=self._when_open(lang),
            hours=t("closed.hours", lang, hours=hours) if hours else "",
            lookup_hint=t("closed.lookup", lang), lookup=t("home.lookup", lang), home=t("nav.home", lang),
            lang_toggle=t("lang.toggle", lang))

    def _when_open(self, lang: Lang) -> str:
        """"Come back during working hours", or — the hours and calendar known — when numbers are issued again
        (a citizen at the door on Saturday or on a holiday reads Monday 07:30, not a weekday list to decode)."""
        now = self.ctx.wall_clock() if self.ctx.wall_clock is not None else None
        opens = self.k.catalog.next_opening(now) if now is not None else None
        if now is None or opens is None:
            return t("closed.body", lang)
        day = f"{day_name(opens, lang)}, {opens:%d/%m/%Y}"
        if opens.date() == now.date():
            when = t("closed.next.today", lang, at=f"{opens:%H:%M}")
        elif opens.date() == now.date() + timedelta(days=1):
            when = t("closed.next.tomorrow", lang, at=f"{opens:%H:%M}", day=day)
        else:
            when = t("closed.next.day", lang, at=f"{opens:%H:%M}", day=day)
        return f"{t('closed.day_off', lang)} {when}" if self.k.catalog.day_off(now) else when

    def lookup(self) -> None:
        if not self.k.tap():
            return
        self.ctx.open_lookup()
