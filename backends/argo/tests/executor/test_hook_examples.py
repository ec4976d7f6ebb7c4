"""Argo's own examples that use exit handlers and hooks, run with ``flowyard run`` as a user runs them, ending as
upstream expects (read in place from ``../shared``; skipped visibly when it is absent)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from flowyard._cli import cli

from .conftest import needs_namespaces

pytestmark = needs_namespaces

CORPUS = Path(__file__).resolve().parents[5] / "shared" / "corpora" / "argo-examples"


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWYARD_HOME", raising=False)
    return tmp_path


def run_example(name: str, folder: Path, *options: str) -> tuple[dict[str, dict[str, object]], dict[str, object]]:
    """(nodes by display name, status) of the example run under ``--name ex``."""
    manifest = CORPUS / name
    if not manifest.is_file():
        pytest.skip(f"{manifest} is absent (Argo's examples in ../shared)")
    result = CliRunner().invoke(cli, ["run", str(manifest), "--name", "ex", *options], catch_exceptions=False)
    status = json.loads((folder / ".flowyard" / "runs" / "ex" / "workflow.json").read_text())["status"]
    assert result.exit_code == (0 if status["phase"] == "Succeeded" else 1), result.output
    return {n["displayName"]: n for n in status["nodes"].values()}, status


def log_of(node: dict[str, object], folder: Path) -> str:
    return (folder / ".flowyard" / "runs" / "ex" / "pods" / str(node["podName"]) / "stdout.log").read_text()


def test_exit_handler_step_level(here):
    nodes, status = run_example("exit-handler-step-level.yaml", here)
    assert status["phase"] == "Succeeded"
    for step in ("hello1", "hello2a", "hello2b"):
        exit_node = nodes[f"{step}.onExit"]
        assert exit_node["name"] == f"ex[{0 if step == 'hello1' else 1}].{step}.onExit"
        assert exit_node["id"] in nodes[step]["children"] and exit_node["nodeFlag"] == {"hooked": True}
        assert exit_node["phase"] == "Succeeded" and log_of(exit_node, here) == "step cleanup\n"
        assert log_of(nodes[step], here) == f"{step}\n"


def test_exit_handler_dag_level(here):
    nodes, status = run_example("exit-handler-dag-level.yaml", here)
    assert status["phase"] == "Succeeded"
    for task in "ABCD":
        exit_node = nodes[f"{task}.onExit"]
        assert exit_node["name"] == f"ex.{task}.onExit" and exit_node["templateName"] == "exit"
        assert exit_node["id"] in nodes[task]["children"]
        assert log_of(exit_node, here) == "task cleanup\n"
    assert nodes["D"]["startedAt"] >= max(nodes[f"{t}.onExit"]["finishedAt"] for t in "BC")


def test_template_on_exit(here):
    nodes, status = run_example("template-on-exit.yaml", here)
    assert status["phase"] == "Succeeded"
    assert [log_of(nodes[f"{s}.onExit"], here) for s in ("stepA", "stepB")] == ["goodbye world\n"] * 2


def test_exit_handler_with_param(here):
    images = here / "images.yaml"  # the example's python:alpine3.23 also runs sh: busybox's
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("the host has no busybox (the example runs sh)")
    entry = {"programs": {"python": "/usr/bin/python3"}, "busybox": busybox}
    images.write_text(yaml.safe_dump({"python:alpine3.23": entry}))
    nodes, status = run_example("exit-handler-with-param.yaml", here, "-O", f"image_map={images}")
    assert status["phase"] == "Succeeded"
    exit_node = nodes["step-1.onExit"]
    assert exit_node["inputs"]["parameters"] == [{"name": "message", "value": "hello world"}]
    assert log_of(exit_node, here) == "hello world\n"


@pytest.mark.parametrize("name", ["life-cycle-hooks-wf-level.yaml", "life-cycle-hooks-tmpl-level.yaml"])
def test_lifecycle_hook_examples_are_refused_for_their_http_template_only(here, name):
    manifest = CORPUS / name
    if not manifest.is_file():
        pytest.skip(f"{manifest} is absent (Argo's examples in ../shared)")
    result = CliRunner().invoke(cli, ["run", str(manifest)], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output.strip().endswith("(http).http: http templates cannot run here")
