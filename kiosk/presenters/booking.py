"""The "Có lịch hẹn" screen: a citizen with a booking scans its QR or types its code; inside the check-in window the
hub issues a ticket at the slot's place and the ticket screen prints it; early or late, the hub's reason is worded
here (vi first) with the offer of a walk-in ticket for the same service. No Kivy import.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from kiosk.hub_client import HubError, HubUnavailable
from kiosk.i18n import error_text, t
from kiosk.offline import IssuedTicket

from .context import BookingContext
from .keyboard import CodeKeyboard

log = logging.getLogger(__name__)

# the hub's booking-code alphabet (queue_server/domain/bookings.py): no 0/O, 1/I/L, 5/S, 2/Z, 8/B
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 6
KEY_ROWS = (tuple("34679"), tuple("ACDEFGH"), tuple("JKMNPQR"), tuple("TUVWXY"))
QR_PREFIX = "MOTCUA-BK:"


def is_booking_scan(raw: str) -> bool:
    """A scan that is a booking's QR (``MOTCUA-BK:CODE`` or a link ending ``/b/CODE``), not a dossier or ticket."""
    text = (raw or "").strip()
    return text.upper().startswith(QR_PREFIX) or "/b/" in text


@dataclass(frozen=True, slots=True)
class BookingView:
    title: str
    subtitle: str
    code: str
    placeholder: str
    message: str
    is_problem: bool
    busy: bool
    submit: str
    can_submit: bool
    walk_in: str                 # empty: no walk-in offer
    delete: str
    clear: str
    back: str
    lang_toggle: str
    mode_mark: str
    key_rows: tuple[tuple[str, ...], ...] = KEY_ROWS


class BookingPresenter(CodeKeyboard[BookingContext]):
    def __init__(self, ctx: BookingContext) -> None:
        self.ctx = ctx
        self.k = ctx.shell
        self.clear()

    def clear(self) -> None:
        self.code = ""
        self.busy = False
        self.message_key: str | None = None
        self.values: dict[str, Any] = {}
        self.error_code: str | None = None
        self.walk_in_service: str | None = None

    def enter(self) -> None:
        self.clear()
        self.k.go("booking")

    # --- keyboard (press, delete, clear_code: CodeKeyboard) -----------------------------------------------------
    def accepts(self, key: str) -> bool:
        return key in CODE_ALPHABET and len(self.code) < CODE_LENGTH

    def forget(self) -> None:
        self.message_key, self.values, self.error_code, self.walk_in_service = None, {}, None, None

    def submit(self) -> None:
        if self.busy or not self.k.tap():
            return
        if len(self.code) != CODE_LENGTH:
            self.message_key = "booking.invalid"
            self.k.changed()
            return
        self._check_in(self.code)

    def from_scan(self, raw: str) -> None:
        """A booking QR read by the scanner, from any screen (never while a ticket is being issued)."""
        if self.busy or self.ctx.ticket_busy():
            return
        self.clear()
        self.k.go("booking")
        self._check_in(raw)

    def back(self) -> None:
        if not self.k.tap():
            return
        self.k.reset()

    def take_walk_in(self) -> None:
        if self.busy or self.walk_in_service is None or not self.k.tap():
            return
        self.ctx.start_walk_in(self.walk_in_service)

    # --- the check-in -----------------------------------------------------------------------------------------
    def _check_in(self, scan: str) -> None:
        self.busy = True
        self.message_key = "booking.checking"
        self.k.changed()
        answer: list[dict[str, Any]] = []

        def call() -> IssuedTicket:
            if answer:                   # the ticket screen asks once; the hub answered already
                return IssuedTicket.from_hub(answer[0])
            raise RuntimeError("check-in answer missing")

        def work() -> dict[str, Any]:
            return self.ctx.hub.check_in_booking(scan)

        def done(outcome: Any) -> None:
            self.busy = False
            if outcome.error is None and isinstance(outcome.value, dict):
                answer.append(outcome.value)
                self.message_key = None
                self.ctx.start_checked_in(str(outcome.value.get("ticket", {}).get("service", "")), call)
                return
            self._refused(outcome.error)

        self.k.run(work, done)

    def _refused(self, err: BaseException | None) -> None:
        self.values, self.walk_in_service = {}, None
        if isinstance(err, HubError) and err.code in ("booking_refused", "unknown_booking"):
            detail = err.detail
            reason = str(detail.get("reason") or "unknown_code")
            self.message_key = f"booking.refused.{reason}"
            self.values = {k: str(detail.get(k, "")) for k in ("slot", "opens", "closes", "day")}
            if detail.get("walk_in_offered") and isinstance(detail.get("service"), str):
                self.walk_in_service = detail["service"]
        elif isinstance(err, HubError):
            self.message_key, self.error_code = None, err.code
        elif isinstance(err, HubUnavailable):
            self.message_key, self.error_code = None, "hub_down"
        else:
            log.error("check-in failed: %r", err)
            self.message_key, self.error_code = None, "generic"
        self.k.changed()

    # --- view -------------------------------------------------------------------------------------------------
    def view(self) -> BookingView:
        lang = self.k.lang
        message, problem = "", False
        if self.error_code is not None:
            message, problem = error_text(self.error_code, lang), True
        elif self.message_key is not None:
            try:
                message = t(self.message_key, lang, **self.values)
            except (KeyError, IndexError):
                message = t("booking.refused.unknown_code", lang)
            problem = self.message_key != "booking.checking"
        return BookingView(
            title=t("booking.title", lang), subtitle=t("booking.subtitle", lang), code=self.code,
            placeholder=t("booking.placeholder", lang), message=message, is_problem=problem, busy=self.busy,
            submit=t("booking.submit", lang), can_submit=len(self.code) == CODE_LENGTH and not self.busy,
            walk_in=t("booking.walk_in", lang) if self.walk_in_service else "",
            delete=t("lookup.delete", lang), clear=t("lookup.clear", lang), back=t("nav.back", lang),
            lang_toggle=t("lang.toggle", lang), mode_mark=self.k.mode_mark())
