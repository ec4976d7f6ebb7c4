"""Loading specs from YAML, JSON and Python, and the errors bad files get."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from flowyard._loading import load_ir, load_pipeline
from flowyard.errors import SpecError
from flowyard.ir import ParamSource, StepOutputSource

from .conftest import EXAMPLES

EXAMPLE_FILES = ["sequential.yaml", "fanout.yaml", "fanout-minio.yaml", "reusable.yaml"]


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_every_example_lowers(name: str) -> None:
    ir = load_ir(EXAMPLES / name)
    assert [s.name for s in ir.steps] == ["activator", "processor"]
    assert ir.source.directory == str(EXAMPLES)


@pytest.mark.parametrize(("py", "yml"), [("sequential.py", "sequential.yaml"), ("fanout.py", "fanout.yaml")])
def test_python_api_gives_the_same_ir_as_yaml(py: str, yml: str) -> None:
    from_py = load_ir(f"{EXAMPLES / py}:pipeline")
    from_yaml = load_ir(EXAMPLES / yml)
    strip = {"source": True}
    assert from_py.model_dump(exclude=strip) == from_yaml.model_dump(exclude=strip)


def test_reusable_step_files_merge_under_the_pipeline_step() -> None:
    ir = load_ir(EXAMPLES / "reusable.yaml")
    act = ir.step("activator")
    assert act.description == "The seed's activator app."
    assert act.input("message").type == "object"
    assert act.input("message").source == ParamSource(name="message")
    proc = ir.step("processor")
    assert proc.input("event").path == "activator_event.json"
    assert proc.input("event").source == StepOutputSource(step="activator", output="event")


def test_json_spec_loads_with_line_numbers(tmp_path: Path) -> None:
    data = yaml.safe_load((EXAMPLES / "sequential.yaml").read_text())
    data["steps"]["activator"]["parallelism"] = "two"
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data, indent=2))
    with pytest.raises(SpecError) as exc:
        load_ir(path)
    (problem,) = exc.value.problems
    assert problem.field == "steps.activator.parallelism"
    assert problem.file == str(path)
    lines = path.read_text().splitlines()
    assert '"parallelism"' in lines[problem.line - 1]


def test_missing_api_version_is_named(write_spec) -> None:
    path = write_spec("""
        name: x
        steps: {a: {container: {command: [echo]}}}
    """)
    with pytest.raises(SpecError, match=r"apiVersion: expected 'flowyard/v1' \(missing\)"):
        load_pipeline(path)


def test_a_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"nope\.yaml: the file does not exist"):
        load_pipeline(tmp_path / "nope.yaml")


def test_yaml_syntax_error_has_a_line(write_spec) -> None:
    path = write_spec("apiVersion: flowyard/v1\nname: x\nsteps: [unclosed\n")
    with pytest.raises(SpecError) as exc:
        load_pipeline(path)
    assert exc.value.problems[0].line is not None
    assert "not valid YAML" in str(exc.value)


def test_duplicate_keys_are_refused_not_overwritten(write_spec) -> None:
    path = write_spec("""
        apiVersion: flowyard/v1
        name: x
        steps:
          a: {container: {command: [echo, one]}}
          a: {container: {command: [echo, two]}}
    """)
    with pytest.raises(SpecError, match=r"duplicate key 'a' \(first at line 4\)"):
        load_pipeline(path)


def test_python_file_errors_do_not_leak_tracebacks(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("raise ValueError('boom')\n")
    with pytest.raises(SpecError, match="importing it failed: ValueError: boom"):
        load_pipeline(f"{bad}:pipeline")
    ok = tmp_path / "ok.py"
    ok.write_text("pipeline = 42\n")
    with pytest.raises(SpecError, match="expected a flowyard Pipeline, got int"):
        load_pipeline(f"{ok}:pipeline")
    with pytest.raises(SpecError, match="no attribute 'other'"):
        load_pipeline(f"{ok}:other")


def test_uses_of_a_missing_step_file_is_named(write_spec) -> None:
    path = write_spec("""
        apiVersion: flowyard/v1
        name: x
        steps:
          a: {uses: steps/none.yaml}
    """)
    with pytest.raises(SpecError, match=r"steps\.a\.uses: no reusable step file 'steps/none.yaml'"):
        load_pipeline(path)


def test_uses_cycles_are_reported(write_spec) -> None:
    write_spec("apiVersion: flowyard/v1\nkind: Step\nuses: b.yaml\n", "a.yaml")
    write_spec("apiVersion: flowyard/v1\nkind: Step\nuses: a.yaml\n", "b.yaml")
    path = write_spec("""
        apiVersion: flowyard/v1
        name: x
        steps:
          s: {uses: a.yaml}
    """)
    with pytest.raises(SpecError, match="cycle"):
        load_pipeline(path)


def test_reusable_python_step_objects_bind_into_pipelines() -> None:
    from flowyard import Container, Input, Output, Pipeline, Step, lower

    activator = Step(
        container=Container(command=["activator", "${{ inputs.message }}"]),
        inputs={"message": Input(type="object")},
        outputs={"event": Output(path="activator_event.json")},
    )
    bound = activator.bind(for_each=[{"a": 1}, {"a": 2}], inputs={"message": {"value": "${{ item }}"}})
    assert activator.for_each is None  # the reusable object is untouched
    ir = lower(Pipeline(name="p", steps={"one": bound, "two": activator.bind(inputs={"message": {"value": {"b": 2}}})}))
    one, two = ir.steps
    assert one.input("message").type == "object" and one.for_each is not None
    assert two.input("message").source.kind == "literal"
    assert two.output("event").path == "activator_event.json"
