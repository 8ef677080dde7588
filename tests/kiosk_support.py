"""Shared by the kiosk's UI, e2e tests and bench/kiosk.py: a real hub (queue + dossier lookup) on a loopback port.

The hub (tests/hub_support.TestHub, as the ``hub`` fixture builds it) runs in-process with waitress on 127.0.0.1:<free port>, a fixed clock (Monday 09:00, inside working
hours), MQTT off, the example center's services and priorities, and one dossier in the lookup mirror.
"""
from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from hub_support import HubOptions, TestHub

from contracts.messages import VN_TZ

ROOT = Path(__file__).resolve().parent.parent
MONDAY_9AM = datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ)
CODE = "000.00.12.H38-261118-0007"


def dossier_push(code: str = CODE) -> dict[str, Any]:
    return {"update_id": f"u-{code}", "dossier": {
        "code": code, "procedure": "Đăng ký kết hôn", "applicant_name": "Nguyễn Thị Thu Trang",
        "received_at": "2026-11-18T10:00:00+07:00", "due_at": "2026-11-25T10:00:00+07:00",
        "status": "đang xử lý", "updated_at": "2026-11-20T08:00:00+07:00", "steps": []}}


def kiosk_settings(tmp: Path, *, port: int = 0, services: int | None = None) -> Any:
    """The example center with MQTT off, no users, 8 HTTP threads; ``services``: keep only the first N."""
    from queue_server.config import settings_from_dict

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
    return settings_from_dict(raw, base_dir=tmp, source="kiosk tests")


def kiosk_hub_options(*, port: int = 0, now: datetime = MONDAY_9AM, services: int | None = None,
                      extra: Callable[[], list[Any]] | None = None) -> HubOptions:
    """The kiosk's hub for the ``hub`` fixture: served on loopback, one dossier in the lookup mirror."""
    return HubOptions(settings=lambda tmp: kiosk_settings(tmp, port=port, services=services), at=now, serve=True,
                      port=port, blueprints=lambda _settings: list(extra() if extra else []), keepalive_s=2.0,
                      # the hub wires its own dossier lookup (mirror beside the store): feed that one
                      prepare=lambda hub: hub.integration.service.ingest(dossier_push()))


def start_hub(tmp: Path, *, port: int = 0, now: datetime = MONDAY_9AM, services: int | None = None,
              clock: Any = None, extra: list[Any] | None = None) -> TestHub:
    """A real hub on loopback. ``port`` fixed to restart a stopped hub on the same address (same store)."""
    options = kiosk_hub_options(port=port, now=now, services=services, extra=lambda: list(extra or []))
    running = TestHub(tmp, options, clock=clock)
    return running.start()


def run_flow(app: Any, flow: Any, report: dict[str, Any], steps: list[str]) -> None:
    """Run a UI driver's flow (a generator stepping the real Kivy app) one step per frame until it ends or fails;
    the outcome lands in ``report`` (``steps``, and ``error`` with the traceback). Returns when the app stopped."""
    import traceback

    from kivy.clock import Clock

    def step(_dt: float) -> bool:
        try:
            next(flow)
        except StopIteration:
            report["steps"] = steps
            app.stop()
            return False
        except Exception:  # noqa: BLE001 - a failed step ends the run with its traceback in the report
            report["error"] = traceback.format_exc()
            report["steps"] = steps
            app.stop()
            return False
        return True

    Clock.schedule_interval(step, 1 / 60)
    app.run()


def widgets_outside(screen: Any) -> list[str]:
    """Visible widgets under ``screen`` (a Kivy widget) that do not lie whole inside the window (2 px tolerance):
    what every UI driver checks on every screen it shows, in both orientations."""
    from kivy.core.window import Window

    bad: list[str] = []
    stack = [screen]
    while stack:
        w = stack.pop()
        if w.opacity <= 0:
            continue
        stack.extend(w.children)
        if w.width <= 1 or w.height <= 1:
            continue
        x0, y0 = w.to_window(w.x, w.y)
        x1, y1 = w.to_window(w.right, w.top)
        if x0 < -2 or y0 < -2 or x1 > Window.width + 2 or y1 > Window.height + 2:
            label = getattr(w, "text", "") or type(w).__name__
            bad.append(f"{type(w).__name__}:{str(label)[:24]!r}@({x0:.0f},{y0:.0f})-({x1:.0f},{y1:.0f})")
    return bad
