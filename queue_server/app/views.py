"""JSON shapes of the hub's values (docs/api.md) and the codec between domain events and stored envelopes.

No I/O. ``ticket_to_json`` is the API's Ticket object plus a few extra fields the event log needs to rebuild
state exactly (``queued_at``, ``queue_seq``, ``target_counter`` ...); clients ignore fields they do not know.
``public_json`` is an event's public form (``contracts.messages.public_envelope``) as text, made once per event
for MQTT and every open stream.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, datetime
from typing import Any

from contracts.messages import (
    CallInfo,
    CounterState,
    Envelope,
    EventType,
    format_at,
    parse_at,
    public_envelope,
)
from queue_server.domain.model import (
    CenterDef,
    Counter,
    CounterId,
    CounterStatus,
    Lease,
    ServiceCode,
    Ticket,
    TicketId,
    TicketNumber,
    TicketStatus,
)
from queue_server.domain.transitions import Call, DomainEvent
from queue_server.domain.wait_estimate import WaitEstimate


class _PublicJson:
    """``public_envelope(env).to_json()``, remembered for the last ``size`` events by (seq, id): MQTT and each
    open event stream (hall, counter and manager screens) send the same text for the same event, and each made it
    again (withhold, copy, serialise: ~20 us an event a screen). Any thread; a race only makes the text twice."""

    def __init__(self, size: int = 2048) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._texts: OrderedDict[tuple[int, str], str] = OrderedDict()

    def __call__(self, env: Envelope) -> str:
        key = (env.seq, env.id)
        with self._lock:
            text = self._texts.get(key)
        if text is None:
            text = str(public_envelope(env).to_json())
            with self._lock:
                self._texts[key] = text
                if len(self._texts) > self._size:
                    self._texts.popitem(last=False)
        return text


public_json = _PublicJson()


def _at(moment: datetime | None) -> str | None:
    # format_at caches: a ticket's timestamps repeat (issued_at == queued_at, a batch shares one second)
    return None if moment is None else format_at(moment)


def _dt(text: Any) -> datetime | None:
    return None if text is None else parse_at(str(text))


def ticket_to_json(t: Ticket) -> dict[str, Any]:
    return {
        "id": t.id, "number": t.display, "service": t.service, "priority": t.priority, "status": str(t.status),
        "counter": t.counter, "issued_at": _at(t.issued_at), "called_at": _at(t.called_at),
        "serving_at": _at(t.serving_at), "done_at": _at(t.done_at), "recalls": t.recalls, "printed": t.printed,
        "day": t.day.isoformat(), "origin_service": t.origin_service,
        # extras (not in the documented shape, needed to replay the log)
        "prefix": t.number.prefix, "seq_number": t.number.number, "queued_at": _at(t.queued_at),
        "last_called_at": _at(t.last_called_at), "target_counter": t.target_counter,
        "reactivations": t.reactivations, "kiosk": t.kiosk, "staff": t.staff, "lease_id": t.lease_id,
        "queue_seq": t.queue_seq, "request_id": t.request_id, "booking": t.booking,
    }


def ticket_from_json(d: dict[str, Any]) -> Ticket:
    issued = _dt(d["issued_at"])
    assert issued is not None
    return Ticket(
        id=TicketId(d["id"]), day=date.fromisoformat(d["day"]), service=ServiceCode(d["service"]),
        origin_service=ServiceCode(d["origin_service"]), number=TicketNumber(d["prefix"], int(d["seq_number"])),
        status=TicketStatus(d["status"]), issued_at=issued, priority=d.get("priority"),
        queued_at=_dt(d.get("queued_at")), called_at=_dt(d.get("called_at")), serving_at=_dt(d.get("serving_at")),
        done_at=_dt(d.get("done_at")),
        counter=CounterId(d["counter"]) if d.get("counter") is not None else None,
        target_counter=CounterId(d["target_counter"]) if d.get("target_counter") is not None else None,
        recalls=int(d.get("recalls", 0)), reactivations=int(d.get("reactivations", 0)), printed=d.get("printed"),
        kiosk=d.get("kiosk"), last_called_at=_dt(d.get("last_called_at")), staff=d.get("staff"),
        lease_id=d.get("lease_id"), queue_seq=int(d.get("queue_seq", 0)), request_id=d.get("request_id"),
        booking=d.get("booking"),
    )


def counter_name(center: CenterDef, counter_id: str | None) -> str | None:
    if counter_id is None:
        return None
    definition = center.counter(counter_id)
    return definition.name if definition is not None else str(counter_id)


def counter_state(center: CenterDef, c: Counter, seq: int, current: Ticket | None,
                  today: date | None = None) -> CounterState:
    return CounterState(
        seq=seq, counter=c.id, name=counter_name(center, c.id) or c.id, status=str(c.status),
        pause_reason=c.pause_reason, staff=c.staff_name or c.staff,
        current_ticket=current.display if current is not None else None,
        current_ticket_id=c.current, current_status=str(current.status) if current is not None else None,
        since=_at(c.since),
        held_over=current is not None and today is not None and current.day < today)


def counter_to_json(center: CenterDef, c: Counter, seq: int, current: Ticket | None) -> dict[str, Any]:
    from dataclasses import asdict
    out = asdict(counter_state(center, c, seq, current))
    del out["held_over"]          # a snapshot's word for the screens, not a fact of the event log
    out["last_done"] = c.last_done
    # the event log keeps the login (reports, replay); ``staff`` in the shared shape is the display name
    out["staff_login"] = c.staff
    out["staff_name"] = c.staff_name
    return out


def counter_from_json(d: dict[str, Any]) -> Counter:
    return Counter(id=CounterId(d["counter"]), status=CounterStatus(d["status"]), pause_reason=d.get("pause_reason"),
                   # events stored before display names carry only ``staff`` (then the login)
                   staff=d["staff_login"] if "staff_login" in d else d.get("staff"), staff_name=d.get("staff_name"),
                   current=TicketId(d["current_ticket_id"]) if d.get("current_ticket_id") else None,
                   since=_dt(d.get("since")),
                   last_done=TicketId(d["last_done"]) if d.get("last_done") else None)


def lease_to_json(lease: Lease) -> dict[str, Any]:
    return {"id": lease.id, "kiosk": lease.kiosk, "service": lease.service, "day": lease.day.isoformat(),
            "first": lease.first, "last": lease.last, "granted_at": format_at(lease.granted_at)}


def lease_from_json(d: dict[str, Any]) -> Lease:
    granted = parse_at(d["granted_at"])
    return Lease(id=d["id"], kiosk=d["kiosk"], service=ServiceCode(d["service"]), day=date.fromisoformat(d["day"]),
                 first=int(d["first"]), last=int(d["last"]), granted_at=granted)


def call_info(center: CenterDef, call: Call) -> CallInfo:
    return CallInfo(ticket_id=call.ticket_id, number=call.number, service=call.service, counter=call.counter,
                    counter_name=counter_name(center, call.counter) or call.counter, at=format_at(call.at),
                    recall=call.recall)


def event_data(center: CenterDef, event: DomainEvent, seq: int, current: Ticket | None = None) -> dict[str, Any]:
    """The ``data`` of the envelope that stores ``event`` (``current``: the ticket a counter event's counter holds)."""
    data: dict[str, Any] = {}
    if event.ticket is not None:
        acting = event.by_counter if event.by_counter is not None else event.ticket.counter
        data = {"ticket": ticket_to_json(event.ticket), "counter": acting,
                "counter_name": counter_name(center, acting)}
    if event.counter is not None:
        data.update(counter_to_json(center, event.counter, seq, current))
    if event.lease is not None:
        data["lease"] = lease_to_json(event.lease)
    for k, v in event.detail:
        data[k] = v
    return data


def event_from_envelope(env: Envelope) -> DomainEvent | None:
    """The domain event an envelope stores; None for event types the queue state does not follow."""
    try:
        kind = EventType(env.type)
    except ValueError:
        return None
    if not kind.value.startswith(("ticket.", "counter.", "lease.")):
        return None          # ratings, devices, dossiers: in the log, but not queue state
    d = env.data
    ticket = ticket_from_json(d["ticket"]) if isinstance(d.get("ticket"), dict) else None
    counter = counter_from_json(d) if kind.value.startswith("counter.") else None
    lease = lease_from_json(d["lease"]) if isinstance(d.get("lease"), dict) else None
    if ticket is None and counter is None and lease is None:
        return None
    by = d.get("counter") if ticket is not None else None
    return DomainEvent(kind, parse_at(env.at), ticket=ticket, counter=counter, lease=lease,
                       by_counter=CounterId(by) if isinstance(by, str) else None)


def wait_to_json(wait: WaitEstimate | None) -> dict[str, Any]:
    """The range a citizen is told (``khoảng 20–30 phút``), next to the old single ``estimated_wait_min``:
    ``wait_low_min``/``wait_high_min`` (null when the ticket is not waiting) and ``wait_served`` (false: no open or
    paused counter serves it now, so nothing is promised) and ``wait_past_close`` (the expected call falls after
    today's working hours: screens say so instead of the range)."""
    if wait is None:
        return {"wait_low_min": None, "wait_high_min": None, "wait_served": None, "wait_past_close": None}
    return {"wait_low_min": wait.low_min, "wait_high_min": wait.high_min, "wait_served": wait.served,
            "wait_past_close": wait.past_close}
