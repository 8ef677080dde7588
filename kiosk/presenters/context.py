"""What each presenter may see of the kiosk: a small :class:`Shell` Protocol every screen shares (language,
screen, navigation, taps, background work, catalog) and one narrow context per presenter for the few links it
has to the rest (the home screen opens the service grid; a lookup shows its answer on the result screen).

The root presenter (kiosk.py) builds these contexts; presenters receive only them, never the root and never
each other (not even for typing), so each one can be read and tested alone. No Kivy import.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from kiosk.i18n import Lang
from kiosk.offline import IssuedTicket, Mode

from .catalog import Catalog
from .ports import BookingHub, ContactHub, Desk, KioskPrinter, LookupHub, Outcome


@dataclass(frozen=True, slots=True)
class KioskBehaviour:
    """Timings and texts of the kiosk (from kiosk config); defaults suit elderly citizens."""

    idle_timeout_s: float = 60.0          # any screen but home, no touch this long -> back home, all cleared
    ticket_screen_s: float = 20.0         # the confirmation screen goes home sooner: the citizen has the paper
    result_screen_s: float = 90.0         # reading a result takes time
    tap_guard_s: float = 0.6              # after a tap that acts, taps this soon are ignored (double taps)
    key_repeat_s: float = 0.15            # the same keyboard key this soon again is a double tap
    public_base_url: str = "http://127.0.0.1:8080"   # the hub as a phone on the LAN reaches it (ticket QR)
    stale_after_min: int = 60             # dossier info older than this is flagged as maybe not the latest
    max_code_len: int = 40
    camera_available: bool = False        # a camera is configured: offer "scan the QR with the camera"
    # a printer that cannot print: "stop" offers no paper tickets (a sign says why) until it can again;
    # "screen" still issues, the number shown on screen only and marked unprinted at the hub
    when_printer_down: str = "stop"


class Shell(Protocol):
    """The kiosk as every presenter sees it."""

    lang: Lang
    screen: str
    catalog: Catalog
    behaviour: KioskBehaviour

    def go(self, screen: str) -> None: ...

    def tap(self) -> bool:
        """A citizen tap that acts: counts as activity; False for a double tap, which must do nothing."""

    def touch(self) -> None:
        """Activity without a tap (a key typed, a ticket printed): the idle timer starts again."""

    def changed(self) -> None: ...

    def reset(self) -> None: ...

    def run(self, work: Callable[[], Any], done: Callable[[Outcome[Any]], None]) -> None: ...

    def mode_mark(self) -> str: ...


@dataclass(frozen=True, slots=True)
class HomeContext:
    shell: Shell
    desk_mode: Callable[[], Mode]
    wall_clock: Callable[[], datetime]
    open_services: Callable[[], None]
    open_lookup: Callable[[], None]
    printer_fault: Callable[[], str | None] = lambda: None   # what keeps the printer from printing, or None
    paper_tickets_paused: Callable[[], bool] = lambda: False  # "stop" policy and the printer cannot print
    # issue 15: face look-up, offered only where the kiosk has a face presenter (camera + face extra + hub)
    face_offered: Callable[[], bool] = lambda: False
    open_face: Callable[[], None] = lambda: None
    ask_help: Callable[[], Any] | None = None     # blocking: tell the staff a citizen needs help (run on a worker)
    open_booking: Callable[[], None] = lambda: None


@dataclass(frozen=True, slots=True)
class ClosedContext:
    shell: Shell
    open_lookup: Callable[[], None]
    printer_fault: Callable[[], str | None] = lambda: None
    paper_tickets_paused: Callable[[], bool] = lambda: False
    wall_clock: Callable[[], datetime] | None = None    # names when numbers are issued again


@dataclass(frozen=True, slots=True)
class IdleContext:
    shell: Shell
    clock: Callable[[], float]
    ticket_printed: Callable[[], bool]      # the confirmation screen goes home sooner
    busy: Callable[[], bool]                # the hub or the printer is still answering: never reset then
    contact_done: Callable[[], bool] = lambda: False   # "Quý vị sẽ nhận tin nhắn…" goes home as soon as a ticket


@dataclass(frozen=True, slots=True)
class ServiceGridContext:
    shell: Shell
    refresh_catalog: Callable[[], Catalog]  # blocking: run on a worker
    start_ticket: Callable[[str, str | None], None]


@dataclass(frozen=True, slots=True)
class PriorityContext:
    shell: Shell
    chosen_service: Callable[[], str | None]
    start_ticket: Callable[[str, str | None], None]


@dataclass(frozen=True, slots=True)
class TicketContext:
    shell: Shell
    desk: Desk
    printer: KioskPrinter
    poster: Callable[[], Callable[[Callable[[], None]], None]]
    notify_offered: Callable[[IssuedTicket], bool] = lambda _ticket: False   # "Nhắn tin khi sắp đến lượt" for it
    open_contact: Callable[[], None] = lambda: None


@dataclass(frozen=True, slots=True)
class ContactContext:
    shell: Shell
    hub: ContactHub
    allow_key: Callable[[str], bool]        # the tap guard for keypad keys
    ticket: Callable[[], IssuedTicket | None]   # the ticket just printed
    offered: Callable[[], bool]             # the hub sends texts and the ticket is known to it (not offline)


@dataclass(frozen=True, slots=True)
class LookupContext:
    shell: Shell
    hub: LookupHub
    allow_key: Callable[[str], bool]        # the tap guard for keyboard keys
    ticket_busy: Callable[[], bool]         # a scan never interrupts a ticket being issued or printed
    show_dossier: Callable[[str, dict[str, Any]], None]
    show_ticket: Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class ResultContext:
    shell: Shell
    open_lookup: Callable[[], None]
    start_ticket: Callable[[str, str | None], None] | None = None   # "Lấy số Trả kết quả" in one tap


@dataclass(frozen=True, slots=True)
class BookingContext:
    shell: Shell
    hub: BookingHub
    allow_key: Callable[[str], bool]
    ticket_busy: Callable[[], bool]
    start_checked_in: Callable[[str, Callable[[], IssuedTicket]], None]   # service, how the ticket is issued
    start_walk_in: Callable[[str], None]                             # a walk-in ticket for this service
