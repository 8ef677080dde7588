"""Face lookup use cases on the hub: enrol with explicit consent, 1:N match for a kiosk, withdrawal, staff
deletion, the retention purge, and following dossier returns for that purge.

Holds the decrypted templates only in RAM (the index port: devices/face/matching.py TemplateIndex, given by the
wiring); the gallery adapter keeps them encrypted on disk. No numpy here: templates pass through as opaque vectors.
Consent and deletions become events in the hub's log (``face.consent``, ``face.deleted``: who, when, the consent
text's version, the dossier codes; never a template). Matches, refusals and everything else go to the gallery's
own audit trail, which is never published. No Flask here; the blueprint is queue_server/web/face.py.
"""
from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from contracts.dossier_code import DossierCodeError, parse_dossier_code
from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import parse_at
from queue_server.app.ports import Clock
from queue_server.domain.face_consent import CONSENT_VERSION, Retention, consent_text, purge_due

log = logging.getLogger(__name__)

MAX_TEMPLATES = 5
MAX_CODES = 10
WITHDRAW_TOKEN_TTL = timedelta(minutes=3)
KIOSK_REQUEST_TTL = timedelta(minutes=10)   # a kiosk enrolment waits this long for a staff member, in RAM only
MAX_KIOSK_REQUESTS = 20


@dataclass
class KioskRequest:
    """A citizen's enrolment made at a kiosk, waiting for staff to confirm it (their ID checked at the kiosk)."""

    id: str
    device: str
    codes: list[str]
    consent_version: str
    template: Any = field(repr=False)       # never in a log line
    at: datetime
    expires: datetime
CHANNELS = ("counter", "kiosk")

FALLBACK_VI = ("Chưa nhận ra được khuôn mặt một cách chắc chắn. Xin Ông/Bà tra cứu bằng mã hồ sơ hoặc quét mã QR "
               "trên phiếu hẹn.")
FALLBACK_EN = "We could not recognise you with certainty. Please look up by dossier code or scan the QR code."


Vector = Any          # a checked 128-d float32 template (numpy array); only the index and the gallery look inside


class MatchOutcome(Protocol):
    @property
    def verdict(self) -> str:
        """"match", "uncertain" or "no_match"."""
    @property
    def subject(self) -> str | None: ...
    @property
    def distance(self) -> float | None: ...
    @property
    def second_distance(self) -> float | None: ...


class TemplateIndexPort(Protocol):
    """Templates in RAM and the 1:N rule (devices.face.matching.TemplateIndex, with the configured policy)."""

    def __len__(self) -> int: ...
    @property
    def subjects(self) -> int: ...
    def add(self, subject: str, vector: Vector) -> None: ...
    def remove(self, subject: str) -> int: ...
    def match(self, query: Vector) -> MatchOutcome: ...
    def check(self, vector: Any) -> Vector:
        """The vector as a template, or ValueError saying what is wrong."""
        ...


class FaceGalleryPort(Protocol):
    """What the service needs from the encrypted gallery (queue_server/adapters/face_gallery.py has it)."""

    def load(self, at: datetime) -> list[tuple[str, Vector]]: ...
    def add_subject(self, subject_id: str, templates: Iterable[Vector], *, at: datetime, actor: str,
                    channel: str, consent_version: str, codes: Iterable[str]) -> None: ...
    def link_codes(self, subject_id: str, codes: Iterable[str], *, at: datetime, actor: str) -> None: ...
    def delete_subject(self, subject_id: str, *, at: datetime, actor: str, action: str,
                       detail: dict[str, Any] | None = None) -> bool: ...
    def mark_returned(self, code: str, at: datetime | None) -> int: ...
    def audit(self, at: datetime, action: str, subject_id: str | None, actor: str,
              detail: dict[str, Any] | None = None) -> None: ...
    def subject(self, subject_id: str) -> Any: ...
    def subjects(self, limit: int = 500) -> list[Any]: ...
    def audit_trail(self, limit: int = 200) -> list[dict[str, Any]]: ...
    def close(self) -> None: ...


def _bad(message: str) -> MotcuaError:
    return MotcuaError(ErrorCode.BAD_REQUEST, message)


@dataclass(frozen=True, slots=True)
class FaceSettings:
    retention: Retention = field(default_factory=Retention)


