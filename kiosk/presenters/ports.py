"""What the presenters need from the outside world, as small Protocols: hub, ticket desk, printer, runner, clock.

No Kivy, no requests here: the Kivy app passes real adapters, the tests pass stand-ins.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from kiosk.offline import IssuedTicket, Mode

T = TypeVar("T")


class LookupHub(Protocol):
    """Read-only hub calls made by the presenters (HubClient has them)."""

    def config(self) -> dict[str, Any]: ...
    def services(self) -> list[dict[str, Any]]: ...
    def dossier(self, code: str) -> dict[str, Any]: ...
    def ticket(self, ticket_id: str) -> dict[str, Any]: ...
    def ask_help(self) -> dict[str, Any]: ...


class BookingHub(Protocol):
    """The check-in call of the "Có lịch hẹn" screen (HubClient has it)."""

    def check_in_booking(self, scan: str) -> dict[str, Any]: ...


class ContactHub(Protocol):
    """Attaching a mobile number to a ticket still waiting (HubClient has it)."""

    def attach_contact(self, ticket_id: str, contact: str) -> dict[str, Any]: ...


class Desk(Protocol):
    """The ticket desk (kiosk/offline.py TicketDesk): online or offline issuing."""

    @property
    def mode(self) -> Mode: ...
    def issue(self, service: str, priority: str | None = None) -> IssuedTicket: ...
    def report_print(self, ticket: IssuedTicket, printed: bool, fault: str | None = None) -> None: ...
    def numbers_left(self, service: str) -> int: ...


@dataclass(frozen=True, slots=True)
class PrintJob:
    """What the presenter asks to print; the device wiring turns it into devices' PrintableTicket."""

    ticket: IssuedTicket
    center_name: str
    service_name: str
    priority_label: str | None
    tracking_url: str
    issued_at: datetime


class PrintOutcome(Protocol):
    """devices.printer PrintReport has these attributes."""

    printed: bool
    fault: str | None


class KioskPrinter(Protocol):
    def print_job(self, job: PrintJob) -> PrintOutcome: ...


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """The result of background work: a value or the exception it raised."""

    value: T | None = None
    error: BaseException | None = None


class Runner(Protocol):
    """Runs blocking work (network, printer) off the UI thread and calls ``done`` back on the UI thread;
    ``post`` hands a callable from a worker to the UI thread (progress while the work goes on)."""

    def run(self, work: Callable[[], T], done: Callable[[Outcome[T]], None]) -> None: ...

    def post(self, fn: Callable[[], None]) -> None: ...


class InlineRunner:
    """Runs the work at once on the caller's thread (tests, benchmarks of the presenter alone)."""

    def run(self, work: Callable[[], T], done: Callable[[Outcome[T]], None]) -> None:
        try:
            value = work()
        except Exception as err:  # noqa: BLE001 - handed to the presenter, which decides
            done(Outcome(error=err))
            return
        done(Outcome(value=value))

    def post(self, fn: Callable[[], None]) -> None:
        fn()


class ThreadRunner:
    """Runs work on a daemon thread and hands the outcome to ``post`` (e.g. Kivy's Clock.schedule_once)."""

    def __init__(self, post: Callable[[Callable[[], None]], None]) -> None:
        self._post = post

    def run(self, work: Callable[[], T], done: Callable[[Outcome[T]], None]) -> None:
        def body() -> None:
            try:
                outcome: Outcome[T] = Outcome(value=work())
            except Exception as err:  # noqa: BLE001
                outcome = Outcome(error=err)
            self._post(lambda: done(outcome))

        threading.Thread(target=body, name="kiosk-work", daemon=True).start()

    def post(self, fn: Callable[[], None]) -> None:
        self._post(fn)


class ManualClock:
    """A monotonic clock the tests move by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def monotonic() -> float:
    return time.monotonic()
