"""Take a ticket: issue (hub or lease) → show the number large while it prints → confirm, or say the printer failed.

A failed print still shows the number, with a clear sentence, and tells the hub ``printed: false`` so the queue
never holds a phantom ticket nobody knows about (DOMAIN.md). No Kivy import.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from contracts.messages import VN_TZ
from contracts.wait_text import wait_range_text
from kiosk.hub_client import HubError
from kiosk.i18n import error_text, pick, t
from kiosk.offline import IssuedTicket, NoOfflineNumbers

from .context import TicketContext
from .ports import Outcome, PrintJob

log = logging.getLogger(__name__)

# idle → issuing → printing → printed | print_failed ; issuing → failed
STATES = ("idle", "issuing", "printing", "printed", "print_failed", "failed")


@dataclass(frozen=True, slots=True)
class TicketView:
    state: str
    heading: str
    number: str
    service: str
    message: str
    ahead: str
    wait: str
    done: str
    is_problem: bool
    busy: bool
    lang_toggle: str
    mode_mark: str
    notify: str = ""          # "Nhắn tin khi sắp đến lượt" once the paper is out; empty: no button
    notify_space: bool = False    # the button's place is kept while the ticket prints, so "Xong" never moves


class TakeTicketPresenter:
    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx
        self.k = ctx.shell
        self.state = "idle"
        self.ticket: IssuedTicket | None = None
        self.error_code: str | None = None
        self.fault: str | None = None
        self.service: str | None = None
        self.priority: str | None = None

    @property
    def busy(self) -> bool:
        return self.state in ("issuing", "printing")

    def clear(self) -> None:
        self.state, self.ticket, self.error_code, self.fault = "idle", None, None, None
        self.service = self.priority = None

    def start(self, service: str, priority: str | None, issue: Callable[[], IssuedTicket] | None = None) -> None:
        """``issue``: how the ticket comes (default: the desk issues a walk-in ticket; a booking's check-in passes
        the hub's answer) — shown, printed and reported the same way."""
        if self.busy:
            return  # one ticket per tap, however many taps
        self.clear()
        self.service, self.priority = service, priority
        self.state = "issuing"
        self.k.go("ticket")
        holder: list[IssuedTicket] = []
        post = self.ctx.poster()

        def issue_and_print() -> tuple[bool, str | None]:
            # One worker does both, so the paper never waits for a screen frame (the number is shown in
            # parallel); the printer gets its bytes as soon as the hub has answered.
            ticket = issue() if issue is not None else self.ctx.desk.issue(service, priority)
            holder.append(ticket)
            post(lambda: self._show_issued(ticket))
            return self._print_and_report(ticket)

        self.k.run(issue_and_print, lambda o: self._finished(o, holder))

    def _show_issued(self, ticket: IssuedTicket) -> None:
        self.ticket = ticket
        self.state = "printing"
        self.k.changed()

    def _finished(self, outcome: Outcome[tuple[bool, str | None]], holder: list[IssuedTicket]) -> None:
        err = outcome.error
        if err is not None and not holder:
            self._issue_failed(err)
            return
        self.ticket = holder[0]
        if err is not None:  # printing blew up after the ticket was issued: a print failure, never a lost number
            log.error("print step failed for %s: %r", self.ticket.number, err)
            outcome = type(outcome)(value=(False, f"exception: {err}"))
        self._printed(outcome)

    def _issue_failed(self, err: BaseException) -> None:
        self.state = "failed"
        if isinstance(err, HubError):
            self.error_code = err.code
            if err.code == "service_closed":
                self.state = "idle"
                self.k.go("closed")
                return
        elif isinstance(err, NoOfflineNumbers):
            self.error_code = "no_offline_numbers"
        else:
            log.error("issuing failed: %r", err)
            self.error_code = "generic"
        self.k.changed()

    def _job(self, ticket: IssuedTicket) -> PrintJob:
        catalog = self.k.catalog
        service = catalog.service(ticket.service)
        prio = catalog.priority(ticket.priority)
        url = ticket.tracking_url or f"/t/{ticket.id}"
        if url.startswith("/"):
            url = self.k.behaviour.public_base_url.rstrip("/") + url
        try:
            at = datetime.fromisoformat(ticket.issued_at)
        except ValueError:
            at = datetime.now(VN_TZ)
        # The paper is always Vietnamese first: it is read later, maybe by someone else.
        return PrintJob(ticket=ticket, center_name=catalog.center_name,
                        service_name=service.name if service else ticket.service,
                        priority_label=prio.label if prio else None, tracking_url=url, issued_at=at)

    def _print_and_report(self, ticket: IssuedTicket) -> tuple[bool, str | None]:
        try:
            report = self.ctx.printer.print_job(self._job(ticket))
            printed, fault = bool(report.printed), report.fault
        except Exception as err:
            log.exception("printer raised for %s", ticket.number)
            printed, fault = False, f"exception: {err}"
        self.ctx.desk.report_print(ticket, printed, fault)
        return printed, fault

    def _printed(self, outcome: Outcome[tuple[bool, str | None]]) -> None:
        printed, fault = outcome.value if outcome.value is not None else (False, str(outcome.error))
        self.fault = fault
        self.state = "printed" if printed else "print_failed"
        self.k.touch()  # the short confirmation timer starts when the paper is out
        self.k.changed()

    def done(self) -> None:
        if self.busy or not self.k.tap():
            return
        self.k.reset()

    def notify_offered(self) -> bool:
        return (self.state in ("printed", "print_failed") and self.ticket is not None
                and self.ctx.notify_offered(self.ticket))

    def notify(self) -> None:
        """"Nhắn tin khi sắp đến lượt": the optional keypad for a mobile number (the contact presenter taps)."""
        if self.notify_offered():
            self.ctx.open_contact()

    def view(self) -> TicketView:
        k, lang, tk = self.k, self.k.lang, self.ticket
        service = k.catalog.service(tk.service if tk else (self.service or ""))
        service_name = pick(service.name, service.name_en, lang) if service else (self.service or "")
        message, ahead, wait = "", "", ""
        if self.state == "issuing":
            message = t("ticket.issuing", lang)
        elif self.state == "printing":
            message = t("ticket.printing", lang)
        elif self.state == "printed":
            message = t("ticket.printed", lang)
        elif self.state == "print_failed":
            message = t("ticket.print_failed", lang)
        elif self.state == "failed":
            message = error_text(self.error_code or "generic", lang)
        if tk is not None and self.state in ("printing", "printed", "print_failed"):
            if tk.ahead is not None:
                # "sớm" only when a counter serves it now; otherwise just that nobody is ahead
                none = "ticket.ahead.none" if tk.wait_served is not False else "ticket.ahead.nobody"
                ahead = t("ticket.ahead", lang, n=tk.ahead) if tk.ahead else t(none, lang)
            if tk.wait_high_min is not None or tk.wait_served is False:
                wait = t("ticket.wait_range", lang,
                         range=wait_range_text(tk.wait_low_min, tk.wait_high_min, tk.wait_served, lang,
                                               tk.wait_past_close))
            elif tk.estimated_wait_min:
                wait = t("ticket.wait", lang, min=tk.estimated_wait_min)
        return TicketView(
            state=self.state, heading=t("ticket.your_number", lang) if tk else "",
            number=tk.number if tk else "", service=t("ticket.service", lang, name=service_name) if service_name else "",
            message=message, ahead=ahead, wait=wait,
            done=t("ticket.done", lang) if self.state in ("printed", "print_failed") else t("nav.home", lang),
            is_problem=self.state in ("print_failed", "failed"), busy=self.busy,
            lang_toggle=t("lang.toggle", lang), mode_mark=k.mode_mark(),
            notify=t("ticket.notify", lang) if self.notify_offered() else "",
            notify_space=tk is not None and not tk.offline and k.catalog.notify_phone)
