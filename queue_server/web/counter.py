"""Staff routes (role staff+): the queue, counter state and every counter action.

Each action is one QueueService command; the service refuses invalid ones with a MotcuaError (409 etc.), so
this module only validates input shapes and turns results into JSON.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, jsonify

from contracts.errors import ErrorCode, MotcuaError
from queue_server.app.views import ticket_to_json
from queue_server.web.common import (
    Body,
    Field,
    Query,
    current_display_name,
    current_role,
    current_username,
    hub,
    route,
)
from queue_server.web.guards import role_rank
from queue_server.web.schemas import arr, obj, ref

bp = Blueprint("counter", __name__)

EMPTY = Body()
OPEN = Body({"takeover": Field(bool, False, "true: take over a counter open under another staff member "
                                            "(recorded as counter.taken_over); without it such an open is refused "
                                            "with counter_taken")})
CANCEL = Body({
    "reason": Field(str, False, "why it is cancelled (kept in the event log), e.g. Công dân không làm nữa", max_len=200),
    "counter": Field(str, False, "the counter whose staff cancels it", max_len=64),
})
PAUSE = Body({"reason": Field(str, True, "why, shown on the counter display (e.g. Nghỉ giải lao)", max_len=120)})
CALL = Body({
    "ticket_id": Field(str, False, "ticket id, e.g. 20261123-ho-tich-23", max_len=80),
    "number": Field(str, False, "display number, e.g. A023", max_len=8),
}, one_of=("ticket_id", "number"))
TRANSFER = Body({
    "service": Field(str, False, "target service code", max_len=64),
    "counter": Field(str, False, "target counter id", max_len=64),
    "confirm": Field(bool, False, "true: transfer even to a closed counter or a service nobody serves now"),
}, one_of=("service", "counter"))

TICKET_ERRORS = (ErrorCode.UNKNOWN_COUNTER, ErrorCode.COUNTER_NOT_OPEN, ErrorCode.COUNTER_IDLE,
                 ErrorCode.INVALID_TRANSITION, ErrorCode.FORBIDDEN)


def _counter(counter_id: str) -> Any:
    counter = hub().settings.center.counter(counter_id)
    if counter is None:
        raise MotcuaError(ErrorCode.UNKNOWN_COUNTER, f"no counter {counter_id!r}")
    return counter


def _ticket(t: Any):  # type: ignore[no-untyped-def]
    return jsonify(ticket=ticket_to_json(t))


@route(bp, "/queue", summary="Waiting tickets in call order", role="staff",
       query=(Query("service", str, "only this service"),), result="{waiting: [Ticket]}",
       errors=(ErrorCode.UNKNOWN_SERVICE,),
       response=obj({"waiting": arr(ref("Ticket"))}))
def queue(query: dict[str, Any]):  # type: ignore[no-untyped-def]
    ctx = hub()
    service = query.get("service")
    if service is not None and ctx.settings.center.service(service) is None:
        raise MotcuaError(ErrorCode.UNKNOWN_SERVICE, f"no service {service!r}")
    return jsonify(waiting=[ticket_to_json(t) for t in ctx.service.waiting(service)])


def _state_json(state: Any, silent: frozenset[str]) -> dict[str, Any]:
    return {**asdict(state), "silent": state.counter in silent}


@route(bp, "/counters", summary="Every counter's state (silent: open but nobody at its console or keypad lately)",
       role="staff", result="[CounterState + silent]", response=arr(ref("CounterListed")))
def counters():  # type: ignore[no-untyped-def]
    service = hub().service
    silent = service.silent_counters()
    return jsonify([_state_json(s, silent) for s in service.counter_states()])


@route(bp, "/counters/<counter_id>", summary="One counter's state and the tickets waiting for its services",
       role="staff", result="CounterState + silent, mine (held by the caller), current: Ticket|null, services, "
                            "waiting: [Ticket] in the counter's service order, no_shows: [Ticket] today (reactivatable)",
       errors=(ErrorCode.UNKNOWN_COUNTER,), response=ref("CounterDetail"))
def counter(counter_id: str):  # type: ignore[no-untyped-def]
    ctx = hub()
    c = _counter(counter_id)
    waiting = [ticket_to_json(t) for code in c.services for t in ctx.service.waiting(code)]
    state = ctx.service.counter_state(counter_id)
    current = ctx.service.get_ticket(state.current_ticket_id).ticket if state.current_ticket_id else None
    return jsonify({**_state_json(state, ctx.service.silent_counters()), "services": list(c.services),
                    "waiting": waiting, "mine": _holder(counter_id) == current_username(),
                    "current": ticket_to_json(current) if current is not None else None,
                    "no_shows": [ticket_to_json(t) for t in ctx.service.no_shows(c.services)]})


def _holder(counter_id: str) -> str | None:
    """The login the counter is open under (the public state carries only the display name)."""
    return hub().service.counter_holder(counter_id)


def _may_change(counter_id: str) -> None:
    """Staff act only at their own counter (or one nobody holds): after a takeover the old console is locked out
    instead of calling under the new holder's name. A manager may pause or close any counter (board)."""
    holder = _holder(counter_id)
    if holder is None or holder == current_username() or role_rank(current_role() or "") >= role_rank("manager"):
        return
    raise MotcuaError(ErrorCode.FORBIDDEN, f"counter {counter_id} is open under another staff member; "
                                           "open it (with takeover) first, or ask a manager")


