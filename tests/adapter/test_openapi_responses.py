"""Real answers of the hub's routes validated against the success schemas of its served OpenAPI document.

One walk through a working day on the real Flask app, SQLite files and services (ratings and dossiers included):
every JSON operation the document lists is called at least once with a 2xx answer, and each answer must match the
schema the document gives for that status. A schema that drifts from what a view returns fails here.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from api_support import login, make_settings
from flask.testing import FlaskClient
from hub_support import HubOptions, TestHub
from jsonschema import Draft202012Validator

from queue_server.app.integration import IntegrationConfig
from queue_server.app.ports import FixedClock
from queue_server.web.common import API_PREFIX
from queue_server.web.guards import PushAuth

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(60)]

PUSH_TOKEN = "ma-day-cua-he-thong-mot-cua"
CODE = "000.00.12.H38-261118-0007"
DOSSIER = {"code": CODE, "procedure": "Đăng ký kết hôn", "applicant_name": "Nguyễn Thị Thu Trang",
           "received_at": "2026-11-18T10:00:00+07:00", "due_at": "2026-11-25T10:00:00+07:00",
           "status": "đang xử lý", "updated_at": "2026-11-20T08:00:00+07:00",
           "steps": [{"name": "Thẩm định", "unit": "Phòng Tư pháp", "started_at": "2026-11-18T14:00:00+07:00",
                      "due_at": "2026-11-23T17:00:00+07:00"}]}


def _settings(tmp_path: Path) -> Any:
    from queue_server.adapters.notifiers import SmsHttpSettings
    from queue_server.app.notifications import DEFAULT_TEMPLATES
    from queue_server.engagement_config import NotificationSettings

    settings = make_settings(tmp_path)
    # texts to citizens on, so the kiosk's contact route answers (its gateway is never reached in this walk)
    notifications = NotificationSettings(tmp_path / "notify.sqlite3", DEFAULT_TEMPLATES,
                                         sms=SmsHttpSettings(url="http://127.0.0.1:9/sms", timeout_s=0.2))
    return dataclasses.replace(settings, integration=IntegrationConfig(
        mirror_path=tmp_path / "dossiers.sqlite3", outbox_path=tmp_path / "outbox.sqlite3",
        push=PushAuth(tokens=(PUSH_TOKEN,))), notifications=notifications)


@pytest.fixture
def hub_options() -> HubOptions:
    """The one ``hub`` fixture (tests/conftest.py), with the main system allowed to push."""
    return HubOptions(settings=_settings)


class Checker:
    """Calls a route and validates its answer against the document's schema for (path, method, status)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.doc: dict[str, Any] = client.get(f"{API_PREFIX}/openapi.json").json
        self.templates = [(re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(p)) + "$"), p)
                          for p in self.doc["paths"]]
        self.seen: set[tuple[str, str]] = set()

    def template(self, path: str) -> str:
        # the most literal template wins (/tickets/x/cancel, not /tickets/{ticket_id} on a greedy path)
        matches = [p for rx, p in self.templates if rx.match(path)]
        assert matches, path
        return max(matches, key=lambda p: (len(p) - 10 * p.count("{"), p))

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        r = self.client.open(f"{API_PREFIX}{path}", method=method, **kwargs)
        assert 200 <= r.status_code < 300, (method, path, r.status_code, r.get_data(as_text=True))
        template = self.template(path.split("?")[0])
        op = self.doc["paths"][template][method.lower()]
        schema = op["responses"][str(r.status_code)]["content"]["application/json"]["schema"]
        # a root that holds the components, so "#/components/schemas/..." resolves
        root = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": self.doc["components"],
                "allOf": [schema]}
        errors = sorted(Draft202012Validator(root).iter_errors(r.json), key=lambda e: list(e.absolute_path))
        assert not errors, f"{method} {path}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5])
        self.seen.add((template, method.lower()))
        return r.json

    def json_operations(self) -> set[tuple[str, str]]:
        return {(path, method) for path, ops in self.doc["paths"].items() for method, op in ops.items()
                if any("application/json" in resp.get("content", {})
                       for status, resp in op["responses"].items() if status.startswith("2"))}


