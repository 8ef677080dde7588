"""Ports of the hub's use cases: what the app needs from the outside, as typing.Protocols adapters implement.

Clock, EventListener, EventStore (log + projections), RatingsRepository, DossierMirrorPort, MainSystem (pull),
Outbox (push), Publisher (MQTT/SSE fan-out), Notifier (the citizen notification outbox), RestoreMarks (the mark
`motcua restore` leaves); the value types and errors that cross these seams live here too.
No I/O of its own and no adapter, web or Flask import. Tests use FixedClock, never the wall clock.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from contracts.messages import VN_TZ, Envelope
from queue_server.app.projector import Projections
from queue_server.domain import wait_estimate
from queue_server.domain.dossier_status import Dossier
from queue_server.domain.model import CenterDef, Lease, Ticket
from queue_server.domain.ratings import Rating
from queue_server.domain.transitions import QueueState


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware (Vietnam time)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(VN_TZ)


class FixedClock:
    """A clock that only moves when told to (thread-safe)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware start")
        self._now = start.astimezone(VN_TZ)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FixedClock needs timezone-aware times")
        with self._lock:
            self._now = moment.astimezone(VN_TZ)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """``advance(seconds=30)`` or ``advance(timedelta(minutes=5))``; returns the new now."""
        step = (delta or timedelta()) + timedelta(**kwargs)
        with self._lock:
            self._now = self._now + step
            return self._now


EventListener = Callable[[Sequence[Envelope]], None]


# ----------------------------------------------------------------------------------- the live configuration
class ConfigRepository(Protocol):
    """Where the admin's live changes are read back (config.changed events) and password hashes set live are
    kept (never in the event log)."""

    def changes(self) -> Iterator[dict[str, Any]]: ...

    def credentials(self) -> dict[str, str]: ...

    def events_between(self, start: str, end: str, prefixes: tuple[str, ...], limit: int
                       ) -> list[tuple[int, str, str, dict[str, Any]]]: ...

    def close(self) -> None: ...

    def set_credential(self, username: str, password_hash: str, at: str) -> None: ...


# ------------------------------------------------------------------------------------------- the event store
class EventStore(Protocol):
    """The append-only event log (the source of truth) and the projections of current state, written together.

    ``commit`` appends the envelopes and applies the projector's rows in ONE durable transaction (all or
    nothing); only the writer calls it. Reads may come from any thread. Implemented by ``SqliteStore`` and,
    for fast unit tests, ``MemoryStore``; a PostgreSQL store would reuse the same projector.
    """

    @property
    def last_seq(self) -> int: ...

    def load_state(self, center: CenterDef, day: date) -> QueueState:
        """The live state of working day ``day`` from the projections (not a replay)."""
        ...

    def history_prior(self, day: date) -> wait_estimate.HistoryPrior:
        """What the recent days before working day ``day`` teach the wait estimate (``load_state`` puts it in the
        state; the writer asks again on each new day). Reads only those days, never the whole log."""
        ...

    def commit(self, envelopes: Sequence[Envelope], rows: Projections, center: CenterDef, seq: int) -> None: ...

    def events_after(self, seq: int, limit: int = 1000) -> list[Envelope]: ...

    def events_since(self, at: str, types: Sequence[str]) -> list[Envelope]:
        """The events of these types stored ``at`` (ISO 8601, +07:00) or later, in seq order."""
        ...

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        """A ticket of any day from the projections, None when unknown."""
        ...

    def get_lease(self, lease_id: str) -> Lease | None:
        """A lease of any day from the projections, None when unknown."""
        ...

    def replay(self, center: CenterDef) -> tuple[QueueState, Projections]:
        """The whole log run through the projector: the final state and every row it implies."""
        ...

    def rebuild(self, center: CenterDef) -> None:
        """Throw the projections away and rebuild them from the log, in one transaction."""
        ...

    def close(self) -> None: ...


# ------------------------------------------------------------------------------------------------- ratings
class StoredSession(NamedTuple):
    """A staff session as stored: the token's SHA-256 only, never the token."""

    token_sha256: str
    username: str
    role: str
    display_name: str
    expires_at: float            # time.time()


class SessionRepository(Protocol):
    """Where staff sessions outlive a hub restart (adapters/session_store.py); a logout deletes the row."""

    def add(self, session: StoredSession, now: float) -> None: ...
    def get(self, token_sha256: str) -> StoredSession | None: ...
    def delete(self, token_sha256: str) -> bool: ...
    def delete_user(self, username: str, keep: str | None = None) -> int: ...


