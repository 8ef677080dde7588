"""``[integration]`` settings: the dossier mirror and lookups, the working calendar's override files, the link to the
province's main system and the outbox that delivers hub events to it.

The table's layout (flat keys such as ``lookup_per_minute`` and ``push_hmac_secret``) is read into the objects the
hub's parts take (RateLimit, PushAuth, DossierSettings, MainSystemSettings, OutboxSettings). Pure: no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError

from .errors import from_validation_error
from .fields import TABLE, AtLeastOne, Bool, FilePath, NonEmpty, Number, Seconds, Text, Url
from .source import resolve


def _verify_tls(value: Any) -> Any:
    if isinstance(value, bool) or (isinstance(value, str) and value.strip()):
        return value
    raise ValueError("expected true, false or the path of a CA bundle")


VerifyTls = Annotated[bool | str, BeforeValidator(_verify_tls)]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Token bucket per client IP: ``per_minute`` sustained, ``burst`` at once. A kiosk serves many citizens,
    so the default is generous for a kiosk and still stops someone enumerating codes."""

    per_minute: float = 30.0
    burst: int = 10


@dataclass(frozen=True, slots=True)
class PushAuth:
    """How the main system proves a push is its own: an HMAC secret (preferred) and/or bearer tokens.
    With neither configured the push endpoint refuses everything."""

    hmac_secret: str = field(default="", repr=False)
    tokens: tuple[str, ...] = field(default=(), repr=False)
    tolerance_s: int = 300


@dataclass(frozen=True, slots=True)
class DossierSettings:
    pull_on_miss: bool = True
    # Past this age an answer is marked stale for the citizen (the main system pushes changes within minutes).
    stale_after_s: int = 6 * 3600


@dataclass(frozen=True, slots=True)
class MainSystemSettings:
    """``[integration.main_system]``: the province's one-stop system. Paths are per province; these defaults
    match the mock."""

    __pydantic_config__ = TABLE

    base_url: Url
    agency_code: Text = ""
    agency_header: NonEmpty = "X-Agency-Code"
    auth: Literal["token", "session", "none"] = "token"
    username: Text = ""
    password: Text = field(default="", repr=False)
    login_path: Text = "/api/auth/login"
    lookup_path: Text = "/api/hoso/tracuu"     # ?maHoSo=<code>
    sync_path: Text = "/api/hoso/dongbo"       # ?tuThoiDiem=<cursor>
    vote_path: Text = "/api/vote"
    events_path: Text = "/api/motcua/events"   # where the outbox POSTs hub events
    timeout_s: Seconds = 3.0
    verify_tls: VerifyTls = True               # a CA bundle path for a provincial private CA
    hmac_secret: Text = field(default="", repr=False)

    @property
    def events_url(self) -> str:
        return self.base_url.rstrip("/") + self.events_path

    @property
    def vote_url(self) -> str:
        return self.base_url.rstrip("/") + self.vote_path


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    __pydantic_config__ = TABLE

    events_url: Url
    hmac_secret: Text = field(default="", repr=False)
    ratings_url: Text = ""                 # defaults to events_url
    fetch_limit: AtLeastOne = 500
    deliver_per_pass: AtLeastOne = 500
    max_attempts: AtLeastOne = 20          # then dead-letter (≈ a day with the default backoff cap)
    base_backoff_s: Seconds = 1.0
    max_backoff_s: Seconds = 300.0
    poll_interval_s: Seconds = 2.0
    aggregate_interval_s: Seconds = 300.0
    timeout_s: Seconds = 5.0
    verify_tls: VerifyTls = True
    # 1 = one POST per event (the Idempotency-Key is the event id). >1 only if the receiver takes
    # {"events": [...]} batches and deduplicates each event by its id (the mock does).
    batch_size: AtLeastOne = 1
    keep_delivered_s: Seconds = 7 * 86400   # delivered rows are purged after this (the hub's log keeps events)


@dataclass(frozen=True, slots=True)
class IntegrationSettings:
    """What the hub's integration parts are built from (queue_server.wiring)."""

    mirror_path: Path = Path("var/dossiers.sqlite3")
    outbox_path: Path = Path("var/outbox.sqlite3")
    calendar_dir: Path | None = None          # admin override files vn-YYYY.toml (win over the built-in ones)
    forward_cutoff: time | None = time(15, 0)
    push: PushAuth = field(default_factory=PushAuth)
    rate_limit: RateLimit = field(default_factory=RateLimit)
    trust_forwarded_for: bool = False
    dossiers: DossierSettings = field(default_factory=DossierSettings)
    main_system: MainSystemSettings | None = None
    outbox: OutboxSettings | None = None
    sync_every_s: float = 0.0                 # > 0: poll the main system's status-sync call (no pushes)


def _cutoff(value: Any) -> Any:
    if value in ("", "off"):
        return None
    if not isinstance(value, str):
        raise ValueError('expected HH:MM or "off"')  # noqa: TRY004 — pydantic reports ValueError
    try:
        return time.fromisoformat(value)
    except ValueError as err:
        raise ValueError('expected HH:MM or "off"') from err


