"""The server-compatibility pass (flowyard_kubeflow.compat): what a KFP server's compiler and driver
reject or ignore, per server version. Each rule has a package that breaks it, built with the kfp SDK
(or, for what the SDK cannot write, edited from one); the pass accepts every valid spec in KFP's own
test data that the server's tests compile."""

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from flowyard._cli import cli

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT.parent / "shared" / "corpora" / "kfp-test-data"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/corpora/kfp-test-data")
FANOUT = ROOT / "examples" / "activator_processor" / "fanout.yaml"


def _compiled(pipeline: Any, tmp_path: Path) -> dict[str, Any]:
    from kfp import compiler

    out = tmp_path / "p.yaml"
    compiler.Compiler().compile(pipeline, str(out))
    return next(d for d in yaml.safe_load_all(out.read_text()) if d)


def _rules(doc: dict[str, Any], version: str = "2.17") -> set[str]:
    from flowyard_kubeflow.compat import check_package

    return {f.rule.name for f in check_package(doc, version)}


def _components():
    from kfp import dsl

    @dsl.component(base_image="python:3.11")
    def make(x: str) -> str:
        return x

    @dsl.component(base_image="python:3.11")
    def take(xs: list) -> str:
        return str(xs)

    @dsl.component(base_image="python:3.11")
    def art(out: dsl.Output[dsl.Artifact]):
        pass

    @dsl.component(base_image="python:3.11")
    def use(a: dsl.Input[dsl.Artifact]):
        pass

    @dsl.component(base_image="python:3.11")
    def status(s: dsl.PipelineTaskFinalStatus):
        pass

    return make, take, art, use, status


def test_each_rule_is_broken_by_its_own_package(tmp_path) -> None:
    from kfp import dsl

    make, take, art, use, status = _components()

    @dsl.pipeline(name="inner")
    def inner(xs: list) -> list[dsl.Artifact]:
        with dsl.ParallelFor(xs):
            t = art()
        return dsl.Collected(t.outputs["out"])

    @dsl.pipeline(name="artifact-iterator")
    def artifact_iterator(xs: list = ["a"]):  # noqa: B006 - kfp reads the default
        sub = inner(xs=xs)
        with dsl.ParallelFor(sub.output) as a:
            use(a=a)

    @dsl.pipeline(name="retry-in-loop")
    def retry_in_loop(xs: list = ["a"]):  # noqa: B006
        with dsl.ParallelFor(xs) as x:
            make(x=x).set_retry(2)

    @dsl.pipeline(name="factor")
    def factor():
        make(x="a").set_retry(2, backoff_factor=1.5)

    @dsl.pipeline(name="collected")
    def collected(xs: list = ["a"]):  # noqa: B006
        with dsl.ParallelFor(xs) as x:
            t = make(x=x)
        take(xs=dsl.Collected(t.output))

    @dsl.pipeline(name="final-status")
    def final_status():
        with dsl.ExitHandler(status()):
            make(x="a")

    @dsl.pipeline(name="retry-in-group")
    def retry_in_group(flag: str = "y"):
        with dsl.If(flag == "y"):
            make(x="a").set_retry(2)

    assert "artifact-iterator" in _rules(_compiled(artifact_iterator, tmp_path))
    assert "retry-in-parallel-for" in _rules(_compiled(retry_in_loop, tmp_path))
    assert "fractional-backoff-factor" in _rules(_compiled(factor, tmp_path))
    assert "collected" in _rules(_compiled(collected, tmp_path), "2.5")
    assert "collected" not in _rules(_compiled(collected, tmp_path), "2.14")
    assert "task-final-status" in _rules(_compiled(final_status, tmp_path), "2.5")
    assert "task-final-status" not in _rules(_compiled(final_status, tmp_path), "2.17")
    assert "retry-outside-root-dag" in _rules(_compiled(retry_in_group, tmp_path), "2.5")
    assert "retry-outside-root-dag" not in _rules(_compiled(retry_in_group, tmp_path), "2.14")

    # what the SDK cannot write: edited from a valid package
    base = _compiled(collected, tmp_path)
    both = copy.deepcopy(base)
    loop = next(t for t in both["root"]["dag"]["tasks"].values() if "parameterIterator" in t)
    loop["artifactIterator"] = {"itemInput": "x", "items": {"inputArtifact": "y"}}
    assert "both-iterators" in _rules(both)
    resolver = copy.deepcopy(base)
    (executor,) = [e for n, e in resolver["deploymentSpec"]["executors"].items() if n == "exec-make"]
    executor.clear()
    executor["resolver"] = {"outputArtifactQueries": {}}
    assert "resolver" in _rules(resolver)
    custom = copy.deepcopy(base)
    custom["deploymentSpec"]["executors"]["exec-make"] = {"customJob": {"customJob": {}}}
    assert "custom-job" in _rules(custom)
    sub_second = _compiled(factor, tmp_path)  # the SDK refuses "0.5s"; a hand-edited package has it
    sub_second["root"]["dag"]["tasks"]["make"]["retryPolicy"] |= {"backoffDuration": "0.5s", "backoffFactor": 2}
    assert _rules(sub_second) == {"sub-second-backoff"}
    exit_only = _compiled(final_status, tmp_path)
    handler = next(n for n in exit_only["root"]["dag"]["tasks"] if n.startswith("exit-handler"))
    del exit_only["root"]["dag"]["tasks"][handler]
    assert "exit-tasks-only" in _rules(exit_only)


def test_a_condition_on_an_importer_task_is_refused(tmp_path) -> None:
    from kfp import dsl

    @dsl.pipeline(name="importer-if")
    def importer_if(flag: str = "y"):
        dsl.importer(artifact_uri="s3://b/k", artifact_class=dsl.Artifact)

    doc = _compiled(importer_if, tmp_path)
    assert _rules(doc) == set()
    # the SDK puts a dsl.If on the group; the server refuses a condition on the importer task itself
    doc["root"]["dag"]["tasks"]["importer"]["triggerPolicy"] = {"condition": "inputs.parameter_values['flag'] == 'y'"}
    assert "importer-condition" in _rules(doc)


def _server_compiled_specs() -> list[Path]:
    valid = CORPUS / "sdk_compiled_pipelines" / "valid"
    if not valid.is_dir():
        return []
    compiled = {p.stem for p in (CORPUS / "compiled-workflows").glob("*.yaml")}
    return sorted(p for p in valid.glob("*.yaml") if p.stem in compiled)


@pytest.mark.skipif(not _server_compiled_specs(), reason="../shared/corpora/kfp-test-data is absent")
def test_every_spec_the_servers_own_tests_compile_passes(tmp_path) -> None:
    from flowyard_kubeflow.compat import check_package

    specs = _server_compiled_specs()
    assert len(specs) > 50
    rejected = {}
    for spec in specs:
        doc = next(d for d in yaml.safe_load_all(spec.read_text(encoding="utf-8")) if d)
        if "pipelineSpec" in doc:  # a PipelineJob wrapper
            doc = doc["pipelineSpec"]
        found = [f.line() for f in check_package(doc, "2.17") if f.rule.effect == "rejected"]
        if found:
            rejected[spec.name] = found
    assert not rejected


def test_kfp_version_refuses_by_name_what_the_chosen_server_cannot_run(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    ok = CliRunner().invoke(cli, ["compile", str(FANOUT), "-b", "kubeflow", "-O", "kfp_version=2.14"])
    assert ok.exit_code == 0, ok.output
    spec = tmp_path / "fanin.yaml"
    spec.write_text(
        """\
apiVersion: flowyard/v1
kind: Pipeline
name: fanin
defaults: {image: "img:1"}
steps:
  double:
    for_each: [1, 2]
    python: {function: "flowyard.testing.functions:double"}
    inputs: {x: "${{ item }}"}
    outputs: {y: {type: number}}
  total:
    python: {function: "flowyard.testing.functions:total"}
    inputs: {xs: "${{ steps.double.outputs.y }}"}
    outputs: {t: {type: number}}
""",
        encoding="utf-8",
    )
    old = CliRunner().invoke(cli, ["compile", str(spec), "-b", "kubeflow", "-O", "kfp_version=2.5"])
    assert old.exit_code == 2, old.output
    assert "fan-in" in old.output and "2.14" in old.output and "Traceback" not in old.output
    bad = CliRunner().invoke(cli, ["compile", str(spec), "-b", "kubeflow", "-O", "kfp_version=1.8"])
    assert bad.exit_code == 2 and "kfp_version" in bad.output


def test_fanout_passes_the_pass_for_the_default_version(tmp_path, monkeypatch) -> None:
    from flowyard_kubeflow.compat import DEFAULT_VERSION, check_package

    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["compile", str(FANOUT), "-b", "kubeflow"])
    assert r.exit_code == 0, r.output
    assert check_package(next(d for d in yaml.safe_load_all(r.output) if d), DEFAULT_VERSION) == []


def test_submit_refuses_for_an_older_server_before_asking_it_anything(tmp_path, monkeypatch) -> None:
    import socket

    monkeypatch.chdir(tmp_path)
    with socket.socket() as s:  # a port nothing listens on: a request would fail with exit 3
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = CliRunner().invoke(
        cli,
        ["submit", str(FANOUT), "-b", "kubeflow", "--server", f"http://127.0.0.1:{port}", "-O", "kfp_version=2.5"],
    )
    assert r.exit_code == 2, r.output
    assert "fan-in" in r.output and "Traceback" not in r.output


def test_a_backoff_max_duration_is_refused_by_name_as_the_server_reads_it_otherwise(tmp_path, monkeypatch) -> None:
    """docs/spec.md: max_duration caps each wait. The server hands backoffMaxDuration to Argo's
    backoff.maxDuration (argocompiler/container.go, getTaskRetryStrategyFromInput), a budget from the
    first attempt (argo-workflows workflow/controller/operator.go, processNodeRetries)."""
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "cap.yaml"
    spec.write_text(
        'apiVersion: flowyard/v1\nkind: Pipeline\nname: cap\ndefaults: {image: "img:1"}\n'
        "steps:\n  s:\n    container: {command: ['true']}\n"
        "    retries: {limit: 2, backoff: {duration: 1, factor: 2, max_duration: 10}}\n",
        encoding="utf-8",
    )
    r = CliRunner().invoke(cli, ["compile", str(spec), "-b", "kubeflow"])
    assert r.exit_code == 2 and "backoff-max-duration" in r.output, r.output


@pytest.mark.parametrize(
    ("backoff", "feature"),
    [("{duration: 0.1, factor: 2}", "sub-second-backoff"), ("{duration: 1, factor: 1.5}", "fractional-backoff-factor")],
)
def test_backoffs_a_server_cannot_honour_are_refused_by_name(backoff, feature, tmp_path, monkeypatch) -> None:
    """'0.1s' was a traceback from the kfp SDK; a factor of 1.5 is truncated (2.5) or unreadable for Argo (2.14+)."""
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "b.yaml"
    spec.write_text(
        'apiVersion: flowyard/v1\nkind: Pipeline\nname: b\ndefaults: {image: "img:1"}\n'
        f"steps:\n  s:\n    container: {{command: ['true']}}\n    retries: {{limit: 2, backoff: {backoff}}}\n",
        encoding="utf-8",
    )
    for command in ("compile", "run"):
        r = CliRunner().invoke(cli, [command, str(spec), "-b", "kubeflow"])
        assert r.exit_code == 2 and feature in r.output and "Traceback" not in r.output, r.output
