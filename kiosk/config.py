"""Kiosk settings: a re-export of ``runtime.settings.kiosk`` (the one settings model; see there). The kiosk imports
nothing of queue_server."""
from __future__ import annotations

from runtime.settings.errors import ConfigError
from runtime.settings.kiosk import (
    FONT_DIR,
    BehaviourSection,
    DevicesSection,
    HubSection,
    KioskSettings,
    MqttSection,
    OfflineSection,
    ScreenSection,
    load_settings,
    settings_from_dict,
)

__all__ = ["FONT_DIR", "BehaviourSection", "ConfigError", "DevicesSection", "HubSection", "KioskSettings",
           "MqttSection", "OfflineSection", "ScreenSection", "load_settings", "settings_from_dict"]
