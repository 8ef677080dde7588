"""Dossier use cases: look up a dossier by code for a kiosk, ingest status pushes from the main system, pull a
dossier on a cache miss, and keep track of whether the link to the main system is up.

Answers come from the mirror first, so kiosks keep answering when the link is down, with the age of the answer.
Validation of the push schema lives here (not in the web layer) so a pull and a push are checked the same way.
Only the masked applicant name is ever stored or returned.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from contracts.dossier_code import DossierCodeError, code_from_input, parse_dossier_code
from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ, MessageError, format_at, parse_at
from queue_server.app.ports import (
    Clock,
    DossierMirrorPort,
    MainSystem,
    MainSystemError,
    MainSystemUnavailable,
    MirrorUpdate,
    UpsertResult,
)
from queue_server.domain.dossier_status import (
    OVERDUE_WORDS,
    STATUS_WORDS,
    WARNING_WORDS,
    Dossier,
    DossierStep,
    mask_name,
    parse_status,
)
from queue_server.domain.working_time import (
    DossierOutcome,
    StepDeadline,
    WorkingCalendar,
    deadline_warnings,
    on_time_rate,
    resolution_rate,
)
from runtime.settings import DossierSettings  # the settings type lives in the one settings model

log = logging.getLogger(__name__)

MAX_BATCH = 500


def _bad(message: str) -> MotcuaError:
    return MotcuaError(ErrorCode.BAD_REQUEST, message)


# ---- push schema validation --------------------------------------------------------------------------------
def _text(obj: Mapping[str, Any], name: str, where: str, required: bool = True, max_len: int = 500) -> str:
    value = obj.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _bad(f"{where}.{name}: missing")
        return ""
    if not isinstance(value, str):
        raise _bad(f"{where}.{name}: expected a string, got {type(value).__name__}")
    if len(value) > max_len:
        raise _bad(f"{where}.{name}: longer than {max_len} characters")
    return value.strip()


def _moment(obj: Mapping[str, Any], name: str, where: str, required: bool = False) -> datetime | None:
    value = obj.get(name)
    if value is None or value == "":
        if required:
            raise _bad(f"{where}.{name}: missing")
        return None
    if not isinstance(value, str):
        raise _bad(f"{where}.{name}: expected an ISO 8601 string with a UTC offset")
    try:
        return parse_at(value)
    except MessageError as err:
        raise _bad(f"{where}.{name}: {value!r} is not ISO 8601 with a UTC offset (e.g. 2026-11-23T08:00:00+07:00)") \
            from err


def dossier_from_push(obj: Any, where: str = "dossier") -> Dossier:
    """Validate one dossier in the hub's push schema. Full applicant names are masked here and never stored."""
    if not isinstance(obj, Mapping):
        raise _bad(f"{where}: expected a JSON object")
    try:
        code = parse_dossier_code(_text(obj, "code", where, max_len=100)).normalized
    except DossierCodeError as err:
        raise MotcuaError(ErrorCode.INVALID_DOSSIER_CODE, f"{where}.code: {err}") from err
    if "applicant_masked" in obj:
        applicant = _text(obj, "applicant_masked", where, required=False, max_len=120)
    else:
        applicant = mask_name(_text(obj, "applicant_name", where, required=False, max_len=120))
    try:
        status = parse_status(_text(obj, "status", where, max_len=60))
    except ValueError as err:
        raise _bad(f"{where}.status: {err}") from err
    received = _moment(obj, "received_at", where, required=True)
    assert received is not None
    due = _moment(obj, "due_at", where)
    original = _moment(obj, "original_due_at", where)
    if original is not None and (due is None or due <= original):
        raise _bad(f"{where}.original_due_at: an apology's new due_at must be later than the original date")
    raw_steps = obj.get("steps") or []
    if not isinstance(raw_steps, list) or len(raw_steps) > 50:
        raise _bad(f"{where}.steps: expected a list of at most 50 steps")
    steps = []
    for i, s in enumerate(raw_steps):
        at = f"{where}.steps[{i}]"
        if not isinstance(s, Mapping):
            raise _bad(f"{at}: expected a JSON object")
        steps.append(DossierStep(_text(s, "name", at, max_len=200), _text(s, "unit", at, required=False, max_len=200),
                                 _moment(s, "started_at", at), _moment(s, "due_at", at), _moment(s, "done_at", at)))
    return Dossier(code=code, procedure=_text(obj, "procedure", where, max_len=300), applicant_masked=applicant,
                   received_at=received, status=status, due_at=due,
                   appointment_at=_moment(obj, "appointment_at", where), original_due_at=original,
                   apology_reason=_text(obj, "apology_reason", where, required=False, max_len=500),
                   finished_at=_moment(obj, "finished_at", where), steps=tuple(steps),
                   updated_at=_moment(obj, "updated_at", where))


