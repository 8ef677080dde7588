"""Open help requests ("Cần hỗ trợ"): the kiosks whose citizen asked for help today and nobody has answered yet.

A view of the event log (``help.requested`` / ``help.answered``), so nothing is stored twice: the writer applies each
committed help event under its lock (a snapshot's seq and its list always agree) and rebuilds the view from today's
events when the hub starts, so a request raised before a restart and still unanswered is shown after it. A request
belongs to its working day: the next morning nobody is standing at that kiosk any more.
Pure: no I/O, no clock (the day to show is passed in).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contracts.messages import Envelope, EventType
from queue_server.domain.numbering import working_day

HELP_REQUESTED = EventType.HELP_REQUESTED.value
HELP_EVENTS = (HELP_REQUESTED, EventType.HELP_ANSWERED.value)


@dataclass(frozen=True, slots=True)
class HelpRequest:
    kiosk: str     # where the citizen stands: the kiosk's configured id
    seq: int       # the help.requested event
    at: str        # when they asked (the first press still unanswered: how long they have waited)
    day: date

    def to_json(self) -> dict[str, Any]:
        return {"kiosk": self.kiosk, "seq": self.seq, "at": self.at}


class OpenHelpRequests:
    """Unanswered requests by kiosk; ``apply`` every committed envelope (others are ignored)."""

    def __init__(self, envelopes: Iterable[Envelope] = ()) -> None:
        self._open: dict[str, HelpRequest] = {}
        for envelope in envelopes:
            self.apply(envelope)

    def apply(self, envelope: Envelope) -> None:
        if envelope.type not in HELP_EVENTS:
            return
        kiosk = envelope.data.get("kiosk") if isinstance(envelope.data, dict) else None
        if not isinstance(kiosk, str):
            return
        if envelope.type == EventType.HELP_ANSWERED.value:
            self._open.pop(kiosk, None)
            return
        try:
            day = working_day(datetime.fromisoformat(envelope.at))
        except (TypeError, ValueError):
            return
        # yesterday's unanswered requests are gone with the citizens who made them
        self._open = {k: r for k, r in self._open.items() if r.day >= day}
        if kiosk not in self._open:          # pressing again does not reset how long they have waited
            self._open[kiosk] = HelpRequest(kiosk, envelope.seq, envelope.at, day)

    def open_request(self, kiosk: str, day: date, pending: Sequence[Envelope] = ()) -> HelpRequest | None:
        """``kiosk``'s unanswered request of working day ``day``, if any; ``pending``: envelopes of the batch being
        decided, not applied yet (the last help event of that kiosk among them wins)."""
        for envelope in reversed(pending):
            if envelope.type in HELP_EVENTS and isinstance(envelope.data, dict) and envelope.data.get("kiosk") == kiosk:
                if envelope.type == EventType.HELP_ANSWERED.value:
                    return None
                return HelpRequest(kiosk, envelope.seq, envelope.at, day)
        found = self._open.get(kiosk)
        return found if found is not None and found.day == day else None

    def on(self, day: date) -> list[dict[str, Any]]:
        """The requests of working day ``day``, oldest first."""
        return [r.to_json() for r in sorted(self._open.values(), key=lambda r: r.seq) if r.day == day]
