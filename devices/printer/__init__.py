"""Ticket printer: the TicketPrinter port, the ESC/POS driver and layout, and a simulator picked by URL."""
from __future__ import annotations

from devices.printer.escpos_printer import EscposTicketPrinter, open_printer
from devices.printer.layout import LayoutConfig, LayoutError, TicketLayout
from devices.printer.model import PrintableTicket, PrinterError, PrinterStatus, PrintReport, TicketPrinter
from devices.printer.sim import SimFaults, SimulatedPrinter

__all__ = [
    "EscposTicketPrinter", "LayoutConfig", "LayoutError", "PrintReport", "PrintableTicket", "PrinterError",
    "PrinterStatus", "SimFaults", "SimulatedPrinter", "TicketLayout", "TicketPrinter", "open_printer",
]
