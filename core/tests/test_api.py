"""flowyard.run and flowyard.compile, as a library user calls them: from a fresh folder, nothing
configured; they do what the commands do and leave the caller's process as it was."""

from __future__ import annotations

import logging
import sys
import textwrap
from pathlib import Path

import flowyard
import pytest
from click.testing import CliRunner
from flowyard._cli import cli

SPEC = """
    apiVersion: flowyard/v1
    kind: Pipeline
    name: lib
    parameters:
      n: {type: integer, default: 2}
    steps:
      configure:
        python: {function: "libsteps:configure_logging"}
        outputs: {n: {type: integer}}
      fail:
        when: ${{ params.n }} == 3
        python: {function: "libsteps:fail"}
    outputs: {n: "${{ steps.configure.outputs.n }}"}
"""

STEPS = """
import logging


def configure_logging():
    logging.basicConfig(level=logging.DEBUG)  # a step that sets up logging as a script would
    logging.getLogger().addHandler(logging.NullHandler())
    return 7


def fail():
    raise RuntimeError("as planned")


def fail_first_time():
    from pathlib import Path

    flag = Path(__file__).with_name("failed-once")
    if not flag.exists():
        flag.write_text("")
        raise RuntimeError("the first time")
    return 5
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("FLOWYARD_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lib.yaml").write_text(textwrap.dedent(SPEC).lstrip())
    (tmp_path / "libsteps.py").write_text(STEPS)
    return tmp_path


def _root_logger() -> tuple[list[logging.Handler], int]:
    root = logging.getLogger()
    return list(root.handlers), root.level


def test_a_run_returns_the_status_and_writes_only_the_default_runs_folder(folder: Path) -> None:
    before = set(folder.iterdir())
    status = flowyard.run("lib.yaml")
    assert status.state is flowyard.TaskState.SUCCEEDED and status.exit_code == 0
    assert status.outputs == {"n": 7}
    assert set(folder.iterdir()) - before == {folder / ".flowyard"}
    assert [p.name for p in (folder / ".flowyard").iterdir()] == ["runs"]
    assert status.location is not None and Path(status.location).parent == folder / ".flowyard" / "runs"


def test_a_step_that_configures_logging_leaves_the_root_logger_as_it_was(folder: Path) -> None:
    before = _root_logger()
    status = flowyard.run("lib.yaml", runs_root="runs")
    assert status.state is flowyard.TaskState.SUCCEEDED
    assert _root_logger() == before


def test_a_failed_task_is_a_status_and_the_streams_are_the_callers(folder: Path) -> None:
    streams, logger = (sys.stdout, sys.stderr), _root_logger()
    status = flowyard.run("lib.yaml", params={"n": 3}, runs_root="runs")
    assert status.state is flowyard.TaskState.FAILED and status.exit_code == 1
    assert (sys.stdout, sys.stderr) == streams and _root_logger() == logger


def test_a_refusal_raises_before_anything_is_made(folder: Path) -> None:
    streams = sys.stdout, sys.stderr
    with pytest.raises(flowyard.ParameterError, match="unknown parameter 'm'"):
        flowyard.run("lib.yaml", params={"m": 1}, runs_root="runs")
    with pytest.raises(flowyard.FlowyardError, match=r"nonesuch"):
        flowyard.run("lib.yaml", backend="nonesuch", runs_root="runs")
    assert not (folder / "runs").exists()
    assert (sys.stdout, sys.stderr) == streams


def test_compile_gives_what_the_command_prints(folder: Path) -> None:
    spec = folder / "c.yaml"
    spec.write_text(
        "apiVersion: flowyard/v1\nkind: Pipeline\nname: c\nsteps:\n"
        "  s: {container: {image: alpine, command: [echo, hi]}, resources: {cpu: 1}}\n"
    )
    for backend in ("local", "argo"):  # placement hints: two notices locally, none on argo
        compiled = flowyard.compile(str(spec), backend)
        result = CliRunner().invoke(cli, ["compile", str(spec), "--backend", backend], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert result.stdout.rstrip("\n") == compiled.main.content.rstrip("\n")
        printed = [line.removeprefix("notice: ") for line in result.stderr.splitlines() if line.startswith("notice: ")]
        assert printed == list(compiled.notices)
        assert len(printed) == (2 if backend == "local" else 0)


def test_a_pipeline_built_in_python_runs_and_compiles(folder: Path) -> None:
    pipeline = flowyard.Pipeline(
        name="built",
        steps={
            "s": flowyard.Step(
                python=flowyard.PythonFunction(function="libsteps:configure_logging"),
                outputs={"n": {"type": "integer"}},
            )
        },
        outputs={"n": "${{ steps.s.outputs.n }}"},
    )
    assert flowyard.run(pipeline, runs_root="runs").outputs == {"n": 7}
    ir = flowyard.load_ir(str(folder / "lib.yaml"))
    assert flowyard.compile(ir, "local").main.content == ir.model_dump_json(indent=2) + "\n"


def test_a_failed_run_resumes_from_python(folder: Path) -> None:
    (folder / "again.yaml").write_text(
        "apiVersion: flowyard/v1\nkind: Pipeline\nname: again\n"
        "parameters: {p: {type: integer, default: 1}}\n"
        "steps:\n  first: {python: {function: 'libsteps:configure_logging'}, outputs: {n: {type: integer}}}\n"
        "  flaky: {python: {function: 'libsteps:fail_first_time'}, outputs: {n: {type: integer}}, after: [first]}\n"
        "outputs: {n: '${{ steps.flaky.outputs.n }}'}\n"
    )
    failed = flowyard.run("again.yaml", params={"p": 2}, runs_root="runs")
    assert failed.state is flowyard.TaskState.FAILED
    with pytest.raises(flowyard.FlowyardError, match="parameters it started with"):
        flowyard.run(None, resume=failed.run_id, params={"p": 3}, runs_root="runs")
    with pytest.raises(flowyard.FlowyardError, match="give a pipeline, or resume"):
        flowyard.run("again.yaml", resume=failed.run_id, runs_root="runs")
    resumed = flowyard.run(None, resume=failed.run_id, runs_root="runs")
    assert resumed.run_id == failed.run_id and resumed.state is flowyard.TaskState.SUCCEEDED
    assert resumed.outputs == {"n": 5}
    assert [t.started_at for t in resumed.tasks if t.step == "first"] == [
        t.started_at for t in failed.tasks if t.step == "first"
    ]  # not run again
