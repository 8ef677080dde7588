"""Barcode/QR scanners: the Scanner port and ScanEvent, HID keyboard-wedge and serial drivers, a simulator."""
from __future__ import annotations

from devices.scanner.decode import AssemblerConfig, KeyDecoder, ScanAssembler
from devices.scanner.drivers import HidScanner, ScannerRunner, SerialScanner, SimulatedScanner, open_scanner
from devices.scanner.model import ScanEvent, Scanner, ScannerError, classify

__all__ = ["AssemblerConfig", "HidScanner", "KeyDecoder", "ScanAssembler", "ScanEvent", "Scanner", "ScannerError", "ScannerRunner",
           "SerialScanner", "SimulatedScanner", "classify", "open_scanner"]
