"""What the terminal shows while the demo runs, and the hub's own account at the end."""
from __future__ import annotations

from collections import Counter
from typing import Any

import requests

from demo.clock import AcceleratedClock
from demo.parts import MainSystemPart
from demo.tally import Tally


# --- what the terminal shows -------------------------------------------------------------------------------------
def render_summary(state: dict[str, Any], stats: dict[str, Any] | None, clock: AcceleratedClock, tally: Tally,
                   mqtt: str = "", devices: str = "", integration: str = "") -> str:
    now = clock.now()
    t = tally.as_dict()
    lines = [f"── {now:%H:%M} (giờ mô phỏng / simulated time) ── mqtt: {mqtt or '?'}",
             (f"  Phát số / issued {t['issued']} · gọi / called {t['called']} (bàn phím / keypad "
              f"{t['keypad_calls']}) · xong / done {t['done']} · vắng / no-show {t['no_show']} · chuyển / transfers "
              f"{t['transferred']}"),
             (f"  Đánh giá / ratings {t['ratings']} (từ chối / refused {t['ratings_refused']}) · vé in / printed "
              f"{t['printed']} (lỗi máy in / print faults {t['print_faults']}) · lỗi demo / errors {t['errors']}")]
    served = {}
    if stats:
        for code, s in (stats.get("services") or {}).items():
            if isinstance(s, dict):
                served[code] = s.get("served", 0)
    lines.append(f"  {'Lĩnh vực / Service':<36} {'chờ':>4} {'đã phục vụ':>10}  gọi gần nhất")
    for s in state.get("services", []):
        lines.append(f"  {s['name'][:36]:<36} {s['waiting']:>4} {served.get(s['service'], 0):>10}  "
                     f"{s.get('last_called') or '—'}")
    busy = []
    for c in state.get("counters", []):
        if c["status"] == "closed":
            continue
        what = c.get("current_ticket") or ("tạm nghỉ" if c["status"] == "paused" else "trống")
        busy.append(f"{c['name']}: {what}")
    for i in range(0, len(busy), 7):          # seven counters a line keeps it within a terminal's width
        lines.append("  " + " | ".join(busy[i:i + 7]))
    if devices:
        lines.append(f"  Thiết bị / devices: {devices}")
    if integration:
        lines.append(f"  Hệ thống chính / main system: {integration}")
    return "\n".join(lines)


def integration_line(health: dict[str, Any] | None, main: MainSystemPart | None) -> str:
    if main is None:
        return ""
    outbox = (health or {}).get("outbox") or {}
    return (f"outbox chờ gửi / pending {outbox.get('pending_count', '?')}, đã gửi / delivered "
            f"{outbox.get('delivered_total', '?')} · mock đã nhận / received {main.received()} sự kiện / events · "
            f"liên kết / link {(health or {}).get('link', '?')}\n"
            f"    hồ sơ / dossiers: mock {len(main.mock.codes)}, bản sao trên hub / hub mirror "
            f"{(health or {}).get('mirror_dossiers', '?')} · cập nhật được đẩy / pushed updates {len(main.pushed)}")


def hub_event_counts(api: str, manager: requests.Session | None, device_counters: tuple[str, ...],
                     morning_from_seq: int = 0, morning_until_seq: int | None = None) -> dict[str, Any]:
    """Read the hub's whole event log (manager API) and count what happened, from the hub's point of view.
    Device alerts count between the two seqs: devices coming up before the morning, or going away because the
    demo is being stopped, are not alerts."""
    if manager is None:
        return {}
    by_type: Counter[str] = Counter()
    device_calls = 0
    alerts = 0
    after = 0
    while True:
        resp = manager.get(f"{api}/events", params={"after": after, "limit": 1000}, timeout=10)
        resp.raise_for_status()
        events = resp.json()["events"]
        if not events:
            break
        for e in events:
            by_type[e["type"]] += 1
            data = e.get("data") or {}
            if e["type"] == "ticket.called":
                counter = data.get("counter") or (data.get("ticket") or {}).get("counter")
                if str(counter) in device_counters:
                    device_calls += 1
            if morning_from_seq < e["seq"] <= (morning_until_seq or e["seq"]) and (
                    (e["type"] == "device.fault" and data.get("active")) or e["type"] == "device.offline"):
                alerts += 1
        after = events[-1]["seq"]
    return {"by_type": dict(by_type), "calls_at_device_counters": device_calls, "device_alerts": alerts}
