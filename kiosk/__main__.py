"""``python -m kiosk [--config kiosk.toml] [--sim]``: wiring and logging config, nothing else.

``--sim`` uses simulated devices (printer ``sim://printer`` writing PNGs to var/kiosk-tickets, the PC keyboard
as a scanner: type or paste a code and press Enter).
"""
from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.app import KioskApp
    from kiosk.config import KioskSettings
    from kiosk.devices_wiring import PrinterAdapter
    from kiosk.offline import OfflineJournal
    from kiosk.presenters import Kiosk
    from kiosk.presenters.ports import Runner


def build_kiosk(settings: KioskSettings, *, sim: bool = False, runner: Runner | None = None,
                ticket_dir: Path | None = None, camera_url: str = "") -> tuple[Kiosk, PrinterAdapter]:
    """The presenter tree with its real adapters (hub client, offline desk, printer). No Kivy here."""
    from kiosk.devices_wiring import open_kiosk_printer
    from kiosk.hub_client import HubClient
    from kiosk.offline import OfflineJournal, TicketDesk
    from kiosk.presenters import Kiosk, KioskBehaviour
    from kiosk.presenters.catalog import Catalog

    hub = HubClient(settings.hub.url, kiosk_id=settings.id, device_key=settings.hub.device_key or None,
                    connect_timeout_s=settings.hub.connect_timeout_s, read_timeout_s=settings.hub.read_timeout_s)
    journal = OfflineJournal(settings.offline.journal)
    hub.on_config = lambda answer: journal.remember("config", answer)
    desk = TicketDesk(hub, journal, lease_size=settings.offline.lease_size, reserve=settings.offline.reserve)
    printer_url = "sim://printer" if sim else settings.devices.printer
    printer = open_kiosk_printer(printer_url, out_dir=ticket_dir)
    b = settings.behaviour
    behaviour = KioskBehaviour(idle_timeout_s=b.idle_timeout_s, ticket_screen_s=b.ticket_screen_s,
                               result_screen_s=b.result_screen_s, tap_guard_s=b.tap_guard_s,
                               stale_after_min=b.stale_after_min, public_base_url=settings.public_url,
                               camera_available=bool(camera_url),
                               when_printer_down=settings.devices.when_printer_down)
    kiosk = Kiosk(hub=hub, desk=desk, printer=printer, runner=runner, behaviour=behaviour)
    # First catalog before the window opens, so home has the center's name (a dead hub just leaves it empty).
    catalog = kiosk.refresh_catalog()
    remembered = journal.recall("config")
    if not catalog.services and isinstance(remembered, dict):
        # the hub is out of reach at start (a power cut: the kiosk boots first): the center as last heard, without
        # counts, so citizens still get today's leased numbers
        catalog = Catalog.from_config(remembered)
    kiosk.catalog = catalog
    desk.set_services({s.code: s.prefix for s in catalog.services})
    return kiosk, printer


