"""The layer rules of CONVENTIONS.md, enforced on the import graph of the whole tree.

Every import counts: module level, function-local and ``if TYPE_CHECKING`` ones, because a function-local import that
dodges a cycle is still a cycle, and a type-only import still ties one layer to another. The graph is read from the
source with ``ast`` (nothing is imported), so a rule broken in a branch that never runs is still caught.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contracts", "queue_server", "kiosk", "devices", "displays", "firmware_bridge", "runtime", "demo",
            "province")
# modules that touch the outside world: a pure layer imports none of them
IO_MODULES = {"sqlite3", "sqlite_utils", "socket", "ssl", "requests", "flask", "werkzeug", "waitress", "paho",
              "serial", "subprocess", "urllib.request", "http", "psycopg", "kivy", "cv2", "threading", "asyncio",
              "logging", "shutil", "tempfile", "selectors"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        base = ROOT / package
        if not base.is_dir():
            continue
        for path in base.rglob("*.py"):
            # MicroPython firmware runs on the device, not in the hub's interpreter
            if "firmware_bridge/firmware" in path.as_posix():
                continue
            found[_module_name(path)] = path
    return found


SOURCES = _sources()


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, resolved to the longest known module name (or the top-level name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            for alias in node.names:
                full = f"{stem}.{alias.name}"
                targets.add(full if full in SOURCES else stem)
    resolved: set[str] = set()
    for target in targets:
        parts = target.split(".")
        while len(parts) > 1 and ".".join(parts) not in SOURCES:
            parts.pop()
        resolved.add(".".join(parts) if ".".join(parts) in SOURCES else target)
    resolved.discard(name)
    return resolved


GRAPH = {name: _imports(name, path) for name, path in SOURCES.items()}


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _violations(sources: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for name, targets in sorted(GRAPH.items()):
        if not _within(name, sources):
            continue
        for target in sorted(targets):
            if any(_within(target, f) for f in forbidden):
                bad.append(f"{name} imports {target}")
    return bad


def test_the_graph_was_read() -> None:
    # guards the test itself: an empty or unresolved graph would pass every rule below
    assert len(GRAPH) > 100
    app_targets = {t for n, ts in GRAPH.items() if _within(n, "queue_server.app") for t in ts}
    assert any(_within(t, "queue_server.domain") for t in app_targets)


def test_contracts_import_nothing_of_ours_and_no_io() -> None:
    ours = tuple(p for p in PACKAGES if p != "contracts")
    assert _violations("contracts", ours + tuple(IO_MODULES)) == []


def test_the_domain_imports_only_itself_contracts_and_pure_stdlib() -> None:
    others = tuple(p for p in PACKAGES if p != "contracts") + tuple(IO_MODULES)
    bad = [v for v in _violations("queue_server.domain", others)
           if not v.split(" imports ")[1].startswith("queue_server.domain")]
    assert bad == []


def test_the_app_layer_imports_no_adapter_web_or_flask() -> None:
    forbidden = ("queue_server.adapters", "queue_server.web", "queue_server.wiring", "queue_server.broker",
                 "queue_server.__main__", "flask", "werkzeug", "waitress", "paho", "sqlite3", "sqlite_utils",
                 "requests", "psycopg", "demo", "province")
    assert _violations("queue_server.app", forbidden) == []


@pytest.mark.parametrize("package", ["kiosk", "devices", "displays", "firmware_bridge", "runtime", "contracts"])
def test_the_edges_import_nothing_of_the_hub(package: str) -> None:
    assert _violations(package, ("queue_server",)) == []


def test_runtime_imports_no_process_package() -> None:
    assert _violations("runtime", ("queue_server", "kiosk", "devices", "displays", "firmware_bridge", "demo",
                                   "province")) == []


def test_only_the_mqtt_client_module_imports_paho() -> None:
    importers = sorted(n for n, ts in GRAPH.items() if any(_within(t, "paho") for t in ts))
    assert importers == ["runtime.mqtt"]


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    edges = {n: sorted(t for t in ts if t in GRAPH) for n, ts in GRAPH.items()}
    for root in sorted(GRAPH):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            recurse = False
            for j in range(i, len(edges[node])):
                nxt = edges[node][j]
                if nxt not in index:
                    work.append((node, j + 1))
                    work.append((nxt, 0))
                    recurse = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if recurse:
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def test_no_import_cycle_anywhere() -> None:
    assert _cycles() == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    # the finder itself, on a made-up graph: a → b → c → a plus a tail
    saved = dict(GRAPH)
    try:
        GRAPH.clear()
        GRAPH.update({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
        assert _cycles() == [["a", "b", "c"]]
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


if __name__ == "__main__":  # pragma: no cover - a quick listing for whoever untangles a cycle
    for component in _cycles():
        print(" ↔ ".join(component), file=sys.stderr)
