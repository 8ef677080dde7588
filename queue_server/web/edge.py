"""The hub's outermost WSGI layer: what every request and every answer gets before any route (issue 11).

- Writes (POST, PUT, PATCH, DELETE) accept JSON only: a body sent as a form, multipart or text/plain — what any
  web page a staff PC opens could post across sites without a CORS preflight — is refused with 415
  ``unsupported_media_type`` before it is read. An empty body without a type is allowed (``call-next``).
- A body whose Content-Length is over the limit is refused with 413 before it is read.
- Every answer carries Content-Security-Policy (scripts and everything else from the hub itself only, no inline
  script, no framing), X-Frame-Options, X-Content-Type-Options and Referrer-Policy.

A plain WSGI wrapper (not Flask hooks, which would turn the issue fast path off) just outside Flask; the fast
path (fast_issue.py, outside this) hands anything not plainly JSON down here and adds the same headers.
Must not read bodies, touch the store or know routes.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from contracts.errors import ErrorCode

# inline styles stay allowed (pages colour buttons per rating level); scripts only from files the hub serves
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = [("Content-Security-Policy", CSP), ("X-Frame-Options", "DENY"),
                    ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer")]
# No route takes a bigger body (the main system's pushes: 2 MiB); each route's own limit (64 KiB by default)
# applies after this, also by Content-Length. Past this, the body is refused before a byte of it is read.
BODY_CEILING_BYTES = 4 * 1024 * 1024
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _refuse(start_response: Callable[..., Any], status: str, code: ErrorCode, vi: str, en: str) -> list[bytes]:
    body = (json.dumps({"error": {"code": str(code), "message": f"{vi} / {en}"}}, ensure_ascii=False)
            + "\n").encode("utf-8")
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                            *SECURITY_HEADERS])
    return [body]


def is_json_write(environ: dict[str, Any]) -> bool:
    return (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower() == "application/json"


class Edge:
    def __init__(self, inner: Any, max_body_bytes: int) -> None:
        self.inner = inner
        self.max_body_bytes = max_body_bytes
        self.refused_media = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD", "GET") in WRITES:
            length_text = environ.get("CONTENT_LENGTH") or ""
            length = int(length_text) if length_text.isdigit() else 0
            if length > self.max_body_bytes:
                return _refuse(start_response, "413 Request Entity Too Large", ErrorCode.PAYLOAD_TOO_LARGE,
                               f"Nội dung quá lớn (tối đa {self.max_body_bytes} byte)",
                               f"body larger than {self.max_body_bytes} bytes")
            ctype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
            has_body = length > 0 or bool(environ.get("HTTP_TRANSFER_ENCODING"))
            if (ctype and ctype != "application/json") or (has_body and not ctype):
                self.refused_media += 1
                return _refuse(start_response, "415 Unsupported Media Type", ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                               "Chỉ nhận dữ liệu JSON (Content-Type: application/json)",
                               "writes accept JSON only (Content-Type: application/json)")

        def with_headers(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {k.lower() for k, _ in headers}
            headers.extend((k, v) for k, v in SECURITY_HEADERS if k.lower() not in present)
            return start_response(status, headers, exc_info)

        answer: Iterable[bytes] = self.inner(environ, with_headers)
        return answer