def desk_journal(kiosk: Kiosk) -> OfflineJournal:
    journal: OfflineJournal = getattr(kiosk.desk, "journal")  # noqa: B009 - the Desk port does not expose it
    return journal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motcua kiosk", description="The lobby kiosk (Kivy).")
    parser.add_argument("--config", help="kiosk TOML file (see deploy/kiosk.example.toml)")
    parser.add_argument("--sim", action="store_true", help="simulated devices; the keyboard acts as a scanner")
    parser.add_argument("--hub", help="hub URL (overrides hub.url)")
    parser.add_argument("--landscape", action="store_true", help="1920x1080 instead of 1080x1920")
    parser.add_argument("--size", help="window size WxH, e.g. 540x960 for a desktop preview")
    # smoke tests: stop this many seconds after the first upkeep round (leases, catalog), however slow start-up is
    parser.add_argument("--exit-after", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("kiosk")
    logging.getLogger("urllib3").setLevel(logging.WARNING)   # a poll every 10 s is not news

    from dataclasses import replace

    from kiosk.config import ConfigError, check_can_run, load_settings
    try:
        settings = load_settings(args.config)
        check_can_run(settings)          # what `motcua config check` runs, so that what it accepts starts here
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    if args.hub:
        settings = replace(settings, hub=replace(settings.hub, url=args.hub))
    if args.landscape:
        settings = replace(settings, screen=replace(settings.screen, width=1920, height=1080))
    if args.size:
        w, _, h = args.size.partition("x")
        settings = replace(settings, screen=replace(settings.screen, width=int(w), height=int(h)))
    log.info("kiosk settings: %s", settings.redacted())
    for note in settings.notes:
        log.warning("config: %s", note)

    from kiosk.app import configure_kivy
    configure_kivy(settings)
    from kiosk.app import KioskApp, post_to_ui
    from kiosk.devices_wiring import KeyboardWedge, open_scanner
    from kiosk.presenters import ThreadRunner

    camera = settings.devices.camera
    if args.sim:
        # simulated devices only: the keyboard stands in for the scanner, a camera only if it is a simulator
        camera = camera if camera.startswith("sim://") else ""
        settings = replace(settings, devices=replace(settings.devices, scanner="", camera=camera))
    kiosk, _printer = build_kiosk(settings, sim=args.sim, runner=ThreadRunner(post_to_ui),
                                  ticket_dir=Path("var/kiosk-tickets") if args.sim else None, camera_url=camera)
    from kiosk.face_wiring import attach_face  # issue 15 hook: "Tra cứu bằng khuôn mặt" where it can work

    attach_face(kiosk, kiosk.hub, camera)
    # --sim: the PC keyboard is a wedge scanner (type or paste a code, Enter); a configured scanner still works.
    wedge = KeyboardWedge(lambda code: kiosk.scanned(code, source="keyboard")) if args.sim else None
    scanner_running: bool | None = None
    try:
        runner = open_scanner(settings.devices.scanner,
                              lambda raw, code, ref, source: post_to_ui(lambda: kiosk.scanned(raw, code, ref, source)))
        scanner_running = None if runner is None else True
    except Exception as err:  # noqa: BLE001 - a bad scanner URL must not keep the kiosk from issuing tickets
        log.error("scanner %s not started: %s", settings.devices.scanner, err)
        scanner_running = False
    # The devices report themselves (MQTT, Last Will) and the printer's readiness reaches the kiosk: no paper,
    # no paper tickets (or the number on screen, by config), back by itself once paper is loaded.
    from kiosk.device_health import start_device_health
    watch, health = start_device_health(settings, _printer,
                                        lambda fault: post_to_ui(lambda: kiosk.set_printer_fault(fault)),
                                        scanner_running=scanner_running)
    app = KioskApp(kiosk, settings, camera_url=camera, wedge=wedge, warm_up=_printer.warm_up,
                   camera_health=(lambda ok: health.report("camera", () if ok else ("not_found",)))
                   if health is not None else None)
    if args.exit_after > 0:
        # Counted from the end of the first upkeep round, not from here: under load Kivy's start-up alone can
        # take longer than the smoke test's few seconds, and a kiosk stopped before its first round has leased
        # nothing (the very thing the smoke test checks).
        _stop_after_first_upkeep(app, args.exit_after)
    try:
        app.run()
    finally:
        watch.stop()
        if health is not None:
            health.stop()
    log.info("kiosk stopped (mode %s, %d offline tickets not yet handed in)", kiosk.desk.mode,
             desk_journal(kiosk).pending_count())
    return 0


def _stop_after_first_upkeep(app: KioskApp, seconds: float) -> None:
    from kivy.clock import Clock

    from kiosk.app import post_to_ui

    first = threading.Event()

    def upkept() -> None:
        if not first.is_set():
            first.set()
            post_to_ui(lambda: Clock.schedule_once(lambda _dt: app.stop(), seconds))

    app.upkept = upkept


if __name__ == "__main__":
    sys.exit(main())
