"""The docs' tutorial backend: registered through the plugin-manager factory, never installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from flowyard._cli import cli
from flowyard._loading import load_ir
from flowyard._lowering import lower
from flowyard._params import resolve_params
from flowyard.errors import UnsupportedFeatureError
from flowyard.ir import PipelineIR
from flowyard.plugins import backend_registry
from flowyard.runs import RunDirectory, RunRequest, TaskState, read_journal
from flowyard.summary import summarize_ir

from .conftest import EXAMPLES, load_tutorial_backend


def test_registers_through_the_factory_only() -> None:
    module = load_tutorial_backend()
    with_tutorial = backend_registry(plugins=[module])
    assert "makefile" in with_tutorial.names()
    assert with_tutorial.info("makefile").distribution is None
    assert "makefile" not in backend_registry().names()  # never among a user's backends


def test_compiles_variant_1_to_a_makefile_that_round_trips() -> None:
    backend = backend_registry(plugins=[load_tutorial_backend()]).create("makefile")
    ir = load_ir(EXAMPLES / "sequential.yaml")
    compiled = backend.compile(ir)
    assert "processor: activator" in compiled.main.content
    assert backend.summarize(compiled) == summarize_ir(ir)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_makefile_runs(tmp_path: Path) -> None:
    backend = load_tutorial_backend().MakefileBackend()
    compiled = backend.compile(load_ir(EXAMPLES / "sequential.yaml"))
    compiled.write(tmp_path / "Makefile")
    env = {"PATH": f"{EXAMPLES / 'bin'}:/usr/bin:/bin"}
    subprocess.run(["make", "-s"], cwd=tmp_path, check=True, env=env, capture_output=True)
    assert '"processed": true' in (tmp_path / "processor" / "processor_event.json").read_text()


def test_refuses_fan_out_by_name() -> None:
    with pytest.raises(UnsupportedFeatureError, match="fan-out"):
        load_tutorial_backend().MakefileBackend().check(load_ir(EXAMPLES / "fanout.yaml"))


def _failing_pipeline() -> PipelineIR:
    from flowyard.spec import Container, Input, Output, Pipeline, Step

    return lower(
        Pipeline(
            name="breaks",
            steps={
                "first": Step(
                    container=Container(command=["sh", "-c", "echo made > out.txt; echo 'disk on fire' >&2; exit 3"]),
                    outputs={"out": Output(path="out.txt")},
                ),
                "second": Step(
                    container=Container(command=["cat", "in.txt"]),
                    inputs={"x": Input(value="${{ steps.first.outputs.out }}", path="in.txt")},
                ),
            },
        )
    )


def test_runs_variant_1_on_core_machinery_and_the_cli_reads_the_run(tmp_path: Path, monkeypatch) -> None:
    """Its run folder, journal and logs are core's: `flowyard status` and `logs` read them as any run's."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWYARD_HOME", raising=False)
    backend = load_tutorial_backend().MakefileBackend()
    ir = load_ir(EXAMPLES / "sequential.yaml")
    status = backend.run(ir, RunRequest(params=resolve_params(ir)))
    assert status.state is TaskState.SUCCEEDED, status.message
    run_dir = RunDirectory(Path(status.location or ""))
    assert run_dir.path.parent == tmp_path / ".flowyard" / "runs"
    assert [e["state"] for e in read_journal(run_dir.journal_file) if e["t"] == "task"] == ["Succeeded"] * 2
    shown = CliRunner().invoke(cli, ["status", status.run_id], catch_exceptions=False)
    assert shown.exit_code == 0 and "processor" in shown.output and "Succeeded" in shown.output
    logs = CliRunner().invoke(cli, ["logs", status.run_id, "processor"], catch_exceptions=False)
    assert logs.exit_code == 0, logs.output


def test_a_failing_step_keeps_its_logs_and_nothing_after_it_starts(tmp_path: Path) -> None:
    backend = load_tutorial_backend().MakefileBackend()
    status = backend.run(_failing_pipeline(), RunRequest(runs_root=tmp_path))
    assert status.state is TaskState.FAILED
    states = {t.step: (t.state, t.exit_code, t.message) for t in status.tasks}
    assert states["first"] == (TaskState.FAILED, 3, "exit code 3: disk on fire")
    assert states["second"][0] is TaskState.OMITTED
    run_dir = RunDirectory(Path(status.location or ""))
    assert run_dir.log_file("first", None, "stderr").read_text() == "disk on fire\n"
    assert (run_dir.path / "work" / "first" / "out.txt").read_text() == "made\n"
    assert RunDirectory(run_dir.path).read_status().state is TaskState.FAILED


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_a_parameter_with_dollars_reaches_the_makefiles_command_as_given(tmp_path: Path) -> None:
    from flowyard.spec import Container, Parameter, Pipeline, Step

    given = "it's $(not make) ${HOME} $$ `nor this`"
    ir = lower(
        Pipeline(
            name="dollars",
            parameters={"text": Parameter(default=given)},
            steps={
                "echo": Step(
                    container=Container(command=["sh", "-c", 'printf %s "$0" > said.txt', "${{ params.text }}"])
                )
            },
        )
    )
    load_tutorial_backend().MakefileBackend().compile(ir).write(tmp_path / "Makefile")
    subprocess.run(["make", "-s"], cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "echo" / "said.txt").read_text() == given


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_a_parameter_with_a_newline_reaches_the_makefiles_command_byte_for_byte(tmp_path: Path) -> None:
    """A recipe line ends at a newline: such an argument goes through an exported ``define`` instead."""
    import json
    import sys

    from flowyard.testing.contract import canonical_ir
    from flowyard.testing.pipelines import TRICKY

    load_tutorial_backend().MakefileBackend().compile(canonical_ir("tricky-params")).write(tmp_path / "Makefile")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    subprocess.run(["make", "-s"], cwd=tmp_path, check=True, env=env, capture_output=True)
    assert json.loads((tmp_path / "echo" / "echo.json").read_text()) == {"text": TRICKY}
