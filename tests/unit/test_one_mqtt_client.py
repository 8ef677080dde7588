"""One module speaks paho: runtime/mqtt.py. Every process (hub, bridge, device health, watchers, demo, benches)
goes through it, so TLS, random client ids, the Will and the SUBACK wait cannot be forgotten by one of them."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contracts", "queue_server", "kiosk", "devices", "displays", "firmware_bridge", "runtime", "demo",
            "province", "bench")
THE_CLIENT = ROOT / "runtime" / "mqtt.py"


def _imports_paho(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "paho" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "paho":
            return True
    return False


def test_only_runtime_mqtt_imports_paho() -> None:
    offenders = [str(p.relative_to(ROOT)) for pkg in PACKAGES if (ROOT / pkg).is_dir()
                 for p in sorted((ROOT / pkg).rglob("*.py")) if p != THE_CLIENT and _imports_paho(p)]
    assert offenders == [], f"use runtime.mqtt.MqttClient instead of paho in: {offenders}"
    assert _imports_paho(THE_CLIENT)
