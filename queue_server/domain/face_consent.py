"""The consent text shown before a face template is stored, its version, and the retention rule. Pure.

The text follows Law 91/2025/QH15 on Personal Data Protection (Art. 31: biometric data; consent voluntary, clear
and explicit, Art. 9) and Decree 356/2025/ND-CP (silence or a pre-ticked box is not consent; withdrawal handled
within 15 days; here it is immediate). Any change to the wording must bump CONSENT_VERSION: the version is what
the consent event records, so the wording a citizen agreed to can always be shown again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

CONSENT_VERSION = "face-2026-01"


@dataclass(frozen=True, slots=True)
class ConsentText:
    version: str
    title_vi: str
    title_en: str
    paragraphs_vi: tuple[str, ...]
    paragraphs_en: tuple[str, ...]
    agree_vi: str
    agree_en: str
    decline_vi: str
    decline_en: str


def consent_text(retention_days: int, max_days: int) -> ConsentText:
    """The wording with this center's retention figures in it."""
    return ConsentText(
        version=CONSENT_VERSION,
        title_vi="Đồng ý sử dụng dữ liệu khuôn mặt để tra cứu hồ sơ",
        title_en="Consent to use your face data to look up your dossiers",
        paragraphs_vi=(
            ("Mục đích: chỉ để Ông/Bà tra cứu tình trạng hồ sơ tại ki-ốt của Bộ phận Một cửa này bằng khuôn mặt, "
             "không cần phiếu hẹn hay mã hồ sơ."),
            ("Dữ liệu khuôn mặt là dữ liệu sinh trắc học, thuộc dữ liệu cá nhân nhạy cảm (Luật Bảo vệ dữ liệu cá "
             "nhân số 91/2025/QH15, Điều 31; Nghị định 356/2025/NĐ-CP)."),
            ("Dữ liệu được lưu: một dãy số đặc trưng khuôn mặt (mẫu sinh trắc) đã mã hóa và các mã hồ sơ Ông/Bà "
             "liên kết. Không lưu ảnh chụp. Dữ liệu chỉ lưu trên máy chủ tại trung tâm, không gửi đi nơi khác."),
            (f"Thời hạn lưu: tự động xóa sau {retention_days} ngày kể từ khi hồ sơ cuối cùng được trả kết quả, và "
             f"không quá {max_days} ngày kể từ khi đăng ký."),
            ("Rút lại đồng ý: bất cứ lúc nào, tại ki-ốt (sau khi tra cứu bằng khuôn mặt, chọn \"Xóa dữ liệu khuôn "
             "mặt của tôi\") hoặc đề nghị cán bộ tại quầy; dữ liệu bị xóa ngay."),
            ("Việc đồng ý là tự nguyện. Nếu không đồng ý, Ông/Bà vẫn tra cứu bằng mã hồ sơ hoặc mã QR như bình "
             "thường."),
        ),
        paragraphs_en=(
            ("Purpose: only to let you look up your dossiers' status at this one-stop center's kiosk by your face, "
             "without the appointment slip or the dossier code."),
            ("Face data is biometric data, sensitive personal data (Personal Data Protection Law 91/2025/QH15, "
             "Art. 31; Decree 356/2025/ND-CP)."),
            ("What is kept: an encrypted face template (a list of numbers) and the dossier codes you link. No photo "
             "is kept. The data stays on the center's own server and is sent nowhere else."),
            (f"How long: deleted automatically {retention_days} days after your last dossier's result is returned, "
             f"and never kept more than {max_days} days after enrolment."),
            ("Withdrawing: at any time, at the kiosk (after a face look-up, choose \"Delete my face data\") or by "
             "asking staff at a counter; the data is deleted at once."),
            "Consent is voluntary. Without it you look up your dossiers by code or QR as usual.",
        ),
        agree_vi="Tôi đồng ý", agree_en="I agree",
        decline_vi="Không đồng ý", decline_en="I do not agree",
    )


@dataclass(frozen=True, slots=True)
class Retention:
    """``days_after_return``: kept this long after the last linked dossier is returned; ``max_days``: never longer
    than this after enrolment, returned or not (a dossier stuck open must not keep a template for ever)."""

    days_after_return: int = 30
    max_days: int = 365

    def __post_init__(self) -> None:
        if self.days_after_return < 0 or self.max_days < 1:
            raise ValueError("retention: days_after_return must be ≥ 0 and max_days ≥ 1")


def purge_due(enrolled_at: datetime, codes: tuple[str, ...], returned: dict[str, datetime], now: datetime,
              rule: Retention) -> str | None:
    """Why this citizen's template must go now ("returned", "max_days"), or None to keep it."""
    if now >= enrolled_at + timedelta(days=rule.max_days):
        return "max_days"
    if codes and all(c in returned for c in codes) \
            and now >= max(returned[c] for c in codes) + timedelta(days=rule.days_after_return):
        return "returned"
    return None
