"""The link to the province's one-stop system ("the main system"): the adapter Protocol, request signing, and a
reference implementation of the patterns provincial systems and their LGSP use.

Patterns covered (DOMAIN.md "Integration"): token login (POST user/password -> bearer token) or session login
(cookie), an agency-code header on every call, look-up by dossier code (``TraCuuHoSo``-like), a status-sync call
(changes since a cursor), and a three-level rating aggregate (``/Vote``-like). Field names on the wire follow
the Vietnamese names those systems use (maHoSo, trangThai, ngayHenTra ...) and are mapped here, so nothing else
in the hub sees them. Every network failure becomes MainSystemUnavailable; the caller decides what to degrade.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

import requests

from queue_server.app.ports import MainSystem, MainSystemError, MainSystemRejected, MainSystemUnavailable
from runtime.settings import MainSystemSettings  # the settings type lives in the one settings model

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Motcua-Signature"
TIMESTAMP_HEADER = "X-Motcua-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"


# ---- signing (shared by the outbox, the push endpoint and the mock) ------------------------------------------
def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, "<timestamp>." + body). The timestamp is signed so a captured
    request cannot be replayed outside the tolerance window."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}


class HeaderLookup(Protocol):
    """Anything with ``.get(name)``: a dict, Flask's/werkzeug's Headers."""

    def get(self, key: str, /) -> str | None: ...


def verify(secret: str, headers: HeaderLookup | Mapping[str, str], body: bytes, now: float | None = None,
           tolerance_s: int = 300) -> str | None:
    """None when the signature is valid and fresh; otherwise the reason (for the error message, never the MAC)."""
    timestamp = headers.get(TIMESTAMP_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    if not timestamp or not signature:
        return f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header"
    try:
        moment = int(timestamp)
    except ValueError:
        return f"{TIMESTAMP_HEADER} must be Unix seconds"
    current = now if now is not None else time.time()
    if abs(current - moment) > tolerance_s:
        return f"{TIMESTAMP_HEADER} is more than {tolerance_s} s away from the hub's clock"
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        return "signature does not match the body"
    return None


# ---- the port (queue_server.app.ports) and its errors, re-exported for the adapter's callers -------------------
__all__ = [
    "MainSystem",
    "MainSystemError",
    "MainSystemRejected",
    "MainSystemSettings",
    "MainSystemUnavailable",
    "ProvincialMainSystem",
    "dossier_from_provincial",
    "sign",
    "signed_headers",
    "verify",
]


# ---- wire mapping --------------------------------------------------------------------------------------------
# The provincial dialect's status words vary; dossier_status.parse_status folds diacritics and also knows these.
_PROVINCIAL_STATUS_CODES = {
    "1": "received", "2": "processing", "3": "awaiting_supplement", "4": "result_ready", "5": "returned",
    "6": "rejected",
}


def dossier_from_provincial(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Map a provincial ``TraCuuHoSo`` record to the hub's push schema (validated later by dossier_service)."""
    status = obj.get("trangThai")
    status = _PROVINCIAL_STATUS_CODES.get(str(status), status)
    steps = [{"name": s.get("tenBuoc", ""), "unit": s.get("donVi", ""), "started_at": s.get("batDau"),
              "due_at": s.get("hanXuLy"), "done_at": s.get("ketThuc")}
             for s in obj.get("quaTrinhXuLy") or [] if isinstance(s, Mapping)]
    result: dict[str, Any] = {
        "code": obj.get("maHoSo"), "procedure": obj.get("tenThuTuc"), "applicant_name": obj.get("chuHoSo"),
        "received_at": obj.get("ngayTiepNhan"), "due_at": obj.get("ngayHenTra"), "status": status,
        "finished_at": obj.get("ngayCoKetQua"), "steps": steps, "updated_at": obj.get("ngayCapNhat"),
    }
    if obj.get("ngayHenTraCu"):
        result["original_due_at"] = obj.get("ngayHenTraCu")
        result["apology_reason"] = obj.get("lyDoXinLoi") or ""
    return result


