"""The team's size rules for every distribution's sources, checked: no source file over 600 lines, no
function over 60.

Ruff's C901/PLR0915 count branches and statements, not lines; this counts what the rule says. The
exceptions are named, each with the issue that removes it, so the lists only shrink.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 60
# Each distribution's package folder; a backend missing from a checkout is skipped, visibly.
PACKAGES = {
    "core": REPO / "core" / "src" / "flowyard",
    "argo": REPO / "backends" / "argo" / "src" / "flowyard_argo",
    "local": REPO / "backends" / "local" / "src" / "flowyard_local",
    "kubeflow": REPO / "backends" / "kubeflow" / "src" / "flowyard_kubeflow",
}
KNOWN_LONG_FUNCTIONS: set[str] = set()  # none: issue 18 took cli.py:run apart (its document and --input parts)
KNOWN_LONG_FILES: set[str] = set()  # none: issue 18 split the local runner.py and tasks.py by concept
SOURCES = [(name, path) for name, root in PACKAGES.items() for path in sorted(root.rglob("*.py"))]


def _where(package: str, path: Path) -> str:
    return f"{package}/{path.relative_to(PACKAGES[package]).as_posix()}"


def long_functions(package: str, path: Path) -> list[str]:
    """The functions in ``path`` over the limit, as ``package/module:name (N lines)``, except the known ones."""
    where = _where(package, path)
    return [
        f"{where}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
        and f"{where}:{node.name}" not in KNOWN_LONG_FUNCTIONS
    ]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_is_checked(package: str) -> None:
    if not PACKAGES[package].is_dir():
        pytest.skip(f"the {package} sources are not in this checkout")
    assert any(p == package for p, _ in SOURCES)


@pytest.mark.parametrize(("package", "path"), SOURCES, ids=[_where(p, path) for p, path in SOURCES])
def test_a_module_and_its_functions_stay_short(package: str, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if _where(package, path) not in KNOWN_LONG_FILES:
        assert len(text.splitlines()) <= MAX_FILE_LINES, f"{path.name}: over {MAX_FILE_LINES} lines; split it"
    long = long_functions(package, path)
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_the_exceptions_are_still_needed() -> None:
    """An exception whose file or function has become short is struck off, so the lists only shrink."""
    stale_files = {
        w
        for p, path in SOURCES
        if (w := _where(p, path)) in KNOWN_LONG_FILES
        and len(path.read_text(encoding="utf-8").splitlines()) <= MAX_FILE_LINES
    }
    present = {
        f"{_where(p, path)}:{node.name}": node
        for p, path in SOURCES
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    stale_functions = {
        k
        for k in KNOWN_LONG_FUNCTIONS
        if k in present and (present[k].end_lineno or 0) - present[k].lineno + 1 <= MAX_FUNCTION_LINES
    }
    assert not stale_files | stale_functions, (
        f"no longer over the limit; strike them off: {stale_files | stale_functions}"
    )
