"""Device URLs from config, parsed and validated; pure, opens nothing.

Every device is named by one URL so config, tests and ``make demo`` pick a real driver or a simulator the same way:

================================================  =======  ==============================================
URL                                               kind     meaning
================================================  =======  ==============================================
``sim://printer?paper=out&delay_ms=200``          printer  in-process simulated printer (faults in query)
``escpos-net://10.0.0.20:9100``                   printer  network printer, raw port 9100 by default
``escpos-serial:///dev/ttyUSB0?baud=38400``       printer  serial printer (default 38400 baud)
``escpos-usb://04b8:0202``                        printer  USB printer by vendor:product id (hex)
``file:///tmp/out.bin``                           printer  write the job bytes to a file (no status)
``hid:///dev/input/by-id/usb-...-event-kbd``      scanner  HID keyboard-wedge scanner via evdev
``serial:///dev/ttyACM0?baud=9600``               scanner  serial scanner
``sim://scanner``                                 scanner  scanner fed by a test or ``?file=``
``camera://0``                                    camera   OpenCV capture index (or ``camera:///dev/video2``)
``sim://camera?dir=...``                          camera   replays images from a folder (or ``?video=``)
================================================  =======  ==============================================
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["DeviceUrl", "DeviceUrlError", "parse_device_url"]

_KINDS_BY_SCHEME = {
    "escpos-net": "printer",
    "escpos-serial": "printer",
    "escpos-usb": "printer",
    "file": "printer",
    "hid": "scanner",
    "serial": "scanner",
    "camera": "camera",
}
_SIM_KINDS = {"printer", "scanner", "camera"}


class DeviceUrlError(ValueError):
    """A device URL that cannot name a device; the message quotes the URL and the part that is wrong."""


@dataclass(frozen=True, slots=True)
class DeviceUrl:
    """A parsed device URL: ``scheme``, the device ``kind``, and where to find it."""

    raw: str
    scheme: str
    kind: str
    host: str = ""
    port: int | None = None
    path: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @property
    def is_simulated(self) -> bool:
        return self.scheme == "sim"

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.params.get(name, default)

    def int_param(self, name: str, default: int) -> int:
        value = self.params.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError as err:
            raise DeviceUrlError(f"{self.raw}: {name}={value!r} is not an integer") from err

    def float_param(self, name: str, default: float) -> float:
        value = self.params.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except ValueError as err:
            raise DeviceUrlError(f"{self.raw}: {name}={value!r} is not a number") from err

    def bool_param(self, name: str, default: bool = False) -> bool:
        value = self.params.get(name)
        if value is None or value == "":
            return default
        lowered = value.lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise DeviceUrlError(f"{self.raw}: {name}={value!r} is not a boolean (true/false)")


def parse_device_url(url: str, expect: str | None = None) -> DeviceUrl:
    """Parse ``url``; with ``expect`` ("printer", "scanner", "camera") also check it names that kind of device."""
    if not isinstance(url, str) or not url.strip():
        raise DeviceUrlError("device URL is empty")
    raw = url.strip()
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if not scheme or "://" not in raw:
        raise DeviceUrlError(f"{raw}: expected scheme://..., e.g. sim://printer or escpos-net://10.0.0.20:9100")
    try:
        params = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)))
    except ValueError as err:
        raise DeviceUrlError(f"{raw}: bad query string {parts.query!r}") from err
    path = unquote(parts.path)
    host = parts.hostname or ""
    port = None
    if scheme != "escpos-usb":  # "04b8:0e15" is vendor:product in hex, not host:port
        try:
            port = parts.port
        except ValueError as err:
            raise DeviceUrlError(f"{raw}: bad port") from err

    if scheme == "sim":
        kind = (parts.netloc or "").lower()
        if kind not in _SIM_KINDS:
            raise DeviceUrlError(f"{raw}: sim:// must name printer, scanner or camera, not {kind!r}")
        result = DeviceUrl(raw, scheme, kind, params=params, path=path)
    elif scheme in _KINDS_BY_SCHEME:
        kind = _KINDS_BY_SCHEME[scheme]
        result = DeviceUrl(raw, scheme, kind, host=host, port=port, path=path, params=params)
        _check(result, parts.netloc)
    else:
        known = ", ".join(sorted([*_KINDS_BY_SCHEME, "sim"]))
        raise DeviceUrlError(f"{raw}: unknown scheme {scheme!r} (known: {known})")

    if expect is not None and result.kind != expect:
        raise DeviceUrlError(f"{raw}: names a {result.kind}, expected a {expect}")
    return result


def _check(u: DeviceUrl, netloc: str) -> None:
    if u.scheme == "escpos-net":
        if not u.host:
            raise DeviceUrlError(f"{u.raw}: escpos-net:// needs a host, e.g. escpos-net://10.0.0.20:9100")
    elif u.scheme == "escpos-usb":
        usb_ids(u)
    elif u.scheme in {"escpos-serial", "serial", "hid", "file"}:
        if netloc:
            raise DeviceUrlError(f"{u.raw}: expected an absolute path with three slashes, e.g. {u.scheme}:///dev/x")
        if not u.path.startswith("/"):
            raise DeviceUrlError(f"{u.raw}: needs an absolute device path")
        if u.scheme in {"escpos-serial", "serial"}:
            baud = u.int_param("baud", 9600)
            if baud <= 0:
                raise DeviceUrlError(f"{u.raw}: baud must be positive")
    elif u.scheme == "camera":
        if not netloc and not u.path:
            raise DeviceUrlError(f"{u.raw}: camera:// needs an index (camera://0) or a path (camera:///dev/video0)")
        if netloc and not netloc.isdigit():
            raise DeviceUrlError(f"{u.raw}: camera index {netloc!r} is not a number")


def usb_ids(u: DeviceUrl) -> tuple[int, int]:
    """``escpos-usb://04b8:0202`` → (0x04b8, 0x0202)."""
    netloc = urlsplit(u.raw).netloc
    vendor, _, product = netloc.partition(":")
    try:
        ids = int(vendor, 16), int(product, 16)
    except ValueError as err:
        raise DeviceUrlError(f"{u.raw}: expected escpos-usb://VVVV:PPPP with hex vendor and product ids") from err
    if not all(0 <= i <= 0xFFFF for i in ids):
        raise DeviceUrlError(f"{u.raw}: USB ids must be 16-bit")
    return ids


def camera_index(u: DeviceUrl) -> int | str:
    """``camera://0`` → 0; ``camera:///dev/video2`` → "/dev/video2"."""
    netloc = urlsplit(u.raw).netloc
    return int(netloc) if netloc else u.path
