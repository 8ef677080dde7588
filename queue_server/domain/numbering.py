"""Per-service ticket numbering and the rules for when a service may issue (sessions, stop time, quota).

Pure: no I/O, no clock reads. Numbers restart each working day (the date in Vietnam time) at
``number_start`` and never repeat within a day: the hub issues upward from ``next_number`` and a leased block
moves ``next_number`` past its end, so hub numbers and kiosk numbers can never meet.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ

from .model import CenterDef, PolicyDef, ServiceCode, ServiceDay, ServiceDef

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def working_day(now: datetime) -> date:
    """The working day a moment belongs to: its date in Vietnam time."""
    return now.astimezone(VN_TZ).date()


def new_service_day(service: ServiceDef, day: date, policy: PolicyDef) -> ServiceDay:
    # The streak starts "full" so that the first priority citizen of the morning is not made to wait
    # behind N normal tickets that arrived after them.
    return ServiceDay(day=day, service=ServiceCode(service.code), next_number=service.number_start,
                      issued=0, normal_streak=max(1, policy.interleave_normal))


def closed_reason(center: CenterDef, service: ServiceDef, now: datetime) -> str | None:
    """Why ``service`` may not issue a ticket at ``now``, or None when it may.

    Outside every working session of the day → closed; a day without sessions (a weekend, a public holiday or an
    announced day off; a make-up Saturday works) → closed; from
    ``stop_issuing_before_close_min`` before the end of the day's last session → closed.
    """
    local = now.astimezone(VN_TZ)
    sessions = center.sessions_on(local.date())
    if not sessions:
        if local.date() in center.days_off:
            return f"the center is closed on {local.date():%d/%m/%Y} (public holiday or announced day off)"
        return f"the center has no working sessions on {_WEEKDAYS[local.weekday()]}"
    clock = local.time().replace(tzinfo=None)
    if not any(s.start <= clock < s.end for s in sessions):
        spans = ", ".join(f"{s.start:%H:%M}–{s.end:%H:%M}" for s in sessions)
        return f"outside working hours ({spans})"
    last_end = max(s.end for s in sessions)
    stop = datetime.combine(local.date(), last_end, tzinfo=VN_TZ) - timedelta(
        minutes=service.stop_issuing_before_close_min)
    if local >= stop:
        return f"ticket issue for {service.code} stopped at {stop:%H:%M}"
    return None


def quota_reason(service: ServiceDef, day: ServiceDay) -> str | None:
    """Why no further number can be issued today (quota or range exhausted), or None."""
    if service.daily_quota is not None and day.issued >= service.daily_quota:
        return f"daily quota of {service.daily_quota} tickets for {service.code} reached"
    if day.next_number > service.number_end:
        return f"numbers {service.number_start}–{service.number_end} for {service.code} are used up today"
    return None


def check_can_issue(center: CenterDef, service: ServiceDef, day: ServiceDay, now: datetime) -> None:
    """Raise SERVICE_CLOSED or QUOTA_REACHED when ``service`` may not issue now."""
    reason = closed_reason(center, service, now)
    if reason is not None:
        raise MotcuaError(ErrorCode.SERVICE_CLOSED, reason)
    reason = quota_reason(service, day)
    if reason is not None:
        raise MotcuaError(ErrorCode.QUOTA_REACHED, reason)


def reserve_block(service: ServiceDef, day: ServiceDay, size: int) -> tuple[int, int]:
    """The block ``(first, last)`` a kiosk lease takes: the next ``size`` numbers the hub has not issued."""
    if size < 1:
        raise MotcuaError(ErrorCode.BAD_REQUEST, "size: must be at least 1")
    first = day.next_number
    last = first + size - 1
    if last > service.number_end:
        raise MotcuaError(ErrorCode.QUOTA_REACHED,
                          f"only {max(0, service.number_end - first + 1)} numbers left for {service.code} today")
    return first, last


def after_issue(day: ServiceDay, number: int) -> ServiceDay:
    """Numbering after ``number`` was issued (by the hub, or merged from a lease below next_number)."""
    return ServiceDay(day.day, day.service, max(day.next_number, number + 1), day.issued + 1, day.normal_streak)
