"""Property tests: malformed documents always give a SpecError; templates round-trip."""

from __future__ import annotations

import contextlib
from pathlib import Path

import yaml
from flowyard._loading import load_ir
from flowyard.errors import SpecError
from flowyard.templates import TemplateSyntaxError, parse_template, template_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import EXAMPLES

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
SPEC_KEYS = [
    "apiVersion",
    "kind",
    "name",
    "parameters",
    "steps",
    "defaults",
    "outputs",
    "store",
    "on_exit",
    "parallelism",
    "failure_policy",
    "container",
    "python",
    "inputs",
    "for_each",
    "when",
    "after",
    "retries",
    "timeout",
    "command",
    "value",
    "path",
    "type",
    "default",
    "image",
]


@st.composite
def mutated_specs(draw: st.DrawFn) -> object:
    """A real example with one random part replaced: wrong types, unknown keys, missing fields."""
    base = yaml.safe_load((EXAMPLES / draw(st.sampled_from(["sequential.yaml", "fanout.yaml"]))).read_text())
    node = base
    path = []
    for _ in range(draw(st.integers(0, 4))):
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
        elif isinstance(node, list) and node:
            key = draw(st.integers(0, len(node) - 1))
        else:
            break
        path.append((node, key))
        node = node[key]
    if not path:
        return draw(json_values)
    parent, key = path[-1]
    action = draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace":
        parent[key] = draw(json_values)
    elif action == "delete" and isinstance(parent, dict):
        del parent[key]
    elif isinstance(parent, dict):
        parent[draw(st.sampled_from(SPEC_KEYS) | st.text(max_size=8))] = draw(json_values)
    return base


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=mutated_specs())
def test_malformed_documents_give_a_spec_error_never_a_crash(tmp_path: Path, doc: object) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    problems: tuple = ()
    try:
        load_ir(path)
    except SpecError as e:
        problems = e.problems
        assert problems, "a SpecError always lists its problems"
    assert all(p.file == str(path) for p in problems)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_random_text_files_give_a_spec_error_never_a_crash(tmp_path: Path, text: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    with contextlib.suppress(SpecError):
        load_ir(path)


refs = st.sampled_from(
    [
        "params.x",
        "item",
        "item.a.b",
        "inputs.f.path",
        "outputs.o.path",
        "steps.s.outputs.o",
        "run.status",
        "inputs.v",
    ]
)


@given(parts=st.lists(st.one_of(st.text(max_size=10), refs.map(lambda r: "${{ " + r + " }}")), max_size=6))
def test_templates_round_trip(parts: list[str]) -> None:
    text = "".join(parts)
    try:
        tpl = parse_template(text)
    except TemplateSyntaxError:
        return  # random text may contain a stray '${{'
    assert parse_template(template_text(tpl)) == tpl
