"""The value types settings are made of, each with its rule (strict types, finite numbers, slugs, hosts, URLs,
paths), so every settings dataclass states its checks where its fields are declared. Pure; no I/O."""
from __future__ import annotations

import ipaddress
import re
import unicodedata
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, Strict

from contracts.tickets import PREFIX_PATTERN

# Every settings dataclass refuses keys it does not know (a typo is an error, not a silent default).
TABLE = ConfigDict(extra="forbid")

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")

Text = Annotated[str, Strict()]
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
# TOML writes 5 for 5.0: an integer is a number too, a boolean is not; NaN and infinity never are settings.
Number = Annotated[float, Strict(False), Field(allow_inf_nan=False), BeforeValidator(lambda v: _number(v))]


def _kind(value: Any) -> str:
    return "a boolean" if isinstance(value, bool) else type(value).__name__


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {_kind(value)}")  # noqa: TRY004 — pydantic reports ValueError
    return value


def _nonempty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _printable(value: str) -> str:
    # names and labels go to the ticket printer (ESC/POS: an ESC in a name is a printer command), the voice, the
    # hall, the PDF and Excel reports (openpyxl refuses control characters): none of them wants a control character
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cs"):
            raise ValueError(f"{value!r} contains a control character (U+{ord(ch):04X}): names are one line of text")
    return value


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(f"{value!r} must be a lowercase slug (a-z, 0-9, '_', '.', '-')")
    return value


def _prefix(value: str) -> str:
    if not PREFIX_PATTERN.match(value):
        raise ValueError(f"{value!r} must be one or two capital letters A-Z")
    return value


def check_host(value: str) -> str:
    """An IP address or a host name that could resolve (RFC 1123 labels); not a URL, not a port."""
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    try:
        ipaddress.ip_address(text.strip("[]"))
        return text
    except ValueError:
        pass
    labels = text.rstrip(".").split(".")
    if len(text) > 253 or not all(_HOST_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise ValueError(f"{value!r} is not an IP address or a host name")
    return text


def check_url(value: str) -> str:
    """An http:// or https:// URL with a host."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    check_host(parts.hostname)
    try:
        parts.port        # noqa: B018 — raises on a port that is not a number in range
    except ValueError as err:
        raise ValueError(f"{value!r}: {err}") from err
    return value


def _path(value: Any) -> Any:
    if not isinstance(value, (str, Path)):
        raise ValueError(f"expected a path string, got {_kind(value)}")  # noqa: TRY004 — pydantic reports ValueError
    if not str(value).strip():
        raise ValueError("must not be empty")
    return Path(value)


NonEmpty = Annotated[str, Strict(), AfterValidator(_nonempty)]
# what people read: a name or label on a screen, a ticket or a report (one line, no control characters)
Label = Annotated[str, Strict(), AfterValidator(_nonempty), AfterValidator(_printable)]
OptionalLabel = Annotated[str, Strict(), AfterValidator(_printable)]
Slug = Annotated[str, Strict(), AfterValidator(_slug)]
Prefix = Annotated[str, Strict(), AfterValidator(_prefix)]
Host = Annotated[str, Strict(), AfterValidator(check_host)]
Url = Annotated[str, Strict(), AfterValidator(check_url)]
FilePath = Annotated[Path, BeforeValidator(_path)]
Port = Annotated[int, Strict(), Field(ge=1, le=65535)]
Seconds = Annotated[float, Strict(False), Field(gt=0, allow_inf_nan=False), BeforeValidator(_number)]
AtLeastOne = Annotated[int, Strict(), Field(ge=1)]
