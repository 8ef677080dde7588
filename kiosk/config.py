"""Kiosk settings: a re-export of ``runtime.settings.kiosk`` (the one settings model; see there), plus the checks
only the kiosk can make before it opens anything (``check_can_run``: ``motcua kiosk`` and ``motcua config check``
run the same one). The kiosk imports nothing of queue_server."""
from __future__ import annotations

from pathlib import Path

from runtime.settings.checks import ca_file, check_kiosk_can_run
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
           "MqttSection", "OfflineSection", "ScreenSection", "check_can_run", "load_settings", "settings_from_dict"]


def check_can_run(settings: KioskSettings) -> None:
    """Every refusal of ``motcua kiosk`` at start, as one ConfigError naming the key: the offline journal can be
    written, the printer URL names a printer the kiosk can drive, a broker CA file loads. A scanner or camera URL
    that does not parse is not here: the kiosk runs without that device (and says so in its log)."""
    from devices.printer.escpos_printer import layout_from_url, sim_faults_from_url
    from devices.urls import DeviceUrlError, parse_device_url, usb_ids

    check_kiosk_can_run(Path(settings.offline.journal))
    try:
        u = parse_device_url(settings.devices.printer, expect="printer")
        layout_from_url(u)
        if u.is_simulated:
            sim_faults_from_url(u)
        elif u.scheme == "escpos-usb":
            usb_ids(u)
    except DeviceUrlError as err:
        raise ConfigError(f"devices.printer: {err}") from None
    m = settings.mqtt
    if m.enabled and m.tls and m.tls_ca:
        ca_file(m.tls_ca, "mqtt.tls_ca")
