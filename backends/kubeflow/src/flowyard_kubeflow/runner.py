"""``flowyard run --backend kubeflow``: the compiled package executed by kfp's own local runner.

kfp.local (``SubprocessRunner``) is a real KFP executor: it reads the package, drives the DAG,
``ParallelFor`` (at most two tasks at once), ``Collected``, conditions and exit handlers, and runs
each task in a subprocess through kfp's executor. It only runs lightweight Python components, prints
the tasks' logs instead of keeping them, and returns no status when a task fails without raising. So
the package it gets (:mod:`flowyard_kubeflow.compiler`, target ``local``) makes every step a
lightweight component running flowyard's function-task runtime, which writes a record and a log per
task; this module turns those into the core's run directory, status tree, outputs and provenance.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flowyard import __version__
from flowyard.ir import PipelineIR, StepIR
from flowyard.provenance import PROVENANCE_FILE, DataDigest, ProvenanceRecord, sha256_tree
from flowyard.runs import (
    RunDirectory,
    RunRequest,
    RunStatus,
    TaskState,
    TaskStatus,
    new_run_id,
    runs_root,
    write_atomic,
)
from flowyard.stepimage.function_task import RECORDS_ENV

from flowyard_kubeflow.local_argv import commands_through_files
from flowyard_kubeflow.options import KubeflowOptions

_FAILED_TASK = re.compile(r"Inner task failed: '([^']+)'")


class _LockedWriter(io.TextIOBase):
    """kfp.local prints from one thread per running task; a bare text file is not safe for that
    (concurrent writes corrupted its buffer here: pointer bytes in the log)."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.lock = threading.Lock()

    def write(self, text: str) -> int:
        with self.lock:
            return 0 if self.f.closed else int(self.f.write(text))

    def flush(self) -> None:
        with self.lock:
            if not self.f.closed:
                self.f.flush()


@contextlib.contextmanager
def _quiet(log: Path) -> Iterator[None]:
    """kfp.local prints every task's executor input and logs: keep them in the run's kfp.log.

    Logging handlers made meanwhile (kfp configures logging on first use) would keep writing to
    this file after it is closed: they are removed again."""
    root = logging.getLogger()
    before = list(root.handlers)
    with open(log, "a", encoding="utf-8") as f:
        out = _LockedWriter(f)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                yield
        finally:
            for handler in root.handlers[:]:
                if handler not in before:
                    root.removeHandler(handler)


@contextlib.contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def read_records(folder: Path) -> list[dict[str, Any]]:
    records = []
    for f in sorted(folder.glob("*.json")):
        try:
            records.append(json.loads(f.read_text(encoding="utf-8")))
        except ValueError:
            continue
    return records


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _plain(text: str) -> str:
    """kfp.local colours task names and states for a terminal; a status keeps the words only."""
    return _ANSI.sub("", text)


def _import_path(ir: PipelineIR) -> str:
    """The spec's folder first on each task's import path, as docs/spec.md promises and local does."""
    parts = [ir.source.directory] if ir.source.directory else []
    parts += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(parts)


def run_local(ir: PipelineIR, request: RunRequest, options: KubeflowOptions) -> RunStatus:
    from kfp import components, local

    from flowyard_kubeflow.compiler import KfpCompiler

    # absolute: Python steps run in their own working directory, and kfp.local hands them these paths
    run = RunDirectory(runs_root(request.runs_root).absolute() / new_run_id(ir.dns_name))
    run.path.mkdir(parents=True, exist_ok=True)
    write_atomic(run.ir_file, ir.model_dump_json().encode())
    write_atomic(run.params_file, json.dumps(dict(request.params), ensure_ascii=False).encode())
    bin_dir = Path(ir.source.directory) / "bin" if ir.source.directory else None
    bin_dirs = (str(bin_dir),) if bin_dir is not None and bin_dir.is_dir() else ()
    compiler = KfpCompiler(ir, options, "local", bin_dirs)
    package = run.path / "pipeline.yaml"
    package.write_text(compiler.package(), encoding="utf-8")
    records_dir = run.path / "records"
    records_dir.mkdir()
    arguments = {
        compiler.param_names[name]: float(value) if ir.parameter(name).type == "number" else value
        for name, value in request.params.items()
    }  # KFP types a number parameter as a double and refuses an int for it
    notices = [*request.notices, "kfp.local runs at most 2 tasks at once (the pipeline's limits still hold)"]
    if any(s.cache for s in ir.all_steps):
        notices.append("kfp.local run: step caching is not used here (it is in the cluster package)")
    started = time.time()
    error = None
    with (
        _quiet(run.path / "kfp.log"),
        _environ(RECORDS_ENV, str(records_dir)),
        _environ("PYTHONPATH", _import_path(ir)),
        commands_through_files(run.path / "commands"),
    ):
        local.init(
            runner=local.SubprocessRunner(use_venv=False),
            pipeline_root=str(run.path / "kfp"),
            workspace_root=str(run.path / "workspace"),
            raise_on_error=True,
        )
        try:
            components.load_component_from_file(str(package))(**arguments)
        except Exception as e:  # noqa: BLE001 - "Pipeline 'p' finished with status FAILURE. Inner task failed: 'x'."
            # or anything kfp.local raises: the run is still recorded, with what it said
            error = _plain(str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__)
    records = read_records(records_dir)
    status = _status(ir, run, records, error, started, time.time(), tuple(notices))
    _write_logs_and_provenance(ir, run, records, request)
    run.write_status(status)
    return status


