"""A steps/dag template's outputs see its own inputs (``scope.go`` ``createScope`` puts ``inputs.parameters.*``
in the scope ``getTemplateOutputsFromScope`` evaluates), as Argo's ``fibonacci-seq-conditional-param.yaml`` needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_argo_examples_findings import run_in_fresh_folder, workflow_status

OUTPUT_FROM_INPUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: scoped}}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: inner
        template: {kind}
        arguments: {{parameters: [{{name: num, value: "2"}}]}}
  - name: steps
    inputs: {{parameters: [{{name: num}}]}}
    steps:
    - - {{name: never, template: never, when: "false"}}
    outputs:
      parameters:
      - name: doubled
        valueFrom: {{expression: "asInt(inputs.parameters.num) * 2"}}
      - name: echoed
        valueFrom: {{parameter: "{{{{inputs.parameters.num}}}}"}}
  - name: dag
    inputs: {{parameters: [{{name: num}}]}}
    dag:
      tasks:
      - {{name: never, template: never, when: "false"}}
    outputs:
      parameters:
      - name: doubled
        valueFrom: {{expression: "asInt(inputs.parameters.num) * 2"}}
      - name: echoed
        valueFrom: {{parameter: "{{{{inputs.parameters.num}}}}"}}
  - name: never
    suspend: {{duration: "0"}}
"""


@pytest.mark.parametrize("kind", ["steps", "dag"])
def test_a_templates_outputs_see_its_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    result = run_in_fresh_folder(tmp_path, monkeypatch, OUTPUT_FROM_INPUT.format(kind=kind), "wf.yaml")
    assert result.exit_code == 0, result.output
    inner = next(n for n in workflow_status("scoped")["nodes"].values() if n["displayName"] == "inner")
    assert {p["name"]: p["value"] for p in inner["outputs"]["parameters"]} == {"doubled": "4", "echoed": "2"}
