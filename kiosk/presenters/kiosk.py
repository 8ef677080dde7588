"""The kiosk's root presenter: which screen is up, the language, idle reset, the tap guard, scans from anywhere.

Holds every decision of the lobby kiosk and no Kivy import, so each flow is tested without a window. Screens
subscribe with ``kiosk.subscribe(fn)``; after any change ``fn(kiosk)`` is called on the UI thread and the screen
reads the ``view()`` of its presenter. Background work goes through a Runner; work that finishes after the
kiosk was reset (the citizen walked away) is dropped by comparing generations.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from contracts.messages import VN_TZ
from kiosk.i18n import Lang, other, t

from .booking import BookingPresenter, is_booking_scan
from .catalog import Catalog
from .contact import ContactPresenter
from .context import (
    BookingContext,
    ClosedContext,
    ContactContext,
    HomeContext,
    IdleContext,
    KioskBehaviour,
    LookupContext,
    PriorityContext,
    ResultContext,
    ServiceGridContext,
    TicketContext,
)
from .home import ClosedPresenter, HomePresenter
from .idle import IdlePresenter
from .lookup import LookupPresenter, ResultPresenter
from .ports import Desk, InlineRunner, KioskPrinter, LookupHub, Outcome, Runner, monotonic
from .services import PriorityPresenter, ServiceGridPresenter
from .ticket import TakeTicketPresenter

if TYPE_CHECKING:
    from .face import FaceLookupPresenter

log = logging.getLogger(__name__)

SCREENS = ("home", "services", "search", "priority", "ticket", "lookup", "result", "closed", "face", "booking",  # face: issue 15
           "contact")


class TapGuard:
    """Ignores a second tap that lands too soon: elderly hands double-tap, and the second tap would otherwise
    hit whatever button appears at the same place on the next screen."""

    def __init__(self, clock: Callable[[], float], window_s: float, key_repeat_s: float) -> None:
        self._clock = clock
        self.window_s = window_s
        self.key_repeat_s = key_repeat_s
        self._last_action = -1e9
        self._last_key: tuple[str, float] = ("", -1e9)

    def allow(self) -> bool:
        now = self._clock()
        if now - self._last_action < self.window_s:
            return False
        self._last_action = now
        return True

    def allow_key(self, key: str) -> bool:
        now = self._clock()
        if now - self._last_action < self.window_s:
            return False  # the tap that opened the keyboard screen must not type a character
        last_key, at = self._last_key
        if key == last_key and now - at < self.key_repeat_s:
            return False
        self._last_key = (key, now)
        return True

    def reset(self) -> None:
        self._last_key = ("", -1e9)


class Kiosk:
    """Root of the presenter tree; one per kiosk process."""

    def __init__(self, *, hub: LookupHub, desk: Desk, printer: KioskPrinter, runner: Runner | None = None,
                 clock: Callable[[], float] = monotonic, behaviour: KioskBehaviour | None = None,
                 catalog: Catalog | None = None, wall_clock: Callable[[], datetime] | None = None) -> None:
        self.hub = hub
        self.desk = desk
        self.printer = printer
        self.runner: Runner = runner or InlineRunner()
        self.clock = clock
        self.wall_clock: Callable[[], datetime] = wall_clock or (lambda: datetime.now(VN_TZ))
        self.behaviour = behaviour or KioskBehaviour()
        self.catalog = catalog or Catalog()
        self.lang: Lang = "vi"
        self.screen = "home"
        self.generation = 0
        self.guard = TapGuard(clock, self.behaviour.tap_guard_s, self.behaviour.key_repeat_s)
        self._subscribers: list[Callable[[Kiosk], None]] = []
        # Each presenter gets a narrow context: this kiosk as its Shell, plus the few links it has to the
        # others as callables (late-bound: the presenters they call are made below).
        # what keeps the printer from printing (set by the device health watcher on the UI thread), or None
        self.printer_fault: str | None = None
        self.home = HomePresenter(HomeContext(self, lambda: self.desk.mode, lambda: self.wall_clock(),
                                              lambda: self.services.enter(), lambda: self.lookup.enter(),
                                              lambda: self.printer_fault, self.paper_tickets_paused,
                                              face_offered=lambda: self.face is not None,
                                              open_face=lambda: self.face.enter() if self.face else None,
                                              ask_help=lambda: self.hub.ask_help(),
                                              open_booking=lambda: self.booking.enter()))
        self.services = ServiceGridPresenter(ServiceGridContext(self, self.refresh_catalog,
                                                                lambda s, p: self.take.start(s, p)))
        self.priority = PriorityPresenter(PriorityContext(self, lambda: self.services.chosen,
                                                          lambda s, p: self.take.start(s, p)))
        self.take = TakeTicketPresenter(TicketContext(self, desk, printer, self.poster,
                                                      notify_offered=self.contact_offered_for,
                                                      open_contact=lambda: self.contact.enter()))
        self.contact = ContactPresenter(ContactContext(
            self, hub, self.guard.allow_key, lambda: self.take.ticket,  # type: ignore[arg-type]
            lambda: self.take.ticket is not None and self.contact_offered_for(self.take.ticket)))
        self.lookup = LookupPresenter(LookupContext(
            self, hub, self.guard.allow_key, lambda: self.take.busy,
            lambda code, body: self.result.show_dossier(code, body), lambda body: self.result.show_ticket(body)))
        self.booking = BookingPresenter(BookingContext(
            self, hub, self.guard.allow_key, lambda: self.take.busy,  # type: ignore[arg-type]
            lambda service, issue: self.take.start(service, None, issue), lambda s: self.take.start(s, None)))
        self.result = ResultPresenter(ResultContext(self, lambda: self.lookup.enter(),
                                                    lambda s, p: self.take.start(s, p)))
        self.closed = ClosedPresenter(ClosedContext(self, lambda: self.lookup.enter(), lambda: self.printer_fault,
                                                    self.paper_tickets_paused, lambda: self.wall_clock()))
        self.idle = IdlePresenter(IdleContext(
            self, clock, lambda: self.take.state == "printed",
            lambda: self.take.busy or self.lookup.busy or self.booking.busy or self.contact.busy,
            contact_done=lambda: self.contact.state == "done"))
        # issue 15 hook: set by attach_face (kiosk/presenters/face.py) only where a camera and the face extra are
        self.face: FaceLookupPresenter | None = None

    # --- observers ----------------------------------------------------------------------------------------
    def subscribe(self, fn: Callable[[Kiosk], None]) -> None:
        self._subscribers.append(fn)

    def changed(self) -> None:
        for fn in list(self._subscribers):
            fn(self)

    # --- navigation ---------------------------------------------------------------------------------------
    def go(self, screen: str) -> None:
        if screen not in SCREENS:
            raise ValueError(f"unknown screen {screen!r}")
        self.screen = screen
        self.idle.touch()
        self.changed()

    def attach_face(self, engine: Any, hub: Any, **options: Any) -> FaceLookupPresenter:
        """issue 15 hook: offer "Tra cứu bằng khuôn mặt" with this engine and hub (kiosk/face_wiring.py)."""
        from .face import FaceContext, FaceLookupPresenter

        def shown_dossier_code() -> str | None:
            return self.result.dossier.code if self.result.dossier is not None else None

        self.face = FaceLookupPresenter(FaceContext(self, lambda: self.lookup.enter(), shown_dossier_code),
                                        engine, hub, **options)
        return self.face

    def touch(self) -> None:
        """Activity without a tap: the idle timer starts again."""
        self.idle.touch()

    def tap(self) -> bool:
        """Every citizen tap that acts passes here first: counts as activity, and filters double taps."""
        self.idle.touch()
        return self.guard.allow()

    def toggle_language(self) -> None:
        if not self.tap():
            return
        self.lang = other(self.lang)
        self.changed()

    def go_home(self) -> None:
        if not self.tap():
            return
        self.reset()

    def reset(self) -> None:
        """Back to the start with nothing of the last citizen left: code typed, result, ticket, language."""
        self.generation += 1
        self.lang = "vi"
        self.take.clear()
        self.lookup.clear()
        self.booking.clear()
        self.contact.clear()             # the typed phone number goes with the citizen
        self.result.clear()
        self.home.help_state = None
        self.services.clear()
        if self.face is not None:
            self.face.clear()
        self.guard.reset()
        self.screen = "home"
        self.idle.touch()
        self.changed()

    def run(self, work: Callable[[], Any], done: Callable[[Outcome[Any]], None]) -> None:
        """Background work whose answer is dropped if the kiosk was reset meanwhile."""
        generation = self.generation

        def guarded(outcome: Outcome[Any]) -> None:
            if generation != self.generation:
                log.info("dropping a late answer for a citizen who has left")
                return
            done(outcome)

        self.runner.run(work, guarded)

    def poster(self) -> Callable[[Callable[[], None]], None]:
        """Made on the UI thread, called from a worker: runs a callable on the UI thread unless the kiosk was
        reset after the poster was made (the citizen it was for has left)."""
        generation = self.generation

        def post(fn: Callable[[], None]) -> None:
            def deliver() -> None:
                if generation == self.generation:
                    fn()

            self.runner.post(deliver)

        return post

    # --- things that happen on any screen ------------------------------------------------------------------
    def scanned(self, raw: str, dossier_code: str | None = None, ticket_ref: str | None = None,
                source: str = "scanner") -> None:
        """A hardware scanner (or the camera) read something: straight to the lookup result, from any screen."""
        self.idle.touch()
        if dossier_code is None and ticket_ref is None and is_booking_scan(raw):
            self.booking.from_scan(raw)
            return
        self.lookup.from_scan(raw, dossier_code, ticket_ref, source)

    def tick(self) -> None:
        """Called about once a second by the app: idle timeout."""
        self.idle.tick()

    def set_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.changed()

    def refresh_catalog(self) -> Catalog:
        """Blocking fetch of /config and /services (worker thread); keeps the old catalog when the hub is down."""
        from kiosk.hub_client import HubError, HubUnavailable
        try:
            base = Catalog.from_config(self.hub.config())
            catalog = base.with_services(self.hub.services())
        except (HubUnavailable, HubError) as err:
            log.info("catalog not refreshed: %s", err)
            return self.catalog.stale() if self.catalog.live else self.catalog
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            # A hub (or a proxy) answering nonsense must not take the kiosk down; keep what we knew.
            log.error("catalog not refreshed: malformed answer from the hub: %r", err)
            return self.catalog
        return catalog

    def contact_offered_for(self, ticket: Any) -> bool:
        """"Nhắn tin khi sắp đến lượt" for this ticket: the hub texts citizens, and knows the ticket now (issued
        online, the kiosk online: a ticket from a leased block reaches the hub only later)."""
        return (self.catalog.notify_phone and self.catalog.live and not getattr(ticket, "offline", True)
                and self.desk.mode == "online")

    # --- the printer ---------------------------------------------------------------------------------------
    def paper_tickets_paused(self) -> bool:
        return self.printer_fault is not None and self.behaviour.when_printer_down == "stop"

    def set_printer_fault(self, fault: str | None) -> None:
        """The printer's blocking fault changed (paper out, cover open, offline; None: it can print again). With
        the "stop" policy a citizen on the service grid is sent to the sign, and the sign goes away by itself."""
        if fault == self.printer_fault:
            return
        self.printer_fault = fault
        if self.paper_tickets_paused() and self.screen in ("services", "priority"):
            self.screen = "closed"
        elif fault is None and self.screen == "closed" and not self.catalog.all_closed:
            self.screen = "home"
        self.changed()

    # --- staff-only mark ------------------------------------------------------------------------------------
    def mode_mark(self) -> str:
        """A tiny mark in a corner for staff: · online; × and the leased numbers left when issuing offline."""
        if self.desk.mode == "online":
            return t("mode.online", self.lang)
        left = sum(self.desk.numbers_left(s.code) for s in self.catalog.services)
        return t("mode.offline", self.lang, left=left)
