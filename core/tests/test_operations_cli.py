"""The CLI through the backend's own operations: the gate runs once, inside them, and says what it says once."""

from __future__ import annotations

from pathlib import Path

from flowyard.testing.cli import one_line_error, user_cli

from .conftest import EXAMPLES

HINT = "notice: the local backend ignores images (placement hints mean nothing here)"


def test_compile_and_run_give_each_gate_notice_once(tmp_path: Path) -> None:
    spec = str(EXAMPLES / "sequential.yaml")
    compiled = user_cli("compile", spec, "--backend", "local", "-o", "out.json", cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stderr
    assert compiled.stderr.splitlines().count(HINT) == 1
    ran = user_cli("run", spec, cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert (ran.stdout + ran.stderr).splitlines().count(HINT) == 1


def test_an_operation_a_backend_lacks_is_refused_by_name(tmp_path: Path) -> None:
    spec = str(EXAMPLES / "sequential.yaml")
    err = one_line_error(user_cli("submit", spec, "--backend", "local", cwd=tmp_path), 2)
    assert "the local backend cannot submit" in err
    err = one_line_error(user_cli("run", "--resume", "nope", "--backend", "kubeflow", cwd=tmp_path), 2)
    assert "the kubeflow backend cannot resume" in err
