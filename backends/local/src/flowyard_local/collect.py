"""A task's outputs, collected after it ran: values read and checked against their types, secrets
masked, files digested and published in the store."""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowyard import value_matches
from flowyard.ir import OutputIR
from flowyard.masking import redact_value
from flowyard.runs import task_dir_name, write_atomic
from flowyard.stepimage.step import StepFunctionError, read_value_outputs
from flowyard.store import ArtifactStore
from flowyard.templates import render_value

from flowyard_local.outputs import UnsafeOutputError, check_output, open_output, sha256_fd
from flowyard_local.stepplan import StepPlan
from flowyard_local.taskdata import FileRef, TaskFailure, TaskResult

if TYPE_CHECKING:
    from flowyard_local.tasks import Task


def read_values(task: Task) -> dict[str, Any]:
    """The value outputs a command wrote to its files; a file that leaves the task's folder is refused."""
    _, outputs = task.task_io()
    for out in outputs:
        if out.type != "file" and out.path is not None:
            try:
                check_output(out.path, task.folder)
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                pass  # read_value_outputs says it is missing
            except UnsafeOutputError as e:
                raise TaskFailure(f"value output {out.name!r} {e}: refused") from None
    try:
        return read_value_outputs(outputs, task.work)
    except StepFunctionError as e:
        raise TaskFailure(str(e)) from None


def check_values(values: Mapping[str, Any], outputs: tuple[OutputIR, ...]) -> None:
    for out in outputs:
        if not value_matches(out.type, values.get(out.name)):
            got = render_value(values.get(out.name))[:80]
            raise TaskFailure(f"output {out.name!r} should be of type {out.type}, got {got}")


def masked(task: Task, values: dict[str, Any], result: TaskResult) -> dict[str, Any]:
    """Value outputs with every secret replaced by ``***``: they go to the journal, --json and
    provenance, and downstream (as CI systems withhold an output that holds a secret)."""
    kept = {name: redact_value(value, task.secret_values) for name, value in values.items()}
    held = [name for name in values if kept[name] != values[name]]
    if held:
        result.message = f"a secret in value output(s) {', '.join(map(repr, held))} was masked as ***"
        # and in the files that carried them here, so no file of the run's keeps the secret
        if task.step.kind == "container":
            for name in held:
                write_atomic(task.output_path(name), json.dumps(kept[name]).encode(), sync=False)
        elif (task.dir / "result.json").is_file():
            write_atomic(task.dir / "result.json", json.dumps(kept).encode(), sync=False)
    return kept


def collect_files(task: Task, plan: StepPlan) -> dict[str, FileRef]:
    """Digest each file output and put it in the store.

    With the default store (the run's own folder) a file stays where the task wrote it and its
    key is that place, as Nextflow keeps outputs in the task's work folder: no copy, no link,
    no folders. The journal line that records the task is what publishes it (and it is written
    only after the file is synced), so a killed task's half-written file is never an artifact:
    resuming starts that task again without it (a fresh working directory, its outputs removed).
    """
    files = {}
    base = task_dir_name(task.step.name, task.plan.item)
    run = task.ctx.plan
    for name in plan.file_outputs:
        rel = plan.output_files[name]
        src = f"{task.folder}/{rel}"
        try:
            fd, real = open_output(src, task.folder, check_parents=not plan.in_process)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            out = task.step.output(name)
            where = out.path or f"${{{{ outputs.{name}.path }}}} ({src})"
            raise TaskFailure(f"the step did not write its output {name!r} at {where}") from None
        except UnsafeOutputError as e:
            raise TaskFailure(f"output {name!r} at {rel} {e}: refused") from None
        digest = sha256_fd(fd)
        if run.store_in_run_dir:
            key = f"{base}/{rel}"
        else:
            key = f"{base}/outputs/{name}/{posixpath.basename(rel)}"
            _publish(run.store, real, key)
        files[name] = FileRef(key, digest)
    return files


def _publish(store: ArtifactStore, src: str, key: str) -> None:
    """Into a store of its own: renamed into place on a local disk (linked, no copy), uploaded otherwise."""
    if store.protocol != "file":
        store.put_file(Path(src), key)
        return
    dest = Path(store.path(key))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        os.link(src, tmp)  # same disk: no copy
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
