"""The CLI as a user meets it: exit codes, messages without tracebacks, outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from flowyard._cli import cli

from .conftest import EXAMPLES


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    "name",
    [
        "sequential.yaml",
        "fanout.yaml",
        "fanout-minio.yaml",
        "reusable.yaml",
        "sequential.py:pipeline",
        "fanout.py:pipeline",
    ],
)
def test_validate_every_example(name: str) -> None:
    r = invoke("validate", str(EXAMPLES / name))
    assert r.exit_code == 0, r.output
    assert "valid (2 steps)" in r.output


BAD = {
    "cycle": (
        "steps:\n  a: {container: {command: [x]}, after: [b]}\n  b: {container: {command: [x]}, after: [a]}\n",
        "dependency cycle",
    ),
    "dangling": (
        "steps:\n  a: {container: {command: [x]}, inputs: {i: '${{ steps.z.outputs.o }}'}}\n",
        "no step named 'z'",
    ),
    "wrong-type": ("steps:\n  a: {container: {command: [x]}, retries: lots}\n", "steps.a.retries"),
    "unknown-field": ("steps:\n  a: {container: {command: [x]}, withParm: 1}\n", "unknown field 'withParm'"),
    "collision": (
        "steps:\n  a_b: {container: {command: [x]}}\n  a.b: {container: {command: [x]}}\n",
        "'a_b' and 'a.b' both become 'a-b'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_specs_exit_2_with_one_paragraph(tmp_path: Path, case: str) -> None:
    body, expected = BAD[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text("apiVersion: flowyard/v1\nname: bad\n" + body)
    proc = subprocess.run(
        [sys.executable, "-m", "flowyard._cli", "validate", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert str(path) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "\n\n" not in proc.stderr.strip()


def test_validate_with_backend_reports_refusals(tmp_path) -> None:
    spec = tmp_path / "p.yaml"
    spec.write_text(
        "apiVersion: flowyard/v1\nname: p\nsteps:\n  s:\n    python: {function: 'm:f'}\n"
        "    for_each: [1, 2]\n    inputs: {x: '${{ item }}'}\n"
    )
    r = invoke("validate", str(spec), "--backend", "argo")  # a Python step with no image to run it in
    assert r.exit_code == 2
    assert "step-image" in r.output and "cannot run this pipeline" in r.output
    assert invoke("validate", str(spec)).exit_code == 0


def test_compile_unknown_backend_is_a_usage_error() -> None:
    r = invoke("compile", str(EXAMPLES / "sequential.yaml"), "--backend", "nope")
    assert r.exit_code == 2 and "no backend named 'nope'" in r.output


def test_backends_json() -> None:
    r = invoke("backends", "--json")
    data = {b["name"]: b for b in json.loads(r.output)["backends"]}
    assert data["local"]["distribution"] == "flowyard-local"
    assert "run" in data["local"]["capabilities"] and "run" in data["argo"]["capabilities"]  # the Argo executor


def test_schema_is_a_json_schema_with_the_spec_fields() -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads(invoke("schema").output)
    Draft202012Validator.check_schema(schema)
    assert {"apiVersion", "steps", "parameters", "store"} <= set(schema["properties"])
    import yaml

    Draft202012Validator(schema).validate(yaml.safe_load((EXAMPLES / "fanout-minio.yaml").read_text()))


def test_graph_formats() -> None:
    mermaid = invoke("graph", str(EXAMPLES / "fanout.yaml")).output
    assert mermaid.startswith("flowchart TD") and "-->" in mermaid
    dot = invoke("graph", str(EXAMPLES / "fanout.yaml"), "--format", "dot").output
    assert '"activator" -> "processor"' in dot


def test_param_errors_exit_2(tmp_path: Path) -> None:
    r = invoke("run", str(EXAMPLES / "fanout.yaml"), "-p", "messages=notjson")
    assert r.exit_code == 2 and "expected JSON for a parameter of type list" in r.output
