"""Device health through the real broker into the real hub: a kiosk printer that runs out of paper is listed by
GET /api/v1/devices as a critical alert, the alert is an event in the hub's log, and it clears when paper is back;
a device that drops off the network (Last Will) becomes device.offline."""
from __future__ import annotations

import time
from typing import Any

import pytest
from api_support import login
from hub_support import HubOptions

from devices.health import DeviceHealthPublisher
from devices.printer import open_printer
from queue_server.web.common import API_PREFIX
from queue_server.wiring import Hub

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


@pytest.fixture
def hub_options() -> HubOptions:
    # a center of its own on the session's broker, so no other test's retained device state is seen
    return HubOptions(mqtt=True, unique_center=True)


def wait_until(fn: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s")


def test_printer_out_of_paper_is_a_manager_alert_and_an_event(hub: Hub, mosquitto) -> None:
    client = hub.app.test_client()
    manager = login(client, "quanly")
    assert client.get(f"{API_PREFIX}/devices", headers=login(client, "canbo")).status_code == 403
    center = hub.settings.center.id
    pub = DeviceHealthPublisher(center, "kiosk-1-printer", "printer", mosquitto.host, mosquitto.port)
    pub.start()
    try:
        assert pub.wait_connected(10)
        printer = open_printer("sim://printer?paper=out")
        pub.report_printer(printer.status())

        def paper_alert() -> Any:
            body = client.get(f"{API_PREFIX}/devices", headers=manager).json
            return [a for a in body["alerts"] if a["device_id"] == "kiosk-1-printer" and a["code"] == "paper_out"]

        alert = wait_until(paper_alert)[0]
        assert alert["severity"] == "critical" and alert["message_vi"]
        devices = client.get(f"{API_PREFIX}/devices", headers=manager).json["devices"]
        assert [(d["id"], d["availability"], d["status"]) for d in devices] == [("kiosk-1-printer", "online", "fault")]

        def fault_events(active: bool) -> Any:
            evs = client.get(f"{API_PREFIX}/events?after=0", headers=manager).json["events"]
            return [e for e in evs if e["type"] == "device.fault" and e["data"]["code"] == "paper_out"
                    and e["data"]["active"] is active]

        assert wait_until(lambda: fault_events(True))[0]["data"]["device"] == "kiosk-1-printer"
        printer.simulator.set_faults(paper="ok")  # type: ignore[attr-defined]
        pub.report_printer(printer.status())
        wait_until(lambda: fault_events(False))
        assert not paper_alert()
    finally:
        pub.stop()
    # a clean stop publishes offline: the hub logs device.offline and keeps an offline alert
    evs = wait_until(lambda: [e for e in client.get(f"{API_PREFIX}/events?after=0", headers=manager).json["events"]
                              if e["type"] == "device.offline"])
    assert evs[0]["data"]["device"] == "kiosk-1-printer"
    seqs = [e["seq"] for e in client.get(f"{API_PREFIX}/events?after=0", headers=manager).json["events"]]
    assert seqs == list(range(1, len(seqs) + 1))
