"""``motcua demo``: start every part, run the morning, print the account, stop every part, tidy up."""
from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import requests

from contracts.messages import VN_TZ
from demo.bookings import BookingsPart
from demo.clock import AcceleratedClock
from demo.face import enrol_and_look_up, say_result, with_face
from demo.parts import CounterDevices, KioskPrinter, MainSystemPart
from demo.settings import (
    DEFAULT_SPEED,
    DEMO_DIR_ENV,
    DEVICE_COUNTERS,
    EXAMPLE_CONFIG,
    MORNING_S,
    RUN_PASSWORD,
    demo_settings,
    integration_table,
)
from demo.simulation import Simulation
from demo.summary import hub_event_counts, integration_line, render_summary
from demo.traffic import DeviceTraffic
from queue_server.app.ports import SystemClock
from queue_server.broker import free_port, start_broker

log = logging.getLogger(__name__)


def _work_folder() -> Path:
    chosen = os.environ.get(DEMO_DIR_ENV)
    if chosen:
        path = Path(chosen)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return Path(tempfile.mkdtemp(prefix="motcua-demo-"))


def _tidy(workdir: Path) -> None:
    """Keep what the user may want to look at (ticket PNGs, summary.json); remove databases and device links."""
    for entry in workdir.iterdir():
        if entry.name in ("tickets", "summary.json"):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def run_demo(duration: float | None = 60.0, port: int | None = None, config: Path | None = None,
             broker: str = "auto", out: TextIO = sys.stdout) -> int:
    from queue_server.wiring import build_hub

    config = config or EXAMPLE_CONFIG
    stop = threading.Event()

    # Ctrl-C reaches the whole process group: socat, the firmware and Mosquitto end at once, so the morning's
    # account stops at the event seen then, and the parts' complaints about each other vanishing are not shown.
    until_seq: list[int] = []
    hub: Any = None

    def on_signal(signum: int, frame: Any) -> None:
        if hub is not None and not until_seq:
            until_seq.append(hub.service.last_seq)
        for name in ("firmware_bridge", "queue_server.adapters.mqtt", "devices.health", "runtime.mqtt"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    # a paper-out is part of the show (summary line, device alert on the hub), not a warning for the terminal
    logging.getLogger("devices.printer.escpos_printer").setLevel(logging.ERROR)
    workdir = _work_folder()
    ticket_dir = workdir / "tickets"
    running_broker = None
    sim: Simulation | None = None
    main: MainSystemPart | None = None
    devices: CounterDevices | None = None
    traffic: DeviceTraffic | None = None
    kiosk: KioskPrinter | None = None
    booked: BookingsPart | None = None
    try:
        try:
            running_broker = start_broker(prefer=broker)
            mqtt_port: int | None = running_broker.port
        except (RuntimeError, OSError, TimeoutError) as err:
            say(f"không khởi động được MQTT broker / no MQTT broker could be started ({err}): chạy không có MQTT, "
                f"không có thiết bị quầy / running without MQTT and counter devices")
            mqtt_port = None
        outbox_secret, push_secret = secrets.token_hex(16), secrets.token_hex(16)
        try:
            main = MainSystemPart(outbox_secret, push_secret)
        except (OSError, RuntimeError) as err:
            say(f"không chạy được hệ thống chính giả lập / the mock main system did not start ({err})")
        http_port = port or free_port()
        raw_integration = (integration_table(workdir, main.mock.url, main.mock.agency_code, outbox_secret,
                                             push_secret) if main is not None else None)
        # issue 16: bookings and SMS through the mock gateway (pushes from the portal need [integration]'s secret)
        booked = BookingsPart() if main is not None else None
        extra = booked.tables(f"http://127.0.0.1:{http_port}") if booked is not None else None
        settings = demo_settings(config, workdir, http_port, mqtt_port, raw_integration, extra)
        settings = with_face(settings, workdir)   # issue 15 hook: face look-up on in the demo
        speed = MORNING_S / duration if duration else DEFAULT_SPEED
        start = datetime.now(VN_TZ).replace(hour=7, minute=30, second=0, microsecond=0)
        clock = AcceleratedClock(start, speed)
        # one-time codes expire by the wall clock: at 240× a 5-minute code would be gone before it is typed
        hub = build_hub(settings, clock=clock, keepalive_s=5.0, otp_clock=SystemClock())
        hub.start_background()
        hub.serve_in_thread()
        url = f"http://127.0.0.1:{hub.port}"
        api = url + "/api/v1"
        c = settings.center

        # counter hardware: needs the broker (the bridge speaks MQTT) and socat (the virtual serial ports)
        device_note = ""
        if mqtt_port is None:
            device_note = "không có (không có MQTT) / none (no MQTT broker)"
        elif shutil.which("socat") is None:
            device_note = ("không có: chưa cài socat (apt-get install socat) / none: socat is not installed; "
                           "các quầy 1–3 dùng màn hình quầy / counters 1–3 use the console instead")
        else:
            try:
                traffic = DeviceTraffic(c.id, "127.0.0.1", mqtt_port)
                devices = CounterDevices(c.id, mqtt_port, DEVICE_COUNTERS, workdir / "serial")
                devices.start()
                if not traffic.wait_online(devices.ids, 30):
                    say("  (một số thiết bị chưa trực tuyến / some devices are not online yet)")
                device_note = (f"{len(devices.devices)} thiết bị ảo trên cổng nối tiếp (socat) + bridge / virtual "
                               f"serial devices + bridge: " + ", ".join(devices.ids))
            except Exception as err:
                log.warning("demo: counter devices failed", exc_info=True)
                device_note = f"không chạy được / did not start ({err}); quầy 1–3 dùng màn hình / console instead"
                if devices is not None:
                    devices.stop()
                devices = None
        try:
            kiosk = KioskPrinter(settings, url, ticket_dir, mqtt_port)
        except Exception as err:  # noqa: BLE001 - e.g. fonts missing: tickets are then only on screen
            say(f"máy in giả lập không chạy / the simulated printer did not start ({err})")

        say(f"motcua demo — {c.name}\n"
            f"  {len(c.services)} lĩnh vực, {len(c.counters)} quầy; đồng hồ mô phỏng từ 07:30, nhanh {speed:.0f}× "
            f"(simulated clock from 07:30, {speed:.0f}× speed)\n"
            f"  broker: {running_broker.kind + ' on 127.0.0.1:' + str(mqtt_port) if running_broker else 'none'}\n"
            f"  Thiết bị quầy / counter devices: {device_note}\n"
            f"  Màn hình sảnh / hall display:     {url}/display/hall\n"
            f"  Màn hình quầy / counter display:  {url}/display/counter/1   (quầy 1 chạy bằng bàn phím / "
            f"counter 1 runs from its keypad)\n"
            f"  Bàn làm việc / staff console:     {url}/console   (canbo1 / {RUN_PASSWORD})\n"
            f"  Quản lý / manager board:          {url}/manager   (quanly / {RUN_PASSWORD})\n"
            f"  ({RUN_PASSWORD}: mật khẩu mới cho mỗi lần chạy / a new password every run)\n"
            f"  Đánh giá (máy tính bảng) / rating tablet: {url}/rate/5\n"
            f"  API: {api}/state   OpenAPI: {api}/openapi.json\n"
            f"  Ki-ốt / kiosk: .venv/bin/motcua kiosk --sim --hub {url}\n"
            f"  Vé in (PNG) / printed tickets: {ticket_dir}/" + ("" if kiosk else "  (không có máy in / no printer)"))
        if main is not None:
            codes = [code for code in main.mock.codes][:3]
            say(f"  Hệ thống chính giả lập / mock main system: {main.mock.url}  (outbox ký HMAC / HMAC-signed outbox)\n"
                f"  Tra cứu hồ sơ / dossier look-up (thử / try):\n"
                + "\n".join(f"    {api}/dossiers/{code}" for code in codes))
        if booked is not None:
            if settings.user("quantri") is not None:
                say(f"  Quản trị / admin (số chỗ, tin nhắn / places, messages): {url}/admin   "
                    f"(quantri / {RUN_PASSWORD})")
            say(f"  Đặt lịch hẹn / booking page:      {url}/dat-lich   (mã xác thực gửi qua cổng SMS giả lập / "
                f"the one-time code arrives at the mock SMS gateway)\n"
                f"  Tin nhắn đã gửi / messages sent:  {booked.inbox_url}   (cổng SMS giả lập / mock SMS gateway)")
        say(f"  {'Dừng sau / ends after ' + format(duration, 'g') + ' s' if duration else 'Ctrl-C để dừng / to stop'}")

        sim = Simulation(api, settings, clock, stop, kiosk=kiosk, devices=devices, traffic=traffic,
                         phone_share=0.15 if booked is not None else 0.0)
        manager = sim.login("quanly") if settings.user("quanly") else None
        morning_from_seq = hub.service.last_seq
        sim.start()                       # the clock restarts at 07:30 now
        if booked is not None:
            n = booked.push_morning(api, push_secret, clock.now())
            say(f"  Lịch hẹn từ cổng dịch vụ công / bookings from the portal: {n}")
            booked.start(api, clock, stop, (settings.security.device_keys or (None,))[0], sim.tally)
        if main is not None:
            main.start_pushing(url, max(2.0, (duration or 60.0) / 6), stop, sim.tally)
            first = main.mock.codes[1] if len(main.mock.codes) > 1 else None
            if first:
                try:   # a first look-up: not in the mirror yet, so the hub pulls it from the main system
                    d = requests.get(f"{api}/dossiers/{first}", timeout=10).json()
                    say(f"  → {first}: {d['dossier']['status_vi']} / {d['dossier']['status_en']} "
                        f"(nguồn / source: {d['freshness']['source']})")
                except (requests.RequestException, ValueError, KeyError) as err:
                    say(f"  → tra cứu thất bại / look-up failed: {err}")
        face_result: dict[str, Any] | None = None
        if main is not None and main.mock.codes:
            # issue 15 hook: a simulated citizen enrolled at a counter, then found by face at a kiosk
            try:
                face_result = enrol_and_look_up(url, "canbo1", RUN_PASSWORD, main.mock.codes[0],
                                                device_key=(settings.security.device_keys or (None,))[0])
            except Exception as err:  # the morning goes on without the face part
                log.warning("demo: face look-up failed", exc_info=True)
                face_result = {"state": "failed", "error": str(err)}
            say_result(face_result, say)
        deadline = time.monotonic() + duration if duration else None
        every = min(5.0, max(1.0, (duration or 60.0) / 8))
        tracking_shown = False
        while not stop.is_set():
            wait = every if deadline is None else min(every, deadline - time.monotonic())
            if wait <= 0 or stop.wait(wait):
                break
            try:
                state = requests.get(api + "/state", timeout=5).json()
                stats = manager.get(api + "/stats/today", timeout=5).json() if manager else None
                mqtt = requests.get(api + "/health", timeout=5).json().get("mqtt", "")
                health = manager.get(api + "/integration/health", timeout=5).json() if manager and main else None
                if not tracking_shown and sim.first_ticket is not None:
                    tracking_shown = True
                    say(f"  Theo dõi vé / ticket tracking page ({sim.first_ticket['number']}): "
                        f"{url}/t/{sim.first_ticket['id']}")
                say(render_summary(state, stats, clock, sim.tally, mqtt, devices.shown() if devices else "",
                                   integration_line(health, main)))
            except (requests.RequestException, ValueError) as err:
                log.warning("demo: summary failed: %s", err)
        stop.set()
        sim.join()
        if booked is not None:
            booked.join()

        # the hub's own account, before anything is stopped (devices going offline is not part of the morning)
        summary: dict[str, Any] = {"tally": sim.tally.as_dict(), "url": url, "workdir": str(workdir)}
        try:
            if main is not None and hub.integration is not None and hub.integration.relay is not None:
                hub.integration.relay.wake()
                relay = hub.integration.relay
                end = time.monotonic() + 5     # let the outbox catch up with the last events
                while time.monotonic() < end and relay.metrics().get("pending_count"):
                    time.sleep(0.1)
            summary["hub"] = hub_event_counts(api, manager, tuple(devices.kits) if devices else (), morning_from_seq,
                                              until_seq[0] if until_seq else None)
            if manager is not None:
                summary["ratings"] = manager.get(api + "/ratings/aggregates", timeout=10).json()
                if main is not None:
                    summary["integration"] = manager.get(api + "/integration/health", timeout=10).json()
        except (requests.RequestException, ValueError, KeyError) as err:
            log.warning("demo: final summary failed: %s", err)
        if main is not None:
            summary["main_system"] = {"url": main.mock.url, "received": main.received(), "duplicates":
                                      main.mock.duplicates, "bad_signatures": main.mock.bad_signatures,
                                      "dossiers": main.mock.codes, "pushed": main.pushed}
        if devices is not None and traffic is not None:
            summary["device_replies"] = traffic.from_devices()
            summary["devices"] = devices.ids
        summary["tickets"] = [str(p) for p in kiosk.saved] if kiosk else []
        summary["face"] = face_result     # issue 15
        if booked is not None:            # issue 16
            summary["bookings"] = {"pushed": len(booked.pushed), "checked_in": booked.checked_in,
                                   "refused": booked.refused, "messages": len(booked.gateway.received),
                                   "gateway": booked.inbox_url}
            if manager is not None:
                try:
                    summary["bookings"]["stats"] = manager.get(api + "/stats/bookings", timeout=10).json()
                except (requests.RequestException, ValueError) as err:
                    log.warning("demo: booking figures failed: %s", err)
        if sim.first_ticket is not None:
            summary["tracking_url"] = f"{url}/t/{sim.first_ticket['id']}"
        (workdir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
        t = sim.tally.as_dict()
        hub_counts = summary.get("hub", {})
        delivered = (summary.get("integration") or {}).get("outbox", {}).get("delivered_total", 0)
        say(f"demo: issued={t['issued']} called={t['called']} done={t['done']} no_show={t['no_show']} "
            f"transfers={t['transferred']} ratings={t['ratings']} ratings_refused={t['ratings_refused']} "
            f"keypad_calls={t['keypad_calls']} printed={t['printed']} print_faults={t['print_faults']} "
            f"outbox_delivered={delivered} main_system_received={main.received() if main else 0} "
            f"dossier_pushes={t['dossier_pushes']} device_alerts={hub_counts.get('device_alerts', 0)} "
            f"errors={t['errors']}")
        if booked is not None:
            totals = (summary["bookings"].get("stats") or {}).get("totals", {})
            say(f"bookings: pushed={len(booked.pushed)} checked_in={booked.checked_in} "
                f"no_show={totals.get('no_show', 0)} messages={len(booked.gateway.received)}")
        say(f"  Vé in (PNG) / printed tickets: {ticket_dir}/  ·  tóm tắt / summary: {workdir / 'summary.json'}")
        return 0
    finally:
        stop.set()
        if sim is not None:
            sim.join(5)
        for part, name in ((devices, "devices"), (kiosk, "printer"), (traffic, "traffic")):
            if part is not None:
                try:
                    part.stop()
                except Exception:
                    log.exception("demo: stopping %s failed", name)
        if hub is not None:
            hub.stop()
        if main is not None:
            main.stop()
        if booked is not None:
            booked.stop()
        if running_broker is not None:
            running_broker.stop()
        _tidy(workdir)
