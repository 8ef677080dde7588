"""Reads numbers and ticket codes aloud in Vietnamese (northern standard), as a list of words.

Pure: no I/O. espeak-ng reads "0023" digit by digit and says "ngàn", so the announcement text is normalised
here and spoken from one clip per word; the same words are the clip vocabulary (see announcements.py).

Rules (the ones people notice when they are wrong):
- 10 "mười", 15 "mười lăm", 11 "mười một", 14 "mười bốn";
- 20 "hai mươi", 21 "hai mươi mốt", 24 "hai mươi tư", 25 "hai mươi lăm";
- 105 "một trăm linh năm", 101 "một trăm linh một", 104 "một trăm linh bốn";
- inside a larger number an empty hundreds group is still said: 1023 "một nghìn không trăm hai mươi ba",
  1005 "một nghìn không trăm linh năm"; trailing zero groups are dropped: 1000 "một nghìn", 2000000 "hai triệu".
"""
from __future__ import annotations

import re

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

# Group words from the smallest; "nghìn" (northern) rather than "ngàn" (southern), the official register.
GROUP_WORDS = ("", "nghìn", "triệu", "tỷ")

# Vietnamese names of Latin letters as staff and citizens say them when reading a ticket code.
LETTER_NAMES: dict[str, str] = {
    "A": "a", "Ă": "á", "Â": "ớ", "B": "bê", "C": "xê", "D": "dê", "Đ": "đê", "E": "e", "Ê": "ê",
    "F": "ép", "G": "giê", "H": "hát", "I": "i", "J": "gi", "K": "ca", "L": "e lờ", "M": "em mờ", "N": "en nờ",
    "O": "o", "Ô": "ô", "Ơ": "ơ", "P": "pê", "Q": "quy", "R": "e rờ", "S": "ét xì", "T": "tê", "U": "u",
    "Ư": "ư", "V": "vê", "W": "vê kép", "X": "ích xì", "Y": "i dài", "Z": "dét",
}

MAX_NUMBER = 999_999_999_999


class NumberReadingError(ValueError):
    """A value that is not a non-negative integer in range, or a ticket code with characters we cannot read."""


def _units_after_tens(units: int, tens: int) -> str:
    """The units word when a tens word precedes it: mốt / tư / lăm replace một / bốn / năm after "mươi"."""
    if units == 1 and tens >= 2:
        return "mốt"
    if units == 4 and tens >= 2:
        return "tư"
    if units == 5:
        return "lăm"     # after both "mười" and "mươi"
    return DIGITS[units]


def _read_below_thousand(n: int, full: bool) -> list[str]:
    """0 < n < 1000. ``full`` says the group follows a higher group, so an empty hundreds is read "không trăm"."""
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units:
            # "linh" bridges the empty tens only when something (hundreds) was said before it.
            if words:
                words.append("linh")
            words.append(DIGITS[units])
        return words
    if tens == 1:
        words.append("mười")
    else:
        words += [DIGITS[tens], "mươi"]
    if units:
        words.append(_units_after_tens(units, tens))
    return words


def read_number(n: int) -> list[str]:
    """The words of ``n`` (0 ≤ n ≤ 999 999 999 999): ``read_number(24) == ["hai", "mươi", "tư"]``."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise NumberReadingError(f"expected an integer, got {n!r}")
    if n < 0 or n > MAX_NUMBER:
        raise NumberReadingError(f"{n} is outside 0..{MAX_NUMBER}")
    if n == 0:
        return [DIGITS[0]]
    groups: list[int] = []
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    words: list[str] = []
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            continue
        words += _read_below_thousand(group, full=bool(words))
        if GROUP_WORDS[index]:
            words.append(GROUP_WORDS[index])
    return words


def number_text(n: int) -> str:
    """``number_text(1023) == "một nghìn không trăm hai mươi ba"``."""
    return " ".join(read_number(n))


_TICKET = re.compile(r"^([^\W\d_]*)(\d+)$")


def split_ticket_code(code: str) -> tuple[str, int]:
    """``split_ticket_code("a023") == ("A", 23)``: the letters (upper case) and the number without leading zeros."""
    text = (code or "").strip().upper() if isinstance(code, str) else ""
    match = _TICKET.match(text)
    if not match:
        raise NumberReadingError(f"ticket code {code!r}: expected letters followed by digits, e.g. A023")
    letters, digits = match.groups()
    for letter in letters:
        if letter not in LETTER_NAMES:
            raise NumberReadingError(f"ticket code {code!r}: no Vietnamese name for letter {letter!r}")
    if len(digits) > 12:
        raise NumberReadingError(f"ticket code {code!r}: number too long")
    return letters, int(digits)


def read_ticket_number(code: str) -> list[str]:
    """Words for a ticket code: letters by their Vietnamese names, the digits as one number (no leading zeros).

    ``read_ticket_number("A023") == ["a", "hai", "mươi", "ba"]``; a code that is only digits is one number.
    """
    letters, number = split_ticket_code(code)
    words: list[str] = []
    for letter in letters:
        words += LETTER_NAMES[letter].split()
    return words + read_number(number)


_TRAILING_DIGITS = re.compile(r"(\d+)$")


def read_counter(counter: str) -> list[str]:
    """Words for a counter id: "5" → năm; "B2" → bê hai; "quay-12" → mười hai (the number people see on it)."""
    text = (counter or "").strip()
    if text.isdigit():
        return read_number(int(text))
    if _TICKET.match(text.upper()):
        return read_ticket_number(text)
    match = _TRAILING_DIGITS.search(text)
    if not match:
        raise NumberReadingError(f"counter {counter!r}: no number to read")
    return read_number(int(match.group(1)))
