"""Rating use cases: submit a rating for the ticket just completed at a counter, what a counter may rate now,
and the day's aggregates. Publishes ``rating.submitted`` (through ``publish``) only after the rating is stored.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from contracts.dossier_code import DossierCodeError, parse_dossier_code
from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import EventType
from queue_server.app.ports import Clock, RatingsRepository
from queue_server.domain.model import Ticket
from queue_server.domain.ratings import (
    Rating,
    RatingScale,
    aggregate,
    check_rateable,
    new_rating,
    parse_criteria,
    parse_level,
)

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any]], object]   # e.g. QueueService.record_event


class RatingsService:
    """``last_completed(counter)`` is QueueService.last_completed; ``publish(event_type, data)`` is called
    after commit with the rating's JSON (the lead wires it into the hub's event log and MQTT)."""

    def __init__(self, store: RatingsRepository, clock: Clock, last_completed: Callable[[str], Ticket | None],
                 publish: Publish | None = None, scale: RatingScale | None = None, center: str = "",
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self.store = store
        self.clock = clock
        self.last_completed = last_completed
        self.publish = publish
        self.scale = scale or RatingScale()
        self.center = center
        self.new_id = new_id

    def submit(self, counter: object, level: object, criteria: object = None,
               dossier_codes: Sequence[object] | None = None, source: str = "", ticket: object = None) -> Rating:
        """Store one rating; MotcuaError bad_request / nothing_to_rate / rating_window_closed /
        invalid_dossier_code / already_rated / unknown_counter / forbidden. Nothing is written on any refusal.
        ``ticket`` (id or number, optional): the ticket the sender means; refused (forbidden, logged) unless it is
        the one just served at ``counter`` — a pad can never rate another counter's citizen."""
        if not isinstance(counter, str) or not counter:
            raise MotcuaError(ErrorCode.BAD_REQUEST, "counter: expected a counter id")
        value = parse_level(level, self.scale)
        crit = parse_criteria(criteria, self.scale)
        codes = self._dossier_codes(dossier_codes)
        now = self.clock.now()
        served = check_rateable(self.last_completed(counter), counter, now, self.scale)
        if ticket is not None and str(ticket) not in (str(served.id), served.display):
            log.warning("rating refused: %s sent a rating at counter %s for ticket %.40r, but the ticket just served "
                        "there is %s", source or "?", counter, ticket, served.display)
            raise MotcuaError(ErrorCode.FORBIDDEN, f"ticket {str(ticket)[:40]!r} was not the one just served at "
                                                   f"counter {counter}")
        ticket = served
        existing = self.store.for_ticket(str(ticket.id))
        if existing is not None:
            raise MotcuaError(ErrorCode.ALREADY_RATED, f"ticket {ticket.display} has already been rated")
        for code in codes:
            if self.store.dossier_rated(code):
                raise MotcuaError(ErrorCode.ALREADY_RATED, f"dossier {code} has already been rated")
        rating = new_rating(self.new_id(), ticket, counter, value, now, crit, codes, source)
        self.store.add(rating)          # the UNIQUE constraints decide a race the checks above could not see
        log.info("rating %s: ticket %s at counter %s: %d", rating.id, rating.ticket_number, counter, value)
        if self.publish is not None:
            try:
                # the scale's ends ride along: a reader without the hub's config (the province) tells the lowest
                # and the best level of a 5-level scale apart from the default 3 / 2 / 1
                values = [lv.value for lv in self.scale.levels]
                self.publish(str(EventType.RATING_SUBMITTED),
                             {**rating.to_json(), "scale": {"lowest": min(values), "best": max(values)}})
            except Exception:      # stored is what counts; a failed fan-out must not refuse the citizen
                log.exception("rating %s stored but publishing rating.submitted failed", rating.id)
        return rating

    def _dossier_codes(self, raw: Sequence[object] | None) -> tuple[str, ...]:
        if raw is None:
            return ()
        if isinstance(raw, str) or not isinstance(raw, (list, tuple)):
            raise MotcuaError(ErrorCode.BAD_REQUEST, "dossier_codes: expected an array of codes")
        if len(raw) > self.scale.max_dossier_codes:
            raise MotcuaError(ErrorCode.BAD_REQUEST, f"dossier_codes: at most {self.scale.max_dossier_codes}")
        out = []
        for i, item in enumerate(raw):
            if not isinstance(item, str):
                raise MotcuaError(ErrorCode.INVALID_DOSSIER_CODE, f"dossier_codes[{i}]: expected text")
            try:
                out.append(parse_dossier_code(item).normalized)
            except DossierCodeError as err:
                raise MotcuaError(ErrorCode.INVALID_DOSSIER_CODE, f"dossier_codes[{i}]: {err}") from err
        return tuple(dict.fromkeys(out))

    def pending(self, counter: str) -> dict[str, Any]:
        """What the tablet page at ``counter`` may rate now: ``{"rateable", "ticket", "code"}``."""
        try:
            ticket = check_rateable(self.last_completed(counter), counter, self.clock.now(), self.scale)
        except MotcuaError as err:
            if err.code == ErrorCode.UNKNOWN_COUNTER:
                raise
            return {"rateable": False, "ticket": None, "ticket_id": None, "code": str(err.code)}
        if self.store.for_ticket(str(ticket.id)) is not None:
            return {"rateable": False, "ticket": ticket.display, "ticket_id": str(ticket.id),
                    "code": str(ErrorCode.ALREADY_RATED)}
        return {"rateable": True, "ticket": ticket.display, "ticket_id": str(ticket.id), "code": None}

    def aggregates(self, day: date | None = None, until: date | None = None) -> dict[str, Any]:
        """One day's aggregates (default today), or from ``day`` to ``until`` with a per-day breakdown."""
        day = day or self.clock.now().date()
        if until is None:
            out = aggregate(self.store.on_day(day), self.scale, self.center)
            out["day"] = day.isoformat()
            return out
        if until < day or (until - day).days > 366:
            raise MotcuaError(ErrorCode.BAD_REQUEST, "to: must be on or after from, at most 366 days later")
        out = aggregate(self.store.between(day, until), self.scale, self.center)
        out["from"], out["to"] = day.isoformat(), until.isoformat()
        return out


def make_submit_rating_command(service: RatingsService) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The ``submit-rating`` MQTT command for hub-edge's CommandRegistry:
    ``registry.register("submit-rating", make_submit_rating_command(ratings))``.
    args: ``{"counter": "5", "level": 3, "criteria"?: {...}, "dossier_codes"?: [...], "ticket"?: id}``
    (the hub's MQTT adapter has already checked the counter against the sender: mqtt_access.command_refusal)."""

    def submit_rating_command(args: dict[str, Any]) -> dict[str, Any]:
        counter = args.get("counter")
        if isinstance(counter, int) and not isinstance(counter, bool):
            counter = str(counter)       # a keypad may send 5 for "5"
        rating = service.submit(counter, args.get("level"), args.get("criteria"), args.get("dossier_codes"),
                                source=str(args.get("source") or ""), ticket=args.get("ticket"))
        return {"rating": rating.to_json()}

    return submit_rating_command
