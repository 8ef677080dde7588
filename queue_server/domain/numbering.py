"""Per-service ticket numbering and the rules for when a service may issue (sessions, stop time, quota).

Pure: no I/O, no clock reads. Numbers restart each working day (the date in Vietnam time) at
``number_start`` and never repeat within a day. Kiosks lease blocks for offline use from a region of their own at
the top of the range (``offline_from``–``number_end``, one block per kiosk lease), so the hub's online numbers run
on without a gap (A036 is followed by A037 on the hall, whichever kiosk printed it); should the online numbers ever
reach that region, they step over every leased block, so hub numbers and kiosk numbers still never meet.
(Leases granted before this rule sat right after ``next_number`` and moved it past their end; replay keeps that.)
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ

from . import queue_policy
from .model import CenterDef, Lease, PolicyDef, ServiceCode, ServiceDay, ServiceDef

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def working_day(now: datetime) -> date:
    """The working day a moment belongs to: its date in Vietnam time."""
    return now.astimezone(VN_TZ).date()


def new_service_day(service: ServiceDef, day: date, policy: PolicyDef) -> ServiceDay:
    # The streak starts "full" so that the first priority citizen of the morning is not made to wait
    # behind N normal tickets that arrived after them.
    return ServiceDay(day=day, service=ServiceCode(service.code), next_number=service.number_start,
                      issued=0, normal_streak=max(1, policy.interleave_normal),
                      walk_in_streak=queue_policy.full_walk_ins(policy))


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


def hours_over(center: CenterDef, now: datetime) -> bool:
    """The day's last working session has ended (numbers do not carry over: a number still waiting now is not
    called tomorrow). False on a day without sessions, which has no hours to be over."""
    local = now.astimezone(VN_TZ)
    sessions = center.sessions_on(local.date())
    return bool(sessions) and local.time().replace(tzinfo=None) >= max(s.end for s in sessions)


def resumes_at(center: CenterDef, now: datetime) -> datetime | None:
    """Between two of the day's sessions (the lunch break), when the next one starts; None otherwise."""
    local = now.astimezone(VN_TZ)
    clock = local.time().replace(tzinfo=None)
    sessions = sorted(center.sessions_on(local.date()), key=lambda s: s.start)
    if not sessions or clock < sessions[0].start or any(s.start <= clock < s.end for s in sessions):
        return None
    later = [s.start for s in sessions if s.start > clock]
    return datetime.combine(local.date(), later[0], tzinfo=VN_TZ) if later else None


def next_opening(center: CenterDef, now: datetime) -> datetime | None:
    """Outside working sessions, the start of the next one (Monday 07:30 on a Saturday, the first working day after
    Tết), looking a year ahead; None inside a session (the center is open now) or with no sessions at all."""
    local = now.astimezone(VN_TZ)
    clock = local.time().replace(tzinfo=None)
    if any(s.start <= clock < s.end for s in center.sessions_on(local.date())):
        return None
    for ahead in range(370):
        day = local.date() + timedelta(days=ahead)
        for start in sorted(s.start for s in center.sessions_on(day)):
            at = datetime.combine(day, start, tzinfo=VN_TZ)
            if at > local:
                return at
    return None


def offline_first(service: ServiceDef) -> int:
    """The first number of the region kiosks lease their offline blocks from."""
    if service.offline_from is not None:
        return service.offline_from
    span = service.number_end - service.number_start + 1
    return max(service.number_start + 1, service.number_end - (span - span * 4 // 5) + 1)


def next_online(day: ServiceDay, leases: Iterable[Lease] = ()) -> int:
    """The next number the hub issues: ``next_number``, stepping over any block leased to a kiosk today."""
    blocks = sorted((lease.first, lease.last) for lease in leases if lease.service == day.service)
    number = day.next_number
    for first, last in blocks:
        if first <= number <= last:
            number = last + 1
    return number


def quota_reason(service: ServiceDef, day: ServiceDay, leases: Iterable[Lease] = ()) -> str | None:
    """Why no further number can be issued today (quota or range exhausted), or None."""
    if service.daily_quota is not None and day.issued >= service.daily_quota:
        return f"daily quota of {service.daily_quota} tickets for {service.code} reached"
    if next_online(day, leases) > service.number_end:
        return f"numbers {service.number_start}–{service.number_end} for {service.code} are used up today"
    return None


def check_can_issue(center: CenterDef, service: ServiceDef, day: ServiceDay, now: datetime,
                    leases: Iterable[Lease] = ()) -> None:
    """Raise SERVICE_CLOSED or QUOTA_REACHED when ``service`` may not issue now."""
    reason = closed_reason(center, service, now)
    if reason is not None:
        raise MotcuaError(ErrorCode.SERVICE_CLOSED, reason)
    reason = quota_reason(service, day, leases)
    if reason is not None:
        raise MotcuaError(ErrorCode.QUOTA_REACHED, reason)


def reserve_block(service: ServiceDef, day: ServiceDay, size: int, leases: Iterable[Lease] = ()) -> tuple[int, int]:
    """The block ``(first, last)`` a kiosk lease takes: the next ``size`` numbers of the offline region after
    today's leases (and after anything the hub itself has issued, should online numbers have reached it)."""
    if size < 1:
        raise MotcuaError(ErrorCode.BAD_REQUEST, "size: must be at least 1")
    taken = [lease.last for lease in leases if lease.service == day.service]
    first = max([offline_first(service), day.next_number, *(last + 1 for last in taken)])
    last = first + size - 1
    if last > service.number_end:
        raise MotcuaError(ErrorCode.QUOTA_REACHED,
                          f"only {max(0, service.number_end - first + 1)} offline numbers left for {service.code} "
                          f"today ({offline_first(service)}–{service.number_end} are for kiosks' offline blocks)")
    return first, last


def after_issue(day: ServiceDay, number: int, online: bool = True) -> ServiceDay:
    """Numbering after ``number`` was issued: by the hub (``online``: next_number moves past it), or merged from a
    kiosk's offline block (only the count moves: the block is not the hub's to continue from)."""
    nxt = max(day.next_number, number + 1) if online else day.next_number
    return replace(day, next_number=nxt, issued=day.issued + 1)
