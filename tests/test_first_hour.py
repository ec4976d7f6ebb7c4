"""What a new user trips on in the first hour: each through the CLI, from a fresh folder, no FLOWYARD_HOME."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from flowyard._cli import cli

from .conftest import EXAMPLES, REPO

FAILING = """\
apiVersion: flowyard/v1
kind: Pipeline
name: failing
steps:
  ok:
    container: {command: [sh, -c, "echo fine"]}
  bad:
    after: [ok]
    container: {command: [sh, -c, "echo oops >&2; exit 3"]}
"""

ONE_ITEM = """\
apiVersion: flowyard/v1
kind: Pipeline
name: one-item
steps:
  each:
    for_each: ["only"]
    container: {command: [sh, -c, "echo ${{ item }}"]}
"""


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWYARD_HOME", raising=False)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def flowyard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The console script as a user runs it, off a terminal."""
    env = {k: v for k, v in os.environ.items() if k != "FLOWYARD_HOME"}
    return subprocess.run(
        [sys.executable, "-m", "flowyard", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_one_item_is_singular(fresh: Path) -> None:
    (fresh / "one.yaml").write_text(ONE_ITEM)
    r = invoke("run", "one.yaml")
    assert r.exit_code == 0, r.output
    assert "1 item: 1 succeeded" in r.output


def test_a_python_file_without_its_attribute_says_what_is_expected(fresh: Path) -> None:
    shutil.copy(EXAMPLES / "fanout.py", fresh / "fanout.py")
    r = invoke("run", "fanout.py")
    assert r.exit_code == 2
    assert "YAML" not in r.output
    assert "fanout.py:ATTRIBUTE" in r.output


@pytest.mark.parametrize("name", ["nope.yaml", "nope.py:pipeline"])
def test_a_missing_file_is_said_not_to_exist(fresh: Path, name: str) -> None:
    r = invoke("validate", name)
    assert r.exit_code == 2
    assert "invalid pipeline spec" not in r.output
    assert f"{name.partition(':')[0]}: the file does not exist" in r.output


def test_a_failed_step_is_reported_once_in_plain_progress(fresh: Path) -> None:
    (fresh / "fail.yaml").write_text(FAILING)
    done = flowyard("run", "fail.yaml", cwd=fresh)
    assert done.returncode == 1, done.stderr
    progress = [line for line in done.stderr.splitlines() if "bad failed" in line]
    assert len(progress) == 1, done.stderr
    assert "exit code 3" in progress[0]


def test_run_help_says_what_input_takes_as_the_docs_do() -> None:
    help_text = " ".join(invoke("run", "--help").output.split())
    docs = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "a value input takes JSON (or a JSON file)" in docs
    assert "--input NAME=VALUE" in help_text
    assert "a file input takes a path, a value input JSON (or a JSON file)" in help_text


@pytest.mark.parametrize("args", [["run", "--bogus"], ["compile", "x.yaml"], ["nosuchcommand"]])
def test_usage_errors_and_flowyard_errors_share_one_prefix(fresh: Path, args: list[str]) -> None:
    done = flowyard(*args, cwd=fresh)
    assert done.returncode == 2
    assert "Error:" not in done.stderr
    assert "\nerror: " in "\n" + done.stderr, done.stderr


def test_validate_with_a_refusing_backend_does_not_say_valid_first(fresh: Path) -> None:
    (fresh / "fail.yaml").write_text(FAILING)
    r = invoke("validate", "fail.yaml", "--backend", "argo")
    assert r.exit_code == 2
    assert "valid" not in r.output.replace("invalid", "")
    assert "error: backend 'argo' cannot run this pipeline: step-image" in r.output


def test_the_location_of_a_run_directory_is_absolute(fresh: Path) -> None:
    from flowyard.runs import RunStatus, TaskState, render_status_tree

    status = RunStatus(
        run_id="r", pipeline="p", backend="kubeflow", state=TaskState.SUCCEEDED, location=".flowyard/runs/r"
    )
    location = next(line for line in render_status_tree(status).splitlines() if line.startswith("Location:"))
    assert location.split()[1] == str(fresh / ".flowyard" / "runs" / "r")
    url = RunStatus(run_id="r", pipeline="p", backend="argo", state=TaskState.RUNNING, location="https://x/r")
    assert "Location:    https://x/r" in render_status_tree(url)


def test_gitignore_explains_itself() -> None:
    text = (REPO / ".gitignore").read_text(encoding="utf-8")
    for doc in {w.strip("()").rstrip(":,.)") for w in text.split() if w.rstrip(":,.)").endswith(".md")}:
        assert (REPO / doc).exists(), f".gitignore refers to {doc}, which is not in the repository"
    assert "download addresses" in text and "index" in text
