"""Backends use flowyard's public surface only: the modules docs/plugins.md lists (one list, read
from the page, so the page and this check cannot differ) and the names ``flowyard`` exports.

Everything else in core is private, and says so by its name (``flowyard._lowering``, ``flowyard._cli``...): a
backend that imports it breaks when core's insides move."""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

import flowyard

REPO = Path(__file__).resolve().parents[1]
PLUGINS_PAGE = REPO / "docs" / "plugins.md"
BACKEND_SOURCES = sorted([*REPO.glob("backends/*/src/**/*.py"), *REPO.glob("docs/tutorial/**/*.py")])


def public_modules() -> set[str]:
    """The modules listed in docs/plugins.md's "Import only flowyard's public modules" item."""
    text = PLUGINS_PAGE.read_text(encoding="utf-8")
    item = re.search(r"^- Import only flowyard's public modules:(.*?)(?=^- |^#|\Z)", text, re.S | re.M)
    assert item is not None, "docs/plugins.md lost its list of public modules"
    return set(re.findall(r"`(flowyard(?:\.[a-z][a-z_]*)*)`", item.group(1)))  # `flowyard._x`: named private


def is_public(module: str, public: set[str]) -> bool:
    """A listed module, or a submodule of a listed package (``flowyard`` itself covers no submodule)."""
    return module in public or any(module.startswith(f"{m}.") for m in public if m != "flowyard")


def flowyard_imports(path: Path) -> Iterator[tuple[int, str, str | None]]:
    """(line, module, name) for every import of flowyard's code in a file (``name`` None: ``import M``)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "flowyard" or alias.name.startswith("flowyard."):
                    yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("flowyard"):
            module = node.module or ""
            if module == "flowyard" or module.startswith("flowyard."):
                for alias in node.names:
                    yield node.lineno, module, alias.name


def non_public_imports(path: Path, public: set[str]) -> list[str]:
    """``LINE: what`` for each import of something that is not public."""
    found = []
    for line, module, name in flowyard_imports(path):
        if module == "flowyard" and name is not None:
            if name not in flowyard.__all__ and not is_public(f"flowyard.{name}", public):
                found.append(f"{line}: from flowyard import {name}")
        elif not is_public(module, public):
            found.append(f"{line}: {module}")
        elif name is not None and name.startswith("_"):
            found.append(f"{line}: {module}.{name}")
    return found


def test_the_backends_are_found() -> None:
    assert {p.relative_to(REPO).parts[1] for p in BACKEND_SOURCES if p.parts[-4:-3] != ("docs",)} >= {
        "local",
        "argo",
        "kubeflow",
    }


def test_every_listed_module_exists() -> None:
    public = public_modules()
    assert "flowyard" in public and "flowyard.backend" in public
    assert [m for m in sorted(public) if importlib.util.find_spec(m) is None] == []


def test_the_backends_import_only_the_public_surface() -> None:
    public = public_modules()
    found = [f"{p.relative_to(REPO)}:{f}" for p in BACKEND_SOURCES for f in non_public_imports(p, public)]
    assert found == []


def test_the_check_catches_a_private_import(tmp_path: Path) -> None:
    """The walker itself: what it must refuse, it refuses, and it lets the public surface through."""
    path = tmp_path / "fake.py"
    path.write_text(
        "from flowyard._lowering import value_matches\nimport flowyard._cli\nfrom flowyard import nonesuch\n"
        "from flowyard.runs import _private\nfrom flowyard.runs import RunStatus\nfrom flowyard import templates\n"
        "from flowyard import Backend\nimport flowyard.testing.contract\n"
    )
    found = non_public_imports(path, public_modules())
    assert found == [
        "1: flowyard._lowering",
        "2: flowyard._cli",
        "3: from flowyard import nonesuch",
        "4: flowyard.runs._private",
    ]


# Core's own top-level names that are neither public API nor private by underscore, each with why.
NOT_AN_IMPORT_API = {
    "step": "the command a step's image runs (`python -m flowyard.step`); forwards to flowyard.stepimage",
    "function_task": "the old path of flowyard.stepimage's function runner, kept for manifests compiled before",
    "schemas": "data: the JSON Schemas of the --json outputs, shipped in the wheel",
}


def test_what_is_not_public_in_core_is_private_by_name() -> None:
    """As pluggy keeps ``_manager`` and ``_hooks`` behind its ``__init__``: a core module that is not on the public
    list has an underscore name, so an import of it says it reaches into core's insides."""
    public = public_modules()
    core = REPO / "core" / "src" / "flowyard"
    names = sorted(
        p.stem if p.is_file() else p.name for p in core.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()
    )
    unmarked = [
        n for n in names if not n.startswith("_") and f"flowyard.{n}" not in public and n not in NOT_AN_IMPORT_API
    ]
    assert unmarked == []
