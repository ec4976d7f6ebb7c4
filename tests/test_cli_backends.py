"""The CLI with the cluster backends, as a user meets it: compile to a file, option errors, refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import EXAMPLES


def flowyard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowyard._cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


@pytest.mark.parametrize(("backend", "kind"), [("argo", "Workflow"), ("kubeflow", None)])
def test_compile_writes_the_engines_document(backend: str, kind: str | None, tmp_path: Path) -> None:
    out = tmp_path / "out" / "pipeline.yaml"
    proc = flowyard("compile", str(EXAMPLES / "fanout.yaml"), "--backend", backend, "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = next(d for d in yaml.safe_load_all(out.read_text()) if d)
    if kind:
        assert doc["kind"] == kind
    else:
        assert doc["pipelineInfo"]["name"] == "activator-processor-fanout"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--backend", "argo", "-O", "kind=Cronworkflow"], "invalid option for the argo backend: kind:"),
        (["--backend", "argo", "-O", "kind=CronWorkflow"], "needs a schedule"),
        (["--backend", "kubeflow", "-O", "nope=1"], "nope: unknown option"),
    ],
)
def test_option_errors_are_one_line_exit_2(args: list[str], expected: str, tmp_path: Path) -> None:
    proc = flowyard("compile", str(EXAMPLES / "sequential.yaml"), *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr


def test_a_refused_pipeline_names_every_refusal_at_once(tmp_path: Path) -> None:
    proc = flowyard("compile", str(EXAMPLES / "fanout-minio.yaml"), "--backend", "kubeflow", cwd=tmp_path)
    assert proc.returncode == 2
    assert "s3-store (store s3://flowyard)" in proc.stderr and "Traceback" not in proc.stderr
