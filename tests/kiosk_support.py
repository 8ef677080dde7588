"""Shared by the kiosk's UI, e2e tests and bench/kiosk.py: a real hub (queue + dossier lookup) on a loopback port,
and what every headless Kivy driver (tests/ui/*driver*.py, tests/browser/kiosk_health_driver.py) needs: the
offscreen window set up before Kivy loads, the kiosk's settings, and a ``KioskDriver`` that finds and taps real
buttons, waits frame by frame, takes screenshots and checks touch targets and the window's edges.

The hub (tests/hub_support.TestHub, as the ``hub`` fixture builds it) runs in-process with waitress on 127.0.0.1:<free port>, a fixed clock (Monday 09:00, inside working
hours), MQTT off, the example center's services and priorities, and one dossier in the lookup mirror.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
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


def desk_kiosk(tmp: Path, hub_url: str, wall: Callable[[], datetime], *, kiosk_id: str | None = None,
               journal: str = "journal.sqlite", paper: str = "paper", lease_size: int = 20,
               reserve: int = 5) -> tuple[Any, Any, Any]:
    """A kiosk wired as ``motcua kiosk --sim`` wires it (``build_kiosk``: hub client, SQLite journal, simulated
    printer) against ``hub_url``, with one hand-moved clock for the tap guard and the idle timer and ``wall`` as its
    wall clock (the test hub's fixed day): ``(kiosk, printer, clock)``."""
    from kiosk.__main__ import build_kiosk
    from kiosk.config import settings_from_dict
    from kiosk.presenters import ManualClock

    raw: dict[str, Any] = {"hub": {"url": hub_url, "connect_timeout_s": 0.3, "read_timeout_s": 2},
                           "offline": {"journal": str(tmp / journal), "lease_size": lease_size, "reserve": reserve}}
    if kiosk_id is not None:
        raw["id"] = kiosk_id
    kiosk, printer = build_kiosk(settings_from_dict(raw, env={}), sim=True, ticket_dir=tmp / paper)
    clock = ManualClock()
    kiosk.clock = clock
    kiosk.guard._clock = clock
    kiosk.desk._clock = wall
    kiosk.wall_clock = wall
    return kiosk, printer, clock


def drive_kiosk(driver: str, *args: object, timeout: float = 150) -> dict[str, Any]:
    """Run the driver ``tests/ui/<driver>`` in a subprocess (Kivy's window and global state stay there), offscreen
    with no X; the report is the last JSON line it printed."""
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(SDL_VIDEODRIVER="offscreen", KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1")
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "ui" / driver), *map(str, args)], env=env,
                          check=False, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"driver printed no report (rc={proc.returncode}):\n{proc.stderr[-3000:]}"
    report: dict[str, Any] = json.loads(lines[-1])
    return report


