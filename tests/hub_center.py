"""A small center for the hub-core tests (two services, three counters, one priority category)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

from contracts.messages import VN_TZ
from queue_server.domain.model import (
    CenterDef,
    CounterDef,
    CounterId,
    PolicyDef,
    PriorityCategory,
    ServiceCode,
    ServiceDef,
    TicketRules,
    WorkingSession,
)

HO_TICH = ServiceCode("ho-tich")
DAT_DAI = ServiceCode("dat-dai")
MONDAY_0800 = datetime(2026, 11, 23, 8, 0, tzinfo=VN_TZ)     # a Monday
WEEKDAY_SESSIONS = (WorkingSession(time(7, 30), time(11, 30)), WorkingSession(time(13, 30), time(17, 0)))


def make_center(policy: PolicyDef | None = None, rules: TicketRules | None = None, **service_kw: object) -> CenterDef:
    ho_tich = ServiceDef(HO_TICH, "Tư pháp – Hộ tịch", "Civil status", "A", avg_service_min=6.0)
    dat_dai = ServiceDef(DAT_DAI, "Đất đai", "Land", "B", avg_service_min=12.0)
    if service_kw:
        ho_tich = replace(ho_tich, **service_kw)  # type: ignore[arg-type]
    return CenterDef(
        id="tt-hcc", name="Trung tâm Phục vụ hành chính công", name_en="Public Administrative Service Center",
        services=(ho_tich, dat_dai),
        counters=(
            CounterDef(CounterId("1"), "Quầy 1", (HO_TICH, DAT_DAI)),
            CounterDef(CounterId("2"), "Quầy 2", (HO_TICH,)),
            CounterDef(CounterId("3"), "Quầy 3", (DAT_DAI, HO_TICH)),
        ),
        priorities=(PriorityCategory("elderly", "Người cao tuổi", "Elderly", "Luật Người cao tuổi 2009, Điều 3"),
                    PriorityCategory("disabled", "Người khuyết tật", "People with disabilities",
                                     "Luật Người khuyết tật 2010")),
        policy=policy or PolicyDef(),
        rules=rules or TicketRules(recalls_before_no_show=1, recall_delay_s=30, max_reactivations=1),
        sessions={d: WEEKDAY_SESSIONS for d in range(5)},
    )


def serve_one(service: Any, clock: Any, called: datetime, minutes: int, code: str = "ho-tich") -> None:
    """One citizen at counter 1 of a QueueService on a FixedClock: issued 10 min before ``called``, called then,
    started 5 min later, done ``minutes`` after that."""
    clock.set(called - timedelta(minutes=10))
    service.issue_ticket(code)
    clock.set(called)
    service.call_next("1")
    clock.set(called + timedelta(minutes=5))
    service.start_service("1")
    clock.set(called + timedelta(minutes=5 + minutes))
    service.complete("1")
