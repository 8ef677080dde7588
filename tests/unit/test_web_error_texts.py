"""Every stable error code the hub can answer has a Vietnamese-first sentence in the browser pages' shared code
(displays/web/common.js ERROR_TEXT): a code without one showed staff the hub's English message."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from contracts.errors import ErrorCode

pytestmark = pytest.mark.unit

COMMON = Path(__file__).resolve().parents[2] / "displays" / "web" / "common.js"
VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.IGNORECASE)


def error_texts() -> dict[str, str]:
    source = COMMON.read_text(encoding="utf-8")
    block = source.split("const ERROR_TEXT = {", 1)[1].split("};", 1)[0]
    return dict(re.findall(r'^\s*(\w+): "([^"]+)",?$', block, re.MULTILINE))


def test_every_error_code_has_a_vietnamese_first_text() -> None:
    texts = error_texts()
    missing = sorted(code.value for code in ErrorCode if code.value not in texts)
    assert missing == []
    for code, text in texts.items():
        vietnamese, _, english = text.partition(" / ")
        assert VIETNAMESE.search(vietnamese) and english, (code, text)
