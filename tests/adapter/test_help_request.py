"""'Cần hỗ trợ': a kiosk (with its device key) asks for help, the request is an event every console and the
manager board receive on their stream; a member of staff answers it. Real Flask app, real SQLite file."""
from __future__ import annotations

from pathlib import Path

import pytest
from api_support import DEVICE_KEY, MONDAY_0800, login, make_settings

from queue_server.app.ports import FixedClock
from queue_server.web.common import API_PREFIX
from queue_server.wiring import build_hub

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]


def test_a_kiosk_asks_for_help_and_staff_answer(tmp_path: Path) -> None:
    h = build_hub(make_settings(tmp_path, device_keys=[DEVICE_KEY]), clock=FixedClock(MONDAY_0800),
                  extra_blueprints=[])
    try:
        c = h.app.test_client()
        assert c.post(f"{API_PREFIX}/help", json={"kiosk": "kiosk-2"}).status_code == 401      # a kiosk's write
        r = c.post(f"{API_PREFIX}/help", json={"kiosk": "kiosk-2"}, headers={"X-Device-Key": DEVICE_KEY})
        assert r.status_code == 201 and r.json["help"]["kiosk"] == "kiosk-2"
        assert c.post(f"{API_PREFIX}/help", json={}, headers={"X-Device-Key": DEVICE_KEY}).status_code == 400
        assert c.post(f"{API_PREFIX}/help/answer", json={"kiosk": "kiosk-2"}).status_code == 401
        answered = c.post(f"{API_PREFIX}/help/answer", json={"kiosk": "kiosk-2"}, headers=login(c, "canbo"))
        assert answered.status_code == 200
        events = [(e.type, e.data) for e in h.service.events_after(0)]
        assert events == [("help.requested", {"kiosk": "kiosk-2"}), ("help.answered", {"kiosk": "kiosk-2"})]
    finally:
        h.stop()
