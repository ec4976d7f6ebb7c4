"""Nothing configured: a fresh folder, no ``FLOWYARD_HOME``, runs under the relative ``./.flowyard/runs``."""

from __future__ import annotations

from pathlib import Path

import pytest

from .as_user import default_runs, run_json, user_cli
from .conftest import EXAMPLES

TIMED_AND_VALUES = """
    name: unconfigured
    failure_policy: continue
    steps:
      a:
        container: {command: [python3, -c, "open('n.json', 'w').write('3')"]}
        outputs: {n: {type: integer, path: n.json}}
      b:
        timeout: 30
        python: {function: "steplib:echo"}
        inputs: {value: 4}
        outputs: {out: {type: integer}}
    outputs: {n: "${{ steps.a.outputs.n }}", out: "${{ steps.b.outputs.out }}"}
"""


def test_timed_python_steps_and_command_values_run_with_nothing_configured(spec, tmp_path: Path) -> None:
    proc = user_cli("run", str(spec(TIMED_AND_VALUES)), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert run_json(proc)["outputs"] == {"n": 3, "out": 4}
    assert len(default_runs(tmp_path)) == 1


# --- usage errors are found before anything is made ---------------------------------------------

SEQUENTIAL = EXAMPLES / "sequential.yaml"


def test_an_unknown_step_is_refused_before_a_run_folder_is_made(tmp_path: Path) -> None:
    proc = user_cli("run", str(SEQUENTIAL), "--step", "nope", cwd=tmp_path)
    assert proc.returncode == 2
    assert "no step named 'nope'" in proc.stderr
    assert default_runs(tmp_path) == []
    assert "Unknown" not in user_cli("runs", cwd=tmp_path).stdout


def test_a_step_alone_without_its_inputs_is_a_usage_error(tmp_path: Path) -> None:
    proc = user_cli("run", str(SEQUENTIAL), "--step", "processor", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--input event=" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert default_runs(tmp_path) == []


def test_a_missing_input_file_is_a_usage_error(tmp_path: Path) -> None:
    proc = user_cli("run", str(SEQUENTIAL), "--step", "processor", "--input", "event=nothere.json", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "nothere.json" in proc.stderr and "no such file" in proc.stderr
    assert default_runs(tmp_path) == []


@pytest.mark.parametrize(("name", "why"), [("9lives", "starts with '9'"), ("a.b", "has '.'")])
def test_a_bad_step_name_is_refused_with_the_reason(spec, tmp_path: Path, name: str, why: str) -> None:
    path = spec(f"""
        name: names
        steps:
          "{name}": {{container: {{command: ["true"]}}}}
    """)
    proc = user_cli("validate", str(path), cwd=tmp_path)
    assert proc.returncode == 2
    assert "starts with a letter or '_'" in proc.stderr and why in proc.stderr
    assert user_cli("run", str(path), cwd=tmp_path).stderr == proc.stderr