def headless_kivy(*, console_log: bool = False) -> None:
    """Before Kivy is imported: an offscreen window, no argument parsing, a throw-away KIVY_HOME."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    if not console_log:
        os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ["KIVY_HOME"] = tempfile.mkdtemp(prefix="kivy-home-")


def kiosk_ui_settings(hub_url: str, tmp: Path, width: int, height: int, *, printer: str | None = "sim://printer",
                      tap_guard_s: float = 0.3) -> Any:
    """A kiosk against ``hub_url`` on a ``width`` x ``height`` panel, its journal in ``tmp``, the simulated printer."""
    from dataclasses import replace

    from kiosk.config import settings_from_dict

    settings = settings_from_dict({"hub": {"url": hub_url}, "screen": {"width": width, "height": height},
                                   "behaviour": {"tap_guard_s": tap_guard_s},
                                   "offline": {"journal": str(tmp / "journal.sqlite")}}, env={})
    if printer is not None:
        settings = replace(settings, devices=replace(settings.devices, printer=printer))
    return settings


def start_kiosk_app(settings: Any, tmp: Path, *, camera_url: str = "") -> tuple[Any, Any, Any]:
    """The kiosk as ``motcua kiosk`` builds it (answers posted to the UI thread, tickets under ``tmp``) and its
    KioskApp, not yet running: (kiosk, printer, app). Kivy is configured for ``settings`` first."""
    from kiosk.app import configure_kivy

    configure_kivy(settings)
    from kiosk.__main__ import build_kiosk
    from kiosk.app import KioskApp, post_to_ui
    from kiosk.presenters import ThreadRunner

    kiosk, printer = build_kiosk(settings, runner=ThreadRunner(post_to_ui), ticket_dir=tmp / "tickets",
                                 camera_url=camera_url)
    return kiosk, printer, KioskApp(kiosk, settings, maintain=False, camera_url=camera_url)


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


class KioskDriver:
    """A citizen's hands and eyes on the running KioskApp: real touches on the visible buttons of the current
    screen, waits of whole frames (for a flow run by ``run_flow``), screenshots named ``<prefix><name>.png`` with
    the touch targets under 15 mm and the widgets outside the window noted in ``report`` for each."""

    def __init__(self, app: Any, kiosk: Any, report: dict[str, Any], *, out: Path | None = None, prefix: str = "",
                 wait_s: float = 10.0) -> None:
        self.app, self.kiosk, self.report, self.out, self.prefix, self.wait_s = app, kiosk, report, out, prefix, wait_s
        report.setdefault("screenshots", [])

    def buttons(self) -> list[Any]:
        from kivy.uix.button import Button

        found: list[Any] = []
        stack = [self.app.sm.current_screen]
        while stack:
            w = stack.pop()
            if isinstance(w, Button) and w.opacity > 0 and not w.disabled and w.width > 1 and w.height > 1:
                found.append(w)
            stack.extend(w.children)
        return found

    def button(self, text_part: str, exact: bool = False) -> Any:
        matches = [b for b in self.buttons() if (b.text == text_part if exact else text_part in b.text)]
        if not matches:
            raise AssertionError(f"no button {text_part!r} on {self.kiosk.screen}: {[b.text for b in self.buttons()]}")
        return matches[0]

    @staticmethod
    def tap(widget: Any) -> None:
        from kivy.tests.common import UnitTestTouch

        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()

    def small_buttons(self) -> list[str]:
        """Any button under 15 mm tall on this screen (touch targets)."""
        return [f"{b.text[:20]!r}:{b.height:.0f}" for b in self.buttons() if b.height + 0.5 < self.app.min_target]

    def outside(self) -> list[str]:
        return widgets_outside(self.app.sm.current_screen)

    def key_positions(self, screen: str) -> dict[str, tuple[float, ...]]:
        """Where each on-screen key of ``screen`` is (window x, y, width, height): a key must never move."""
        keys = self.app.screens[screen].key_buttons
        return {k: (*b.to_window(b.x, b.y), b.width, b.height) for k, b in keys.items()}

    def shot(self, name: str) -> None:
        assert self.out is not None, "a driver without an out dir takes no screenshots"
        path = self.out / f"{self.prefix}{name}.png"
        self.app.sm.export_to_png(str(path))
        self.report["screenshots"].append(str(path))
        self.report.setdefault("small_targets", {})[name] = self.small_buttons()
        self.report.setdefault("outside", {})[name] = self.outside()

    def wait(self, cond: Callable[[], bool], what: str, timeout: float | None = None) -> Iterator[None]:
        deadline = time.monotonic() + (self.wait_s if timeout is None else timeout)
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what} (screen {self.kiosk.screen})")
            yield
        yield  # one more frame so the layout settles before a screenshot
        yield

    @staticmethod
    def pause(seconds: float) -> Iterator[None]:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            yield


def run_flow(app: Any, flow: Any, report: dict[str, Any], steps: list[str], fps: int = 60) -> None:
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

    Clock.schedule_interval(step, 1 / fps)
    app.run()


def run_driver(app: Any, flow: Any, report: dict[str, Any], steps: list[str], *, stop: Callable[[], None]) -> int:
    """A UI driver's end: ``run_flow``, then ``stop`` (the hub, a gateway), then the report as the last stdout line
    (what ``drive_kiosk`` reads); the exit code says whether a step failed."""
    try:
        run_flow(app, flow, report, steps)
    finally:
        stop()
    print(json.dumps(report, ensure_ascii=False))
    return 0 if "error" not in report else 1
