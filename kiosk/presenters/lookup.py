"""Dossier lookup: a keyboard made for dossier codes, the camera's QR, a hardware scanner from any screen; and
the result screen (status words, dates, warnings, masked name, how fresh). No Kivy import.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contracts.dossier_code import DossierCodeError, find_dossier_code, parse_dossier_code
from kiosk.hub_client import HubError, HubUnavailable
from kiosk.i18n import STRINGS, Lang, error_text, pick, t

from .context import LookupContext, ResultContext
from .keyboard import CodeKeyboard
from .ports import Outcome

log = logging.getLogger(__name__)

# Digits first (most of a code), then letters in alphabetical order (easier to find than QWERTY for someone who
# never typed), then the two separators as large keys of their own.
KEY_ROWS: tuple[tuple[str, ...], ...] = (
    ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0"),
    ("A", "B", "C", "D", "E", "F", "G", "H", "I", "J"),
    ("K", "L", "M", "N", "O", "P", "Q", "R", "S", "T"),
    ("U", "V", "W", "X", "Y", "Z", ".", "-"),
)
ALLOWED = frozenset("".join("".join(r) for r in KEY_ROWS))
_TICKET_URL = re.compile(r"/t/([A-Za-z0-9._-]{3,64})")


@dataclass(frozen=True, slots=True)
class LookupView:
    title: str
    subtitle: str
    code: str
    placeholder: str
    message: str
    is_problem: bool
    busy: bool
    key_rows: tuple[tuple[str, ...], ...]
    delete: str
    clear: str
    search: str
    can_search: bool
    camera: str
    camera_on: bool
    camera_hint: str
    back: str
    lang_toggle: str
    mode_mark: str


class LookupPresenter(CodeKeyboard[LookupContext]):
    def __init__(self, ctx: LookupContext) -> None:
        self.ctx = ctx
        self.k = ctx.shell
        self.code = ""
        self.message_key: str | None = None
        self.error_code: str | None = None
        self.busy = False
        self.camera_on = False

    def clear(self) -> None:
        self.code, self.message_key, self.error_code, self.busy, self.camera_on = "", None, None, False, False

    def enter(self) -> None:
        self.clear()
        self.k.go("lookup")

    # --- the keyboard (press, delete, clear_code: CodeKeyboard) ---------------------------------------------
    def accepts(self, key: str) -> bool:
        return key in ALLOWED and len(self.code) < self.k.behaviour.max_code_len

    def forget(self) -> None:
        self.message_key = self.error_code = None

    def submit(self) -> None:
        if self.busy or not self.k.tap():
            return
        try:
            parsed = parse_dossier_code(self.code)
        except DossierCodeError:
            self.message_key, self.error_code = "lookup.invalid", None
            self.k.changed()
            return
        self.code = parsed.normalized
        self._look_up(parsed.normalized)

    def toggle_camera(self) -> None:
        if self.busy or not self.k.behaviour.camera_available or not self.k.tap():
            return
        self.camera_on = not self.camera_on
        self.k.changed()

    def back(self) -> None:
        if not self.k.tap():
            return
        self.k.reset()

    # --- scans, from any screen ---------------------------------------------------------------------------
    def from_scan(self, raw: str, dossier_code: str | None, ticket_ref: str | None, source: str) -> None:
        if self.busy or self.ctx.ticket_busy():
            return  # mid-issue or mid-lookup: a stray scan must not pull the screen away
        code = dossier_code
        if code is None:
            found = find_dossier_code(raw or "")
            code = found.normalized if found else None
        if code is not None:
            log.info("%s scan: dossier %s", source, code)
            self.clear()
            self.code = code
            self._look_up(code)
            return
        ref = ticket_ref or _ticket_ref(raw or "")
        if ref is not None:
            self.clear()
            self._look_up_ticket(ref)
            return
        log.info("%s scan not understood (%d chars)", source, len(raw or ""))
        self.clear()
        self.message_key = "lookup.scan_unreadable"
        self.k.go("lookup")

    # --- talking to the hub -------------------------------------------------------------------------------
    def _look_up(self, code: str) -> None:
        self.busy, self.message_key, self.error_code = True, "lookup.searching", None
        self.camera_on = False
        self.k.go("lookup")
        self.k.run(lambda: self.ctx.hub.dossier(code), lambda o: self._answered(code, o))

    def _answered(self, code: str, outcome: Outcome[dict[str, Any]]) -> None:
        self.busy = False
        self.message_key = None
        err = outcome.error
        if err is None and outcome.value is not None:
            self.ctx.show_dossier(code, outcome.value)
            self.k.go("result")
            return
        if isinstance(err, HubError):
            self.error_code = err.code
        elif isinstance(err, HubUnavailable):
            self.error_code = "hub_down"
        else:
            log.error("lookup failed: %r", err)
            self.error_code = "generic"
        self.k.changed()

    def _look_up_ticket(self, ticket_id: str) -> None:
        self.busy, self.message_key = True, "lookup.searching"
        self.k.go("lookup")
        self.k.run(lambda: self.ctx.hub.ticket(ticket_id), self._ticket_answered)

    def _ticket_answered(self, outcome: Outcome[dict[str, Any]]) -> None:
        self.busy = False
        self.message_key = None
        if outcome.value is not None:
            self.ctx.show_ticket(outcome.value)
            self.k.go("result")
            return
        err = outcome.error
        self.error_code = (err.code if isinstance(err, HubError)
                           else "hub_down" if isinstance(err, HubUnavailable) else "generic")
        self.k.changed()

    def view(self) -> LookupView:
        k, lang = self.k, self.k.lang
        if self.error_code:
            message = error_text(self.error_code, lang, code=self.code or "—")
        elif self.message_key:
            message = t(self.message_key, lang)
        else:
            message = ""
        return LookupView(
            title=t("lookup.title", lang), subtitle=t("lookup.subtitle", lang), code=self.code,
            placeholder=t("lookup.placeholder", lang), message=message,
            is_problem=bool(self.error_code) or self.message_key in ("lookup.invalid", "lookup.scan_unreadable"),
            busy=self.busy, key_rows=KEY_ROWS, delete=t("lookup.delete", lang), clear=t("lookup.clear", lang),
            search=t("lookup.search", lang), can_search=bool(self.code) and not self.busy,
            camera=(t("lookup.camera.stop" if self.camera_on else "lookup.camera", lang)
                    if k.behaviour.camera_available else ""), camera_on=self.camera_on,
            camera_hint=t("lookup.camera.hint", lang) if self.camera_on else "", back=t("nav.back", lang),
            lang_toggle=t("lang.toggle", lang), mode_mark=k.mode_mark())


def _ticket_ref(raw: str) -> str | None:
    match = _TICKET_URL.search(raw)
    return match.group(1) if match else None


# --- result -----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DossierResult:
    """The hub's GET /dossiers/<code> answer, read tolerantly (field names vary between adapters)."""

    code: str
    status_vi: str
    status_en: str
    status_code: str
    applicant: str
    procedure: str
    procedure_en: str
    received: str
    due: str
    warnings: tuple[tuple[str, str], ...]      # (vi, en)
    synced_at: str
    age_min: int | None

    stale: bool = False
    note_vi: str = ""
    note_en: str = ""

    @staticmethod
    def from_json(code: str, body: dict[str, Any]) -> DossierResult:
        """Reads the hub's shape (``{"dossier": {...}, "warnings": [...], "freshness": {...}}``) and tolerates
        flatter ones (status as {code, vi, en}, warnings inside the dossier, age in minutes)."""
        body = body if isinstance(body, dict) else {}
        d = body.get("dossier", body)
        d = d if isinstance(d, dict) else {}
        status = d.get("status")
        status_vi = status_en = status_code = ""
        if isinstance(status, dict):
            status_code = str(status.get("code") or "")
            status_vi = str(status.get("vi") or status.get("label") or "")
            status_en = str(status.get("en") or status.get("label_en") or "")
        elif isinstance(status, str):
            status_code = status
        status_vi = str(d.get("status_vi") or status_vi)
        status_en = str(d.get("status_en") or status_en)
        warnings: list[tuple[str, str]] = []
        raw_warnings = body.get("warnings") if isinstance(body.get("warnings"), list) else d.get("warnings")
        for w in raw_warnings or []:
            if isinstance(w, dict):
                wc = str(w.get("code") or "")
                vi = str(w.get("vi") or w.get("label") or t(f"warning.{wc}", "vi"))
                en = str(w.get("en") or w.get("label_en") or t(f"warning.{wc}", "en"))
                warnings.append((vi, en))
            elif isinstance(w, str):
                known = f"warning.{w}" in STRINGS
                warnings.append((t(f"warning.{w}", "vi"), t(f"warning.{w}", "en")) if known else (w, w))
        procedure = d.get("procedure")
        proc_vi = proc_en = ""
        if isinstance(procedure, dict):
            proc_vi, proc_en = str(procedure.get("name") or ""), str(procedure.get("name_en") or "")
        elif isinstance(procedure, str):
            proc_vi = procedure
        raw_fresh = body.get("freshness")
        fresh: dict[str, Any] = raw_fresh if isinstance(raw_fresh, dict) else {}
        age: Any = d.get("age_min", d.get("age_minutes"))
        age_s = fresh.get("age_s", d.get("age_s"))
        if age is None and isinstance(age_s, int | float) and not isinstance(age_s, bool):
            age = int(age_s // 60)
        applicant = (d.get("applicant_masked") or d.get("masked_name") or d.get("applicant") or "")
        return DossierResult(
            code=str(d.get("code") or code), status_vi=status_vi or status_code, status_en=status_en or status_code,
            status_code=str(d.get("display_status") or status_code), applicant=str(applicant),
            procedure=proc_vi, procedure_en=proc_en,
            received=str(d.get("received_at") or d.get("received") or ""),
            # ngày hẹn trả (the appointment) is what the citizen holds on the receipt; the deadline otherwise
            due=str(d.get("appointment_at") or d.get("due_at") or d.get("due") or ""),
            warnings=tuple(warnings), synced_at=str(fresh.get("synced_at") or d.get("synced_at") or ""),
            age_min=int(age) if isinstance(age, int | float) and not isinstance(age, bool) else None,
            stale=bool(fresh.get("stale", False)), note_vi=str(fresh.get("note_vi") or ""),
            note_en=str(fresh.get("note_en") or ""))


def format_date(text: str, with_time: bool = False) -> str:
    """ISO date or datetime → Vietnamese dd/mm/yyyy (and HH:MM): the order every citizen reads."""
    if not text:
        return ""
    try:
        if len(text) == 10:
            return date.fromisoformat(text).strftime("%d/%m/%Y")
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return moment.strftime("%H:%M %d/%m/%Y") if with_time else moment.strftime("%d/%m/%Y")


@dataclass(frozen=True, slots=True)
class ResultView:
    title: str
    code: str
    status: str
    lines: tuple[str, ...]
    warnings: tuple[str, ...]
    freshness: str
    again: str
    home: str
    lang_toggle: str
    collect: str = ""          # "Lấy số Trả kết quả": one tap to the ticket for collecting a ready result


class ResultPresenter:
    def __init__(self, ctx: ResultContext) -> None:
        self.ctx = ctx
        self.k = ctx.shell
        self.dossier: DossierResult | None = None
        self.ticket: dict[str, Any] | None = None

    def clear(self) -> None:
        self.dossier = None
        self.ticket = None

    def show_dossier(self, code: str, body: dict[str, Any]) -> None:
        self.ticket = None
        self.dossier = DossierResult.from_json(code, body)

    def show_ticket(self, body: dict[str, Any]) -> None:
        self.dossier = None
        self.ticket = body

    def again(self) -> None:
        if not self.k.tap():
            return
        self.ctx.open_lookup()

    def _collect_service(self) -> str | None:
        """The Trả kết quả service to offer when the dossier's result is ready (and it issues now), else None."""
        d = self.dossier
        if d is None or d.status_code != "result_ready":
            return None
        service = self.k.catalog.results_service()
        return service.code if service is not None and service.accepting else None

    def collect(self) -> None:
        """One tap: a normal ticket for Trả kết quả (the priority question is skipped: collecting is quick)."""
        if not self.k.tap():
            return
        code = self._collect_service()
        if code is None:
            return
        if self.ctx.start_ticket is not None:
            self.ctx.start_ticket(code, None)

    def home(self) -> None:
        if not self.k.tap():
            return
        self.k.reset()

    def view(self) -> ResultView:
        lang: Lang = self.k.lang
        common = {"title": t("result.title", lang), "again": t("result.again", lang), "home": t("nav.home", lang),
                      "lang_toggle": t("lang.toggle", lang)}
        d = self.dossier
        if d is not None:
            lines = []
            if d.applicant:
                lines.append(t("result.applicant", lang, name=d.applicant))
            if d.procedure:
                lines.append(t("result.procedure", lang, name=pick(d.procedure, d.procedure_en, lang)))
            if d.received:
                lines.append(t("result.received", lang, date=format_date(d.received)))
            if d.due:
                lines.append(t("result.due", lang, date=format_date(d.due, with_time=True)))
            stale = d.stale or (d.age_min is not None and d.age_min > self.k.behaviour.stale_after_min)
            freshness = ""
            if d.note_vi and not stale:
                freshness = pick(d.note_vi, d.note_en, lang)   # the hub's note also says when its link is down
            elif d.synced_at:
                key = "result.synced.stale" if stale else "result.synced"
                freshness = t(key, lang, at=format_date(d.synced_at, with_time=True))
            collect = t("result.collect", lang) if self._collect_service() else ""
            return ResultView(code=t("result.code", lang, code=d.code),
                              status=pick(d.status_vi, d.status_en, lang), lines=tuple(lines),
                              warnings=tuple(pick(vi, en, lang) for vi, en in d.warnings), freshness=freshness,
                              collect=collect, **common)
        if self.ticket is not None:
            tk = self.ticket.get("ticket", {})
            status = str(tk.get("status") or "")
            words = t(f"status.{status}", lang, counter=tk.get("counter") or "") if status else ""
            lines = []
            ahead = self.ticket.get("ahead")
            if status == "issued" and isinstance(ahead, int):
                lines.append(t("ticket.ahead", lang, n=ahead) if ahead else t("ticket.ahead.none", lang))
                wait = self.ticket.get("estimated_wait_min")
                if wait:
                    lines.append(t("ticket.wait", lang, min=wait))
            return ResultView(code=t("ticket.your_number", lang), status=f"{tk.get('number', '')} — {words}",
                              lines=tuple(lines), warnings=(), freshness="", **common)
        return ResultView(code="", status="", lines=(), warnings=(), freshness="", **common)
