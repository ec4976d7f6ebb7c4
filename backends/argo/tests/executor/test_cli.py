"""``flowyard run`` on Argo manifests, as a user runs it: a fresh folder, the CLI, no FLOWYARD_HOME.

The seed's Solution 1 runs with stand-ins for the study's two scripts mapped into its image; today's compiled
fan-out is shown failing the way the controller would make it fail (issue 15 fixes the compiler).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from flowyard._cli import cli

from .conftest import needs_namespaces

ROOT = Path(__file__).resolve().parents[4]
SEED = ROOT.parent / "shared" / "seed-argo"
EXAMPLES = ROOT / "examples" / "activator_processor"

ACTIVATOR = """import json, os, sys
msg = sys.argv[1]
print(msg)
os.makedirs("/workdir", exist_ok=True)
json.dump(json.loads(msg), open("/workdir/activator_event.json", "w"))
"""
PROCESSOR = """import json, sys
event = json.load(open(sys.argv[1]))
print(event)
json.dump({"processed": event}, open("/workdir/processor_event.json", "w"))
"""


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWYARD_HOME", raising=False)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def seed_image_map(folder: Path) -> Path:
    """The study's image, ``nasa-hsi-argo``: python, and /workdir holding the two stand-in scripts."""
    workdir = folder / "image" / "workdir"
    workdir.mkdir(parents=True)
    (workdir / "activator.py").write_text(ACTIVATOR)
    (workdir / "processor.py").write_text(PROCESSOR)
    path = folder / "images.yaml"
    path.write_text(
        yaml.safe_dump(
            {"nasa-hsi-argo": {"programs": {"python": "/usr/bin/python3"}, "folders": {"/workdir": "image/workdir"}}}
        )
    )
    return path


@needs_namespaces
def test_seed_solution1_runs_and_produces_the_processor_document(here):
    manifest = SEED / "solution1.yaml"
    if not manifest.is_file():
        pytest.skip(f"{manifest} is absent (the shared seed manifests)")
    images = seed_image_map(here)
    result = invoke("run", str(manifest), "-O", f"image_map={images}", "--name", "seed-one")
    assert result.exit_code == 0, result.output
    run = here / ".flowyard" / "runs" / "seed-one"
    status = json.loads((run / "workflow.json").read_text())["status"]
    pods = [n for n in status["nodes"].values() if n["type"] == "Pod"]
    assert [(n["displayName"], n["phase"]) for n in pods] == [("activator", "Succeeded"), ("processor", "Succeeded")]
    (document,) = run.glob("artifacts/*/processor-output")
    assert json.loads(document.read_text()) == {"processed": {"msg": "activator run"}}
    assert "seed-one-processor-template-" in result.output
    assert json.loads((run / "run.json").read_text())["state"] == "Succeeded"


def test_a_manifest_the_controller_rejects_is_refused_with_rule_file_and_path(here):
    bad = here / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Workflow",
                "metadata": {"generateName": "x-"},
                "spec": {
                    "entrypoint": "main",
                    "templates": [
                        {
                            "name": "main",
                            "dag": {
                                "tasks": [
                                    {"name": "a", "template": "leaf", "continueOn": {"failed": True}},
                                    {"name": "b", "template": "leaf", "depends": "a"},
                                ]
                            },
                        },
                        {"name": "leaf", "container": {"image": "python:3", "command": ["python", "-c", "pass"]}},
                    ],
                },
            }
        )
    )
    result = invoke("run", str(bad))
    assert result.exit_code == 2
    assert (
        f"{bad}: spec.templates[0].dag.tasks[0].continueOn: templates.main cannot use 'continueOn' when using"
        in result.output
    )
    assert "(rule: validate.go validateDAG)" in result.output
    assert not (here / ".flowyard").exists()  # nothing half-run


