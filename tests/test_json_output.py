"""One `--json` convention: every command's output validates against the JSON Schema shipped for it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flowyard._cli import cli
from flowyard._json_output import COMMANDS, SCHEMA_VERSION, command_schema, render
from jsonschema import Draft202012Validator

from .conftest import EXAMPLES


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWYARD_HOME", raising=False)
    return tmp_path


def json_of(command: str, *args: str, exit_code: int = 0) -> Any:
    """Run ``flowyard COMMAND ARGS --json`` into a pipe; check it is one compact line and its schema."""
    r = CliRunner().invoke(cli, [command, *args, "--json"], catch_exceptions=False)
    assert r.exit_code == exit_code, r.output
    assert r.stdout.count("\n") == 1, "into a pipe, JSON is one compact line"
    data = json.loads(r.stdout)
    Draft202012Validator.check_schema(command_schema(command))
    Draft202012Validator(command_schema(command)).validate(data)
    assert data["schema_version"] == SCHEMA_VERSION
    return data


def test_every_command_with_json_has_a_schema() -> None:
    with_json = {name for name, c in cli.commands.items() if any(p.name == "as_json" for p in c.params)}
    assert with_json == set(COMMANDS)


def test_backends() -> None:
    data = json_of("backends")
    assert {"local", "argo", "kubeflow"} <= {b["name"] for b in data["backends"]}


def test_run_status_runs_and_provenance(fresh: Path) -> None:
    run = json_of("run", str(EXAMPLES / "sequential.yaml"))
    assert isinstance(run["duration_seconds"], float)
    assert json_of("status", run["run_id"])["tasks"] == run["tasks"]
    (row,) = json_of("runs")["runs"]
    assert row["run_id"] == run["run_id"] and isinstance(row["duration_seconds"], float)
    produced = next((fresh / ".flowyard" / "runs" / run["run_id"] / "tasks" / "processor").rglob("*.json"))
    chain = json_of("provenance", str(produced))["chain"]
    assert [c["step"] for c in chain] == ["processor", "activator"]


def test_a_failed_run(fresh: Path) -> None:
    (fresh / "fail.yaml").write_text(
        "apiVersion: flowyard/v1\nkind: Pipeline\nname: f\nsteps:\n  s: {container: {command: [sh, -c, 'exit 4']}}\n"
    )
    data = json_of("run", "fail.yaml", exit_code=1)
    assert data["status"] == "Failed" and data["tasks"][0]["exit_code"] == 4


def test_compare(fresh: Path) -> None:
    data = json_of("compare", str(EXAMPLES / "sequential.yaml"), "--backends", "local,argo", "--run")
    rows = {b["backend"]: b for b in data["backends"]}
    assert isinstance(rows["local"]["run"]["duration_seconds"], float)
    assert isinstance(rows["argo"]["run"]["duration_seconds"], float)  # the Argo executor runs the manifest


def test_compare_has_one_json_flag() -> None:
    r = CliRunner().invoke(cli, ["compare", "x.yaml", "--format", "json"])
    assert r.exit_code == 2 and "'json' is not one of" in r.output


def test_indented_on_a_terminal_compact_into_a_pipe() -> None:
    assert render({"a": [1]}, indent=True) == b'{\n  "a": [\n    1\n  ]\n}'
    assert render({"a": [1]}, indent=False) == b'{"a":[1]}'