@route(bp, "/counters/<counter_id>/open", methods=("POST",),
       summary="Open the counter (binds the staff member; taking over another's open counter needs takeover)",
       role="staff", body=OPEN, result="CounterState",
       errors=(ErrorCode.UNKNOWN_COUNTER, ErrorCode.COUNTER_TAKEN), response=ref("CounterState"))
def open_counter(counter_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    return jsonify(asdict(hub().service.open_counter(counter_id, staff=current_username(),
                                                     staff_name=current_display_name(),
                                                     takeover=bool(body.get("takeover", False)))))


@route(bp, "/counters/<counter_id>/heartbeat", methods=("POST",),
       summary="The console is open at this counter (keeps an open counter from being flagged silent)",
       role="staff", body=EMPTY, result="{silent: bool}", errors=(ErrorCode.UNKNOWN_COUNTER, ErrorCode.FORBIDDEN),
       response=ref("Heartbeat"))
def heartbeat(counter_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    _may_change(counter_id)
    service = hub().service
    service.counter_seen(counter_id)
    return jsonify(silent=counter_id in service.silent_counters())


@route(bp, "/counters/<counter_id>/pause", methods=("POST",), summary="Pause with a reason (staff: their own counter; manager: any)",
       role="staff", body=PAUSE, result="CounterState",
       errors=(ErrorCode.UNKNOWN_COUNTER, ErrorCode.COUNTER_BUSY, ErrorCode.FORBIDDEN),
       response=ref("CounterState"))
def pause_counter(counter_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    _may_change(counter_id)
    return jsonify(asdict(hub().service.pause_counter(counter_id, body["reason"])))


@route(bp, "/counters/<counter_id>/resume", methods=("POST",), summary="Resume a paused counter", role="staff",
       body=EMPTY, result="CounterState", errors=(ErrorCode.UNKNOWN_COUNTER, ErrorCode.INVALID_TRANSITION),
       response=ref("CounterState"))
def resume_counter(counter_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    _may_change(counter_id)
    return jsonify(asdict(hub().service.resume_counter(counter_id)))


@route(bp, "/counters/<counter_id>/close", methods=("POST",), summary="Close the counter (staff: their own; manager: any); refused with a ticket in hand",
       role="staff", body=EMPTY, result="CounterState",
       errors=(ErrorCode.UNKNOWN_COUNTER, ErrorCode.COUNTER_BUSY, ErrorCode.FORBIDDEN),
       response=ref("CounterState"))
def close_counter(counter_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    _may_change(counter_id)
    return jsonify(asdict(hub().service.close_counter(counter_id)))


@route(bp, "/counters/<counter_id>/call-next", methods=("POST",), summary="Call the next ticket by the policy",
       role="staff", body=EMPTY, result="{ticket}",
       errors=(ErrorCode.NOTHING_TO_CALL, ErrorCode.COUNTER_BUSY, *TICKET_ERRORS),
       response=ref("TicketResult"))
def call_next(counter_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    _may_change(counter_id)
    return _ticket(hub().service.call_next(counter_id, staff=current_username()))


@route(bp, "/counters/<counter_id>/call", methods=("POST",), summary="Call a specific ticket out of order",
       role="staff", body=CALL, result="{ticket}",
       errors=(ErrorCode.UNKNOWN_TICKET, ErrorCode.TICKET_TAKEN, ErrorCode.SERVICE_NOT_SERVED, *TICKET_ERRORS),
       response=ref("TicketResult"))
def call_ticket(counter_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    _may_change(counter_id)
    return _ticket(hub().service.call_ticket(counter_id, ticket_id=body.get("ticket_id"),
                                             number=body.get("number"), staff=current_username()))


@route(bp, "/counters/<counter_id>/recall", methods=("POST",), summary="Call the ticket in hand again",
       role="staff", body=EMPTY, result="{ticket}", errors=TICKET_ERRORS,
       response=ref("TicketResult"))
def recall(counter_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    _may_change(counter_id)
    return _ticket(hub().service.recall(counter_id))


@route(bp, "/counters/<counter_id>/start", methods=("POST",), summary="The citizen arrived: start serving",
       role="staff", body=EMPTY, result="{ticket}", errors=TICKET_ERRORS,
       response=ref("TicketResult"))
def start(counter_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    _may_change(counter_id)
    return _ticket(hub().service.start_service(counter_id))


@route(bp, "/counters/<counter_id>/complete", methods=("POST",), summary="Finish serving the ticket in hand",
       role="staff", body=EMPTY, result="{ticket}", errors=TICKET_ERRORS,
       response=ref("TicketResult"))
def complete(counter_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    _may_change(counter_id)
    return _ticket(hub().service.complete(counter_id))


@route(bp, "/counters/<counter_id>/no-show", methods=("POST",),
       summary="Mark the called ticket absent (after the configured number of recalls)", role="staff",
       body=EMPTY, result="{ticket}", errors=TICKET_ERRORS,
       response=ref("TicketResult"))
def no_show(counter_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    _may_change(counter_id)
    return _ticket(hub().service.mark_no_show(counter_id))


@route(bp, "/counters/<counter_id>/transfer", methods=("POST",),
       summary="Send the ticket in hand to another service or counter (it keeps its number)", role="staff",
       body=TRANSFER, result="{ticket}",
       errors=(ErrorCode.UNKNOWN_SERVICE, ErrorCode.TRANSFER_TARGET_UNSERVED, *TICKET_ERRORS),
       response=ref("TicketResult"))
def transfer(counter_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    _may_change(counter_id)
    return _ticket(hub().service.transfer(counter_id, to_service=body.get("service"),
                                          to_counter=body.get("counter"), confirm=bool(body.get("confirm"))))


@route(bp, "/tickets/<ticket_id>/reactivate", methods=("POST",), summary="Put a no-show ticket back in the queue",
       role="staff", body=EMPTY, result="{ticket}", errors=(ErrorCode.UNKNOWN_TICKET, ErrorCode.INVALID_TRANSITION),
       response=ref("TicketResult"))
def reactivate(ticket_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    return _ticket(hub().service.reactivate(ticket_id))


@route(bp, "/tickets/<ticket_id>/cancel", methods=("POST",), summary="Cancel a waiting ticket (with a reason)",
       role="staff", body=CANCEL, result="{ticket}",
       errors=(ErrorCode.UNKNOWN_TICKET, ErrorCode.UNKNOWN_COUNTER, ErrorCode.INVALID_TRANSITION),
       response=ref("TicketResult"))
def cancel(ticket_id: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    return _ticket(hub().service.cancel(ticket_id, reason=body.get("reason"), by_counter=body.get("counter")))
