"""The citizen rating levels every process agrees on (the hub's scale, the rating pad's keys, the tablet page).

The default is three levels, values 3 / 2 / 1 (Rất hài lòng / Hài lòng / Không hài lòng), the values the main
system's /Vote aggregate counts (Decree 61/2018 Art. 31; Thông tư 01/2018/TT-VPCP Art. 12–14). A center may
configure its own scale; these are its defaults. Pure values.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LEVELS", "RatingLevel"]


@dataclass(frozen=True, slots=True)
class RatingLevel:
    value: int          # stable on the wire and in aggregates; higher is better
    label: str          # Vietnamese first
    label_en: str = ""


DEFAULT_LEVELS: tuple[RatingLevel, ...] = (
    RatingLevel(3, "Rất hài lòng", "Very satisfied"),
    RatingLevel(2, "Hài lòng", "Satisfied"),
    RatingLevel(1, "Không hài lòng", "Not satisfied"),
)
