"""[integration] config parsing and assembly: the parts the lead wires, working together end to end."""
from __future__ import annotations

import tomllib
from datetime import datetime, time
from pathlib import Path

import pytest
from flask import Flask

from contracts.messages import VN_TZ, Envelope
from queue_server.app.integration import IntegrationConfigError, parse_integration
from queue_server.app.ports import FixedClock
from queue_server.domain.model import CenterDef, WorkingSession
from queue_server.mock_main_system import MockMainSystem
from queue_server.wiring import build_integration

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]


def config(tmp_path: Path, base_url: str) -> str:
    return f"""
[integration]
mirror_path = "{tmp_path / 'dossiers.sqlite3'}"
outbox_path = "{tmp_path / 'outbox.sqlite3'}"
calendar_dir = "{tmp_path / 'calendar'}"
forward_cutoff = "15:30"
push_hmac_secret = "tu-tinh-gui-ve"
lookup_per_minute = 20
lookup_burst = 5

[integration.main_system]
base_url = "{base_url}"
agency_code = "000.00.12.H38"
username = "motcua"
password = "motcua"
hmac_secret = "hub-gui-di"

[integration.outbox]
max_attempts = 5
base_backoff_s = 0.1
"""


def test_parse_errors_name_the_key() -> None:
    with pytest.raises(IntegrationConfigError, match="integration.lookup_brust"):
        parse_integration({"lookup_brust": 3})
    with pytest.raises(IntegrationConfigError, match="integration.main_system.auth"):
        parse_integration({"main_system": {"base_url": "https://x", "auth": "kerberos"}})
    with pytest.raises(IntegrationConfigError, match=r"integration.outbox.max_attempts: expected an integer"):
        parse_integration({"main_system": {"base_url": "https://x"}, "outbox": {"max_attempts": "many"}})
    with pytest.raises(IntegrationConfigError, match="forward_cutoff"):
        parse_integration({"forward_cutoff": "ba giờ chiều"})


def test_built_integration_looks_up_and_delivers(tmp_path: Path) -> None:
    mock = MockMainSystem(secret="hub-gui-di").start()
    try:
        cfg = parse_integration(tomllib.loads(config(tmp_path, mock.url))["integration"])
        assert cfg.forward_cutoff == time(15, 30) and cfg.outbox is not None and cfg.outbox.max_attempts == 5
        assert cfg.outbox.events_url == mock.url + "/api/motcua/events"
        sessions: dict[int, tuple[WorkingSession, ...]] = {d: (WorkingSession(time(8), time(12)), WorkingSession(time(13), time(17))) for d in range(5)}
        center = CenterDef("tt-hcc", "Trung tâm", "Center", (), (), sessions=sessions)
        clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ))
        events = [Envelope.new(i, "ticket.issued", "tt-hcc", clock.now(), {}) for i in range(1, 4)]
        parts = build_integration(cfg, center, clock, lambda after, limit: events[after:after + limit])
        assert parts.calendar.forward_cutoff == time(15, 30)
        assert parts.calendar.sessions_on(datetime(2026, 11, 23).date())[0].start == time(8)
        app = Flask("hub")
        app.register_blueprint(parts.blueprint)
        client = app.test_client()
        code = mock.codes[0]
        assert client.get(f"/api/v1/dossiers/{code}").status_code == 200        # pulled on a miss
        assert parts.relay is not None and parts.relay.run_once() == 3
        assert [e.seq for e in mock.received] == [1, 2, 3]
        assert all(e.agency == "000.00.12.H38" and e.authorised for e in mock.received)
        health = client.get("/api/v1/integration/health").get_json()
        assert health["link"] == "up" and health["outbox"]["pending_count"] == 0
        parts.stop()
    finally:
        mock.stop()


def test_status_sync_poller_fills_the_mirror_and_keeps_its_cursor(tmp_path: Path) -> None:
    import threading

    mock = MockMainSystem().start()
    try:
        text = config(tmp_path, mock.url) + "\n"
        raw = tomllib.loads(text)["integration"]
        raw["sync_every_s"] = 0.05
        cfg = parse_integration(raw)
        center = CenterDef("tt-hcc", "Trung tâm", "Center", (), ())
        parts = build_integration(cfg, center, FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ)),
                                  lambda after, limit: [])
        assert parts.poller is not None
        done = threading.Event()
        original = parts.service.sync_once

        def watched() -> int:
            count = original()
            if parts.mirror.count() == len(mock.codes):
                done.set()
            return count

        parts.service.sync_once = watched  # type: ignore[method-assign]
        parts.poller.start()
        assert done.wait(20)
        parts.poller.stop()
        assert parts.mirror.meta("sync_cursor") == str(len(mock.codes))
        assert parts.service.sync_once() == 0            # nothing changed since the stored cursor
        parts.stop()
    finally:
        mock.stop()
