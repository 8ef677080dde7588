"""Manager routes (role manager+): today's statistics and the raw event log."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from queue_server.web.common import Query, hub, route
from queue_server.web.schemas import arr, obj, ref

bp = Blueprint("manager", __name__)


@route(bp, "/stats/today", summary="Per service waiting/served/no-show and times; per counter status",
       role="manager", result="{services: {...}, counters: {...}}",
       response=ref("StatsToday"))
def stats_today():  # type: ignore[no-untyped-def]
    return jsonify(hub().service.stats_today())


@route(bp, "/events", summary="Stored events after a seq, in seq order", role="manager",
       query=(Query("after", int, "seq to start after (default 0)", minimum=0),
              Query("limit", int, "at most this many (default 100, max 1000)", minimum=1, maximum=1000)),
       result="{events: [Envelope]}",
       response=obj({"events": arr(ref("Envelope"))}))
def events(query: dict[str, Any]):  # type: ignore[no-untyped-def]
    envs = hub().service.events_after(query.get("after", 0), limit=query.get("limit", 100))
    return jsonify(events=[e.to_dict() for e in envs])


@route(bp, "/devices", summary="Every known device (availability, status, faults) and the active device alerts",
       role="manager", result="{devices: [...], alerts: [...]} (a printer out of paper is a critical alert)",
       response=ref("Devices"))
def devices():  # type: ignore[no-untyped-def]
    registry = hub().devices
    return jsonify(registry.snapshot() if registry is not None else {"devices": [], "alerts": []})


@route(bp, "/devices/alerts", summary="The active device alerts only (what a staff console shows)", role="staff",
       result="{alerts: [...]}", response=ref("DeviceAlerts"))
def device_alerts():  # type: ignore[no-untyped-def]
    registry = hub().devices
    return jsonify(alerts=registry.snapshot()["alerts"] if registry is not None else [])
