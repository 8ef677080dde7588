""""Nhắn tin khi sắp đến lượt": after the ticket is printed, a citizen may leave a mobile number on a big keypad; the
hub attaches it to the ticket (POST /tickets/<id>/contact) and texts "còn N người nữa đến lượt quý vị" and "mời quý
vị đến quầy …". Optional and one screen long, so it never slows the queue at the kiosk. No Kivy import.

The number is checked here the way the hub checks it (10 digits starting 03/05/07/08/09, or +84 and 9 digits), so a
mistake is explained at once in the reserved message area (the keypad never moves). It lives only in this presenter
until it is sent, is cleared by ``clear()`` (idle timeout, "Về trang đầu", the next citizen) and is never logged.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from kiosk.hub_client import HubError, HubUnavailable
from kiosk.i18n import error_text, t

from .context import ContactContext

log = logging.getLogger(__name__)

# typing → sending → done ; sending → typing (with the reason) when the hub refuses or cannot be reached
STATES = ("typing", "sending", "done")
INTERNATIONAL = "+84"
KEY_ROWS: tuple[tuple[str, ...], ...] = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), (INTERNATIONAL, "0"))
MOBILE_SECOND_DIGITS = "35789"        # Vietnamese mobile prefixes 03x, 05x, 07x, 08x, 09x (the hub's rule)


def national(text: str) -> str:
    """``+84912345678`` → ``0912345678``; a number typed with its 0 stays as it is."""
    return "0" + text[len(INTERNATIONAL):] if text.startswith(INTERNATIONAL) else text


def max_length(text: str) -> int:
    return len(INTERNATIONAL) + 9 if text.startswith(INTERNATIONAL) else 10


def phone_problem(text: str) -> tuple[str, dict[str, Any]] | None:
    """Why ``text`` is not yet a Vietnamese mobile number (an i18n key and its values), or None when it is one."""
    if not text:
        return "contact.empty", {}
    if not text.startswith(("0", INTERNATIONAL)):
        return "contact.start_zero", {}
    digits = national(text)
    if len(digits) > 1 and digits[1] not in MOBILE_SECOND_DIGITS:
        return "contact.not_mobile", {}
    if len(digits) < 10:
        return "contact.too_short", {"n": len(digits)}
    return None


def live_problem(text: str) -> tuple[str, dict[str, Any]] | None:
    """What to say while typing: only mistakes already certain (a wrong start), never "too short" mid-number."""
    problem = phone_problem(text)
    if problem is None or problem[0] in ("contact.empty", "contact.too_short"):
        return None
    return problem


def grouped(text: str) -> str:
    """``0912345678`` → ``0912 345 678``, ``+84912345678`` → ``+84 912 345 678``: easier to check by eye."""
    if text.startswith(INTERNATIONAL):
        rest = text[len(INTERNATIONAL):]
        return " ".join(p for p in (INTERNATIONAL, rest[:3], rest[3:6], rest[6:]) if p)
    return " ".join(p for p in (text[:4], text[4:7], text[7:]) if p)


@dataclass(frozen=True, slots=True)
class ContactView:
    state: str
    title: str
    subtitle: str
    number: str                  # the typed number, grouped; the masked one once confirmed
    placeholder: str
    message: str
    is_problem: bool
    busy: bool
    keypad_on: bool              # false once confirmed (the keypad is hidden, not moved)
    submit: str
    can_submit: bool
    delete: str
    clear: str
    done: str                    # the "Xong" button, once confirmed
    back: str
    lang_toggle: str
    mode_mark: str
    key_rows: tuple[tuple[str, ...], ...] = KEY_ROWS


class ContactPresenter:
    def __init__(self, ctx: ContactContext) -> None:
        self.ctx = ctx
        self.k = ctx.shell
        self.clear()

    def clear(self) -> None:
        """Forget everything of this citizen: the typed number, the ticket, the hub's answer."""
        self.state = "typing"
        self.text = ""
        self.ticket_id: str | None = None
        self.ticket_number = ""
        self.message: tuple[str, dict[str, Any]] | None = None
        self.problem = False
        self.answer: dict[str, Any] = {}

    @property
    def busy(self) -> bool:
        return self.state == "sending"

    def offered(self) -> bool:
        return self.ctx.offered()

    def enter(self) -> None:
        """From the ticket screen's "Nhắn tin khi sắp đến lượt" button."""
        ticket = self.ctx.ticket()
        if ticket is None or not self.ctx.offered() or not self.k.tap():
            return
        self.clear()
        self.ticket_id, self.ticket_number = ticket.id, ticket.number
        self.k.go("contact")

    # --- keypad -----------------------------------------------------------------------------------------------
    def press(self, key: str) -> None:
        if self.state != "typing" or not self.ctx.allow_key(key):
            return
        self.k.touch()
        if key == INTERNATIONAL:
            if self.text:
                return                              # +84 only starts a number
        elif not (len(key) == 1 and key.isdigit()):
            return
        if len(self.text) + len(key) > max_length(self.text + key):
            return                                  # a full number takes no more digits: nothing jumps
        self.text += key
        self._typed()

    def delete(self) -> None:
        if self.state != "typing" or not self.ctx.allow_key("⌫"):
            return
        self.k.touch()
        self.text = self.text[:-len(INTERNATIONAL)] if self.text == INTERNATIONAL else self.text[:-1]
        self._typed()

    def clear_number(self) -> None:
        if self.state != "typing" or not self.k.tap():
            return
        self.text = ""
        self._typed()

    def _typed(self) -> None:
        problem = live_problem(self.text)
        self.message, self.problem = (problem, True) if problem else (None, False)
        self.k.changed()

    # --- sending ----------------------------------------------------------------------------------------------
    def submit(self) -> None:
        if self.state != "typing" or self.ticket_id is None or not self.k.tap():
            return
        problem = phone_problem(self.text)
        if problem is not None:
            self.message, self.problem = problem, True
            self.k.changed()
            return
        self.state = "sending"
        self.message, self.problem = ("contact.sending", {}), False
        self.k.changed()
        ticket_id, number = self.ticket_id, self.text

        def work() -> dict[str, Any]:
            return self.ctx.hub.attach_contact(ticket_id, number)

        self.k.run(work, self._answered)

    def _answered(self, outcome: Any) -> None:
        if outcome.error is None and isinstance(outcome.value, dict):
            self.state, self.answer = "done", outcome.value
            self.text = ""                            # the number is the hub's now; the screen keeps the masked one
            self.message, self.problem = None, False
            self.k.touch()                            # the short confirmation timer starts now
            self.k.changed()
            return
        self.state = "typing"
        self.problem = True
        err = outcome.error
        if isinstance(err, HubError) and err.code == "bad_request":
            self.message = ("contact.invalid", {})
        elif isinstance(err, HubError) and err.code in ("ticket_not_waiting", "contact_exists", "unknown_ticket"):
            self.message = (f"contact.refused.{err.code}", {"number": self.ticket_number})
        elif isinstance(err, HubError):
            self.message = (f"error.{err.code}", {})
        elif isinstance(err, HubUnavailable):
            self.message = ("contact.hub_down", {})
        else:
            log.error("attaching a contact failed: %s", type(err).__name__)   # never the number
            self.message = ("error.generic", {})
        self.k.changed()

    # --- leaving ----------------------------------------------------------------------------------------------
    def back(self) -> None:
        """"Quay lại": to the ticket, the number typed so far forgotten."""
        if self.busy or not self.k.tap():
            return
        self.text, self.message, self.problem = "", None, False
        self.k.go("ticket")

    def finish(self) -> None:
        """"Xong" after the confirmation: home, for the next citizen."""
        if self.busy or not self.k.tap():
            return
        self.k.reset()

    # --- view -------------------------------------------------------------------------------------------------
    def _message_text(self) -> str:
        if self.message is None:
            return ""
        key, values = self.message
        if key.startswith("error."):
            return error_text(key.removeprefix("error."), self.k.lang)
        try:
            return t(key, self.k.lang, **values)
        except (KeyError, IndexError):
            return error_text("generic", self.k.lang)

    def _confirmation(self) -> str:
        lang, a = self.k.lang, self.answer
        raw_n, raw_ahead = a.get("turn_near_at"), a.get("ahead")
        n = raw_n if isinstance(raw_n, int) else 0
        ahead = raw_ahead if isinstance(raw_ahead, int) else None
        masked = str(a.get("masked") or "")
        if n <= 0:
            return t("contact.done.called_only", lang, masked=masked)
        if ahead is not None and ahead <= n:
            return t("contact.done.now", lang, masked=masked)
        return t("contact.done", lang, n=n, masked=masked)

    def view(self) -> ContactView:
        lang, done = self.k.lang, self.state == "done"
        return ContactView(
            state=self.state,
            title=t("contact.done.title" if done else "contact.title", lang),
            subtitle=self._confirmation() if done else t("contact.subtitle", lang, number=self.ticket_number),
            number=str(self.answer.get("masked") or "") if done else grouped(self.text),
            placeholder=t("contact.placeholder", lang), message=self._message_text(),
            is_problem=self.problem and not done, busy=self.busy, keypad_on=not done,
            submit=t("contact.submit", lang), can_submit=self.state == "typing" and bool(self.text),
            delete=t("lookup.delete", lang), clear=t("lookup.clear", lang), done=t("ticket.done", lang),
            back=t("nav.back", lang), lang_toggle=t("lang.toggle", lang), mode_mark=self.k.mode_mark())