def test_every_json_route_answers_what_its_schema_says(hub: TestHub) -> None:
    c = Checker(hub.app.test_client())
    client = c.client
    clock = hub.service.clock
    assert isinstance(clock, FixedClock)
    staff, manager, admin = login(client, "canbo"), login(client, "quanly"), login(client, "quantri")
    c.call("POST", "/auth/login", json={"username": "canbo", "password": "đúng-mật-khẩu"})
    c.call("GET", "/auth/me", headers=staff)
    c.call("GET", "/openapi.json")
    # kiosk
    c.call("GET", "/config")
    c.call("GET", "/services")
    first = c.call("POST", "/tickets", json={"service": "ho-tich", "kiosk": "k1", "request_id": "r-1"})["ticket"]
    c.call("POST", "/tickets", json={"service": "ho-tich", "priority": "nguoi-cao-tuoi"})
    third = c.call("POST", "/tickets", json={"service": "ho-tich"})["ticket"]
    c.call("GET", f"/tickets/{first['id']}")
    c.call("POST", f"/tickets/{third['id']}/contact", json={"contact": "0912 345 678", "kiosk": "k1"})
    c.call("POST", f"/tickets/{first['id']}/print-result", json={"printed": False, "fault": "paper_out"})
    lease = c.call("POST", "/leases", json={"kiosk": "k1", "service": "dat-dai", "size": 3})["lease"]
    c.call("POST", f"/leases/{lease['id']}/tickets",
           json={"tickets": [{"number": lease["first"], "issued_at": "2026-11-23T08:00:00+07:00"}]})
    # (a kiosk the example center's [broker] inventory names: POST /help answers no other)
    c.call("POST", "/help", json={"kiosk": "kiosk-1"})
    # displays
    c.call("GET", "/state")
    c.call("GET", "/health")
    # a counter's day
    c.call("GET", "/queue", headers=staff)
    c.call("GET", "/counters", headers=staff)
    c.call("GET", "/counters/1", headers=staff)
    c.call("POST", "/counters/1/open", headers=staff)
    c.call("POST", "/counters/1/pause", headers=staff, json={"reason": "Nghỉ giải lao"})
    c.call("POST", "/counters/1/resume", headers=staff)
    c.call("POST", "/counters/1/call-next", headers=staff)
    clock.advance(seconds=31)                   # past the recall delay
    c.call("POST", "/counters/1/recall", headers=staff)
    c.call("POST", "/counters/1/start", headers=staff)
    c.call("POST", "/counters/1/complete", headers=staff)
    c.call("POST", "/counters/1/call", headers=staff, json={"number": third["number"]})
    for _ in range(2):
        clock.advance(seconds=31)
        c.call("POST", "/counters/1/recall", headers=staff)
    no_show = c.call("POST", "/counters/1/no-show", headers=staff)["ticket"]
    c.call("POST", f"/tickets/{no_show['id']}/reactivate", headers=staff)
    c.call("POST", "/counters/1/call-next", headers=staff)
    # nobody serves dat-dai now: refused unless staff confirm (issue 13), so the console confirms
    c.call("POST", "/counters/1/transfer", headers=staff, json={"service": "dat-dai", "confirm": True})
    spare = c.call("POST", "/tickets", json={"service": "xay-dung"})["ticket"]
    c.call("POST", f"/tickets/{spare['id']}/cancel", headers=staff)
    c.call("GET", "/counters/1", headers=staff)
    c.call("POST", "/counters/1/heartbeat", headers=staff)
    c.call("GET", "/counters", headers=staff)
    c.call("POST", "/counters/1/close", headers=staff)
    c.call("POST", "/help/answer", headers=staff, json={"kiosk": "kiosk-1"})
    # ratings: counter 2 serves a ticket, the tablet rates it
    c.call("POST", "/counters/2/open", headers=staff)
    c.call("POST", "/counters/2/call", headers=staff, json={"ticket_id": third["id"]})
    c.call("POST", "/counters/2/start", headers=staff)
    c.call("POST", "/counters/2/complete", headers=staff)
    c.call("GET", "/ratings/scale")
    assert c.call("GET", "/ratings/pending/2")["rateable"] is True
    c.call("POST", "/ratings", json={"counter": 2, "level": 3, "dossier_codes": [CODE], "source": "tablet"})
    c.call("GET", "/ratings/aggregates", headers=manager)
    c.call("GET", "/ratings/aggregates?from=2026-11-17&to=2026-11-23", headers=manager)
    # dossiers: the main system pushes, a kiosk looks up
    bearer = {"Authorization": f"Bearer {PUSH_TOKEN}"}
    c.call("POST", "/integration/dossiers", headers=bearer, json={"update_id": "u1", "dossier": DOSSIER})
    c.call("POST", "/integration/dossiers", headers=bearer, json={"updates": [
        {"update_id": "u2", "dossier": {**DOSSIER, "code": "000.00.12.H38-261118-0008",
                                        "status": "đã trả kết quả", "finished_at": "2026-11-20T09:00:00+07:00"}}]})
    c.call("GET", f"/dossiers/{CODE}")
    c.call("GET", f"/dossiers?code=https://dvc.example.vn/tra-cuu?ma={CODE}")
    c.call("GET", "/integration/health")
    c.call("GET", "/stats/dossier-rates?from=2026-11-01&to=2026-11-30", headers=manager)
    # the manager and the admin
    c.call("GET", "/stats/today", headers=manager)
    c.call("GET", "/events?limit=1000", headers=manager)
    c.call("GET", "/devices", headers=manager)
    c.call("GET", "/devices/alerts", headers=staff)
    c.call("GET", "/admin/config", headers=admin)
    c.call("GET", "/admin/users", headers=admin)
    # the live admin (issue 12 pt 3)
    c.call("POST", "/admin/config", headers=admin, json={"sections": {"display": {"notice": "Thông báo"}}})
    c.call("POST", "/admin/users", headers=admin, json={"username": "moi", "role": "staff", "password": "HoTich2026x"})
    c.call("POST", "/admin/users/moi", headers=admin, json={"display_name": "Cán bộ mới"})
    c.call("POST", "/admin/users/moi/password", headers=admin, json={"password": "DatLai2026"})
    c.call("GET", "/admin/audit", headers=admin)
    # issue 11: an admin ends a user's sessions (canbo logs in again below, before the staff calls that follow)
    c.call("POST", "/admin/users/canbo/revoke-sessions", json={}, headers=admin)
    # last of the admin's calls: changing a password ends that user's other sessions
    c.call("POST", "/auth/password", headers=login(client, "quantri"),
           json={"old_password": "đúng-mật-khẩu", "new_password": "DatDai2026x"})
    # reports (issue 14)
    c.call("GET", "/reports/summary?month=2026-11&group=counter", headers=manager)
    c.call("GET", "/reports/summary?date=2026-11-23&group=day&service=ho-tich", headers=manager)
    c.call("GET", "/reports/heatmap?month=2026-11", headers=manager)
    c.call("GET", "/reports/dossiers?month=2026-11", headers=manager)
    c.call("GET", "/reports/decision-766?month=2026-11", headers=manager)
    c.call("GET", "/reports/bookings?month=2026-11", headers=manager)     # issue 16 (off in this center)
    c.call("POST", "/auth/logout", headers=login(client, "canbo"))
    assert c.json_operations() - c.seen == set()


def test_a_schema_that_drifts_from_the_answer_fails(hub: TestHub, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above really bites: a view that stops sending a required field is caught."""
    from queue_server.web import schemas

    monkeypatch.setitem(schemas.COMPONENTS, "Health", schemas.obj({**schemas.HEALTH["properties"], "uptime_s": schemas.INT}))
    c = Checker(hub.app.test_client())
    with pytest.raises(AssertionError, match="uptime_s"):
        c.call("GET", "/health")
