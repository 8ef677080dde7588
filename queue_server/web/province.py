"""Province blueprint (issue 17): ``POST /api/v1/province/replay`` — the province (or an operator with the
province key) asks this hub to re-send its events from a seq to the province sink.

Authenticated only by the HMAC signature with the center's province key (the same key the sink signs with); the
body is ``{"from_seq": N}``. Thin: the replay itself is OutboxRelay.request_replay.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, jsonify, request

from contracts.errors import ErrorCode, MotcuaError
from queue_server.adapters.main_system import verify
from queue_server.web.common import ROUTE_DOCS, RouteDoc

log = logging.getLogger(__name__)

ROUTE_DOCS["province.replay"] = RouteDoc(
    "Re-send events from a seq to the province (HMAC-signed with the province key)", "integration",
    result="from_seq accepted and the province sink's metrics",
    errors=(ErrorCode.UNAUTHENTICATED, ErrorCode.BAD_REQUEST))


def make_province_blueprint(relay: Any, key: str) -> Blueprint:
    bp = Blueprint("province", __name__, url_prefix="/api/v1/province")

    @bp.post("/replay")
    def replay() -> Any:
        raw = request.get_data(cache=False)
        reason = verify(key, request.headers, raw)
        if reason is not None:
            log.warning("province replay refused from %s: %s", request.remote_addr, reason)
            raise MotcuaError(ErrorCode.UNAUTHENTICATED, f"bad signature: {reason}")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise MotcuaError(ErrorCode.BAD_REQUEST, "body: expected JSON {\"from_seq\": N}") from None
        from_seq = body.get("from_seq") if isinstance(body, dict) else None
        if isinstance(from_seq, bool) or not isinstance(from_seq, int) or from_seq < 1:
            raise MotcuaError(ErrorCode.BAD_REQUEST, "from_seq: expected an integer >= 1")
        relay.request_replay(from_seq)
        log.info("province replay from seq %d requested by %s", from_seq, request.remote_addr)
        return jsonify({"from_seq": from_seq, "sink": relay.metrics()})

    return bp
