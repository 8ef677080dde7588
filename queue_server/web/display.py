"""Public read routes for displays: the full state, the live event stream (SSE) and health.

The stream subscribes to the broadcaster BEFORE reading the snapshot or the backlog, then drops anything at or
below the seq it already sent, so no event is lost or sent twice between the two; a gap (a batch that arrived
out of order, or a stream that overflowed) is filled from the store with ``events_after``.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, jsonify, request

from contracts.errors import ErrorCode, MotcuaError
from queue_server.app.views import public_json
from queue_server.web.common import Query, bad_request, hub, route
from queue_server.web.schemas import ref
from queue_server.web.sse import StreamClosed, StreamsFull, sse_message

log = logging.getLogger(__name__)
bp = Blueprint("display", __name__)
BACKLOG_LIMIT = 1000
RESERVED_THREADS = 8      # server threads never given to event streams
STREAMS_PER_CLIENT = 4    # a PC driving a hall screen and a counter screen or two; more from one address is abuse


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@route(bp, "/state", summary="Full state: last calls, counters, services (same shapes as retained MQTT state)",
       result="{seq, calls, counters, services, center, help}",
       response=ref("State"))
def state():  # type: ignore[no-untyped-def]
    return jsonify(hub().service.snapshot())


@route(bp, "/health", summary="Liveness: last seq, MQTT connection, and this hub process's boot id",
       result='{status, seq, mqtt, boot}',
       response=ref("Health"))
def health():  # type: ignore[no-untyped-def]
    ctx = hub()
    mqtt = "disabled" if ctx.mqtt is None else ("connected" if ctx.mqtt.connected else "disconnected")
    return jsonify(status="ok", seq=ctx.service.last_seq, mqtt=mqtt, boot=ctx.boot)


@route(bp, "/stream", summary="Server-Sent Events: a `state` event, then one `event` per stored event",
       query=(Query("last_event_id", int, "resume after this seq (same as the Last-Event-ID header)", minimum=0),),
       result="text/event-stream", stream=True, errors=(ErrorCode.RATE_LIMITED,))
def stream(query: dict[str, Any]):  # type: ignore[no-untyped-def]
    header = request.headers.get("Last-Event-ID")
    resume: int | None = query.get("last_event_id")
    if header is not None and header.strip():
        try:
            resume = int(header)
        except ValueError as err:
            raise bad_request(f"Last-Event-ID: expected a seq number, got {header!r}") from err
        if resume < 0:
            raise bad_request("Last-Event-ID: must be >= 0")
    ctx = hub()
    # each open stream holds a server thread: keep some for the API, or enough displays would stall the kiosks
    max_streams = max(1, ctx.settings.http.threads - RESERVED_THREADS)
    try:
        # and per client address (issue 11): one machine cannot take every slot from the hall's screens
        sub = ctx.broadcaster.subscribe(request.remote_addr or "", per_client=STREAMS_PER_CLIENT, total=max_streams)
    except StreamsFull as err:
        raise MotcuaError(ErrorCode.RATE_LIMITED, str(err)) from err
    service = ctx.service
    keepalive = ctx.keepalive_s

    def generate() -> Iterator[str]:
        try:
            yield "retry: 2000\n\n"
            cursor: int
            # a hall screen stays connected overnight and through the lunch break, when no event comes: when the
            # clock alone changes what it shows (a new day, a service that stopped issuing), send the state again
            marks = service.clock_marks()
            backlog = [] if resume is None else service.events_after(resume, limit=BACKLOG_LIMIT + 1)
            if resume is None or resume > service.last_seq or len(backlog) > BACKLOG_LIMIT:
                # a new display, a seq from another database, or too far behind: start from the full state
                snap = service.snapshot()
                cursor = int(snap["seq"])
                yield sse_message(_dumps(snap), event="state", id=cursor)
            else:
                cursor = resume
                for env in backlog:
                    cursor = env.seq
                    yield sse_message(public_json(env), event="event", id=env.seq)
            while True:
                batch = sub.get(keepalive)
                if not batch:
                    now_marks = service.clock_marks()
                    if now_marks != marks:
                        marks = now_marks
                        yield sse_message(_dumps(service.snapshot()), event="state", id=cursor)
                    else:
                        yield ": keep-alive\n\n"
                    continue
                if batch[0].seq > cursor + 1 and batch[-1].seq > cursor:
                    batch = service.events_after(cursor, limit=BACKLOG_LIMIT)   # fill the gap from the store
                for env in batch:
                    if env.seq <= cursor:
                        continue
                    cursor = env.seq
                    yield sse_message(public_json(env), event="event", id=env.seq)
        except StreamClosed as err:
            log.info("event stream ended: %s", err)
        finally:
            sub.close()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    response = Response(generate(), mimetype="text/event-stream", headers=headers)
    response.call_on_close(sub.close)     # also when the client leaves before the first message
    return response
