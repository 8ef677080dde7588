"""HTTP client for the hub's public API (docs/api.md), with short timeouts so a dead hub never freezes a screen.

It must not import queue_server: the kiosk knows the hub only through this API. Errors come out as two kinds:
``HubUnavailable`` (no answer, or the hub itself failed) — the kiosk switches to offline issuing — and
``HubError`` (the hub answered with a stable error code) — the presenter translates the code for the citizen.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

log = logging.getLogger(__name__)


class HubUnavailable(Exception):
    """The hub did not answer in time, refused the connection, or failed with a 5xx that is not a known code.

    ``maybe_done``: the request may have reached the hub and been carried out (the answer was lost), as opposed
    to a connection that was never made."""

    def __init__(self, message: str, maybe_done: bool = False) -> None:
        super().__init__(message)
        self.maybe_done = maybe_done


class HubError(Exception):
    """The hub answered with ``{"error": {"code", "message"}}``; ``code`` is from contracts/errors.py."""

    def __init__(self, code: str, message: str, status: int, detail: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.detail = detail or {}       # the whole error object (a refused check-in: reason, slot, walk-in offer)


def refuses_field(err: HubError, field: str) -> bool:
    """The hub's refusal of a body field it does not know (it checks bodies strictly: "body.<field>: unknown
    field"), i.e. a hub older than this kiosk."""
    return err.status == 400 and err.code == "bad_request" and f".{field}: unknown field" in err.message


