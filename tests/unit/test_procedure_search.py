"""A first-time citizen finds the service by its procedure, typed with or without diacritics; the example center
ships a realistic list of procedures per service, which the hub's /config hands to the kiosk."""
from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.presenters.catalog import Catalog
from kiosk.presenters.services import fold, search_procedures
from queue_server.config import load_settings

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "center.example.toml"


def example_catalog() -> Catalog:
    center = load_settings(EXAMPLE).center
    return Catalog.from_config({"center": {"name": center.name}, "services": [
        {"code": s.code, "name": s.name, "name_en": s.name_en, "prefix": s.prefix, "procedures": list(s.procedures)}
        for s in center.services]})


def test_fold_removes_every_vietnamese_mark() -> None:
    assert fold("Đăng ký KHAI SINH") == "dang ky khai sinh"
    assert fold("  Chứng   thực bản sao ") == "chung thuc ban sao"


@pytest.mark.parametrize("query", ["khai sinh", "Khai Sinh", "khai sinh ", "đăng ký khai sinh", "dang ky khai sinh"])
def test_khai_sinh_finds_dang_ky_khai_sinh_at_ho_tich(query: str) -> None:
    matches = search_procedures(example_catalog(), query)
    assert [(m.service, m.procedure) for m in matches] == [("ho-tich", "Đăng ký khai sinh")]


def test_search_by_service_name_and_by_several_words() -> None:
    catalog = example_catalog()
    assert search_procedures(catalog, "dat dai")[0].procedure == ""            # the service itself first
    assert search_procedures(catalog, "dat dai")[0].service == "dat-dai"
    found = {(m.service, m.procedure) for m in search_procedures(catalog, "giay phep lai xe")}
    assert found == {("giao-thong", "Cấp đổi giấy phép lái xe")}
    assert search_procedures(catalog, "") == () and search_procedures(catalog, "xyzzy") == ()


def test_every_service_of_the_example_lists_procedures() -> None:
    center = load_settings(EXAMPLE).center
    assert all(len(s.procedures) >= 3 for s in center.services)