@dataclass(frozen=True, slots=True)
class OutboxTable:
    """``[integration.outbox]`` as written: every OutboxSettings key optional (the main system gives the URL,
    secret and TLS check), plus ``enabled``."""

    __pydantic_config__ = TABLE

    enabled: Bool = True
    events_url: Url | None = None
    hmac_secret: Text | None = None
    ratings_url: Text = ""
    fetch_limit: AtLeastOne = 500
    deliver_per_pass: AtLeastOne = 500
    max_attempts: AtLeastOne = 20
    base_backoff_s: Seconds = 1.0
    max_backoff_s: Seconds = 300.0
    poll_interval_s: Seconds = 2.0
    aggregate_interval_s: Seconds = 300.0
    timeout_s: Seconds = 5.0
    verify_tls: VerifyTls | None = None
    batch_size: AtLeastOne = 1
    keep_delivered_s: Seconds = 7 * 86400


@dataclass(frozen=True, slots=True)
class IntegrationTable:
    """``[integration]`` as written in the hub's config file (docs/integration.md lists every key)."""

    __pydantic_config__ = TABLE

    mirror_path: FilePath | None = None
    outbox_path: FilePath | None = None
    calendar_dir: FilePath | None = None
    forward_cutoff: Annotated[time | None, BeforeValidator(_cutoff)] = time(15, 0)
    push_tokens: tuple[NonEmpty, ...] = ()
    push_hmac_secret: Text = ""
    lookup_per_minute: Annotated[Number, Field(gt=0)] = 30.0
    lookup_burst: AtLeastOne = 10
    sync_every_s: Annotated[Number, Field(ge=0)] = 0.0
    trust_forwarded_for: Bool = False
    pull_on_miss: Bool = True
    stale_after_s: AtLeastOne = 6 * 3600
    main_system: MainSystemSettings | None = None
    outbox: OutboxTable | None = None


def integration_from_table(table: IntegrationTable, *, store_dir: Path | None,
                           base_dir: Path | None) -> IntegrationSettings:
    """The settings object from the validated table: paths relative to the config file, the mirror and outbox
    beside the hub's store unless given, the outbox taking the main system's URL, secret and TLS check."""
    main = table.main_system
    outbox: OutboxSettings | None = None
    if main is not None and (table.outbox is None or table.outbox.enabled):
        given = table.outbox or OutboxTable()
        outbox = OutboxSettings(
            events_url=given.events_url or main.events_url,
            hmac_secret=main.hmac_secret if given.hmac_secret is None else given.hmac_secret,
            ratings_url=given.ratings_url, fetch_limit=given.fetch_limit, deliver_per_pass=given.deliver_per_pass,
            max_attempts=given.max_attempts, base_backoff_s=given.base_backoff_s,
            max_backoff_s=given.max_backoff_s, poll_interval_s=given.poll_interval_s,
            aggregate_interval_s=given.aggregate_interval_s, timeout_s=given.timeout_s,
            verify_tls=main.verify_tls if given.verify_tls is None else given.verify_tls,
            batch_size=given.batch_size, keep_delivered_s=given.keep_delivered_s)

    def place(value: Path | None, default_name: str) -> Path:
        if value is None:
            return (store_dir / default_name) if store_dir is not None else Path("var") / default_name
        return resolve(value, base_dir)

    return IntegrationSettings(
        mirror_path=place(table.mirror_path, "dossiers.sqlite3"),
        outbox_path=place(table.outbox_path, "outbox.sqlite3"),
        calendar_dir=resolve(table.calendar_dir, base_dir) if table.calendar_dir is not None else None,
        forward_cutoff=table.forward_cutoff,
        push=PushAuth(hmac_secret=table.push_hmac_secret, tokens=tuple(table.push_tokens)),
        rate_limit=RateLimit(per_minute=float(table.lookup_per_minute), burst=table.lookup_burst),
        trust_forwarded_for=table.trust_forwarded_for,
        dossiers=DossierSettings(pull_on_miss=table.pull_on_miss, stale_after_s=table.stale_after_s),
        main_system=main, outbox=outbox, sync_every_s=float(table.sync_every_s))


__all__ = ["DossierSettings", "IntegrationSettings", "IntegrationTable", "MainSystemSettings", "OutboxSettings",
           "OutboxTable", "PushAuth", "RateLimit", "integration_from_table", "parse_integration"]


def parse_integration(raw: Any, *, store_dir: Path | None = None, base_dir: Path | None = None
                      ) -> IntegrationSettings:
    """The ``[integration]`` table alone (tests and tools); ConfigError names the key (``integration.…``)."""
    try:
        table = TypeAdapter(IntegrationTable).validate_python(raw)
    except ValidationError as err:
        raise from_validation_error(err, prefix="integration") from None
    return integration_from_table(table, store_dir=store_dir, base_dir=base_dir)
