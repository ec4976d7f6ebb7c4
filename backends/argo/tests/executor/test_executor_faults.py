"""A fault of the executor itself (an exception no rule of the controller raises) errors the node it happened in and
the run ends: before, the exception ended the worker thread and the run waited for that node forever."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from flowyard.runs import TaskState
from flowyard_argo.executor import engine

from .conftest import by_display, run_manifest

TWO_TASKS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: fault}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: leaf}
      - {name: b, template: leaf, dependencies: [a]}
  - name: leaf
    container: {image: busybox, command: ["true"]}
"""


def test_an_executor_fault_errors_its_node_and_the_run_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(engine, "run_leaf", broken)  # a bug anywhere below a node, simulated at the pod
    done: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: done.setdefault("run", run_manifest(TWO_TASKS, tmp_path)), daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "the run hung on the fault"
    run = done["run"]
    assert run.phase in (TaskState.ERROR, TaskState.FAILED)
    a = by_display(run)["a"]
    assert a.phase is TaskState.ERROR  # type: ignore[attr-defined]
    assert "RuntimeError: injected fault" in a.message  # type: ignore[attr-defined]
    b = by_display(run).get("b")
    assert b is None or b.pod is None  # type: ignore[attr-defined]  # its dependency errored: never started
    assert "RuntimeError: injected fault" in (tmp_path / "executor-faults.log").read_text()