def updates_from_push(body: Any) -> list[MirrorUpdate]:
    """``{"update_id", "dossier"}`` or ``{"updates": [...]}``; everything validated before anything is written."""
    if not isinstance(body, Mapping):
        raise _bad("body: expected a JSON object")
    items: list[Any]
    if "updates" in body:
        items = body["updates"]
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
            raise _bad(f"updates: expected a list of 1..{MAX_BATCH} updates")
        prefix = "updates"
    else:
        items = [body]
        prefix = ""
    result = []
    for i, item in enumerate(items):
        where = f"{prefix}[{i}]" if prefix else "body"
        if not isinstance(item, Mapping):
            raise _bad(f"{where}: expected a JSON object")
        unknown = sorted(set(item) - {"update_id", "dossier"})
        if unknown:
            raise _bad(f"{where}.{unknown[0]}: unknown field")
        update_id = _text(item, "update_id", where, max_len=200)
        result.append(MirrorUpdate(dossier_from_push(item.get("dossier"), f"{where}.dossier".lstrip(".")),
                                   update_id))
    return result


# ---- link state -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LinkStatus:
    state: str                   # up | down | unknown | not_configured
    last_ok_at: datetime | None
    last_error_at: datetime | None
    last_error: str


class LinkMonitor:
    """Whether the main system answered lately; fed by look-ups, pulls, pushes received and outbox deliveries."""

    def __init__(self, configured: bool) -> None:
        self._configured = configured
        self._lock = threading.Lock()
        self._ok: datetime | None = None
        self._err: datetime | None = None
        self._error = ""
        self._last_ok: bool | None = None   # the latest outcome decides (two may share a timestamp)

    def ok(self, at: datetime) -> None:
        with self._lock:
            self._ok, self._last_ok = at, True

    def failed(self, at: datetime, error: str) -> None:
        with self._lock:
            self._err, self._error, self._last_ok = at, error, False

    def status(self) -> LinkStatus:
        with self._lock:
            if not self._configured:
                state = "not_configured"
            elif self._last_ok is None:
                state = "unknown"
            else:
                state = "up" if self._last_ok else "down"
            return LinkStatus(state, self._ok, self._err, self._error)


