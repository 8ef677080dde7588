"""Shared by the hub API tests: settings from the example center with cheap password hashes, and login."""
from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from contracts.messages import VN_TZ
from queue_server.config import settings_from_dict
from queue_server.web.common import API_PREFIX

EXAMPLE = Path(__file__).resolve().parents[1] / "deploy" / "center.example.toml"
PASSWORD = "đúng-mật-khẩu"
DEVICE_KEY = "kiosk-key-0123456789abcdef"
# cheap hashes: these tests log in many times
MONDAY_0800 = datetime(2026, 11, 23, 8, 0, tzinfo=VN_TZ)     # a Monday, inside the morning session
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def make_settings(tmp_path: Path, threads: int = 32, **security: Any) -> Any:
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw["store"] = {"path": str(tmp_path / "hub.sqlite3")}
    raw["mqtt"] = {"enabled": False}
    raw["http"]["max_body_bytes"] = 4096
    raw["http"]["threads"] = threads
    raw["users"] = [{"username": u, "role": r, "password_hash": FAST_HASH}
                    for u, r in (("canbo", "staff"), ("quanly", "manager"), ("quantri", "admin"))]
    raw["security"] = {"device_keys": [], **security}
    return settings_from_dict(raw)


def login(client: FlaskClient, username: str) -> dict[str, str]:
    r = client.post(f"{API_PREFIX}/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.json
    return {"Authorization": f"Bearer {r.json['token']}"}
