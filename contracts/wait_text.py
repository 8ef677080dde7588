"""How every screen and the printed ticket words the wait range: "khoảng 20–30 phút". Pure text, no I/O.

One wording for the kiosk, the ticket, the tracking page's server side and tests, so a citizen reads the same
promise everywhere (the browser pages mirror these words in their own JS tables).
"""
from __future__ import annotations

PAST_CLOSE_VI = "có thể quá giờ làm việc"
PAST_CLOSE_EN = "possibly past closing time"


def wait_range_text(low: int | None, high: int | None, served: bool | None = True, lang: str = "vi",
                    past_close: bool | None = False) -> str:
    """``"khoảng 20–30 phút"``, ``"dưới 10 phút"``; "" when unknown; never a promise when nobody serves it now;
    when the expected call falls after today's last session, that (not "khoảng 455–805 phút")."""
    if served is False:
        return ("Chưa có quầy nào đang phục vụ lĩnh vực này" if lang == "vi"
                else "No counter is serving this service right now")
    if past_close:
        return PAST_CLOSE_VI if lang == "vi" else PAST_CLOSE_EN
    if low is None or high is None:
        return ""
    if low <= 0:
        return f"dưới {high} phút" if lang == "vi" else f"under {high} min"
    return f"khoảng {low}–{high} phút" if lang == "vi" else f"about {low}–{high} min"