def _status(
    ir: PipelineIR,
    run: RunDirectory,
    records: list[dict[str, Any]],
    error: str | None,
    started: float,
    finished: float,
    notices: tuple[str, ...],
) -> RunStatus:
    tasks = []
    for (step, item), attempts in _attempts(ir, records).items():
        last = attempts[-1]
        tasks.append(
            TaskStatus(
                step=step,
                item=item,
                state=TaskState(last["state"]),
                started_at=attempts[0].get("started"),
                finished_at=last.get("finished"),
                attempts=len([a for a in attempts if a["state"] != "Omitted"]) or 1,
                exit_code=last.get("exit_code"),
                message=_plain(last.get("message", "")),
            )
        )
    seen = {t.step for t in tasks}
    for unseen in ir.all_steps:  # steps kfp never started: a false condition, or stopped by a failure
        if unseen.name not in seen:
            state = TaskState.SKIPPED if unseen.when is not None and error is None else TaskState.OMITTED
            tasks.append(TaskStatus(step=unseen.name, state=state, message="not run by kfp.local"))
    order = {s.name: i for i, s in enumerate(ir.all_steps)}
    tasks.sort(key=lambda t: (order[t.step], -1 if t.item is None else t.item))
    failed = [t for t in tasks if t.state in (TaskState.FAILED, TaskState.ERROR)]
    if error is not None and not failed:
        name = _FAILED_TASK.search(error)
        message = f"{error} (task {name.group(1)!r})" if name else error
    elif failed:
        first = failed[0]
        label = first.step if first.item is None else f"{first.step}[{first.item}]"
        message = f"{len(failed)} task(s) failed; first: {label}: {first.message}"
    else:
        message = ""
    state = TaskState.FAILED if error is not None or failed else TaskState.SUCCEEDED
    return RunStatus(
        run_id=run.run_id,
        pipeline=ir.name,
        backend="kubeflow",
        state=state,
        started_at=started,
        finished_at=finished,
        tasks=tuple(tasks),
        message=message,
        notices=notices,
        outputs=_outputs(ir, records) if state == TaskState.SUCCEEDED else {},
        location=str(run.path),
        flowyard_version=__version__,
    )


def _attempts(ir: PipelineIR, records: list[dict[str, Any]]) -> dict[tuple[str, int | None], list[dict[str, Any]]]:
    """Each task's records, one per attempt kfp.local made (it retries as set_retry says), in order."""
    out: dict[tuple[str, int | None], list[dict[str, Any]]] = {}
    for r in sorted(records, key=lambda r: (r.get("started") or 0, r.get("finished") or 0)):
        item = r.get("item") if ir.step(r["step"]).for_each is not None else None
        out.setdefault((r["step"], item), []).append(r)
    return out


def _outputs(ir: PipelineIR, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Pipeline outputs from the task records: a file's path, a value, or a list in item order."""
    by_task: dict[tuple[str, int | None], dict[str, Any]] = {
        (r["step"], r.get("item")): r for r in records if r["state"] == "Succeeded"
    }
    out: dict[str, Any] = {}
    for o in ir.outputs:
        producer = ir.step(o.source.step)
        kind = "files" if producer.output(o.source.output).type == "file" else "values"

        def pick(record: dict[str, Any] | None, kind: str = kind, name: str = o.source.output) -> Any:
            return None if record is None else (record.get(kind) or {}).get(name)

        if o.source.collect:
            items = sorted({i for (s, i) in by_task if s == producer.name and i is not None})
            count = max(items) + 1 if items else 0
            out[o.name] = [pick(by_task.get((producer.name, i))) for i in range(count)]
        else:
            record = by_task.get((producer.name, None)) or next(
                (r for (s, _), r in by_task.items() if s == producer.name), None
            )
            out[o.name] = pick(record)
    return out


def _write_logs_and_provenance(
    ir: PipelineIR, run: RunDirectory, records: list[dict[str, Any]], request: RunRequest
) -> None:
    for r in records:
        step: StepIR = ir.step(r["step"])
        item = r.get("item") if step.for_each is not None else None
        if r.get("log") and Path(r["log"]).exists():
            dest = run.log_file(step.name, item)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(r["log"], dest)
        if r["state"] != "Succeeded":
            continue
        outputs = []
        for name, path in (r.get("files") or {}).items():
            digest, size = sha256_tree(Path(path))
            outputs.append(DataDigest(name=name, type="file", uri=f"file://{path}", sha256=digest, size=size))
        outputs += [DataDigest(name=n, type="value", value=v) for n, v in (r.get("values") or {}).items()]
        inputs = [DataDigest.model_validate(row) for row in r.get("inputs") or []]
        record = ProvenanceRecord.of_task(
            step,
            request.params,
            item,
            run_id=run.run_id,
            pipeline=ir.name,
            backend="kubeflow",
            flowyard_version=__version__,
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            command=tuple(r["command"]) if r.get("command") else None,
            image_honoured=False,
            started_at=r.get("started"),
            finished_at=r.get("finished"),
            exit_code=r.get("exit_code"),
            notices=("run by kfp.local (SubprocessRunner) on this machine",),
        )
        write_atomic(run.task_dir(step.name, item) / PROVENANCE_FILE, record.model_dump_json(indent=1).encode())
