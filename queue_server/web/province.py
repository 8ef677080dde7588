"""Province blueprint (issue 17): ``POST /api/v1/province/replay`` — the province (or an operator with the
province key) asks this hub to re-send its events from a seq to the province sink.

Authenticated only by the HMAC signature with the center's province key (the same key the sink signs with); the
body is ``{"from_seq": N}``, declared with ``common.route`` like every hub route. Thin: the replay itself is
OutboxRelay.request_replay.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, request

from contracts.errors import ErrorCode, MotcuaError
from queue_server.adapters.main_system import verify
from queue_server.web.common import Body, Field, route
from queue_server.web.schemas import ANY_OBJECT, INT, obj

log = logging.getLogger(__name__)

REPLAY = Body({"from_seq": Field(int, True, "re-send the events from this seq on", minimum=1)})


def make_province_blueprint(relay: Any, key: str) -> Blueprint:
    bp = Blueprint("province", __name__, url_prefix="/api/v1/province")

    def signed_with_the_province_key() -> None:
        reason = verify(key, request.headers, request.get_data(cache=True))
        if reason is not None:
            log.warning("province replay refused from %s: %s", request.remote_addr, reason)
            raise MotcuaError(ErrorCode.UNAUTHENTICATED, f"bad signature: {reason}")

    @route(bp, "/replay", methods=("POST",), signed=True, guard=signed_with_the_province_key, body=REPLAY,
           summary="Re-send events from a seq to the province (HMAC-signed with the province key)",
           result="from_seq accepted and the province sink's metrics",
           response=obj({"from_seq": INT, "sink": ANY_OBJECT}))
    def replay(body: dict[str, Any]) -> Any:
        from_seq = body["from_seq"]
        relay.request_replay(from_seq)
        log.info("province replay from seq %d requested by %s", from_seq, request.remote_addr)
        return jsonify({"from_seq": from_seq, "sink": relay.metrics()})

    return bp
