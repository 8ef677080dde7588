"""The hub's layers, enforced on the source (every import counts: top-level, function-local, type-only):
the domain and contracts import no I/O; ``queue_server/app`` imports only the domain, contracts, runtime and
itself (no adapter, no web, no Flask, no SQLite); ``runtime`` imports nothing of ours but contracts."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

ROOT = Path(__file__).resolve().parents[2]
STDLIB = set(sys.stdlib_module_names)
IO_STDLIB = {"sqlite3", "socket", "http", "urllib.request", "subprocess", "ssl", "asyncio", "selectors", "shutil"}

# No edge left: the [integration] settings types moved into the one settings model (runtime/settings).
ALLOWED_FOR_NOW: dict[str, set[str]] = {}


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-node.level])
            found.add(f"{package}.{node.module}" if node.module else package)
    return found


def files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def offences(folder: str, allowed: tuple[str, ...], forbidden_stdlib: frozenset[str] | set[str] = frozenset()
             ) -> list[str]:
    bad = []
    for path in files(folder):
        rel = path.relative_to(ROOT).as_posix()
        for name in sorted(imports_of(path)):
            top = name.split(".")[0]
            if name in ALLOWED_FOR_NOW.get(rel, set()):
                continue
            if top in STDLIB and top != "__future__":
                if any(name == f or name.startswith(f + ".") for f in forbidden_stdlib):
                    bad.append(f"{rel}: {name}")
                continue
            if top == "__future__" or name == "typing_extensions":
                continue
            if not any(name == a or name.startswith(a + ".") for a in allowed):
                bad.append(f"{rel}: {name}")
    return bad


def test_app_imports_only_the_domain_contracts_runtime_and_its_ports() -> None:
    assert offences("queue_server/app", ("contracts", "queue_server.domain", "queue_server.app", "runtime"),
                    IO_STDLIB) == []


def test_the_domain_and_contracts_do_no_io() -> None:
    assert offences("queue_server/domain", ("contracts", "queue_server.domain"), IO_STDLIB) == []
    assert offences("contracts", ("contracts", "orjson"), IO_STDLIB) == []    # orjson: an optional encoder


def test_runtime_imports_nothing_of_ours_but_contracts() -> None:
    ours = ("queue_server", "kiosk", "devices", "displays", "firmware_bridge", "demo", "province")
    bad = [f"{p.relative_to(ROOT)}: {n}" for p in files("runtime") for n in imports_of(p) if n.split(".")[0] in ours]
    assert bad == []


def test_the_kiosk_journal_shares_the_sqlite_helper_not_the_hub() -> None:
    assert "runtime.sqlite" in imports_of(ROOT / "kiosk" / "offline.py")
    assert not [n for n in imports_of(ROOT / "kiosk" / "offline.py") if n.startswith("queue_server")]
