"""The kiosk's priority promise is true end to end: the words the kiosk shows come from the hub's own [policy]
(GET /config through the kiosk's HubClient and Catalog), and the hub then calls in exactly that order. Both
policies a center may pick: priority across a counter's services (the default) and within a service only.
Real hub on loopback (SQLite file), the kiosk's real HTTP client."""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hub_support import HubOptions
from kiosk_support import kiosk_hub_options, kiosk_settings

from kiosk.hub_client import HubClient
from kiosk.presenters.catalog import Catalog
from kiosk.presenters.services import priority_promise

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]


@pytest.fixture(params=[True, False], ids=["across-services", "within-a-service"])
def hub_options(request: pytest.FixtureRequest) -> HubOptions:
    across: bool = request.param

    def settings(tmp: Path) -> Any:
        base = kiosk_settings(tmp)
        policy = dataclasses.replace(base.center.policy, priority_across_services=across)
        return dataclasses.replace(base, center=dataclasses.replace(base.center, policy=policy))

    return dataclasses.replace(kiosk_hub_options(), settings=settings)


def test_the_kiosk_promises_what_the_hub_then_does(hub: Any) -> None:
    client = HubClient(hub.url, kiosk_id="kiosk-1")
    catalog = Catalog.from_config(client.config())
    promise = priority_promise(catalog.policy, "vi")
    across = hub.settings.center.policy.priority_across_services

    # Counter 2 takes ho-tich first, then noi-vu: two normal ho-tich tickets, then an elderly citizen for noi-vu.
    normal = [client.issue_ticket("ho-tich")["ticket"]["number"] for _ in range(2)]
    elderly = client.issue_ticket("noi-vu", "nguoi-cao-tuoi")["ticket"]["number"]
    service = hub.hub.service
    service.open_counter("2")
    called = []
    for _ in range(3):
        called.append(service.call_next("2").number.display)
        service.start_service("2")
        service.complete("2")

    if across:
        assert promise == "Người được ưu tiên sẽ được gọi trước."
        assert called == [elderly, *normal]                  # called first, whatever the service
    else:
        assert "cùng lĩnh vực" in promise and promise != "Người được ưu tiên sẽ được gọi trước."
        assert called == [*normal, elderly]                  # first only among the same service's citizens