def parse_consent(consent: Any) -> str:
    """The consent block must say ``accepted: true`` (the JSON literal, not "yes" or 1) for the text version in
    force; returns that version. Silence, a default or an old text is not consent (Decree 356/2025)."""
    if not isinstance(consent, dict):
        raise _bad("consent: missing; the citizen must read and accept the consent text first")
    if consent.get("accepted") is not True:
        raise _bad("consent: accepted must be true (the citizen pressed 'Tôi đồng ý')")
    version = consent.get("version")
    if version != CONSENT_VERSION:
        raise _bad(f"consent: version {version!r} is not the text in force ({CONSENT_VERSION}); show it again")
    return CONSENT_VERSION


def parse_codes(codes: Any) -> list[str]:
    if not isinstance(codes, list) or not codes or len(codes) > MAX_CODES:
        raise _bad(f"dossier_codes: a list of 1 to {MAX_CODES} dossier codes")
    out: list[str] = []
    for i, code in enumerate(codes):
        if not isinstance(code, str):
            raise _bad(f"dossier_codes[{i}]: expected a string")
        try:
            normal = parse_dossier_code(code).normalized
        except DossierCodeError as err:
            raise MotcuaError(ErrorCode.INVALID_DOSSIER_CODE, f"dossier_codes[{i}]: {err}") from err
        if normal not in out:
            out.append(normal)
    return out