def test_what_cannot_run_here_is_refused_by_name_before_anything_runs(here):
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "r"},
        "spec": {"entrypoint": "k", "templates": [{"name": "k", "resource": {"action": "create", "manifest": "{}"}}]},
    }
    (here / "r.yaml").write_text(yaml.safe_dump(doc))
    result = invoke("run", "r.yaml")
    assert result.exit_code == 2
    assert "resource templates (they create Kubernetes objects) cannot run here" in result.output
    doc["spec"]["templates"] = [{"name": "k", "container": {"image": "registry.example/app:1", "command": ["app"]}}]
    (here / "r.yaml").write_text(yaml.safe_dump(doc))
    result = invoke("run", "r.yaml")
    assert result.exit_code == 2
    assert "image 'registry.example/app:1' has no entry in the image map" in result.output
    doc["spec"]["templates"][0]["container"] = {
        "image": "python:3",
        "command": ["python"],
        "env": [{"name": "T", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
    }
    (here / "r.yaml").write_text(yaml.safe_dump(doc))
    result = invoke("run", "r.yaml")
    assert result.exit_code == 2 and "env T valueFrom.fieldRef (no pod object or node" in result.output
    result = invoke("run", "r.yaml", "--params-file", "p.yaml")
    assert (
        result.exit_code == 2
        and "--params-file, --step, --input and --no-cache go with a flowyard pipeline" in result.output
    )
    assert not (here / ".flowyard").exists()


@needs_namespaces
def test_params_entrypoint_and_name(here):
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": "greet"},
        "spec": {
            "entrypoint": "one",
            "arguments": {"parameters": [{"name": "who", "value": "world"}]},
            "templates": [
                {
                    "name": "one",
                    "container": {"image": "python:3.12", "command": ["python", "-c", "raise SystemExit(1)"]},
                },
                {
                    "name": "two",
                    "container": {
                        "image": "python:3.12",
                        "command": [
                            "python",
                            "-c",
                            "import sys; print(sys.argv[1])",
                            "hello {{workflow.parameters.who}} from {{workflow.name}}",
                        ],
                    },
                },
            ],
        },
    }
    (here / "greet.yaml").write_text(yaml.safe_dump(doc))
    result = invoke("run", "greet.yaml", "-p", "who=you", "--entrypoint", "two", "--name", "g1")
    assert result.exit_code == 0, result.output
    (log,) = (here / ".flowyard" / "runs" / "g1" / "pods").glob("*/stdout.log")
    assert log.read_text() == "hello you from g1\n"
    again = invoke("run", "greet.yaml", "--name", "g1")
    assert again.exit_code == 2 and "exists already" in again.output
    unknown = invoke("run", "greet.yaml", "-p", "nobody=1")
    assert unknown.exit_code == 2 and "no parameter named 'nobody'" in unknown.output


def fanout_image_map(folder: Path) -> Path:
    """The example's image, ``nasa-hsi``: its two apps run by the host's python3."""
    path = folder / "images.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "nasa-hsi": {
                    "programs": {
                        "activator": ["/usr/bin/python3", "/opt/seed/activator"],
                        "processor": ["/usr/bin/python3", "/opt/seed/processor"],
                    },
                    "folders": {"/opt/seed": str(EXAMPLES / "bin")},
                }
            }
        )
    )
    return path


@needs_namespaces
@pytest.mark.parametrize("version", ["3.6.19", "4.1.2"])
def test_compiled_fanout_runs_on_the_controller_rules(here, version):
    images = fanout_image_map(here)
    result = invoke(
        "run",
        str(EXAMPLES / "fanout.yaml"),
        "--backend",
        "argo",
        "-O",
        f"image_map={images}",
        "-O",
        f"argo_version={version}",
        "--json",
    )
    summary = json.loads(result.output)
    assert summary["status"] == "Succeeded", summary
    (run,) = (here / ".flowyard" / "runs").iterdir()
    events = [json.loads(p.read_text()) for p in run.glob("artifacts/*/event")]
    documents = sorted((e for e in events if "processed" in e), key=lambda e: e["msg"])
    assert documents == [{"msg": "activator run 1", "processed": True}, {"msg": "activator run 2", "processed": True}]


def test_an_expression_outside_the_subset_is_refused_by_name_before_anything_runs(here):
    """A function the executor does not implement (``sprig.sha256sum``) is named, exit 2, no pod started."""
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "hashing"},
        "spec": {
            "entrypoint": "main",
            "templates": [
                {"name": "main", "container": {"image": "busybox", "args": ["{{=sprig.sha256sum('x')}}"]}},
            ],
        },
    }
    (here / "wf.yaml").write_text(yaml.safe_dump(doc))
    result = invoke("run", str(here / "wf.yaml"))
    assert result.exit_code == 2, result.output
    assert "sprig.sha256sum (not in the supported sprig subset)" in result.output, result.output
    assert not (here / ".flowyard" / "runs").exists() or not any((here / ".flowyard" / "runs").rglob("pod.json"))