# ---- reference implementation --------------------------------------------------------------------------------
class ProvincialMainSystem:
    """requests-based client. Thread-safe enough for the hub: a lock guards login, requests.Session is shared."""

    def __init__(self, settings: MainSystemSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self._http = session or requests.Session()
        self._http.verify = settings.verify_tls
        self._token: str | None = None

    def _url(self, path: str) -> str:
        return self.settings.base_url.rstrip("/") + path

    def auth_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.settings.agency_code:
            headers[self.settings.agency_header] = self.settings.agency_code
        if self.settings.auth == "token" and self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def outbox_headers(self) -> dict[str, str]:
        """auth_headers() for the outbox, logging in first when a token is needed and missing. A failed login
        is not raised here: the POST then fails with 401 and the outbox retries with backoff."""
        if self.settings.auth == "token" and self._token is None:
            try:
                self.login()
            except MainSystemError as err:
                log.warning("main system: login for the outbox failed: %s", err)
        return self.auth_headers()

    def forget_token(self) -> None:
        """After a 401 on an outbox POST: the next call logs in again."""
        self._token = None

    def login(self) -> None:
        """Token login stores the bearer token; session login keeps the cookie in the requests.Session."""
        if self.settings.auth == "none":
            return
        try:
            response = self._http.post(self._url(self.settings.login_path), timeout=self.settings.timeout_s,
                                       json={"username": self.settings.username, "password": self.settings.password},
                                       headers=self.auth_headers())
        except requests.RequestException as err:
            raise MainSystemUnavailable(f"login: {err.__class__.__name__}") from err
        if response.status_code >= 500:
            raise MainSystemUnavailable(f"login: HTTP {response.status_code}")
        if response.status_code != 200:
            raise MainSystemRejected(f"login refused: HTTP {response.status_code}")
        if self.settings.auth == "token":
            try:
                token = response.json().get("token")
            except ValueError as err:
                raise MainSystemRejected("login: the answer is not JSON") from err
            if not isinstance(token, str) or not token:
                raise MainSystemRejected("login: no token in the answer")
            self._token = token
        log.info("main system: logged in (%s) as %s", self.settings.auth, self.settings.username)

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One call with a single re-login on 401 (tokens expire); network trouble and 5xx -> unavailable."""
        if self.settings.auth == "token" and self._token is None:
            self.login()
        for attempt in (1, 2):
            try:
                response = self._http.request(method, self._url(path), timeout=self.settings.timeout_s,
                                              headers=self.auth_headers(), **kwargs)
            except requests.RequestException as err:
                raise MainSystemUnavailable(f"{path}: {err.__class__.__name__}") from err
            if response.status_code == 401 and attempt == 1 and self.settings.auth != "none":
                self._token = None
                self.login()
                continue
            if response.status_code >= 500:
                raise MainSystemUnavailable(f"{path}: HTTP {response.status_code}")
            return response
        raise MainSystemRejected(f"{path}: still unauthorised after login")

    def fetch_dossier(self, code: str) -> dict[str, Any] | None:
        response = self._request("GET", self.settings.lookup_path, params={"maHoSo": code})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise MainSystemRejected(f"lookup: HTTP {response.status_code}")
        try:
            data = response.json().get("data")
        except ValueError as err:
            raise MainSystemRejected("lookup: the answer is not JSON") from err
        if not isinstance(data, Mapping):
            return None
        return dossier_from_provincial(data)

    def fetch_updates(self, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        response = self._request("GET", self.settings.sync_path, params={"tuThoiDiem": cursor or ""})
        if response.status_code != 200:
            raise MainSystemRejected(f"sync: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as err:
            raise MainSystemRejected("sync: the answer is not JSON") from err
        items = [dossier_from_provincial(x) for x in body.get("data") or [] if isinstance(x, Mapping)]
        return items, body.get("denThoiDiem") or cursor

    def push_rating_aggregate(self, aggregate: Mapping[str, Any]) -> None:
        levels = aggregate.get("levels", {})
        body = {"maDonVi": self.settings.agency_code, "maTrungTam": aggregate.get("center"),
                "ngay": aggregate.get("day"), "rathailong": int(levels.get("3", 0)),
                "hailong": int(levels.get("2", 0)), "khonghailong": int(levels.get("1", 0))}
        response = self._request("POST", self.settings.vote_path, json=body)
        if response.status_code not in (200, 201, 204, 409):
            raise MainSystemRejected(f"vote: HTTP {response.status_code}")


def _implements_the_port(link: ProvincialMainSystem) -> MainSystem:
    return link           # mypy checks that ProvincialMainSystem satisfies the MainSystem port
