"""HID keyboard-wedge scanner reading kernel input_event structs (synthetic, through a FIFO: no real device here),
and the simulated scanner."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from devices.scanner import HidScanner, ScannerError, SimulatedScanner, open_scanner
from devices.scanner.decode import events_for
from devices.urls import DeviceUrlError

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]


def test_hid_scanner_decodes_events_from_the_device_node(tmp_path: Path) -> None:
    fifo = tmp_path / "event-kbd"
    os.mkfifo(fifo)
    # open the writer in a thread: opening a FIFO blocks until both ends exist
    data = events_for("000.00.12.H38-241023-0001") + events_for("http://10.0.0.2:8080/t/01JDX3K9ZQ4T")

    def write() -> None:
        with open(fifo, "wb") as w:
            for i in range(0, len(data), 100):  # split mid-event: the reader must keep partial structs
                w.write(data[i:i + 100])
                w.flush()

    writer = threading.Thread(target=write)
    scanner = open_scanner(f"hid://{fifo}")
    assert isinstance(scanner, HidScanner)
    assert not scanner.grabbed  # a FIFO is not an evdev node; a real one is grabbed exclusively
    writer.start()
    first = scanner.read_scan(timeout=5)
    second = scanner.read_scan(timeout=5)
    writer.join(5)
    scanner.close()
    assert first is not None and first.dossier_code is not None
    assert first.dossier_code.normalized == "000.00.12.H38-241023-0001"
    assert second is not None and second.ticket_ref == "01JDX3K9ZQ4T"
    assert scanner.read_scan(timeout=0.1) is None  # closed


def test_missing_hid_device_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScannerError, match="cannot open HID scanner"):
        HidScanner(str(tmp_path / "nope"))


def test_simulated_scanner_from_a_test_and_from_a_file(tmp_path: Path) -> None:
    scans = tmp_path / "scans.txt"
    scans.write_text("000.00.12.H38-241023-0001\n\nA023\nHồ sơ – Nguyễn Thị Ánh Tuyết\n", encoding="utf-8")
    sim = open_scanner(f"sim://scanner?file={scans}")
    assert isinstance(sim, SimulatedScanner)
    events = [sim.read_scan(timeout=1) for _ in range(3)]
    assert [e.raw for e in events if e] == ["000.00.12.H38-241023-0001", "A023", "Hồ sơ – Nguyễn Thị Ánh Tuyết"]
    assert sim.read_scan(timeout=0.05) is None
    sim.push("38.98.H29-210519-0013")
    got = sim.read_scan(timeout=1)
    assert got is not None and got.dossier_code is not None
    closer = threading.Timer(0.05, sim.close)
    closer.start()
    assert sim.read_scan(timeout=5) is None  # close() wakes a blocked reader
    closer.join()


@pytest.mark.parametrize("url", ["hid://relative", "serial://host/dev/tty", "sim://printer", "sim://scanner?x",
                                 "serial:///dev/ttyACM0?baud=fast"])
def test_bad_scanner_urls(url: str) -> None:
    with pytest.raises(DeviceUrlError):
        open_scanner(url)


def test_push_style_runner_with_the_simulator() -> None:
    import queue as _queue

    got: _queue.Queue = _queue.Queue()
    runner = open_scanner("sim://scanner", got.put)
    runner.start()  # type: ignore[union-attr]
    try:
        runner.scanner.push("http://10.0.0.2:8080/t/01JDX3K9ZQ4T")  # type: ignore[union-attr]
        assert got.get(timeout=5).ticket_ref == "01JDX3K9ZQ4T"
    finally:
        runner.stop()  # type: ignore[union-attr]
