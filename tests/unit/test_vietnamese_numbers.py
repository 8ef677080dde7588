"""Vietnamese number reading: every number 0–9999 against an independent reference, plus the tricky cases."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from displays.vietnamese_numbers import (
    NumberReadingError,
    number_text,
    read_counter,
    read_number,
    read_ticket_number,
    split_ticket_code,
)

pytestmark = pytest.mark.unit

D = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]


def reference(n: int) -> str:
    """A second reader written from the grammar-book rules on the digit string, sharing no code with the first."""
    if n == 0:
        return "không"
    s = str(n)
    # Pad to a whole number of 3-digit groups and read each; a group is skipped when it is all zeros.
    s = s.rjust((len(s) + 2) // 3 * 3, "0")
    groups = [s[i:i + 3] for i in range(0, len(s), 3)]
    names = ["tỷ", "triệu", "nghìn", ""][-len(groups):]
    out: list[str] = []
    for idx, (g, name) in enumerate(zip(groups, names)):
        if g == "000":
            continue
        leading = idx == 0 or not any(x != "000" for x in groups[:idx])
        h, t, u = (int(c) for c in g)
        part: list[str] = []
        if not (leading and h == 0):
            part += [D[h], "trăm"]
        if t == 0 and u != 0:
            part += (["linh"] if part else []) + [D[u]]
        elif t == 1:
            part += ["mười"] + ({0: [], 5: ["lăm"]}.get(u, [D[u]]))
        elif t >= 2:
            part += [D[t], "mươi"] + ({0: [], 1: ["mốt"], 4: ["tư"], 5: ["lăm"]}.get(u, [D[u]]))
        out += part + ([name] if name else [])
    return " ".join(out)


TRICKY = {
    0: "không", 1: "một", 4: "bốn", 5: "năm", 10: "mười", 11: "mười một", 14: "mười bốn", 15: "mười lăm",
    20: "hai mươi", 21: "hai mươi mốt", 24: "hai mươi tư", 25: "hai mươi lăm", 50: "năm mươi",
    55: "năm mươi lăm", 91: "chín mươi mốt", 100: "một trăm", 101: "một trăm linh một",
    104: "một trăm linh bốn", 105: "một trăm linh năm", 110: "một trăm mười", 111: "một trăm mười một",
    115: "một trăm mười lăm", 121: "một trăm hai mươi mốt", 999: "chín trăm chín mươi chín",
    1000: "một nghìn", 1001: "một nghìn không trăm linh một", 1005: "một nghìn không trăm linh năm",
    1010: "một nghìn không trăm mười", 1015: "một nghìn không trăm mười lăm",
    1023: "một nghìn không trăm hai mươi ba", 1100: "một nghìn một trăm", 2011: "hai nghìn không trăm mười một",
    2024: "hai nghìn không trăm hai mươi tư", 9999: "chín nghìn chín trăm chín mươi chín",
    10000: "mười nghìn", 15000: "mười lăm nghìn", 21005: "hai mươi mốt nghìn không trăm linh năm",
    1_000_000: "một triệu", 1_000_005: "một triệu không trăm linh năm",
}


@pytest.mark.parametrize(("n", "text"), sorted(TRICKY.items()))
def test_tricky_cases(n: int, text: str) -> None:
    assert number_text(n) == text


def test_every_number_below_ten_thousand_matches_the_reference() -> None:
    wrong = [(n, number_text(n), reference(n)) for n in range(10000) if number_text(n) != reference(n)]
    assert wrong == []


@given(st.integers(min_value=0, max_value=999_999_999_999))
def test_large_numbers_match_the_reference(n: int) -> None:
    assert number_text(n) == reference(n)


@given(st.integers(min_value=0, max_value=9999))
def test_rule_properties(n: int) -> None:
    words = read_number(n)
    text = " ".join(words)
    # "mốt" and "tư" only ever follow "mươi"; "lăm" only follows "mười" or "mươi"; "linh" only follows "trăm".
    for i, w in enumerate(words):
        if w in ("mốt", "tư"):
            assert words[i - 1] == "mươi", text
        if w == "lăm":
            assert words[i - 1] in ("mười", "mươi"), text
        if w == "linh":
            assert words[i - 1] == "trăm" and words[i + 1] in D[1:], text
    assert ("không" in words) == (n == 0 or (n >= 1000 and (n % 1000) // 100 == 0 and n % 1000 != 0)), text
    assert not text.startswith("không ") and "  " not in text


@pytest.mark.parametrize("bad", [-1, 10**12, 1.5, "12", True, None])
def test_bad_numbers_are_refused(bad: object) -> None:
    with pytest.raises(NumberReadingError):
        read_number(bad)  # type: ignore[arg-type]


def test_ticket_codes_read_letters_by_name_and_drop_leading_zeros() -> None:
    assert read_ticket_number("A023") == ["a", "hai", "mươi", "ba"]
    assert read_ticket_number("b105") == ["bê", "một", "trăm", "linh", "năm"]
    assert read_ticket_number("C0001") == ["xê", "một"]
    assert read_ticket_number("Đ015") == ["đê", "mười", "lăm"]
    assert read_ticket_number("S1023") == ["ét", "xì", "một", "nghìn", "không", "trăm", "hai", "mươi", "ba"]
    assert read_ticket_number("0021") == ["hai", "mươi", "mốt"]
    assert split_ticket_code(" a023 ") == ("A", 23)


@pytest.mark.parametrize("bad", ["", "A", "A-12", "12A", "Ж12", "A" + "9" * 13, None])
def test_bad_ticket_codes_get_a_clear_error(bad: object) -> None:
    with pytest.raises(NumberReadingError):
        read_ticket_number(bad)  # type: ignore[arg-type]


def test_counters() -> None:
    assert read_counter("5") == ["năm"]
    assert read_counter("15") == ["mười", "lăm"]
    assert read_counter("B2") == ["bê", "hai"]
    assert read_counter("quay-21") == ["hai", "mươi", "mốt"]
    with pytest.raises(NumberReadingError):
        read_counter("le-tan")
