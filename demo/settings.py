"""The demo's numbers (speed, services, counters with hardware) and the hub config it runs on: the example
center, every day a working day, everything in the work folder."""
from __future__ import annotations

import functools
import secrets
import tomllib
from pathlib import Path
from typing import Any

from queue_server.config import WEEKDAYS, HubSettings, settings_from_dict

__all__ = ["RUN_PASSWORD", "demo_raw", "demo_settings", "integration_table"]

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "center.example.toml"
MORNING_S = 4 * 3600.0
DEFAULT_SPEED = 240.0
# How many citizens want each service, roughly as a provincial center sees it (hộ tịch and đất đai lead).
SERVICE_WEIGHTS = {"ho-tich": 20, "dat-dai": 16, "dang-ky-kinh-doanh": 10, "xay-dung": 6, "lao-dong": 8,
                   "giao-thong": 9, "tai-nguyen": 5, "y-te": 4, "giao-duc": 3, "cong-thuong": 3, "noi-vu": 3,
                   "thue": 6, "tra-ket-qua": 12}
OPEN_COUNTERS = ("1", "2", "3", "4", "5", "7", "8", "9", "10", "12", "13", "14")
# Counters with hardware: keypad kp-<n>, LED display led-<n>, rating pad pad-<n> (counter 1 busiest: hộ tịch).
DEVICE_COUNTERS = ("1", "2", "3")
KIOSK_ID = "kiosk-1"
PRINTER_ID = "kiosk-1-printer"
TICKET_PNGS = 5                 # rendered tickets kept as PNG (the rest are printed and dropped)
FOOTER = ("Xin vui lòng chờ đến lượt", "Please wait for your number")
REPLY_TIMEOUT_S = 8.0           # a keypad/pad press → the hub's reply, through broker and bridge
DEMO_DIR_ENV = "MOTCUA_DEMO_DIR"
# Every account of the demo logs in with this, made when the demo starts and printed with the URLs: the
# config's own accounts (the example's public "motcua-demo") are never what a demo hub accepts.
RUN_PASSWORD = secrets.token_urlsafe(9)


@functools.cache
def _run_password_hash() -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(RUN_PASSWORD)     # one scrypt for all accounts


def demo_settings(config: Path, workdir: Path, http_port: int, mqtt_port: int | None,
                  integration: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> HubSettings:
    return settings_from_dict(demo_raw(config, workdir, http_port, mqtt_port, integration, extra),
                              source=f"{config} (demo)")


def demo_raw(config: Path, workdir: Path, http_port: int, mqtt_port: int | None,
             integration: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The demo hub's config as the file would hold it (``extra``: more tables, e.g. [bookings] and
    [notifications]); every secret in it is made for this run."""
    raw = tomllib.loads(config.read_text(encoding="utf-8"))
    # the demo runs any day of the week, so every day gets the usual two sessions
    raw["working_hours"] = [{"days": list(WEEKDAYS), "sessions": [["07:30", "11:30"], ["13:30", "17:00"]]}]
    # ... and public holidays too: a demo on Tết must still show a morning
    raw.setdefault("center", {})["observe_holidays"] = False
    raw["store"] = {"path": str(workdir / "hub.sqlite3")}
    raw["http"] = {**raw.get("http", {}), "host": "127.0.0.1", "port": http_port}
    raw["mqtt"] = {"enabled": mqtt_port is not None, "host": "127.0.0.1", "port": mqtt_port or 1883}
    # writes need a credential even in the demo: a fresh kiosk key per run (the simulated kiosk sends it)
    raw["security"] = {**raw.get("security", {}), "device_keys": [secrets.token_urlsafe(24)]}
    # ... and the accounts' password too (RUN_PASSWORD)
    raw["users"] = [{**user, "password_hash": _run_password_hash()} for user in raw.get("users", [])]
    if integration is not None:
        raw["integration"] = integration
    raw.update(extra or {})
    return raw


def integration_table(workdir: Path, main_url: str, agency: str, outbox_secret: str, push_secret: str) -> dict[str, Any]:
    """The hub's [integration] for the demo: outbox to the mock (signed), pull on a look-up miss, pushes accepted."""
    return {
        "mirror_path": str(workdir / "dossiers.sqlite3"),
        "outbox_path": str(workdir / "outbox.sqlite3"),
        "push_hmac_secret": push_secret,
        "pull_on_miss": True,
        "main_system": {"base_url": main_url, "agency_code": agency, "auth": "token", "username": "motcua",
                        "password": "motcua", "hmac_secret": outbox_secret, "timeout_s": 3.0},
        # events in batches: a morning at 240× is a few thousand events a minute on a shared 2-core machine
        "outbox": {"batch_size": 25, "base_backoff_s": 0.5, "max_backoff_s": 5.0},
    }
