"""Device URLs from config: every documented form parses to the right kind and parts; bad ones get clear errors."""
from __future__ import annotations

import pytest

from devices.urls import DeviceUrlError, camera_index, parse_device_url, usb_ids

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


@pytest.mark.parametrize(
    ("url", "kind", "scheme", "host", "port", "path", "params"),
    [
        ("sim://printer?paper=out&delay_ms=200", "printer", "sim", "", None, "", {"paper": "out", "delay_ms": "200"}),
        ("escpos-net://10.0.0.20:9100", "printer", "escpos-net", "10.0.0.20", 9100, "", {}),
        ("escpos-net://printer.local", "printer", "escpos-net", "printer.local", None, "", {}),
        ("escpos-serial:///dev/ttyUSB0?baud=38400", "printer", "escpos-serial", "", None, "/dev/ttyUSB0",
         {"baud": "38400"}),
        ("escpos-usb://04b8:0202", "printer", "escpos-usb", "04b8", None, "", {}),
        ("file:///tmp/out.bin", "printer", "file", "", None, "/tmp/out.bin", {}),
        ("hid:///dev/input/by-id/usb-Honeywell_Scanner-event-kbd", "scanner", "hid", "", None,
         "/dev/input/by-id/usb-Honeywell_Scanner-event-kbd", {}),
        ("serial:///dev/ttyACM0?baud=9600", "scanner", "serial", "", None, "/dev/ttyACM0", {"baud": "9600"}),
        ("sim://scanner", "scanner", "sim", "", None, "", {}),
        ("camera://0", "camera", "camera", "0", None, "", {}),
        ("sim://camera?dir=/var/frames", "camera", "sim", "", None, "", {"dir": "/var/frames"}),
        ("  SIM://Printer  ", "printer", "sim", "", None, "", {}),
    ],
)
def test_documented_urls(url: str, kind: str, scheme: str, host: str, port: int | None, path: str,
                         params: dict[str, str]) -> None:
    u = parse_device_url(url)
    assert (u.kind, u.scheme, u.path, u.params) == (kind, scheme, path, params)
    if scheme != "escpos-usb":
        assert (u.host, u.port) == (host, port)
    assert u.is_simulated == (scheme == "sim")


def test_helpers() -> None:
    assert usb_ids(parse_device_url("escpos-usb://04b8:0e15")) == (0x04B8, 0x0E15)
    assert camera_index(parse_device_url("camera://2")) == 2
    assert camera_index(parse_device_url("camera:///dev/video2")) == "/dev/video2"
    u = parse_device_url("sim://printer?delay_ms=5&slow=yes&ratio=0.5&prefix=%02")
    assert (u.int_param("delay_ms", 0), u.bool_param("slow"), u.float_param("ratio", 1.0)) == (5, True, 0.5)
    assert u.param("prefix") == "\x02" and u.int_param("missing", 7) == 7


@pytest.mark.parametrize(
    ("url", "expect", "reason"),
    [
        ("", None, "empty"),
        ("/dev/ttyUSB0", None, "scheme://"),
        ("lpt://1", None, "unknown scheme"),
        ("sim://fax", None, "printer, scanner or camera"),
        ("escpos-net://:9100", None, "needs a host"),
        ("escpos-net://10.0.0.20:99999", None, "bad port"),
        ("escpos-usb://epson", None, "hex vendor"),
        ("escpos-usb://1ffff:1", None, "16-bit"),
        ("escpos-serial://dev/ttyUSB0", None, "three slashes"),
        ("serial:///dev/ttyACM0?baud=fast", None, "not an integer"),
        ("serial:///dev/ttyACM0?baud=0", None, "positive"),
        ("camera://front", None, "not a number"),
        ("sim://printer?x", None, "bad query"),
        ("sim://printer", "scanner", "expected a scanner"),
        ("camera://0", "printer", "expected a printer"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, expect: str | None, reason: str) -> None:
    with pytest.raises(DeviceUrlError, match=reason):
        parse_device_url(url, expect=expect)


def test_bad_parameter_values() -> None:
    u = parse_device_url("sim://printer?delay_ms=soon&on=maybe&ratio=x")
    with pytest.raises(DeviceUrlError, match="delay_ms"):
        u.int_param("delay_ms", 0)
    with pytest.raises(DeviceUrlError, match="boolean"):
        u.bool_param("on")
    with pytest.raises(DeviceUrlError, match="not a number"):
        u.float_param("ratio", 1.0)
