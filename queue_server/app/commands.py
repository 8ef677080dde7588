"""The queue's commands (issue, call, recall, …): each builds a domain command and hands it to the writer.

Validates only what the domain cannot (the shape of a kiosk's offline tickets); decides nothing itself. Must
not read state (the queries do) or touch the store (the writer does).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ, CounterState, Envelope
from contracts.tickets import ticket_id_for
from queue_server.app.help_requests import HELP_REQUESTED, HelpRequest
from queue_server.app.lease_hold import LeaseHold
from queue_server.app.writer import AskHelp, External, Writer
from queue_server.domain import numbering
from queue_server.domain import transitions as tr
from queue_server.domain.model import Lease, Ticket
from queue_server.domain.transitions import Issued

IssueResult = Issued   # (ticket, ahead, estimated_wait_min)

# Event types only the queue itself decides; anything else may enter the log through record_event. config.* is the
# admin's (LiveConfig, through the writer's Reconfigure): replayed at start, so nothing else may write one.
_QUEUE_EVENT_PREFIXES = ("ticket.", "counter.", "lease.", "config.")


class QueueCommands:
    """Mixed into QueueService: the write side."""

    _writer: Writer
    _seen: dict[str, datetime]
    lease_hold: LeaseHold | None = None    # set at a start on a restored store (wiring): holds new leases a while

    def counter_seen(self, counter_id: str) -> None:
        """Someone is at this counter (a console heartbeat or any counter command, from the console or a keypad):
        what keeps an open counter from being flagged silent. Not an event: presence is not queue history."""
        if self._writer.center.counter(counter_id) is None:
            raise MotcuaError(ErrorCode.UNKNOWN_COUNTER, f"unknown counter {counter_id!r}")
        self._seen[counter_id] = self._writer.now()

    def _touch(self, counter_id: str) -> None:
        if self._writer.center.counter(counter_id) is not None:
            self._seen[counter_id] = self._writer.now()

    def record_event(self, event_type: str, data: dict[str, Any]) -> Envelope:
        """Append an event the queue does not decide (``rating.submitted``, ``device.fault`` ...) to the log, with
        its gap-free seq, so listeners (MQTT, SSE, outbox) see it in order like any other; returns the envelope."""
        if not isinstance(event_type, str) or not event_type or event_type.startswith(_QUEUE_EVENT_PREFIXES):
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"event type {event_type!r} is decided by the queue itself")
        envelope: Envelope = self._writer.submit(External(event_type, dict(data)))
        return envelope

    def ask_help(self, kiosk: str) -> tuple[HelpRequest, bool]:
        """A citizen pressed "Cần hỗ trợ" at ``kiosk``: records ``help.requested`` unless that kiosk's request
        today is still unanswered. Returns the open request and True when this press recorded it, False when it
        was already open (nothing written: the first press keeps how long they have waited)."""
        answer = self._writer.submit(AskHelp(HELP_REQUESTED, {"kiosk": kiosk}))
        if isinstance(answer, HelpRequest):
            return answer, False
        day = numbering.working_day(datetime.fromisoformat(answer.at))
        return HelpRequest(kiosk, answer.seq, answer.at, day), True

    def issue_ticket(self, service: str, priority: str | None = None, kiosk: str | None = None,
                     request_id: str | None = None, queue_at: datetime | None = None,
                     booking: str | None = None) -> IssueResult:
        """``request_id``: the client's idempotency key; the same key again today returns the same ticket.
        ``queue_at``: where a checked-in booking stands in the queue (its slot's start; never later than now);
        ``booking``: the code of that booking (the ticket queues in the booked lane, see queue_policy)."""
        result: IssueResult = self._writer.submit(tr.IssueTicket(service, priority, kiosk, request_id, queue_at,
                                                                 booking))
        return result

    def record_print_result(self, ticket_id: str, printed: bool, fault: str | None = None) -> Ticket:
        return self._ticket(tr.RecordPrintResult(ticket_id, printed, fault))

    def call_next(self, counter_id: str, staff: str | None = None) -> Ticket:
        self._touch(counter_id)
        return self._ticket(tr.CallNext(counter_id, staff))

    def call_ticket(self, counter_id: str, ticket_id: str | None = None, number: str | None = None,
                    staff: str | None = None) -> Ticket:
        self._touch(counter_id)
        return self._ticket(tr.CallTicket(counter_id, ticket_id, number, staff))

    def recall(self, counter_id: str) -> Ticket:
        self._touch(counter_id)
        return self._ticket(tr.Recall(counter_id))

    def start_service(self, counter_id: str) -> Ticket:
        self._touch(counter_id)
        return self._ticket(tr.StartService(counter_id))

    def complete(self, counter_id: str) -> Ticket:
        self._touch(counter_id)
        return self._ticket(tr.Complete(counter_id))

    def mark_no_show(self, counter_id: str) -> Ticket:
        self._touch(counter_id)
        return self._ticket(tr.MarkNoShow(counter_id))

    def transfer(self, counter_id: str, to_service: str | None = None, to_counter: str | None = None,
                 confirm: bool = False) -> Ticket:
        """``confirm``: even to a closed counter or a service no open/paused counter serves (refused otherwise)."""
        self._touch(counter_id)
        return self._ticket(tr.Transfer(counter_id, to_service, to_counter, confirm))

    def reactivate(self, ticket_id: str) -> Ticket:
        return self._ticket(tr.Reactivate(ticket_id))

    def cancel(self, ticket_id: str, reason: str | None = None, by_counter: str | None = None) -> Ticket:
        if by_counter is not None:
            self._touch(by_counter)
        return self._ticket(tr.Cancel(ticket_id, reason, by_counter))

    def open_counter(self, counter_id: str, staff: str | None = None, staff_name: str | None = None,
                     takeover: bool = False) -> CounterState:
        """``takeover``: the caller confirmed taking over a counter open under another staff member (else
        COUNTER_TAKEN); recorded as counter.taken_over with who had it."""
        self._touch(counter_id)
        result: CounterState = self._writer.submit(tr.OpenCounter(counter_id, staff, staff_name, takeover))
        return result

    def pause_counter(self, counter_id: str, reason: str) -> CounterState:
        self._touch(counter_id)
        result: CounterState = self._writer.submit(tr.PauseCounter(counter_id, reason))
        return result

    def resume_counter(self, counter_id: str) -> CounterState:
        self._touch(counter_id)
        result: CounterState = self._writer.submit(tr.ResumeCounter(counter_id))
        return result

    def close_counter(self, counter_id: str) -> CounterState:
        self._touch(counter_id)
        result: CounterState = self._writer.submit(tr.CloseCounter(counter_id))
        return result

    def lease_numbers(self, kiosk: str, service: str, size: int) -> Lease:
        if self.lease_hold is not None:
            self.lease_hold.check()          # just restored: the blocks granted after the backup are re-reported first
        result: Lease = self._writer.submit(tr.LeaseNumbers(kiosk, service, size))
        return result

    def merge_leased(self, lease_id: str, tickets: Sequence[dict[str, Any]], kiosk: str | None = None
                     ) -> list[Ticket]:
        """Merge tickets a kiosk issued offline from a lease. Idempotent per number: a repeat returns them.
        With ``kiosk`` (the holder re-reporting its lease), a lease of today this hub does not know is adopted."""
        items: list[tr.LeasedTicket] = []
        for i, raw in enumerate(tickets):
            try:
                number = raw["number"]
                issued_at = raw["issued_at"]
                if isinstance(issued_at, str):
                    issued_at = datetime.fromisoformat(issued_at)
                if isinstance(number, bool) or not isinstance(number, int) or not isinstance(issued_at, datetime):
                    raise TypeError
                if issued_at.tzinfo is None:
                    raise ValueError
                priority = raw.get("priority")
                if priority is not None and not isinstance(priority, str):
                    raise TypeError
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                raise MotcuaError(ErrorCode.BAD_REQUEST,
                                  f"tickets[{i}]: needs number (int), issued_at (ISO 8601 with offset), "
                                  "priority (code or null)") from err
            items.append(tr.LeasedTicket(number, issued_at.astimezone(VN_TZ).replace(microsecond=0), priority))
        # a lease of a past day is in the store only: read it and what was merged of it (reads need no writer)
        store = self._writer.store
        past = store.get_lease(lease_id)
        merged: tuple[Ticket, ...] = ()
        if past is not None:
            found = (store.get_ticket(ticket_id_for(past.day, past.service, n)) for n in {i.number for i in items})
            merged = tuple(t for t in found if t is not None and t.lease_id == past.id)
        result: list[Ticket] = self._writer.submit(tr.MergeLeased(lease_id, tuple(items), past, merged, kiosk))
        return result

    def _ticket(self, command: tr.Command) -> Ticket:
        result: Ticket = self._writer.submit(command)
        return result
