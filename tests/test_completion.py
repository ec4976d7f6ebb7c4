"""Shell completion (click's) completes backend names, run ids and step names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.shell_completion import ShellComplete
from click.testing import CliRunner
from flowyard._cli import cli

from .conftest import EXAMPLES


def complete(*words: str) -> list[str]:
    """What the shell offers after ``flowyard WORDS...``; the last word is the one being typed."""
    *args, incomplete = words
    return [c.value for c in ShellComplete(cli, {}, "flowyard", "_FLOWYARD_COMPLETE").get_completions(args, incomplete)]


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWYARD_HOME", raising=False)
    return tmp_path


def test_backend_names() -> None:
    assert {"local", "argo", "kubeflow"} <= set(complete("run", "x.yaml", "--backend", ""))
    assert complete("compile", "x.yaml", "-b", "ar") == ["argo"]
    assert complete("status", "r", "--backend", "kube") == ["kubeflow"]


def test_run_ids_and_step_names(fresh: Path) -> None:
    assert complete("status", "") == []  # no runs yet: nothing, no error
    r = CliRunner().invoke(cli, ["run", str(EXAMPLES / "sequential.yaml")], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    (run_id,) = complete("status", "")
    assert run_id.startswith("activator-processor-")
    assert complete("logs", "act") == [run_id]
    assert complete("run", "--resume", "") == [run_id]
    assert complete("logs", run_id, "") == ["activator", "processor"]
    assert complete("run", str(EXAMPLES / "sequential.yaml"), "--step", "p") == ["processor"]
    assert complete("run", "broken.yaml", "--step", "") == []


def test_the_bash_script_is_click_s(fresh: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FLOWYARD_HOME"} | {"_FLOWYARD_COMPLETE": "bash_source"}
    done = subprocess.run(
        [sys.executable, "-m", "flowyard"], env=env, capture_output=True, text=True, check=False, cwd=fresh
    )
    assert done.returncode == 0 and "_flowyard_completion" in done.stdout