@needs_namespaces
@pytest.mark.parametrize(
    "backend",
    [
        pytest.param(("--backend", "argo"), id="argo"),
        pytest.param((), id="the-runs-own"),
    ],
)
def test_resume_is_argo_retry_pods_that_succeeded_are_kept(here, backend):
    """``flowyard run --resume NAME``: only what did not succeed runs again, by the backend that made the run
    (the one its run.json names) when no ``--backend`` is given."""
    gate = here / "gate"
    gate.mkdir()
    (here / "images.yaml").write_text(
        yaml.safe_dump({"gated": {"programs": {"python": "/usr/bin/python3"}, "folders": {"/gate": str(gate)}}})
    )
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "retry-me"},
        "spec": {
            "entrypoint": "main",
            "templates": [
                {
                    "name": "main",
                    "steps": [[{"name": "first", "template": "stamp"}], [{"name": "second", "template": "gated"}]],
                },
                {
                    "name": "stamp",
                    "container": {"image": "gated", "command": ["python", "-c", "import time; print(time.time())"]},
                },
                {
                    "name": "gated",
                    "container": {
                        "image": "gated",
                        "command": ["python", "-c", "import os; assert os.path.exists('/gate/open')"],
                    },
                },
            ],
        },
    }
    (here / "wf.yaml").write_text(yaml.safe_dump(doc))
    first = invoke("run", "wf.yaml", "-O", "image_map=images.yaml")
    assert first.exit_code == 1
    run = here / ".flowyard" / "runs" / "retry-me"
    (stamp_log,) = [p for p in run.glob("pods/*/stdout.log") if "stamp" in p.parent.name]
    stamped = stamp_log.read_text()
    (gate / "open").write_text("")
    again = invoke("run", "--resume", "retry-me", *backend)
    assert again.exit_code == 0, again.output
    assert stamp_log.read_text() == stamped  # first was kept, not run again
    nodes = json.loads((run / "workflow.json").read_text())["status"]["nodes"].values()
    phases = {n["displayName"]: (n["phase"], n["message"]) for n in nodes if n["type"] == "Pod"}
    assert phases == {"first": ("Succeeded", "kept from the run retried"), "second": ("Succeeded", "")}
    succeeded = invoke("run", "--resume", "retry-me", *backend)
    assert succeeded.exit_code == 2 and "To retry a succeeded workflow" in succeeded.output


@needs_namespaces
def test_resume_with_another_backend_than_the_runs_is_a_usage_error(here):
    (here / "wf.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Workflow",
                "metadata": {"name": "fails"},
                "spec": {
                    "entrypoint": "main",
                    "templates": [{"name": "main", "container": {"image": "busybox", "command": ["false"]}}],
                },
            }
        )
    )
    assert invoke("run", "wf.yaml").exit_code == 1
    again = CliRunner().invoke(cli, ["run", "--resume", "fails", "--backend", "local"])
    assert again.exit_code == 2, again.output
    assert "run 'fails' was made by the argo backend" in again.output
    assert again.exception is None or isinstance(again.exception, SystemExit)


def test_a_manifest_is_read_within_the_same_yaml_bounds_as_a_spec(here) -> None:
    """An alias bomb claiming to be a Workflow is refused by the bounded reader, not expanded."""
    lines = ["apiVersion: argoproj.io/v1alpha1", "kind: Workflow", "metadata: {generateName: bomb-}"]
    lines.append("a0: &a0 [" + ", ".join(["x"] * 10) + "]")
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    lines.append("spec: {entrypoint: main, templates: [{name: main, container: {image: busybox, args: [*a8]}}]}")
    (here / "bomb.yaml").write_text("\n".join(lines) + "\n")
    r = CliRunner().invoke(cli, ["run", "bomb.yaml"])
    assert r.exit_code == 2, r.output
    assert "bomb.yaml:" in r.output and "aliases expand to more than" in r.output
    assert not (here / ".flowyard").exists()


def test_a_name_that_yaml_reads_as_a_bool_is_refused_as_the_api_server_refuses_it(here):
    """The API server decodes the manifest into Go structs: a bool where a name string belongs is refused."""
    (here / "wf.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: bools}\nspec:\n  entrypoint: main\n"
        "  templates:\n  - name: main\n    steps:\n    - - {name: yes, template: echo}\n"
        "  - name: echo\n    container: {image: python:3.12, command: [python, -c, 'print(1)']}\n"
    )
    result = CliRunner().invoke(cli, ["run", "wf.yaml"])
    assert result.exit_code == 2, result.output
    assert "cannot unmarshal bool into Go struct field WorkflowStep.name of type string" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('"python3"', "entry 'py*': expected a mapping"),
        ("{programs: [python3]}", "entry 'py*', programs: expected a mapping"),
        ("{mounts: /opt}", "entry 'py*', mounts: expected a mapping"),
    ],
)
def test_a_malformed_image_map_entry_is_refused_by_file_and_entry(tmp_path, entry, expected):
    """A user's image map names the file and the entry that is wrong, as a broken spec does; no traceback."""
    from flowyard.testing.cli import one_line_error, user_cli

    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "m"},
        "spec": {"entrypoint": "k", "templates": [{"name": "k", "container": {"image": "py:1", "command": ["py"]}}]},
    }
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "images.yaml").write_text(f"py*: {entry}\n")
    result = user_cli("run", "m.yaml", "--backend", "argo", "-O", "image_map=images.yaml", cwd=tmp_path)
    error = one_line_error(result, 2)
    assert "image map images.yaml" in error and expected in error
