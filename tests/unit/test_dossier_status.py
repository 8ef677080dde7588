"""Citizen-facing status words, tolerant status parsing and applicant name masking."""
from __future__ import annotations

import pytest

from queue_server.domain.dossier_status import STATUS_WORDS, DossierStatus, mask_name, parse_status

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("text", "status"), [
    ("processing", DossierStatus.PROCESSING),
    ("Đang xử lý", DossierStatus.PROCESSING),
    ("dang  xu ly", DossierStatus.PROCESSING),
    ("ĐÃ TRẢ KẾT QUẢ", DossierStatus.RETURNED),
    ("chờ bổ sung", DossierStatus.AWAITING_SUPPLEMENT),
    ("Result ready", DossierStatus.RESULT_READY),
    ("awaiting_supplement", DossierStatus.AWAITING_SUPPLEMENT),
    ("Từ chối", DossierStatus.REJECTED),
])
def test_parse_status(text: str, status: DossierStatus) -> None:
    assert parse_status(text) == status


def test_unknown_status_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown dossier status 'bay'"):
        parse_status("bay")


def test_every_status_has_vietnamese_words_with_diacritics() -> None:
    assert set(STATUS_WORDS) == set(DossierStatus)
    assert STATUS_WORDS[DossierStatus.RECEIVED][0] == "Đã tiếp nhận"


@pytest.mark.parametrize(("name", "masked"), [
    ("Nguyễn Văn An", "N*** V*** An"),
    ("Trần Thị Bích Ngọc", "T*** T*** B*** Ngọc"),
    ("Hùng", "H***"),
    ("  ", ""),
])
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked
