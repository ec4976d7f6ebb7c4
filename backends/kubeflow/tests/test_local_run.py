"""`flowyard run --backend kubeflow`: the compiled package executed by kfp.local, reported in the
core's terms. Each run here is a real KFP executor run (no cluster), so they are kept small."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flowyard._cli import cli
from flowyard._loading import load_ir
from flowyard._lowering import lower
from flowyard._params import resolve_params
from flowyard.runs import RunRequest, output_documents
from flowyard.spec import Container, Output, Parameter, Pipeline, PythonFunction, SecretRef, Step
from flowyard.testing.contract import canonical_ir
from flowyard.testing.pipelines import CANONICAL_PIPELINES
from flowyard.testing.refusals import expect_refusal
from flowyard_kubeflow import KubeflowBackend
from flowyard_local import LocalBackend

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "activator_processor"
APPS = ["python3", "-m", "flowyard.testing.apps"]


def run(backend, ir, tmp_path, **params):
    return backend.run(ir, RunRequest(params=resolve_params(ir, params), runs_root=tmp_path / "runs"))


@pytest.mark.parametrize("variant", ["sequential", "fanout"])
def test_seed_variants_give_the_same_documents_as_the_local_backend(variant, tmp_path) -> None:
    ir = load_ir(EXAMPLES / f"{variant}.yaml")
    kfp = run(KubeflowBackend(), ir, tmp_path)
    local = run(LocalBackend(), ir, tmp_path)
    assert kfp.state.value == local.state.value == "Succeeded", kfp.message
    assert output_documents(ir, kfp.outputs) == output_documents(ir, local.outputs)
    assert output_documents(ir, kfp.outputs)  # not two empty results
    assert sorted((t.step, t.item) for t in kfp.tasks) == sorted((t.step, t.item) for t in local.tasks)


def test_cli_run_prints_the_tree_keeps_logs_and_exits_0(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["run", str(EXAMPLES / "fanout.yaml"), "--backend", "kubeflow"])
    assert r.exit_code == 0, r.output
    assert "processor[1]" in r.output and "kfp.local runs at most 2 tasks at once" in r.output
    assert "KFP Executor" not in r.output  # kfp.local's own chatter goes to the run's kfp.log
    (run_dir,) = (tmp_path / ".flowyard" / "runs").iterdir()
    assert "KFP Executor" in (run_dir / "kfp.log").read_text()
    r = CliRunner().invoke(cli, ["logs", run_dir.name, "activator", "--item", "1"])
    assert r.output.strip() == 'activator[1]: {"msg": "activator run 2"}'


def test_a_failing_task_is_reported_by_name_with_its_log_and_the_others_outputs_kept(tmp_path, monkeypatch) -> None:
    p = Pipeline(
        name="fails",
        defaults={"image": "img"},
        steps={
            "ok": Step(container=Container(command=[*APPS, "echo", "fine"]), outputs={"doc": Output(path="echo.json")}),
            "bad": Step(
                python=PythonFunction(function="flowyard.testing.functions:fail_on"),
                inputs={"value": 1, "bad": 1},
                after=["ok"],
            ),
            "never": Step(container=Container(command=["true"]), after=["bad"]),
        },
    )
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "p.json"
    st = run(KubeflowBackend(), lower(p), tmp_path)
    assert st.state.value == "Failed"
    states = {t.step: t.state.value for t in st.tasks}
    assert states == {"ok": "Succeeded", "bad": "Failed", "never": "Omitted"}
    assert "bad" in st.message and "failing on purpose" in st.message
    run_dir = Path(st.location)
    assert "failing on purpose" in (run_dir / "tasks" / "bad" / "stdout.log").read_text()
    ok = json.loads((run_dir / "tasks" / "ok" / "provenance.json").read_text())
    (out,) = ok["outputs"]
    assert json.loads(Path(out["uri"].removeprefix("file://")).read_text()) == {"text": "fine"}
    del spec


def test_a_condition_skips_and_the_exit_handler_sees_the_final_status(tmp_path) -> None:
    p = Pipeline(
        name="cond-exit",
        parameters={"mode": Parameter(default="slow")},
        defaults={"image": "img"},
        steps={
            "fast": Step(container=Container(command=[*APPS, "echo", "fast"]), when="${{ params.mode }} == 'fast'"),
            "other": Step(container=Container(command=[*APPS, "echo", "other"])),
        },
        on_exit=Step(
            container=Container(command=[*APPS, "echo", "${{ run.status }}"]), outputs={"doc": Output(path="echo.json")}
        ),
    )
    st = run(KubeflowBackend(), lower(p), tmp_path)
    assert st.state.value == "Succeeded", st.message
    states = {t.step: t.state.value for t in st.tasks}
    assert states == {"fast": "Skipped", "other": "Succeeded", "on_exit": "Succeeded"}
    log = (Path(st.location) / "tasks" / "on_exit" / "stdout.log").read_text()
    assert "Succeeded" in log


def test_step_parallelism_holds_under_kfp_local(tmp_path) -> None:
    p = Pipeline(
        name="one-at-a-time",
        steps={
            "s": Step(
                python=PythonFunction(function="flowyard.testing.functions:sleep_then_emit", image="img"),
                for_each=[1, 2, 3],
                parallelism=1,
                inputs={"value": "${{ item }}"},
                outputs={"out": Output(type="integer")},
            )
        },
        outputs={"out": "${{ steps.s.outputs.out }}"},
    )
    st = run(KubeflowBackend(), lower(p), tmp_path)
    assert st.state.value == "Succeeded", st.message
    spans = sorted((t.started_at, t.finished_at) for t in st.tasks)
    assert len(spans) == 3
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    assert st.outputs["out"] == [1, 2, 3]


def test_secrets_are_read_from_the_host_environment_locally(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FLOWYARD_TEST_TOKEN", "s3cr3t")
    p = Pipeline(
        name="secret",
        defaults={"image": "img"},
        steps={
            "s": Step(
                container=Container(command=[*APPS, "env", "FLOWYARD_TEST_TOKEN"]),
                secrets=[SecretRef(secret="tok", key="token", env="FLOWYARD_TEST_TOKEN")],
                outputs={"doc": Output(path="env.json")},
            )
        },
        outputs={"doc": "${{ steps.s.outputs.doc }}"},
    )
    ir = lower(p)
    st = run(KubeflowBackend(), ir, tmp_path)
    assert st.state.value == "Succeeded", st.message
    assert output_documents(ir, st.outputs) == {"doc": {"FLOWYARD_TEST_TOKEN": "s3cr3t"}}


@pytest.mark.parametrize("name", sorted(set(CANONICAL_PIPELINES) - {"wide-fanout"}))  # 1,000 items: the benchmark
def test_every_canonical_pipeline_kubeflow_accepts_gives_the_local_backends_documents(name, tmp_path) -> None:
    ir = canonical_ir(name)
    backend = KubeflowBackend({"default_image": "python:3.11"})
    if not backend.support(ir).ok:
        expect_refusal(backend, ir)
    kfp = run(backend, ir, tmp_path)
    local = run(LocalBackend(), ir, tmp_path)
    assert kfp.state.value == local.state.value, (kfp.message, local.message)
    assert output_documents(ir, kfp.outputs) == output_documents(ir, local.outputs)
    states = sorted((t.step, t.item, t.state.value) for t in kfp.tasks)
    assert states == sorted((t.step, t.item, t.state.value) for t in local.tasks)
