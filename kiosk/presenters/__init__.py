"""Presenters: every decision of the kiosk's screens, in plain Python (no Kivy import), tested without a window."""
from __future__ import annotations

from .catalog import Catalog, PriorityInfo, ServiceInfo
from .context import KioskBehaviour, Shell
from .kiosk import SCREENS, Kiosk, TapGuard
from .ports import InlineRunner, ManualClock, Outcome, PrintJob, ThreadRunner

__all__ = ["SCREENS", "Catalog", "InlineRunner", "Kiosk", "KioskBehaviour", "ManualClock", "Outcome", "PrintJob",
           "PriorityInfo", "ServiceInfo", "Shell", "TapGuard", "ThreadRunner"]
