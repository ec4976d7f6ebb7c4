"""The docs cannot drift: every hook, spec field and command is documented (datasette's habit)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from flowyard import hookspecs, spec
from flowyard._cli import cli
from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
HOOKS = [name for name in dir(hookspecs) if name.startswith("flowyard_")]


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_signature(hook: str) -> None:
    args = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert f"{hook}({args})" in (DOCS / "plugins.md").read_text()


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook: str) -> None:
    tests = "".join(p.read_text() for p in REPO.glob("**/tests/test_*.py") if ".venv" not in p.parts)
    assert f"def test_hook_{hook}" in tests


SPEC_MODELS = [
    spec.Pipeline,
    spec.Parameter,
    spec.Defaults,
    spec.Step,
    spec.Container,
    spec.PythonFunction,
    spec.Input,
    spec.Output,
    spec.Retry,
    spec.Backoff,
    spec.Resources,
    spec.SecretRef,
    spec.LocalStore,
    spec.S3Store,
]


@pytest.mark.parametrize("model", SPEC_MODELS, ids=lambda m: m.__name__)
def test_every_spec_field_is_documented(model: type[BaseModel]) -> None:
    text = (DOCS / "spec.md").read_text()
    for name, field in model.model_fields.items():
        key = field.alias or name
        assert f"`{key}`" in text or re.search(rf"\b{key}:", text), f"{model.__name__}.{key} is not in docs/spec.md"


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_is_documented(command: str) -> None:
    assert f"flowyard {command}" in (DOCS / "cli.md").read_text()


def test_readme_commands_are_what_ci_runs() -> None:
    """CI reads the quickstart's two commands from the README's markers and runs them as written."""
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "<!-- quickstart:first -->\n```sh\npython3 -m venv .venv && . .venv/bin/activate" in readme
    assert "<!-- quickstart:second -->\n```sh\nuv run pytest\n```" in readme
    assert 'eval "$first"' in ci and 'eval "$second"' in ci
    assert "export PATH=/usr/bin:/bin" in ci


def test_readme_pip_route_installs_what_the_suite_needs() -> None:
    """The pip route installs the kubeflow backend with the extra its secrets tests need."""
    readme = (REPO / "README.md").read_text()
    assert "-e './backends/kubeflow[kubernetes]'" in readme


@pytest.mark.parametrize("backend", ["argo", "kubeflow"])
def test_every_mapping_row_names_a_test_and_every_mapping_test_has_a_row(backend: str) -> None:
    """docs/backends/<backend>.md's mapping table and the backend's test_mapping.py stay in step."""
    import ast
    import re

    doc = (DOCS / "backends" / f"{backend}.md").read_text(encoding="utf-8")
    table = doc.split("## The mapping", 1)[1].split("\n### ", 1)[0]
    named = set(re.findall(r"\|\s*`(test_\w+)`\s*\|", table))
    module = REPO / "backends" / backend / "tests" / "test_mapping.py"
    tree = ast.parse(module.read_text(encoding="utf-8"))
    mapping_tests = {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}
    assert named, "no mapping rows found"
    assert named <= mapping_tests, f"rows naming no test: {sorted(named - mapping_tests)}"
    assert mapping_tests <= named, f"mapping tests without a row: {sorted(mapping_tests - named)}"
