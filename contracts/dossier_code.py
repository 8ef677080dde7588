"""Tolerant parser for Vietnamese dossier codes (mã số hồ sơ); pure, no I/O, no clock reads.

Two formats (DOMAIN.md):

* Decree 61/2018 Art. 26 / TT 01/2018 Art. 19: ``<agency>-<YYMMDD>-<XXXX>`` where the agency id (QCVN 102:2016)
  is dotted groups of letters and digits, e.g. ``000.00.12.H38-241023-0001``, ``38.98.H29-210519-0013``.
* Thông tư 04/2025/TT-VPCP (from 25/01/2026): ``MX1X2.Y1Y2Y3.Z1Z2-YYMMDD-AAXXXX`` — same shape, a longer
  sequence (two-digit prefix + at least four digits).

So one grammar covers both: agency = 2..8 dotted groups of 1..8 letters/digits; date = six digits forming a valid
date (20YY); sequence = 4..12 digits. Case and stray spaces are normalised, typographic dashes accepted, so the same
code typed on a keyboard, read from a QR or from a 1D barcode gives the same ``normalized`` string. Agency codes
are never hard-coded.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from urllib.parse import unquote_plus

__all__ = ["DossierCode", "DossierCodeError", "code_from_input", "find_dossier_code", "is_scan_payload",
           "parse_dossier_code"]

MAX_GROUPS = 8
MAX_GROUP_LEN = 8
MIN_SEQUENCE = 4
MAX_SEQUENCE = 12
MAX_INPUT = 4096  # a scanned payload longer than this is not a receipt; refuse rather than regex over megabytes

# Dashes people and apps put in place of "-": en dash, em dash, minus sign, hyphen, non-breaking hyphen, fullwidth.
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d\u00ad"), "-")
_DOTS = dict.fromkeys(map(ord, "\u3002\uff0e\u2024"), ".")

_GROUP = re.compile(r"^[A-Z0-9]{1,8}$")  # 8 == MAX_GROUP_LEN
# Candidate for find_dossier_code: dotted agency, dash, 6 digits, dash, digits; spaces tolerated around separators.
_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9.])"
    r"([A-Za-z0-9]{1,8}(?:\s*\.\s*[A-Za-z0-9]{1,8}){1,7})"
    r"\s*-\s*([0-9]{6})\s*-\s*([0-9]{4,12})"
    r"(?![0-9])"
)


class DossierCodeError(ValueError):
    """Text that is not a dossier code; the message says which part is wrong."""


@dataclass(frozen=True, slots=True)
class DossierCode:
    """A parsed dossier code. ``normalized`` is the canonical text (upper case, no spaces) used as the key."""

    agency: str
    received: date
    sequence: str
    normalized: str

    def __str__(self) -> str:
        return self.normalized


def _clean(text: str) -> str:
    # NFKC folds fullwidth letters/digits (from some IMEs) into ASCII.
    text = unicodedata.normalize("NFKC", text).translate(_DASHES).translate(_DOTS)
    return text.strip()


def parse_dossier_code(text: str) -> DossierCode:
    """Parse one dossier code typed or scanned on its own; raise DossierCodeError with a clear reason."""
    if not isinstance(text, str):
        raise DossierCodeError(f"expected text, got {type(text).__name__}")
    if len(text) > MAX_INPUT:
        raise DossierCodeError(f"too long ({len(text)} characters) to be a dossier code")
    cleaned = _clean(text)
    if not cleaned:
        raise DossierCodeError("empty: expected a code like 000.00.12.H38-241023-0001")
    compact = re.sub(r"\s+", "", cleaned).upper()
    parts = compact.split("-")
    if len(parts) != 3:
        raise DossierCodeError(
            f"{cleaned!r}: expected three parts AGENCY-YYMMDD-SEQUENCE separated by '-', found {len(parts)}"
        )
    agency, day, sequence = parts
    groups = agency.split(".")
    if len(groups) < 2 or len(groups) > MAX_GROUPS:
        raise DossierCodeError(
            f"agency {agency!r}: expected 2 to {MAX_GROUPS} dot-separated groups (e.g. 000.00.12.H38)"
        )
    for group in groups:
        if not _GROUP.match(group):
            raise DossierCodeError(
                f"agency {agency!r}: group {group!r} must be 1 to {MAX_GROUP_LEN} letters or digits"
            )
    if not re.fullmatch(r"[0-9]{6}", day):
        raise DossierCodeError(f"date {day!r}: expected six digits YYMMDD")
    try:
        received = date(2000 + int(day[0:2]), int(day[2:4]), int(day[4:6]))
    except ValueError as err:
        raise DossierCodeError(f"date {day!r}: not a valid YYMMDD date ({err})") from err
    if not re.fullmatch(r"[0-9]+", sequence):
        raise DossierCodeError(f"sequence {sequence!r}: expected digits only")
    if not MIN_SEQUENCE <= len(sequence) <= MAX_SEQUENCE:
        raise DossierCodeError(
            f"sequence {sequence!r}: expected {MIN_SEQUENCE} to {MAX_SEQUENCE} digits, got {len(sequence)}"
        )
    normalized = f"{agency}-{day}-{sequence}"
    return DossierCode(agency=agency, received=received, sequence=sequence, normalized=normalized)


def find_dossier_code(text: str) -> DossierCode | None:
    """Find the first valid dossier code inside a scanned payload (a receipt QR, a URL, several lines), or None.

    URL-encoded payloads (``?maHoSo=000.00.12.H38-241023-0001`` with ``%2D``) are decoded first. Candidates
    whose date is impossible are skipped, so a phone number or a timestamp next to the code does not win.
    """
    if not isinstance(text, str) or not text or len(text) > MAX_INPUT:
        return None
    seen: list[str] = [_clean(text)]
    if "%" in text or "+" in text:
        try:
            seen.append(_clean(unquote_plus(text)))
        except ValueError:  # pragma: no cover - unquote_plus is lenient; kept for odd codecs
            pass
    for candidate_text in seen:
        for match in _CANDIDATE.finditer(candidate_text):
            try:
                return parse_dossier_code(match.group(0))
            except DossierCodeError:
                continue
    return None


# What a receipt's QR or a link carries around the code: a URL, a query parameter, several lines, or a label.
_PAYLOAD = re.compile(r"(?i)(://|[?&][a-z_]+=|\n|\r|m[aã]\s*h[oồ]\s*s[oơ]\s*[:=]|mahoso|ma_ho_so)")


def is_scan_payload(text: str) -> bool:
    """True for a recognised QR/URL payload (a link, a query string, several lines, a "Mã hồ sơ:" label) — the
    only inputs in which a code may be looked for inside other text."""
    return isinstance(text, str) and bool(_PAYLOAD.search(text))


def code_from_input(text: str) -> DossierCode:
    """A code typed or scanned: the whole input must be one code, unless it is a recognised QR/URL payload, in
    which the first valid code is taken. ``"000.00.12.H38-241023-0001xyz"`` is refused (a typo must not look up
    another dossier); ``"https://dvc.example/tra-cuu?maHoSo=000.00.12.H38-241023-0001"`` is accepted."""
    try:
        return parse_dossier_code(text)
    except DossierCodeError:
        if is_scan_payload(text):
            found = find_dossier_code(text)
            if found is not None:
                return found
        raise
