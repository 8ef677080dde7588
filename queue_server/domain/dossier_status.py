"""Dossier statuses and the words a citizen sees for them (DOMAIN.md "Dossier status and deadlines").

Pure: no I/O. The main system's own status strings are mapped here so that every screen shows the same words.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DossierStatus(StrEnum):
    RECEIVED = "received"                        # đã tiếp nhận
    PROCESSING = "processing"                    # đang xử lý
    AWAITING_SUPPLEMENT = "awaiting_supplement"  # chờ bổ sung
    RESULT_READY = "result_ready"                # đã có kết quả
    RETURNED = "returned"                        # đã trả kết quả
    REJECTED = "rejected"                        # từ chối


# (Vietnamese, English): Vietnamese first with correct diacritics, English second.
STATUS_WORDS: dict[DossierStatus, tuple[str, str]] = {
    DossierStatus.RECEIVED: ("Đã tiếp nhận", "Received"),
    DossierStatus.PROCESSING: ("Đang xử lý", "Being processed"),
    DossierStatus.AWAITING_SUPPLEMENT: ("Chờ bổ sung", "Waiting for additional documents"),
    DossierStatus.RESULT_READY: ("Đã có kết quả", "Result ready"),
    DossierStatus.RETURNED: ("Đã trả kết quả", "Result returned"),
    DossierStatus.REJECTED: ("Từ chối", "Rejected"),
}
OVERDUE_WORDS: tuple[str, str] = ("Quá hạn", "Overdue")

# A finished dossier no longer has a running deadline.
FINISHED: frozenset[DossierStatus] = frozenset(
    {DossierStatus.RESULT_READY, DossierStatus.RETURNED, DossierStatus.REJECTED})

WARNING_WORDS: dict[str, tuple[str, str]] = {
    "overdue": ("Hồ sơ đã quá hạn giải quyết", "The dossier is past its deadline"),
    "due_soon": ("Còn dưới một ngày làm việc đến hạn trả kết quả", "Less than one working day left"),
    "step_due": ("Một bước xử lý sắp đến hạn", "A processing step is due soon"),
    "step_overdue": ("Một bước xử lý đã quá hạn", "A processing step is overdue"),
    "apologised": ("Cơ quan đã xin lỗi và hẹn lại ngày trả kết quả", "The agency apologised and set a new date"),
}


def _fold(text: str) -> str:
    """Lowercase without diacritics and extra spaces, so "Đang  xử lý", "dang xu ly" and "DANG_XU_LY" match."""
    decomposed = unicodedata.normalize("NFD", text.strip().lower().replace("đ", "d"))
    plain = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(plain.replace("_", " ").replace("-", " ").split())


_ALIASES: dict[str, DossierStatus] = {}
for _status, (_vi, _en) in STATUS_WORDS.items():
    for _alias in (_status.value, _vi, _en):
        _ALIASES[_fold(_alias)] = _status
for _alias, _status in {
    "tiep nhan": DossierStatus.RECEIVED, "moi tiep nhan": DossierStatus.RECEIVED,
    "dang giai quyet": DossierStatus.PROCESSING, "in progress": DossierStatus.PROCESSING,
    "yeu cau bo sung": DossierStatus.AWAITING_SUPPLEMENT, "bo sung": DossierStatus.AWAITING_SUPPLEMENT,
    "co ket qua": DossierStatus.RESULT_READY, "da giai quyet": DossierStatus.RESULT_READY,
    "da tra": DossierStatus.RETURNED, "tra ket qua": DossierStatus.RETURNED,
    "tu choi giai quyet": DossierStatus.REJECTED, "khong giai quyet": DossierStatus.REJECTED,
}.items():
    _ALIASES[_alias] = _status


def parse_status(text: str) -> DossierStatus:
    """Our wire value, the Vietnamese word (with or without diacritics) or the English word; ValueError else."""
    status = _ALIASES.get(_fold(text))
    if status is None:
        raise ValueError(f"unknown dossier status {text!r}; expected one of {[s.value for s in DossierStatus]}")
    return status


def mask_name(full_name: str) -> str:
    """Masked applicant name: initials of family and middle names, the given name kept (``N*** V*** An``).

    Enough for a citizen to recognise their dossier, not enough to identify a stranger's; a fixed number of
    stars so the mask does not leak the length of each name."""
    parts = full_name.split()
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0][0] + "***"
    return " ".join([*(p[0] + "***" for p in parts[:-1]), parts[-1]])


@dataclass(frozen=True, slots=True)
class DossierStep:
    """One processing step (bước xử lý) as the main system reports it."""

    name: str
    unit: str = ""                       # the department handling it; never a person's name
    started_at: datetime | None = None
    due_at: datetime | None = None
    done_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Dossier:
    """What the hub's lookup mirror holds for one dossier: only what a citizen may see at a kiosk."""

    code: str                            # normalized dossier code
    procedure: str
    applicant_masked: str
    received_at: datetime
    status: DossierStatus
    due_at: datetime | None = None
    appointment_at: datetime | None = None
    original_due_at: datetime | None = None   # set when an apology gave a new date (at most once)
    apology_reason: str = ""
    finished_at: datetime | None = None
    steps: tuple[DossierStep, ...] = ()
    updated_at: datetime | None = None   # the main system's version of the record (newer wins)
    synced_at: datetime | None = None    # when the hub stored it

    @property
    def finished(self) -> bool:
        return self.status in FINISHED
