"""IR version 2: a step's body is one discriminated union, and a run made with another IR version is
refused by name, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from flowyard._loading import load_ir
from flowyard.ir import IR_VERSION, ContainerIR, PythonIR, StepIR
from flowyard.testing.cli import user_cli

SPEC = """\
apiVersion: flowyard/v1
kind: Pipeline
name: p
steps:
  hello:
    container:
      image: alpine
      command: [echo, hi]
  fn:
    python:
      function: json:dumps
"""


def _kind(step: StepIR) -> str:
    match step.body:
        case ContainerIR(command=command):
            return f"container {len(command)}"
        case PythonIR(function=function):
            return f"python {function}"


def test_a_step_body_is_one_of_the_kinds_and_serialises_as_one_field(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(SPEC, encoding="utf-8")
    ir = load_ir(tmp_path / "p.yaml")
    assert [_kind(s) for s in ir.steps] == ["container 2", "python json:dumps"]
    assert (ir.step("hello").container, ir.step("fn").python) == (ir.step("hello").body, ir.step("fn").body)
    assert ir.step("hello").python is None and ir.step("fn").container is None
    data = json.loads(ir.model_dump_json())
    assert data["ir_version"] == IR_VERSION == "2"
    hello = data["steps"][0]
    assert hello["body"]["kind"] == "container" and not {"kind", "container", "python"} & set(hello)
    assert type(ir).model_validate_json(ir.model_dump_json()) == ir


def test_resuming_a_run_of_another_ir_version_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(SPEC.split("  fn:")[0], encoding="utf-8")
    r = user_cli("run", "p.yaml", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    run_id = json.loads(r.stdout)["run_id"]
    ir_file = tmp_path / ".flowyard" / "runs" / run_id / "ir.json"
    old = json.loads(ir_file.read_text())
    old["ir_version"] = "1"  # what a flowyard before the body union wrote (its steps had kind/container/python)
    ir_file.write_text(json.dumps(old), encoding="utf-8")
    r = user_cli("run", "--resume", run_id, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "IR version '1'" in r.stderr and "'2'" in r.stderr, r.stderr
