"""LiveConfig: the admin's live changes to a running center — services, counters, priority categories, users,
working hours, announced days off, the display notice, the rating scale, and sections a ``LiveExtension`` adds (the
composition root plugs in [bookings] / [notifications], queue_server/engagement_live.py) — and every user's own
password.

Each change builds the candidate settings (runtime.settings.edit: the same rules as ``motcua config check``), is
refused with the key-naming one-line message when they fail, and otherwise is swapped in through the queue's
single writer together with its ``config.changed`` event (who, which sections, before/after; never a password
hash: hashes set live go to the ConfigRepository). ``replay`` folds those events back on top of the TOML seed
at start, so a restarted hub has the same live center. Must not: talk HTTP or MQTT, or read the wall clock.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import date
from typing import Any, Protocol

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import format_at
from queue_server.app.ports import ConfigRepository
from queue_server.app.queue_service import QueueService
from queue_server.domain.model import CenterDef, CounterStatus
from queue_server.domain.transitions import QueueState
from runtime.settings import ConfigError, HubSettings
from runtime.settings.edit import SECTIONS, apply_sections, document

log = logging.getLogger(__name__)

# what no live user record may hold: it can never match a password (werkzeug's format, an impossible digest)
_NO_PASSWORD = "pbkdf2:sha256:1$none$none"
_WEAK = {"12345678", "123456789", "1234567890", "password", "matkhau123", "admin123", "motcua123", "abc12345"}


def password_problem(username: str, password: str) -> str | None:
    """Why ``password`` is too weak (Vietnamese / English), or None."""
    if len(password) < 8:
        return "Mật khẩu cần ít nhất 8 ký tự / at least 8 characters"
    if not re.search(r"[^\W\d_]", password) or not re.search(r"\d", password):
        return "Mật khẩu cần có cả chữ và số / needs letters and digits"
    if password.lower() in _WEAK or username.lower() in password.lower():
        return "Mật khẩu quá dễ đoán / too easy to guess"
    return None


def service_center(settings: HubSettings, national_off: Iterable[date] = (),
                   national_makeup: Iterable[date] = ()) -> CenterDef:
    """The center the queue runs: the settings' definition with the national calendar (when observed) and the
    center's own announced days off and make-up days, and how booked tickets mix with walk-ins ([bookings]
    placement = "interleave": the ordering policy's ``booked_walk_ins``; a live change keeps it, as it is rebuilt
    here from the settings each time)."""
    off = set(national_off) if settings.observe_holidays else set()
    makeup = set(national_makeup) if settings.observe_holidays else set()
    off = (off - settings.announced_makeup_days) | settings.announced_days_off
    makeup = (makeup - settings.announced_days_off) | settings.announced_makeup_days
    bookings = getattr(settings, "bookings", None)
    rules = getattr(bookings, "rules", None)
    mix = rules.interleave_walk_ins if rules is not None and rules.placement == "interleave" else 0
    return replace(settings.center, days_off=frozenset(off), makeup_days=frozenset(makeup),
                   policy=replace(settings.center.policy, booked_walk_ins=mix))


def still_in_use(state: QueueState, new: CenterDef) -> None:
    """Refuse to remove a service citizens are waiting for today, or a counter that is not closed: their tickets
    and staff would be stranded. Checked against the live state by the writer, so nothing slips in between."""
    for code in state.queues:
        if new.service(code) is None and state.center.service(code) is not None and state.waiting_count(code):
            raise MotcuaError(ErrorCode.CONFIG_INVALID,
                              f"services: {code!r} cannot be removed: {state.waiting_count(code)} ticket(s) still "
                              f"waiting (còn người đang chờ)")
    for cid, counter in state.counters.items():
        # a ticket transferred to a counter waits for that counter alone: without it nobody could call it
        sent = len(state.targeted.get(cid, ()))
        if new.counter(cid) is None and state.center.counter(cid) is not None and sent:
            raise MotcuaError(ErrorCode.CONFIG_INVALID,
                              f"counters: quầy {cid!r} còn {sent} người được chuyển đến đang chờ, chưa xoá được "
                              f"/ {cid!r} cannot be removed: {sent} ticket(s) transferred to it still waiting")
        if new.counter(cid) is None and state.center.counter(cid) is not None and \
                counter.status != CounterStatus.CLOSED:
            raise MotcuaError(ErrorCode.CONFIG_INVALID,
                              f"counters: {cid!r} cannot be removed while it is {counter.status} "
                              "(đóng quầy trước / close it first)")


def _with_hashes(users: Any, settings: HubSettings, credentials: dict[str, str]) -> Any:
    if not isinstance(users, list):
        return users
    out = []
    for u in users:
        if isinstance(u, dict) and "password_hash" not in u:
            name = u.get("username")
            known = settings.user(name) if isinstance(name, str) else None
            u = {**u, "password_hash": credentials.get(str(name)) or (known.password_hash if known else _NO_PASSWORD)}
        out.append(u)
    return out


class LiveExtension(Protocol):
    """More sections an admin changes live, validated by their own parser (the composition root plugs in
    queue_server.engagement_live for [bookings] / [notifications]): ``apply`` re-checks them against the candidate
    center even when only core sections changed; ``check`` asks the running parts whether the change may go ahead
    (a sentence saying why not, or None); ``applied`` hands the new settings to them. ``fence()`` is held from before
    ``check`` until ``applied`` has run (or the change failed): what the check read cannot change meanwhile."""

    sections: tuple[str, ...]

    def document(self, settings: HubSettings) -> dict[str, Any]: ...

    def apply(self, settings: HubSettings, changes: Mapping[str, Any]) -> HubSettings: ...

    def check(self, old: HubSettings, new: HubSettings) -> str | None: ...

    def applied(self, new: HubSettings) -> None: ...

    def fence(self) -> AbstractContextManager[Any]: ...


def _apply(settings: HubSettings, changes: dict[str, Any], extension: LiveExtension | None) -> HubSettings:
    extra = extension.sections if extension is not None else ()
    unknown = [k for k in changes if k not in SECTIONS and k not in extra]
    if unknown:
        raise ConfigError(f"{unknown[0]}: not a section that can be changed live ({', '.join(SECTIONS + extra)})")
    core = {k: v for k, v in changes.items() if k in SECTIONS}
    if core or extension is None:
        settings = apply_sections(settings, core)
    elif not changes:
        raise ConfigError("sections: nothing to change")
    if extension is not None:
        settings = extension.apply(settings, {k: v for k, v in changes.items() if k in extra})
    return settings


def replay(settings: HubSettings, repo: ConfigRepository, extension: LiveExtension | None = None) -> HubSettings:
    """The TOML seed with every recorded change applied in order, and passwords set live. A change the seed no
    longer accepts (the file was edited since) is skipped with a warning: the hub starts on what is valid."""
    credentials = repo.credentials()
    names = SECTIONS + (extension.sections if extension is not None else ())
    for data in repo.changes():
        after = data.get("after")
        if not isinstance(after, dict):
            continue
        changes = {k: v for k, v in after.items() if k in names}
        if "users" in changes:
            changes["users"] = _with_hashes(changes["users"], settings, credentials)
        if not changes:
            continue
        try:
            settings = _apply(settings, changes, extension)
        except ConfigError as err:
            log.warning("config.changed by %s no longer applies to this config file, skipped: %s",
                        data.get("by"), err)
    if credentials:
        settings = replace(settings, users=tuple(replace(u, password_hash=credentials.get(u.username,
                                                                                          u.password_hash))
                                                 for u in settings.users))
    return settings


class LiveConfig:
    """Holds the live settings; ``change`` / the user operations apply one admin change at a time."""

    def __init__(self, settings: HubSettings, service: QueueService, repo: ConfigRepository,
                 national_off: Iterable[date] = (), national_makeup: Iterable[date] = (),
                 extension: LiveExtension | None = None) -> None:
        self.settings = settings
        self.extension = extension
        self.service = service
        self.repo = repo
        self.national_off = frozenset(national_off)
        self.national_makeup = frozenset(national_makeup)
        self._lock = threading.Lock()       # one admin change at a time: before/after are exact
        self._subscribers: list[Callable[[HubSettings], None]] = []

    def subscribe(self, fn: Callable[[HubSettings], None]) -> None:
        """``fn(new_settings)`` runs under the writer's lock as each change becomes durable."""
        self._subscribers.append(fn)

    def document(self) -> dict[str, Any]:
        return self._document(self.settings)

    def _document(self, settings: HubSettings) -> dict[str, Any]:
        doc = document(settings, secrets=False)
        if self.extension is not None:
            doc.update(self.extension.document(settings))
        return doc

    # ------------------------------------------------------------------------------------------ changes
    def change(self, by: str, sections: dict[str, Any], *, credential: tuple[str, str] | None = None,
               note: dict[str, Any] | None = None) -> dict[str, Any]:
        """Apply whole sections (TOML-shaped; users without hashes keep theirs); returns the event's data.
        Raises MotcuaError CONFIG_INVALID with the key-naming message, nothing changed."""
        fence = self.extension.fence() if self.extension is not None else nullcontext()
        with self._lock, fence:
            current = self.settings
            credentials = {credential[0]: credential[1]} if credential else {}
            changes = dict(sections)
            if "users" in changes:
                changes["users"] = _with_hashes(changes["users"], current, credentials)
            try:
                new = _apply(current, changes, self.extension)
            except ConfigError as err:
                raise MotcuaError(ErrorCode.CONFIG_INVALID, str(err)) from None
            problem = self.extension.check(current, new) if self.extension is not None else None
            if problem is not None:
                raise MotcuaError(ErrorCode.CONFIG_INVALID, problem)
            if credential is not None:
                name, hashed = credential
                new = replace(new, users=tuple(replace(u, password_hash=hashed) if u.username == name else u
                                               for u in new.users))
            before, after = self._document(current), self._document(new)
            extra = self.extension.sections if self.extension is not None else ()
            names = [s for s in SECTIONS + extra if s in sections]
            data: dict[str, Any] = {"by": by, "sections": names,
                                    "before": {s: before[s] for s in names}, "after": {s: after[s] for s in names}}
            if note:
                data.update(note)
            if credential is not None:
                # the hash is stored before the event: a crash between the two leaves the password changed but
                # unrecorded, never an event that points at a password that is not there
                self.repo.set_credential(credential[0], credential[1], format_at(self.service.clock.now()))

            def applied() -> None:
                self.settings = new
                if self.extension is not None:
                    try:
                        self.extension.applied(new)
                    except Exception:
                        log.exception("live extension %r failed", self.extension)
                for fn in self._subscribers:
                    try:
                        fn(new)
                    except Exception:
                        log.exception("config subscriber %r failed", fn)

            envelope = self.service.reconfigure(service_center(new, self.national_off, self.national_makeup), data,
                                                applied, guard=lambda state: still_in_use(state, new.center))
            return {**data, "seq": envelope.seq}

    def users_doc(self) -> list[dict[str, Any]]:
        users: list[dict[str, Any]] = document(self.settings, secrets=False)["users"]
        return users