class FaceService:
    def __init__(self, gallery: FaceGalleryPort, clock: Clock, index: TemplateIndexPort, *,
                 settings: FaceSettings = FaceSettings(),
                 record_event: Callable[[str, dict[str, Any]], Any] | None = None,
                 lookup: Callable[[str], dict[str, Any]] | None = None) -> None:
        self.gallery = gallery
        self.clock = clock
        self.settings = settings
        self._record_event = record_event or (lambda _type, _data: None)
        self._lookup = lookup
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, datetime]] = {}
        self._requests: dict[str, KioskRequest] = {}
        self.index = index
        for subject, vector in gallery.load(clock.now()):
            self.index.add(subject, vector)
        log.info("face gallery: %d template(s) of %d citizen(s) loaded", len(self.index), self.index.subjects)

    # ---- consent ----------------------------------------------------------------------------------------
    def consent(self) -> dict[str, Any]:
        r = self.settings.retention
        text = consent_text(r.days_after_return, r.max_days)
        return {"version": text.version, "title_vi": text.title_vi, "title_en": text.title_en,
                "paragraphs_vi": list(text.paragraphs_vi), "paragraphs_en": list(text.paragraphs_en),
                "agree_vi": text.agree_vi, "agree_en": text.agree_en,
                "decline_vi": text.decline_vi, "decline_en": text.decline_en}

    # ---- enrolment --------------------------------------------------------------------------------------
    def enrol(self, *, templates: list[Vector], consent: Any, codes: Any, actor: str,
              channel: str = "counter", link_to: Any = None) -> dict[str, Any]:
        """Store a consenting citizen's templates linked to their dossier codes. Everything is checked before
        anything is written; the consent event is recorded before the template is stored.

        A face that already matches an enrolled citizen is refused unless staff name that citizen (``link_to``):
        linking on the match alone would show one person's dossiers to a look-alike."""
        version = parse_consent(consent)
        normal = parse_codes(codes)
        if channel not in CHANNELS:
            raise _bad(f"channel: expected one of {', '.join(CHANNELS)}")
        try:
            vectors = [self.index.check(t) for t in templates]
        except ValueError as err:
            raise _bad(f"templates: {err}") from err
        if not vectors:
            raise _bad("templates: at least one face template")
        now = self.clock.now()
        with self._lock:
            same = self.index.match(vectors[0])
            if same.verdict == "match" and same.subject is not None:
                if link_to != same.subject:
                    raise MotcuaError(ErrorCode.BAD_REQUEST, (
                        f"already_enrolled: this face matches enrolled citizen {same.subject}; if it is the same "
                        f"person, send link_to={same.subject!r} to add the codes (check their ID first)"))
                # the same citizen, confirmed by staff: link the new codes rather than keep two copies of one face
                subject = same.subject
                self._record_event("face.consent", {"subject": subject, "by": actor, "channel": channel,
                                                    "consent_version": version, "dossier_codes": normal,
                                                    "existing": True})
                self.gallery.link_codes(subject, normal, at=now, actor=actor)
                return {"subject": subject, "dossier_codes": normal, "already_enrolled": True}
            subject = "fs_" + secrets.token_hex(8)
            self._record_event("face.consent", {"subject": subject, "by": actor, "channel": channel,
                                                "consent_version": version, "dossier_codes": normal})
            self.gallery.add_subject(subject, vectors, at=now, actor=actor, channel=channel, consent_version=version,
                                     codes=normal)
            for v in vectors:
                self.index.add(subject, v)
        return {"subject": subject, "dossier_codes": normal, "already_enrolled": False}

    # ---- enrolment at a kiosk, confirmed by staff -------------------------------------------------------
    def request_at_kiosk(self, *, template: Any, consent: Any, codes: Any, device: str, liveness: Any
                         ) -> dict[str, Any]:
        """The citizen consented and passed liveness at a kiosk: the template waits in RAM (never on disk) until a
        staff member confirms it on the enrolment page, or expires."""
        version = parse_consent(consent)
        normal = parse_codes(codes)
        if not isinstance(liveness, dict) or liveness.get("passed") is not True:
            self.refuse("liveness", device, {"channel": "kiosk"})
            raise _bad("liveness: the kiosk must check liveness (passed: true) before an enrolment")
        try:
            vector = self.index.check(template)
        except ValueError as err:
            raise _bad(f"template: {err}") from err
        now = self.clock.now()
        with self._lock:
            self._requests = {k: r for k, r in self._requests.items() if r.expires > now}
            if len(self._requests) >= MAX_KIOSK_REQUESTS:
                raise MotcuaError(ErrorCode.RATE_LIMITED, "too many kiosk enrolments waiting for staff; try later")
            request = KioskRequest(secrets.token_hex(6), device, normal, version, vector, now,
                                   now + KIOSK_REQUEST_TTL)
            self._requests[request.id] = request
        self.gallery.audit(now, "requested", None, device, {"request": request.id, "codes": normal})
        return {"request_id": request.id, "expires_in_s": int(KIOSK_REQUEST_TTL.total_seconds())}

    def kiosk_requests(self) -> list[dict[str, Any]]:
        now = self.clock.now()
        with self._lock:
            live = [r for r in self._requests.values() if r.expires > now]
        return [{"request_id": r.id, "device": r.device, "dossier_codes": r.codes, "at": r.at.isoformat(),
                 "expires_at": r.expires.isoformat()} for r in sorted(live, key=lambda r: r.at)]

    def decide_kiosk_request(self, request_id: str, *, approve: bool, actor: str, link_to: Any = None
                             ) -> dict[str, Any]:
        now = self.clock.now()
        with self._lock:
            request = self._requests.pop(request_id, None)
        if request is None or request.expires <= now:
            raise MotcuaError(ErrorCode.NOT_FOUND, f"no kiosk enrolment {request_id!r} waiting (expired?)")
        if not approve:
            self.gallery.audit(now, "rejected", None, actor, {"request": request.id, "device": request.device})
            return {"rejected": True}
        return self.enrol(templates=[request.template], consent={"accepted": True, "version": request.consent_version},
                          codes=request.codes, actor=actor, channel="kiosk", link_to=link_to)

    def refuse(self, reason: str, actor: str, detail: dict[str, Any] | None = None) -> None:
        """A look-up or enrolment refused before matching (liveness failed, no face, two faces, no consent)."""
        self.gallery.audit(self.clock.now(), "refused", None, actor, {"reason": reason, **(detail or {})})

    # ---- look-up ----------------------------------------------------------------------------------------
    def match(self, template: Vector, *, device: str, liveness: Any) -> dict[str, Any]:
        """1:N match for a kiosk that has checked liveness. A match answers with the linked dossiers (masked
        names, from the dossier look-up) and a short-lived token for withdrawal; anything else, a polite fallback."""
        now = self.clock.now()
        if not isinstance(liveness, dict) or liveness.get("passed") is not True:
            self.refuse("liveness", device)
            raise _bad("liveness: the kiosk must check liveness (passed: true) before a face look-up")
        try:
            vector = self.index.check(template)
        except ValueError as err:
            raise _bad(f"template: {err}") from err
        result = self.index.match(vector)
        detail = {"distance": None if result.distance is None else round(result.distance, 3),
                  "second": None if result.second_distance is None else round(result.second_distance, 3),
                  "challenge": str(liveness.get("challenge", ""))[:20]}
        if result.verdict != "match" or result.subject is None:
            self.gallery.audit(now, str(result.verdict), None, device, detail)
            return {"verdict": str(result.verdict), "message_vi": FALLBACK_VI, "message_en": FALLBACK_EN}
        record = self.gallery.subject(result.subject)
        if record is None:                       # deleted between the index and here
            self.index.remove(result.subject)
            return {"verdict": "no_match", "message_vi": FALLBACK_VI, "message_en": FALLBACK_EN}
        self.gallery.audit(now, "matched", record.subject_id, device, detail)
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}
            self._tokens[token] = (record.subject_id, now + WITHDRAW_TOKEN_TTL)
        return {"verdict": "match", "dossiers": [self._dossier(c) for c in record.codes],
                "withdraw_token": token}

    def _dossier(self, code: str) -> dict[str, Any]:
        if self._lookup is None:
            return {"code": code}
        try:
            return self._lookup(code)
        except MotcuaError as err:
            return {"code": code, "error": {"code": str(err.code), "message": str(err)}}

    # ---- deletion ---------------------------------------------------------------------------------------
    def withdraw(self, token: Any, *, device: str) -> dict[str, Any]:
        """The citizen, just matched at a kiosk, confirmed 'delete my face data': deleted at once."""
        now = self.clock.now()
        if not isinstance(token, str):
            raise _bad("withdraw_token: missing")
        with self._lock:
            entry = self._tokens.pop(token, None)
        if entry is None or entry[1] <= now:
            raise MotcuaError(ErrorCode.FORBIDDEN, "withdraw_token: unknown or expired; look up by face again")
        self._delete(entry[0], actor=f"citizen@{device}", action="withdrawn")
        return {"deleted": True}

    def delete(self, subject: str, *, actor: str) -> dict[str, Any]:
        """Staff deletion (a written withdrawal at the counter, Decree 356 Art. 5.2)."""
        if not self._delete(subject, actor=actor, action="deleted"):
            raise MotcuaError(ErrorCode.NOT_FOUND, f"no enrolled citizen {subject!r}")
        return {"deleted": True}

    def _delete(self, subject: str, *, actor: str, action: str, detail: dict[str, Any] | None = None) -> bool:
        with self._lock:
            self.index.remove(subject)
            self._tokens = {t: v for t, v in self._tokens.items() if v[0] != subject}
            gone = self.gallery.delete_subject(subject, at=self.clock.now(), actor=actor, action=action,
                                               detail=detail)
        if gone:
            self._record_event("face.deleted", {"subject": subject, "by": actor, "reason": action,
                                                **(detail or {})})
        return gone

    def purge(self) -> list[str]:
        """Delete every citizen past the retention rule; returns their subject ids."""
        now = self.clock.now()
        purged = []
        for record in self.gallery.subjects(limit=1_000_000):
            why = purge_due(record.enrolled_at, record.codes, record.returned, now, self.settings.retention)
            if why is not None and self._delete(record.subject_id, actor="system", action="purged",
                                                detail={"why": why}):
                purged.append(record.subject_id)
        return purged

    # ---- dossier returns --------------------------------------------------------------------------------
    def on_events(self, envelopes: Iterable[Any]) -> None:
        """Hub event listener: a linked dossier returned (or reopened) moves its citizen's purge date."""
        for e in envelopes:
            if getattr(e, "type", None) != "dossier.updated":
                continue
            code, status = e.data.get("code"), e.data.get("status")
            if isinstance(code, str):
                self.gallery.mark_returned(code, parse_at(e.at) if status == "returned" else None)

    def subjects(self) -> list[dict[str, Any]]:
        return [{"subject": r.subject_id, "enrolled_at": r.enrolled_at.isoformat(), "enrolled_by": r.enrolled_by,
                 "channel": r.channel, "consent_version": r.consent_version, "dossier_codes": list(r.codes),
                 "returned": {c: at.isoformat() for c, at in r.returned.items()}}
                for r in self.gallery.subjects()]

    def close(self) -> None:
        self.gallery.close()


class FacePurger:
    """Runs ``purge`` at start and every ``every_s`` in a daemon thread (the nightly job, more often)."""

    def __init__(self, service: FaceService, every_s: float = 3600.0) -> None:
        self.service = service
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> FacePurger:
        self._thread = threading.Thread(target=self._run, name="face-purge", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                purged = self.service.purge()
                if purged:
                    log.info("face gallery: %d citizen(s) purged by the retention rule", len(purged))
            except Exception:   # a bad row must not stop the job for ever; the next run tries again
                log.exception("face purge failed")
            self._stop.wait(self.every_s)