class RestoreMarks(Protocol):
    """The mark ``motcua restore`` leaves in the hub's file (adapters/restore_mark.py): the hub started on a store
    put back from a backup holds new offline-lease grants for a while (app/lease_hold.py), then clears it."""

    def restored(self) -> str | None: ...     # the backup's name; None for a store that was not restored
    def clear(self) -> None: ...


class RatingsRepository(Protocol):
    """Stored ratings; a second rating of the same ticket or dossier code is refused by the store itself
    (MotcuaError already_rated), so two pads racing cannot both win."""

    def add(self, rating: Rating) -> None: ...

    def for_ticket(self, ticket_id: str) -> Rating | None: ...

    def dossier_rated(self, code: str) -> bool: ...

    def on_day(self, day: date) -> list[Rating]: ...

    def between(self, first: date, last: date) -> list[Rating]: ...

    def count(self) -> int: ...

    def close(self) -> None: ...


# ------------------------------------------------------------------------------------------ dossier mirror
class UpsertResult(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"      # this update_id was already applied (idempotent retry)
    STALE = "stale"              # older than what the mirror holds (out-of-order delivery)


@dataclass(frozen=True, slots=True)
class MirrorUpdate:
    dossier: Dossier
    update_id: str | None = None


class DossierMirrorPort(Protocol):
    """The hub's local copy of what citizens may see of their dossiers (lookup works while the main system is
    down). ``apply`` is all or nothing, idempotent per ``update_id``, and ignores updates older than the record."""

    def get(self, code: str) -> Dossier | None: ...

    def count(self) -> int: ...

    def outcomes(self, received_from: datetime, received_before: datetime) -> list[tuple[Dossier, bool]]: ...

    def meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def apply(self, updates: Iterable[MirrorUpdate], now: datetime) -> list[UpsertResult]: ...

    def upsert(self, dossier: Dossier, now: datetime, update_id: str | None = None) -> UpsertResult: ...

    def forget_push_ids_before(self, moment: datetime) -> int: ...

    def close(self) -> None: ...


# -------------------------------------------------------------------------------------- the main-system link
class MainSystemError(Exception):
    """Root of the main-system link's errors."""


class MainSystemUnavailable(MainSystemError):
    """The link is down, slow past the timeout, or the main system answered 5xx: degrade, retry later."""


class MainSystemRejected(MainSystemError):
    """The main system refused the request (4xx other than auth): retrying the same request will not help."""


class MainSystem(Protocol):
    """Calls the hub makes to the province's main system (the pull side; the outbox is the push side)."""

    def fetch_dossier(self, code: str) -> dict[str, Any] | None:
        """The dossier in the hub's push schema (see dossier_from_provincial), None if the main system has no
        such code. Raises MainSystemUnavailable when it cannot tell."""
        ...

    def fetch_updates(self, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Status sync: dossiers changed since ``cursor`` (hub push schema) and the next cursor."""
        ...

    def push_rating_aggregate(self, aggregate: Mapping[str, Any]) -> None:
        """One day's three-level rating counts for one center."""
        ...

    def auth_headers(self) -> dict[str, str]:
        """Headers the outbox adds to its POSTs (agency code, bearer token)."""
        ...


class Outbox(Protocol):
    """Delivers every stored event to the main system at least once, keyed by event id, in order per center.

    It reads the log itself (``fetch_events``); ``wake`` is an EventListener that only says "there is more"."""

    def wake(self, *_: object) -> None: ...

    def metrics(self) -> dict[str, Any]: ...

    def start(self) -> object: ...

    def close(self) -> None: ...


# ------------------------------------------------------------------------------------------------ fan-out
class Publisher(Protocol):
    """Fans committed events out to screens and devices (MQTT, SSE). Called on the writer thread after the
    commit, in seq order, each event once: it must hand off and return quickly, never block on the network."""

    def on_events(self, envelopes: Sequence[Envelope]) -> None: ...


# ------------------------------------------------------------------------------------------- notifications
class Notifier(Protocol):
    """The notification outbox as the app sees it (SMS / Zalo / e-mail to citizens, issue 16): a contact book kept
    apart from the event log, and a durable queue of messages sent later, once, in order per recipient.
    ``enqueue`` only stores (it may be called from any thread but never sends); a thread of its own delivers."""

    def add_contact(self, ticket_id: str, contact: Any, day: str) -> None: ...

    def contact_for(self, ticket_id: str) -> Any: ...

    def waiting_with_contacts(self) -> Sequence[str]: ...

    def purge_contacts_before(self, day: str) -> int: ...

    def enqueue(self, notifications: Sequence[Any]) -> int: ...

    def metrics(self) -> dict[str, Any]: ...

    def start(self) -> object: ...

    def close(self) -> None: ...
