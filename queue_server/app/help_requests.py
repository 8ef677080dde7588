"""Open help requests ("Cần hỗ trợ"): the kiosks whose citizen asked for help today and nobody has answered yet.

A view of the event log (``help.requested`` / ``help.answered``), so nothing is stored twice: the writer applies each
committed help event under its lock (a snapshot's seq and its list always agree) and rebuilds the view from today's
events when the hub starts, so a request raised before a restart and still unanswered is shown after it. A request
belongs to its working day: the next morning nobody is standing at that kiosk any more.
Pure: no I/O, no clock (the day to show is passed in).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contracts.messages import Envelope, EventType
from queue_server.domain.numbering import working_day

HELP_EVENTS = (EventType.HELP_REQUESTED.value, EventType.HELP_ANSWERED.value)


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

    def on(self, day: date) -> list[dict[str, Any]]:
        """The requests of working day ``day``, oldest first."""
        return [r.to_json() for r in sorted(self._open.values(), key=lambda r: r.seq) if r.day == day]
