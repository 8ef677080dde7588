"""[bookings] placement = "interleave" in a real hub served over HTTP (waitress on loopback, SQLite file, FixedClock):
two bookings checked in at the kiosk's API, walk-ins issued, a priority citizen; the counter calls them in the
interleaved order (at most 2 walk-ins between booked tickets, priority first), and a hub restarted half-way on the
same file carries on with the same order (the walk-ins already called since the last booked ticket count)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy_support import with_real_passwords
from hub_support import HubOptions, TestHub
from test_bookings_day import PUSH_TOKEN, at, raw_settings

from queue_server.config import ConfigError, settings_from_dict

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(90)]


def interleave_settings(tmp: Path) -> Any:
    raw = raw_settings(tmp)
    raw["bookings"] |= {"placement": "interleave", "interleave_walk_ins": 2}
    return settings_from_dict(raw)


@pytest.fixture
def hub_options() -> HubOptions:
    return HubOptions(settings=interleave_settings, at=at(7, 0), serve=True)


def push(hub: TestHub, external_id: str, person: str) -> str:
    r = requests.post(f"{hub.url}/api/v1/integration/bookings", headers={"Authorization": f"Bearer {PUSH_TOKEN}"},
                      json={"bookings": [{"external_id": external_id, "service": "ho-tich",
                                          "slot_start": at(8, 0).isoformat(), "person_id": person}]}, timeout=5)
    assert r.status_code == 200 and r.json()["results"][0]["stored"] == "created", r.text
    return str(r.json()["results"][0]["code"])


def check_in(hub: TestHub, code: str) -> dict[str, Any]:
    r = requests.post(f"{hub.url}/api/v1/bookings/check-in", json={"scan": f"MOTCUA-BK:{code}", "kiosk": "k1"},
                      timeout=5)
    assert r.status_code == 201, r.text
    ticket: dict[str, Any] = r.json()["ticket"]
    assert ticket["booking"] == code
    return ticket


def issue(hub: TestHub, priority: str | None = None) -> dict[str, Any]:
    r = requests.post(f"{hub.url}/api/v1/tickets", json={"service": "ho-tich", "priority": priority}, timeout=5)
    assert r.status_code == 201, r.text
    ticket: dict[str, Any] = r.json()["ticket"]
    assert ticket["booking"] is None
    return ticket


def serve_next(hub: TestHub, staff: dict[str, str]) -> str:
    called = hub.post("/counters/1/call-next", staff)["ticket"]
    hub.post("/counters/1/start", staff)
    hub.post("/counters/1/complete", staff)
    return str(called["number"])


def waiting(hub: TestHub, staff: dict[str, str]) -> list[str]:
    r = requests.get(f"{hub.url}/api/v1/counters/1", headers=staff, timeout=5)
    r.raise_for_status()
    return [t["number"] for t in r.json()["waiting"]]


def ahead(hub: TestHub, tickets: list[dict[str, Any]]) -> dict[str, int]:
    out = {}
    for t in tickets:
        body = requests.get(f"{hub.url}/api/v1/tickets/{t['id']}", timeout=5).json()
        if body["ticket"]["status"] == "issued":
            out[t["number"]] = body["ahead"]
    return out


def test_booked_and_walk_in_tickets_take_turns_and_a_restart_keeps_the_turn(hub: TestHub) -> None:
    a, b = push(hub, "p-1", "0912345678"), push(hub, "p-2", "0987654321")
    hub.clock.set(at(7, 35))
    w1, w2, w3 = issue(hub), issue(hub), issue(hub)
    ta = check_in(hub, a)
    w4, w5 = issue(hub), issue(hub)
    tb = check_in(hub, b)
    w6 = issue(hub)
    elder = issue(hub, "nguoi-cao-tuoi")
    tickets = [w1, w2, w3, ta, w4, w5, tb, w6, elder]
    n = {id(t): t["number"] for t in tickets}
    # strict priority first; then the booked ticket (the day starts "full"), 2 walk-ins, the next booked one, ...
    expected = [n[id(t)] for t in (elder, ta, w1, w2, tb, w3, w4, w5, w6)]

    staff = hub.login("canbo")
    hub.post("/counters/1/open", staff)
    assert waiting(hub, staff) == expected
    # every ticket's "ahead" (tracking page, kiosk) is its place in that order
    assert ahead(hub, tickets) == {num: i for i, num in enumerate(expected)}

    called = [serve_next(hub, staff) for _ in range(3)]          # the elder, booked A, walk-in 1
    assert called == expected[:3]
    before = (waiting(hub, staff), ahead(hub, tickets))

    hub.restart()                                                 # same SQLite file, same port
    staff = hub.login("canbo")
    assert (waiting(hub, staff), ahead(hub, tickets)) == before   # one walk-in since booked A: walk-in 2, then B
    called += [serve_next(hub, staff) for _ in range(len(expected) - 3)]
    assert called == expected
    r = requests.post(f"{hub.url}/api/v1/counters/1/call-next", json={}, headers=staff, timeout=5)
    assert r.status_code == 409 and r.json()["error"]["code"] == "nothing_to_call"


@pytest.mark.parametrize(("bookings", "message"), [
    ({"placement": "interleave", "interleave_walk_ins": 0}, "bookings.interleave_walk_ins: must be between 1 and 50"),
    ({"placement": "interleave", "interleave_walk_ins": "two"}, "bookings.interleave_walk_ins: expected int"),
    ({"placement": "slot_time", "interleave_walk_ins": 2}, "bookings.interleave_walk_ins: only read with"),
    ({"placement": "turns"}, "bookings.placement: 'turns' is not one of slot_time, arrival, interleave"),
])
def test_bad_interleave_settings_are_named(tmp_path: Path, bookings: dict[str, Any], message: str) -> None:
    raw = raw_settings(tmp_path)
    raw["bookings"] |= bookings
    with pytest.raises(ConfigError) as err:
        settings_from_dict(raw)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_interleave_reaches_the_queue_policy_and_survives_a_live_change(tmp_path: Path) -> None:
    from queue_server.app.live_config import service_center
    from runtime.settings.edit import apply_sections, document

    settings = interleave_settings(tmp_path)
    assert service_center(settings).policy.booked_walk_ins == 2
    counters = document(settings)["counters"]           # an admin's live change rebuilds the center from its file
    changed = apply_sections(settings, {"counters": [{**c, "name": c["name"] + " (mới)"} for c in counters]})
    assert changed.center.counters[0].name.endswith("(mới)")
    assert service_center(changed).policy.booked_walk_ins == 2
    raw = raw_settings(tmp_path)
    assert service_center(settings_from_dict(raw)).policy.booked_walk_ins == 0     # slot_time (the default)


@pytest.mark.parametrize(("extra", "code", "line"), [
    ('placement = "interleave"\ninterleave_walk_ins = 3', 0, "OK: "),
    ('placement = "interleave"\ninterleave_walk_ins = 0', 2,
     "config error: bookings.interleave_walk_ins: must be between 1 and 50, got 0"),
    ('placement = "arrival"\ninterleave_walk_ins = 3', 2,
     "config error: bookings.interleave_walk_ins: only read with placement = \"interleave\" (placement is 'arrival')"),
])
def test_config_check_takes_the_key_and_names_it_when_bad(tmp_path: Path, extra: str, code: int, line: str) -> None:
    import os
    import subprocess

    root = Path(__file__).resolve().parents[2]
    text = (root / "deploy" / "center.example.toml").read_text(encoding="utf-8")
    config = tmp_path / "center.toml"
    text = with_real_passwords(  # as deployed: device keys and real passwords for the accounts
        text.replace("device_keys = []", 'device_keys = ["key-made-for-this-test-0001"]'))
    config.write_text(text.replace('path = "/var/lib/motcua/hub.sqlite3"', 'path = "data/hub.sqlite3"')
                      + f'\n[bookings]\ncapacity = {{ ho-tich = 2 }}\n{extra}\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")} | {"PYTHONPATH": str(root)}
    result = subprocess.run([sys.executable, "-m", "queue_server", "config", "check", str(config)], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    out = (result.stdout if code == 0 else result.stderr).strip().splitlines()
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert out[0].startswith(line) and (code == 0 or len(out) == 1), out
