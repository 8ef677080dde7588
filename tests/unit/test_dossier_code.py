"""Dossier code parser: both formats (Decree 61/2018 and TT 04/2025), normalisation, dates, junk."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.dossier_code import (
    DossierCode,
    DossierCodeError,
    code_from_input,
    find_dossier_code,
    is_scan_payload,
    parse_dossier_code,
)

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


@pytest.mark.parametrize(
    ("text", "agency", "received", "sequence"),
    [
        ("000.00.12.H38-241023-0001", "000.00.12.H38", date(2024, 10, 23), "0001"),
        ("000.A0.01.H26-210212-9090", "000.A0.01.H26", date(2021, 2, 12), "9090"),
        ("38.98.H29-210519-0013", "38.98.H29", date(2021, 5, 19), "0013"),
        # TT 04/2025: MX1X2.Y1Y2Y3.Z1Z2-YYMMDD-AAXXXX (two-digit prefix + at least four digits)
        ("G01.123.45-260130-010001", "G01.123.45", date(2026, 1, 30), "010001"),
        ("H38.001.02-260301-1200345", "H38.001.02", date(2026, 3, 1), "1200345"),
        ("000.00.12.H38-240229-0001", "000.00.12.H38", date(2024, 2, 29), "0001"),  # leap day
    ],
)
def test_both_formats_parse(text: str, agency: str, received: date, sequence: str) -> None:
    code = parse_dossier_code(text)
    assert code == DossierCode(agency, received, sequence, f"{agency}-{text.split('-')[1]}-{sequence}")
    assert str(code) == code.normalized


@pytest.mark.parametrize(
    "variant",
    [
        "000.00.12.h38-241023-0001",
        "  000.00.12.H38-241023-0001\r\n",
        "000.00.12.H38 - 241023 - 0001",
        "000 . 00 . 12 . H38-241023-0001",
        "000.00.12.H38\u2013241023\u20140001",  # en/em dash from a word processor
        "\uff10\uff10\uff10.00.12.\uff28\uff13\uff18-241023-0001",  # fullwidth digits/letters from an IME
    ],
)
def test_normalises_case_spaces_dashes(variant: str) -> None:
    assert parse_dossier_code(variant).normalized == "000.00.12.H38-241023-0001"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("A023", "three parts"),
        ("000.00.12.H38-241023", "three parts"),
        ("000.00.12.H38-241023-0001-7", "three parts"),
        ("H38-241023-0001", "dot-separated"),
        ("000..12.H38-241023-0001", "group ''"),
        ("000.0$.12.H38-241023-0001", "letters or digits"),
        ("000.00.12.H38-2410-0001", "six digits"),
        ("000.00.12.H38-241323-0001", "valid YYMMDD"),
        ("000.00.12.H38-230229-0001", "valid YYMMDD"),  # 2023 is not a leap year
        ("000.00.12.H38-241000-0001", "valid YYMMDD"),
        ("000.00.12.H38-241023-001", "4 to 12 digits"),
        ("000.00.12.H38-241023-00A1", "digits only"),
        ("000.00.12.H38-241023-" + "1" * 13, "4 to 12 digits"),
        ("Nguyễn Văn A", "three parts"),
        ("x" * 5000, "too long"),
    ],
)
def test_junk_gets_a_clear_reason(text: str, reason: str) -> None:
    with pytest.raises(DossierCodeError, match=reason.replace("$", r"\$")):
        parse_dossier_code(text)


def test_error_is_a_value_error() -> None:
    assert issubclass(DossierCodeError, ValueError)
    with pytest.raises(ValueError):
        parse_dossier_code(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "payload",
    [
        "000.00.12.H38-241023-0001",
        "https://dichvucong.example.gov.vn/tra-cuu?maHoSo=000.00.12.H38-241023-0001&x=1",
        "https://dvc.example.vn/tra-cuu?ma=000.00.12.H38%2D241023%2D0001",
        "PHIẾU TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ\nMã hồ sơ: 000.00.12.h38-241023-0001\nNgày hẹn: 30/10/2024",
        "SĐT 0912-345678-9999 | Mã: 000.00.12.H38-241023-0001",  # a phone-like run first, with a bad date
    ],
)
def test_find_in_scanned_payloads(payload: str) -> None:
    found = find_dossier_code(payload)
    assert found is not None and found.normalized == "000.00.12.H38-241023-0001"


@pytest.mark.parametrize(
    "payload",
    ["", "https://example.vn/t/abc123", "A023", "000.00.12.H38-241399-0001", "Hồ sơ – Nguyễn Thị Ánh Tuyết", "z" * 9000],
)
def test_find_returns_none_without_a_valid_code(payload: str) -> None:
    assert find_dossier_code(payload) is None


def test_find_does_not_start_inside_a_longer_group() -> None:
    # the agency must not be cut out of the middle of a longer dotted token
    assert find_dossier_code("x.000.00.12.H38-241023-0001").agency == "X.000.00.12.H38"  # type: ignore[union-attr]


@given(
    groups=st.lists(st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=4), min_size=2, max_size=5),
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    seq=st.text("0123456789", min_size=4, max_size=10),
)
def test_round_trip(groups: list[str], day: date, seq: str) -> None:
    text = f"{'.'.join(groups)}-{day:%y%m%d}-{seq}"
    code = parse_dossier_code(text.lower())
    assert code.normalized == text and code.received == day and code.sequence == seq
    assert parse_dossier_code(code.normalized) == code
    assert find_dossier_code(f"ma ho so: {text} ok") == code


@given(st.text(max_size=200))
def test_never_crashes_on_arbitrary_text(text: str) -> None:
    try:
        parse_dossier_code(text)
    except DossierCodeError:
        pass
    find_dossier_code(text)


@pytest.mark.parametrize("text", ["000.00.12.H38-241023-0001xyz", "000.00.12.H38-241023-0001 abc",
                                  "000.00.12.H38-241023-0001/", "000.00.12.H38-241023-0001-9"])
def test_a_valid_code_with_junk_around_it_is_refused_unless_it_is_a_payload(text: str) -> None:
    with pytest.raises(DossierCodeError):
        code_from_input(text)


@pytest.mark.parametrize("payload", [
    "https://dichvucong.quangtri.gov.vn/tra-cuu?maHoSo=000.00.12.H38-241023-0001",
    "https://dvc.example/tra-cuu?ma_ho_so=000.00.12.H38-241023-0001&lang=vi",
    "Mã hồ sơ: 000.00.12.H38-241023-0001",
    "PHIẾU HẸN\n000.00.12.H38-241023-0001\nNgày hẹn 30/10/2024",
    " 000.00.12.h38 - 241023 - 0001 ",
])
def test_recognised_payloads_and_the_code_alone_are_accepted(payload: str) -> None:
    assert code_from_input(payload).normalized == "000.00.12.H38-241023-0001"
    assert is_scan_payload(payload) or payload.strip().startswith("000")