class HubClient:
    """One kiosk's view of the hub; safe to call from several threads."""

    def __init__(self, base_url: str, *, kiosk_id: str = "kiosk-1", device_key: str | None = None,
                 connect_timeout_s: float = 0.8, read_timeout_s: float = 3.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.kiosk_id = kiosk_id
        self._timeout = (connect_timeout_s, read_timeout_s)
        self._headers = {"Accept": "application/json"}
        if device_key:
            self._headers["X-Device-Key"] = device_key
        # one keep-alive session per thread (UI workers, upkeep): requests.Session is not documented thread-safe
        self._local = threading.local()
        # told every /config answer (the kiosk keeps the last one for a start while the hub is unreachable)
        self.on_config: Callable[[dict[str, Any]], None] | None = None
        self._older_hub_told = False     # said once per process: this hub predates a field the kiosk sends

    @property
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(self._headers)
            self._local.session = session
        return session

    # --- public endpoints -------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        answer = self._object("GET", "/config")
        if self.on_config is not None:
            self.on_config(answer)
        return answer

    def services(self) -> list[dict[str, Any]]:
        body = self._call("GET", "/services")
        if isinstance(body, dict):  # tolerate {"services": [...]}
            body = body.get("services", [])
        if not isinstance(body, list):
            raise HubUnavailable(f"GET /services: expected a list, got {type(body).__name__}")
        return body

    def issue_ticket(self, service: str, priority: str | None = None, request_id: str | None = None
                     ) -> dict[str, Any]:
        """``request_id``: an idempotency key; sending the same one again returns the same ticket."""
        payload: dict[str, Any] = {"service": service, "kiosk": self.kiosk_id}
        if priority:
            payload["priority"] = priority
        if request_id:
            payload["request_id"] = request_id
        return self._object("POST", "/tickets", json=payload)

    def report_print(self, ticket_id: str, printed: bool, fault: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"printed": printed}
        if fault:
            payload["fault"] = fault
        return self._object("POST", f"/tickets/{quote(ticket_id, safe='')}/print-result", json=payload)

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        return self._object("GET", f"/tickets/{quote(ticket_id, safe='')}")

    def attach_contact(self, ticket_id: str, contact: str) -> dict[str, Any]:
        """A mobile number for a ticket still waiting: the hub texts "còn N người nữa" and "mời quý vị đến quầy".
        Idempotent (the same number again is a no-op), so a retry after a lost answer is safe."""
        return self._object("POST", f"/tickets/{quote(ticket_id, safe='')}/contact",
                            json={"contact": contact, "kiosk": self.kiosk_id})

    def check_in_booking(self, scan: str) -> dict[str, Any]:
        """A booking's code or QR text → the ticket at its slot's place (HubError booking_refused otherwise)."""
        return self._object("POST", "/bookings/check-in", json={"scan": scan, "kiosk": self.kiosk_id})

    def dossier(self, code: str) -> dict[str, Any]:
        return self._object("GET", f"/dossiers/{quote(code, safe='')}")

    def health(self) -> dict[str, Any]:
        return self._object("GET", "/health")

    def ask_help(self) -> dict[str, Any]:
        """A citizen pressed "Cần hỗ trợ": the consoles and the manager board show which kiosk asks."""
        return self._object("POST", "/help", json={"kiosk": self.kiosk_id})

    # --- face lookup (issue 15): the template goes to the hub only, over HTTP; never stored here ----------
    def face_consent(self) -> dict[str, Any]:
        """The consent text in force; answers only when the hub has face look-up on."""
        return self._object("GET", "/face/consent")

    def face_match(self, template: list[float], liveness: dict[str, Any]) -> dict[str, Any]:
        return self._object("POST", "/face/match", json={"template": template, "liveness": liveness,
                                                         "device": self.kiosk_id})

    def face_withdraw(self, token: str) -> dict[str, Any]:
        return self._object("POST", "/face/withdraw", json={"withdraw_token": token, "confirm": True,
                                                            "device": self.kiosk_id})

    def face_enrol_request(self, template: list[float], liveness: dict[str, Any], consent: dict[str, Any],
                           codes: list[str]) -> dict[str, Any]:
        return self._object("POST", "/face/kiosk-enrolments", json={
            "template": template, "liveness": liveness, "consent": consent, "dossier_codes": codes,
            "device": self.kiosk_id})

    def face_refused(self, reason: str) -> dict[str, Any]:
        return self._object("POST", "/face/refused", json={"reason": reason, "device": self.kiosk_id})

    # --- offline leases ---------------------------------------------------------------------------------
    def lease(self, service: str, size: int) -> dict[str, Any]:
        body = self._object("POST", "/leases", json={"kiosk": self.kiosk_id, "service": service, "size": size})
        lease = body.get("lease", body)
        if not isinstance(lease, dict):
            raise HubUnavailable("POST /leases: answer without a lease object")
        return lease

    def hand_in(self, lease_id: str, tickets: list[dict[str, Any]]) -> dict[str, Any]:
        # the kiosk id lets a hub restored from an earlier backup adopt back a lease of today it no longer knows
        path = f"/leases/{quote(str(lease_id), safe='')}/tickets"
        try:
            return self._object("POST", path, json={"tickets": tickets, "kiosk": self.kiosk_id})
        except HubError as err:
            if not refuses_field(err, "kiosk"):
                raise
        # A hub older than this kiosk (before the restore adoption) refuses fields it does not know; during an
        # upgrade (hub not yet done) the citizens' offline tickets must still reach it, so they go without the id.
        if not self._older_hub_told:
            self._older_hub_told = True
            log.warning("máy chủ cũ hơn kiosk này: nộp số ngoại tuyến không kèm mã kiosk; hãy nâng cấp máy chủ / the "
                        "hub is older than this kiosk (it refuses the hand-in's 'kiosk' field): offline tickets are "
                        "handed in without it, which only a restored hub would need; upgrade the hub "
                        "(docs/operations.md, Nâng cấp / Upgrading)")
        return self._object("POST", path, json={"tickets": tickets})

    # --- plumbing ---------------------------------------------------------------------------------------
    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body = self._call(method, path, **kwargs)
        if not isinstance(body, dict):
            # Not the API's shape (a captive portal, a wrong URL): as good as no hub at all.
            raise HubUnavailable(f"{method} {path}: expected a JSON object, got {type(body).__name__}")
        return body

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base_url}/api/v1{path}"
        try:
            resp = self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as err:
            log.info("hub unreachable: %s %s: %s", method, path, err)
            never_sent = isinstance(err, (requests.ConnectTimeout, requests.exceptions.InvalidURL)) or (
                isinstance(err, requests.ConnectionError) and not isinstance(err, requests.ReadTimeout)
                and "Connection refused" in str(err))
            raise HubUnavailable(f"{method} {path}: {err}", maybe_done=not never_sent) from err
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code < 400:
            if body is None:
                raise HubUnavailable(f"{method} {path}: {resp.status_code} without JSON")
            return body
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            raise HubError(error["code"], str(error.get("message", "")), resp.status_code, error)
        if resp.status_code >= 500 or resp.status_code == 404 and body is None:
            # A proxy's error page or a hub that crashed: treat as unreachable so the kiosk keeps working.
            raise HubUnavailable(f"{method} {path}: HTTP {resp.status_code}", maybe_done=True)
        raise HubError("bad_request", f"HTTP {resp.status_code}", resp.status_code)