# ---- the service -------------------------------------------------------------------------------------------------
class DossierService:
    def __init__(self, mirror: DossierMirrorPort, calendar: WorkingCalendar, clock: Clock,
                 main_system: MainSystem | None = None, settings: DossierSettings | None = None) -> None:
        self.mirror = mirror
        self.calendar = calendar
        self.clock = clock
        self.main_system = main_system
        self.settings = settings or DossierSettings()
        self.link = LinkMonitor(main_system is not None)
        # Told about every dossier whose mirror row changed from a push or a sync, as (code, status) pairs; the hub
        # records them as ``dossier.updated`` events (codes and status only: no personal data in the event log).
        self.on_applied: Callable[[list[tuple[str, str]]], None] | None = None

    def _applied(self, updates: list[MirrorUpdate], results: list[UpsertResult]) -> None:
        changed = [(u.dossier.code, str(u.dossier.status)) for u, r in zip(updates, results, strict=True)
                   if r is UpsertResult.APPLIED]
        if changed and self.on_applied is not None:
            try:
                self.on_applied(changed)
            except Exception:    # the mirror is what counts; a failed fan-out must not refuse the push
                log.exception("dossier.updated fan-out failed for %d dossier(s)", len(changed))

    # ---- lookup ----
    def lookup(self, text: str) -> dict[str, Any]:
        """The kiosk answer for a typed or scanned code. Raises MotcuaError invalid_dossier_code / unknown_dossier."""
        try:
            # a scanner may hand over a whole QR payload (a URL, a labelled line) around the code; anything else
            # must be the code alone, as the rating route demands (trailing junk is a typo, not a payload)
            code = code_from_input(text).normalized
        except DossierCodeError as err:
            raise MotcuaError(ErrorCode.INVALID_DOSSIER_CODE, str(err)) from err
        dossier = self.mirror.get(code)
        source = "mirror"
        if dossier is None:
            dossier = self._pull(code)
            source = "main_system"
        return self.answer(dossier, source)

    def _pull(self, code: str) -> Dossier:
        now = self.clock.now()
        if self.main_system is None or not self.settings.pull_on_miss:
            raise MotcuaError(ErrorCode.UNKNOWN_DOSSIER, f"dossier {code} is not in the hub's lookup table")
        try:
            raw = self.main_system.fetch_dossier(code)
        except MainSystemUnavailable as err:
            self.link.failed(now, str(err))
            log.warning("dossier %s: main system unavailable on cache miss: %s", code, err)
            raise MotcuaError(ErrorCode.UNKNOWN_DOSSIER,
                              f"dossier {code} is not in the hub's lookup table and the main system cannot be "
                              "reached right now") from err
        except MainSystemError as err:
            log.warning("dossier %s: main system refused the look-up: %s", code, err)
            raise MotcuaError(ErrorCode.UNKNOWN_DOSSIER, f"dossier {code} could not be looked up") from err
        self.link.ok(now)
        if raw is None:
            raise MotcuaError(ErrorCode.UNKNOWN_DOSSIER, f"no dossier with code {code}")
        dossier = dossier_from_push(raw)
        if dossier.code != code:
            raise MotcuaError(ErrorCode.UNKNOWN_DOSSIER, f"no dossier with code {code}")
        self.mirror.upsert(dossier, now)
        stored = self.mirror.get(code)
        return stored if stored is not None else replace(dossier, synced_at=now)

    def answer(self, d: Dossier, source: str) -> dict[str, Any]:
        now = self.clock.now()
        due = d.due_at
        appointment = d.appointment_at or (self.calendar.appointment_for(due) if due else None)
        finished_at = (d.finished_at or now) if d.finished else None
        warnings = deadline_warnings(self.calendar, now, due, finished_at,
                                     [StepDeadline(s.name, s.due_at, s.done_at) for s in d.steps],
                                     counted_from=self.calendar.counting_start(d.received_at))
        overdue = not d.finished and due is not None and now > due
        vi, en = OVERDUE_WORDS if overdue else STATUS_WORDS[d.status]
        warning_list = [{"code": str(w), "vi": WARNING_WORDS[w][0], "en": WARNING_WORDS[w][1]} for w in warnings]
        if d.original_due_at is not None:
            warning_list.append({"code": "apologised", "vi": WARNING_WORDS["apologised"][0],
                                 "en": WARNING_WORDS["apologised"][1]})
        synced = d.synced_at or now
        age_s = max(0, int((now - synced).total_seconds()))
        link = self.link.status()
        stale = age_s > self.settings.stale_after_s
        as_of = f"{synced.astimezone(VN_TZ):%H:%M %d/%m/%Y}"
        if link.state == "down":
            note = (f"Mất kết nối với hệ thống một cửa của tỉnh; thông tin cập nhật lúc {as_of}",
                    f"Main system unreachable; information as of {as_of}")
        else:
            note = (f"Thông tin cập nhật lúc {as_of}", f"Information as of {as_of}")
        return {
            "dossier": {
                "code": d.code,
                "procedure": d.procedure,
                "applicant": d.applicant_masked,
                "received_at": format_at(d.received_at),
                "status": str(d.status),
                "display_status": "overdue" if overdue else str(d.status),
                "status_vi": vi,
                "status_en": en,
                "due_at": format_at(due) if due else None,
                "appointment_at": format_at(appointment) if appointment else None,
                "working_minutes_left": self.calendar.time_left(now, due) if due and not d.finished else None,
                "finished_at": format_at(d.finished_at) if d.finished_at else None,
                "apology": None if d.original_due_at is None else {
                    "original_due_at": format_at(d.original_due_at), "new_due_at": format_at(due) if due else None,
                    "reason": d.apology_reason, "counts_as_late": True},
                "steps": [{"name": s.name, "unit": s.unit,
                           "started_at": format_at(s.started_at) if s.started_at else None,
                           "due_at": format_at(s.due_at) if s.due_at else None,
                           "done_at": format_at(s.done_at) if s.done_at else None} for s in d.steps],
            },
            "warnings": warning_list,
            "freshness": {"source": source, "synced_at": format_at(synced), "age_s": age_s, "stale": stale,
                          "link": link.state, "note_vi": note[0], "note_en": note[1]},
        }

    # ---- rates (manager board) ----
    def rates(self, received_from: datetime, received_before: datetime) -> dict[str, Any]:
        """On-time rate (finished on or before the deadline, no apology / finished) and resolution rate
        (finished / received) for dossiers received in [from, before)."""
        outcomes = []
        finished = 0
        pairs = self.mirror.outcomes(received_from, received_before)
        for d, done in pairs:
            if d.due_at is None:
                continue
            finished += 1 if done else 0
            outcomes.append(DossierOutcome(d.due_at, (d.finished_at or d.updated_at or d.synced_at) if done else None,
                                           d.original_due_at is not None))
        return {"received": len(pairs), "finished": finished, "on_time_rate": on_time_rate(outcomes),
                "resolution_rate": resolution_rate(len(pairs), finished)}

    # ---- sync in ----
    def ingest(self, body: Any) -> dict[str, Any]:
        """A push from the main system: validated as a whole, applied in one transaction, idempotent."""
        updates = updates_from_push(body)
        now = self.clock.now()
        updates = [self._keep_first_apology(u) for u in updates]
        results = self.mirror.apply(updates, now)
        self.link.ok(now)
        self._applied(updates, results)
        counts = {str(r): sum(1 for x in results if x is r) for r in UpsertResult}
        return {"results": [{"update_id": u.update_id, "code": u.dossier.code, "result": str(r)}
                            for u, r in zip(updates, results, strict=True)], "counts": counts}

    def _keep_first_apology(self, update: MirrorUpdate) -> MirrorUpdate:
        """An apology with a new date is allowed once: a second one keeps the first original date (the
        dossier already counts as late) and is logged for the manager."""
        current = self.mirror.get(update.dossier.code)
        new = update.dossier
        if current is not None and current.original_due_at is not None and \
                new.original_due_at not in (None, current.original_due_at):
            log.warning("dossier %s: a second apology/new date was pushed; keeping the first original date %s",
                        new.code, format_at(current.original_due_at))
            return replace(update, dossier=replace(new, original_due_at=current.original_due_at))
        return update

    def sync_once(self) -> int:
        """One status-sync round with the cursor kept in the mirror, so a restart resumes; returns the count."""
        count, cursor = self.sync_from_main_system(self.mirror.meta("sync_cursor"))
        if cursor:
            self.mirror.set_meta("sync_cursor", cursor)
        return count

    def sync_from_main_system(self, cursor: str | None) -> tuple[int, str | None]:
        """Status-sync pull (for provinces that do not push): applies changed dossiers, returns (count, cursor)."""
        if self.main_system is None:
            return 0, cursor
        now = self.clock.now()
        try:
            items, next_cursor = self.main_system.fetch_updates(cursor)
        except MainSystemError as err:
            self.link.failed(now, str(err))
            raise
        updates = []
        for raw in items:
            try:
                updates.append(MirrorUpdate(self._keep_first_apology(MirrorUpdate(dossier_from_push(raw))).dossier))
            except MotcuaError as err:
                log.warning("status sync: skipped a record the main system sent: %s", err.message)
        self._applied(updates, self.mirror.apply(updates, now))
        self.link.ok(now)
        return len(updates), next_cursor


class DossierSyncPoller:
    """For provinces that do not push: pulls changed dossiers every ``every_s`` in a thread; stoppable.
    Also forgets push idempotency keys older than ``keep_push_ids_s``."""

    def __init__(self, service: DossierService, every_s: float, keep_push_ids_s: float = 7 * 86400) -> None:
        self.service = service
        self.every_s = every_s
        self.keep_push_ids_s = keep_push_ids_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> DossierSyncPoller:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="dossier-sync", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                count = self.service.sync_once()
                if count:
                    log.info("status sync: %d dossiers updated", count)
                now = self.service.clock.now()
                self.service.mirror.forget_push_ids_before(now - timedelta(seconds=self.keep_push_ids_s))
            except MainSystemError as err:
                log.warning("status sync: main system unavailable: %s", err)
            except Exception:  # the poller must outlive a bad round
                log.exception("status sync: round failed")
            self._stop.wait(self.every_s)
