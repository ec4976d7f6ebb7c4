"""A task's provenance record: what it read (with digests), what it made, how and when."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowyard import __version__
from flowyard.ir import ContainerIR
from flowyard.provenance import PROVENANCE_FILE, record_json, sha256_tree, task_fields, tree_digest
from flowyard.runs import task_dir_name, write_atomic

from flowyard_local.stepfiles import PROVENANCE_LINES
from flowyard_local.taskdata import ResolvedInput, TaskResult

if TYPE_CHECKING:
    from flowyard_local.tasks import Task


def write_provenance(task: Task, result: TaskResult, values: Mapping[str, Any]) -> None:
    """Write the task's provenance record beside its file artifacts.

    A value-only task writes none: its journal line (step, item, values, times, attempts) with
    the run's ``ir.json`` and ``params.json`` determine its record, and
    :func:`flowyard.provenance.record_from_journal` rebuilds it; 10,000 tiny tasks then cost
    no extra file or serialisation each.
    """
    if not result.files:
        return
    run = task.ctx.plan
    record = _record(task, result, values)
    # synced with the journal group, before it records the task as done
    if task.step_plan().in_process:  # one line in the step's file (stepfiles)
        task.ctx.step_file(task.step.name, PROVENANCE_LINES).append(record_json(record, indent=None) + b"\n")
    else:
        write_atomic(f"{task.folder}/{PROVENANCE_FILE}", record_json(record), sync=False)
    if not run.store_in_run_dir:
        run.store.put_bytes(record_json(record), f"{task_dir_name(task.step.name, task.plan.item)}/{PROVENANCE_FILE}")


def _record(task: Task, result: TaskResult, values: Mapping[str, Any]) -> dict[str, Any]:
    run = task.ctx.plan
    outputs: list[dict[str, Any]] = [
        {"name": n, "type": "file", "uri": run.store.uri(f.key), "sha256": f.sha256} for n, f in result.files.items()
    ]
    outputs += [{"name": n, "type": task.step.output(n).type, "value": v} for n, v in values.items()]
    record: dict[str, Any] = {
        **task_fields(task.step, run.params, task.plan.item),
        "run_id": run.run_id,
        "pipeline": run.ir.name,
        "attempt": result.attempts,
        "backend": "local",
        "flowyard_version": __version__,
        "inputs": _inputs(task, result),
        "outputs": outputs,
        "image_honoured": False,
        "started_at": result.started_at,
        "finished_at": time.time(),
        "exit_code": 0,
    }
    if isinstance(body := task.step.body, ContainerIR):
        record["command"] = [task.render(t) for t in body.command]
    if run.notices:
        record["notices"] = list(run.notices)
    return record


def _inputs(task: Task, result: TaskResult) -> list[dict[str, Any]]:
    inputs: list[dict[str, Any]] = []
    for name, inp in task.plan.inputs.items():
        if inp.type == "file":
            where = task.input_location(name)
            digest = _input_digest(inp, where)
            inputs.append({"name": name, "type": "file", "uri": where, "sha256": digest, "source": inp.source})
        else:
            inputs.append({"name": name, "type": inp.type, "value": inp.value, "source": inp.source})
        if name in result.missing:
            inputs[-1]["missing_items"] = result.missing[name]
    return inputs


def _input_digest(inp: ResolvedInput, where: str) -> str | None:
    """The upstream task already hashed what it produced; hash only what came from elsewhere."""
    if inp.file is not None and inp.file.sha256:
        return inp.file.sha256
    if inp.files is not None and all(r is None or r.sha256 for _, r in inp.files):
        return tree_digest([(f"{i:06d}/{Path(r.key).name}", r.sha256 or "") for i, r in inp.files if r])
    path = Path(where)
    return sha256_tree(path)[0] if path.exists() else None
