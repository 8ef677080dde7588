"""Serial scanner over a socat pty pair: prefix/suffix, CR/LF, UTF-8 split across writes, debouncing, junk."""
from __future__ import annotations

import pytest
import serial

from devices.ptypair import PtyPair
from devices.scanner import ScannerError, open_scanner

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]


@pytest.fixture
def pair():
    with PtyPair() as p:
        yield p


def test_scans_arrive_as_typed_events(pair: PtyPair) -> None:
    scanner = open_scanner(f"serial://{pair.a}?baud=9600&prefix=%02&suffix=%03&debounce_ms=800")
    with serial.Serial(pair.b, 9600, timeout=1) as device:
        device.write(b"\x02000.00.12.H38-241023-0001\x03\r\n")
        first = scanner.read_scan(timeout=5)
        assert first is not None and first.dossier_code is not None
        assert first.raw == "000.00.12.H38-241023-0001"
        assert first.source == f"serial:{pair.a}"
        # the same receipt again at once: a duplicate, dropped; then a ticket QR gets through
        device.write(b"\x02000.00.12.H38-241023-0001\x03\r\n\x02http://10.0.0.2:8080/t/01JDX\x03\r")
        second = scanner.read_scan(timeout=5)
        assert second is not None and second.ticket_ref == "01JDX" and second.dossier_code is None
    scanner.close()


def test_utf8_split_across_writes_and_garbage_do_not_break_it(pair: PtyPair) -> None:
    scanner = open_scanner(f"serial://{pair.a}?debounce_ms=0")
    payload = "Hồ sơ 38.98.H29-210519-0013 – Nguyễn Thị Ánh Tuyết".encode()
    with serial.Serial(pair.b, 9600, timeout=1) as device:
        device.write(b"\xff\xfe\x00garbage\n")   # wrong-baud noise: becomes a junk scan, not a crash
        junk = scanner.read_scan(timeout=5)
        assert junk is not None and junk.dossier_code is None and junk.ticket_ref is None
        cut = payload.index("ồ".encode()) + 1        # in the middle of a multi-byte character
        device.write(payload[:cut])
        device.flush()
        assert scanner.read_scan(timeout=0.2) is None  # no terminator yet
        device.write(payload[cut:] + b"\r")
        event = scanner.read_scan(timeout=5)
    scanner.close()
    assert event is not None and event.raw == payload.decode()
    assert event.dossier_code is not None and event.dossier_code.normalized == "38.98.H29-210519-0013"


def test_idle_flush_for_a_scanner_without_terminator(pair: PtyPair) -> None:
    scanner = open_scanner(f"serial://{pair.a}?idle_ms=100")
    with serial.Serial(pair.b, 9600, timeout=1) as device:
        device.write(b"A023")
        event = scanner.read_scan(timeout=5)
    scanner.close()
    assert event is not None and event.ticket_ref == "A023"


def test_missing_serial_device_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ScannerError, match="cannot open serial scanner"):
        open_scanner(f"serial://{tmp_path}/ttyNONE")


def test_push_style_runner_over_serial_and_retry_when_missing(pair: PtyPair, tmp_path) -> None:
    import queue as _queue

    from devices.scanner import ScannerRunner

    got: _queue.Queue = _queue.Queue()
    runner = open_scanner(f"serial://{pair.a}", got.put)
    assert isinstance(runner, ScannerRunner)
    runner.start()
    try:
        with serial.Serial(pair.b, 9600, timeout=1) as device:
            device.write(b"000.00.12.H38-241023-0001\r\n")
            event = got.get(timeout=10)
        assert event.dossier_code is not None
    finally:
        runner.stop()

    errors: _queue.Queue = _queue.Queue()
    missing = ScannerRunner(lambda: open_scanner(f"serial://{tmp_path}/ttyGONE"), got.put,  # type: ignore[arg-type,return-value]
                            on_error=errors.put, retry_s=0.05)
    missing.start()
    try:
        assert "cannot open serial scanner" in str(errors.get(timeout=10))
        assert "cannot open serial scanner" in str(errors.get(timeout=10))  # keeps retrying, never dies
    finally:
        missing.stop()
