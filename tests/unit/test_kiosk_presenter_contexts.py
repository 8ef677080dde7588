"""Kiosk presenters see a narrow context, never the root presenter nor each other (not even for typing); and a
presenter works alone, built from its context with stand-ins, without a Kiosk."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from kiosk.presenters import Catalog, KioskBehaviour, Outcome, ServiceInfo
from kiosk.presenters.context import HomeContext, IdleContext, ServiceGridContext
from kiosk.presenters.home import HomePresenter
from kiosk.presenters.idle import IdlePresenter
from kiosk.presenters.services import ServiceGridPresenter

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

PRESENTERS = Path(__file__).resolve().parents[2] / "kiosk" / "presenters"
PRESENTER_MODULES = {"home", "idle", "services", "ticket", "lookup"}
SHARED = {"catalog", "context", "ports", "keyboard"}   # plain data, Protocols and the code-keyboard mixin


def _imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth (inside functions and ``if TYPE_CHECKING:`` too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = ("." * node.level) + (node.module or "")
            names.add(base)
            if node.module is None:       # from . import x
                names.update("." + alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _ours(module: str) -> set[str]:
    """The kiosk.presenters modules ``module`` imports, by short name (``kiosk`` is the root presenter)."""
    return {name.lstrip(".").removeprefix("kiosk.presenters.") for name in _imported(PRESENTERS / f"{module}.py")
            if name.startswith((".", "kiosk.presenters"))}


@pytest.mark.parametrize("module", sorted(PRESENTER_MODULES))
def test_a_presenter_imports_neither_the_root_nor_another_presenter(module: str) -> None:
    ours = _ours(module)
    assert ours <= SHARED, f"{module}.py imports {sorted(ours - SHARED)}"


def test_the_shared_modules_import_no_presenter() -> None:
    for module in SHARED:
        ours = _ours(module)
        assert not ours & (PRESENTER_MODULES | {"kiosk"}), f"{module}.py imports {sorted(ours)}"


class Shell:
    """The least a presenter needs: a stand-in for the kiosk's Shell."""

    def __init__(self, catalog: Catalog) -> None:
        self.lang = "vi"
        self.screen = "home"
        self.catalog = catalog
        self.behaviour = KioskBehaviour()
        self.went: list[str] = []
        self.resets = 0

    def go(self, screen: str) -> None:
        self.screen = screen
        self.went.append(screen)

    def tap(self) -> bool:
        return True

    def touch(self) -> None:
        pass

    def changed(self) -> None:
        pass

    def reset(self) -> None:
        self.resets += 1
        self.screen = "home"

    def run(self, work: Any, done: Any) -> None:
        done(Outcome(value=work()))

    def mode_mark(self) -> str:
        return "·"


def _catalog() -> Catalog:
    return Catalog(services=(ServiceInfo("ho-tich", "Hộ tịch", "Civil status", "A"),))


def test_the_home_presenter_works_from_its_context_alone() -> None:
    shell = Shell(_catalog())
    opened: list[str] = []
    home = HomePresenter(HomeContext(shell, lambda: "online", lambda: None,  # type: ignore[arg-type,return-value]
                                     lambda: opened.append("services"), lambda: opened.append("lookup")))
    home.take_ticket()
    home.lookup()
    assert opened == ["services", "lookup"]


def test_the_service_grid_starts_a_ticket_through_its_context() -> None:
    shell = Shell(_catalog())
    started: list[tuple[str, str | None]] = []
    grid = ServiceGridPresenter(ServiceGridContext(shell, _catalog,  # type: ignore[arg-type]
                                                   lambda s, p: started.append((s, p))))
    grid.enter()
    grid.choose("ho-tich")
    assert shell.went == ["services"] and started == [("ho-tich", None)]


def test_the_idle_presenter_never_resets_while_busy() -> None:
    shell = Shell(_catalog())
    now = [0.0]
    busy = [True]
    idle = IdlePresenter(IdleContext(shell, lambda: now[0], lambda: False, lambda: busy[0]))  # type: ignore[arg-type]
    shell.screen = "services"
    now[0] = 10_000.0
    assert not idle.tick() and shell.resets == 0
    busy[0] = False
    assert idle.tick() and shell.resets == 1
