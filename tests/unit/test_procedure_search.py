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


def test_the_search_screen_types_without_marks_and_a_match_takes_a_ticket() -> None:
    from kiosk.presenters.context import KioskBehaviour, ServiceGridContext
    from kiosk.presenters.services import ServiceGridPresenter

    class Shell:
        lang = "vi"
        screen = "services"
        behaviour = KioskBehaviour()

        def __init__(self) -> None:
            self.catalog = example_catalog()
            self.went: list[str] = []

        def go(self, screen: str) -> None:
            self.screen = screen
            self.went.append(screen)

        def tap(self) -> bool:
            return True

        def touch(self) -> None: ...
        def changed(self) -> None: ...
        def reset(self) -> None: ...
        def run(self, work, done) -> None: ...  # type: ignore[no-untyped-def]
        def mode_mark(self) -> str:
            return ""

    shell = Shell()
    started: list[tuple[str, str | None]] = []
    grid = ServiceGridPresenter(ServiceGridContext(shell, lambda: shell.catalog,  # type: ignore[arg-type]
                                                   lambda s, p: started.append((s, p))))
    assert grid.view().search == "Tìm theo thủ tục"
    grid.open_search()
    assert shell.screen == "search"
    for key in "KHAI SINH":
        grid.type_key(key)
    view = grid.search_view()
    assert view.query == "khai sinh" and view.matches == (("Đăng ký khai sinh — Tư pháp – Hộ tịch", "ho-tich"),)
    for _ in range(5):
        grid.erase()
    grid.type_key("Q")
    grid.type_key("Q")
    assert grid.search_view().matches == () and grid.search_view().message.startswith("Không tìm thấy")
    grid.choose("ho-tich")               # a match tapped: the usual flow (priority question, else the ticket)
    assert shell.screen == "priority" or started == [("ho-tich", None)]
