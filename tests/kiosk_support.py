"""Shared by the kiosk's UI, e2e tests and bench/kiosk.py: a real hub (queue + dossier lookup) on a loopback port.

The hub runs in-process with waitress on 127.0.0.1:<free port>, a fixed clock (Monday 09:00, inside working
hours), MQTT off, the example center's services and priorities, and one dossier in the lookup mirror.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from contracts.messages import VN_TZ

ROOT = Path(__file__).resolve().parent.parent
MONDAY_9AM = datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ)
CODE = "000.00.12.H38-261118-0007"


def dossier_push(code: str = CODE) -> dict[str, Any]:
    return {"update_id": f"u-{code}", "dossier": {
        "code": code, "procedure": "Đăng ký kết hôn", "applicant_name": "Nguyễn Thị Thu Trang",
        "received_at": "2026-11-18T10:00:00+07:00", "due_at": "2026-11-25T10:00:00+07:00",
        "status": "đang xử lý", "updated_at": "2026-11-20T08:00:00+07:00", "steps": []}}


@dataclass
class RunningHub:
    hub: Any
    clock: Any
    url: str
    port: int
    settings: Any

    def stop(self) -> None:
        self.hub.stop()


def start_hub(tmp: Path, *, port: int = 0, now: datetime = MONDAY_9AM, services: int | None = None,
              clock: Any = None, extra: list[Any] | None = None) -> RunningHub:
    """A real hub on loopback. ``port`` fixed to restart a stopped hub on the same address (same store)."""
    from queue_server.adapters.dossier_mirror import DossierMirror
    from queue_server.adapters.holidays_source import load_calendar
    from queue_server.app.dossier_service import DossierService
    from queue_server.app.ports import FixedClock
    from queue_server.config import settings_from_dict
    from queue_server.web.dossiers import RateLimit, create_dossiers_blueprint
    from queue_server.wiring import build_hub

    raw = tomllib.loads((ROOT / "deploy" / "center.example.toml").read_text(encoding="utf-8"))
    raw["store"] = {"path": str(tmp / "hub.sqlite3")}
    raw["http"] = {"host": "127.0.0.1", "port": port, "threads": 8}
    raw["mqtt"] = {"enabled": False}
    raw.pop("users", None)
    if services is not None:
        raw["services"] = raw["services"][:services]
        codes = {s["code"] for s in raw["services"]}
        raw["counters"] = [{**c, "services": [s for s in c["services"] if s in codes]} for c in raw["counters"]
                           if any(s in codes for s in c["services"])]
    settings = settings_from_dict(raw, base_dir=tmp, source="kiosk tests")
    clock = clock or FixedClock(now)
    from queue_server import wiring
    if hasattr(wiring, "integration_config"):
        # the hub wires its own dossier lookup (mirror beside the store): feed that one
        hub = build_hub(settings, clock=clock, extra_blueprints=list(extra or []), keepalive_s=2.0)
        hub.integration.service.ingest(dossier_push())
    else:
        dossiers = DossierService(DossierMirror(tmp / "dossiers.sqlite3"), load_calendar([2026, 2027]), clock, None)
        dossiers.ingest(dossier_push())
        blueprint = create_dossiers_blueprint(dossiers, rate_limit=RateLimit(per_minute=6000, burst=1000))
        hub = build_hub(settings, clock=clock, extra_blueprints=[blueprint, *(extra or [])], keepalive_s=2.0)
    bound = hub.serve_in_thread("127.0.0.1", port)
    return RunningHub(hub, clock, f"http://127.0.0.1:{bound}", bound, settings)
