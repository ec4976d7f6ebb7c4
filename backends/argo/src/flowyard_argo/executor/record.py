"""What a workflow run leaves in core's run folder, so ``flowyard status``, ``flowyard logs`` and ``--resume`` read
it as they read a local run: a task per pod (a Retry node's attempts are one task's attempts), its logs as the
task's ``stdout.log``/``stderr.log`` with secrets masked, its provenance record, a ``journal.jsonl`` line when it
ends (core's journal writer and encoding, plus the node it was, for ``argo retry``), ``run.json`` rewritten as pods
end, and core's progress: a line as each pod starts and ends, or on a terminal the live view, a row per step.

A task's name is its step's (or DAG task's) name, a pipeline's step by its name in the spec as every report gives it
(:func:`flowyard_argo.reported_tasks.step_of`), and its item the loop index Argo puts in the node's display name
(``each(1:b)`` is ``each`` item 1); two nodes of the same name (a template called from two places, recursion) get
``name-2``, ``name-3``... in the order they first ran, kept across ``argo retry`` through the journal.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from flowyard import __version__
from flowyard.execution.journal import Journal
from flowyard.execution.logfiles import redact_file
from flowyard.execution.progress import LiveProgress, PlainProgress, Progress, StepRow
from flowyard.ir import StepIR
from flowyard.masking import redact, redact_value
from flowyard.provenance import ProvenanceRecord
from flowyard.runs import (
    RunDirectory,
    RunStatus,
    TaskState,
    TaskStatus,
    aggregate_state,
    read_journal,
    write_atomic,
)
from flowyard.runs.journal import StoredFile, encode_task
from flowyard_argo.executor.nodes import RETRY, SKIPPED, Node, NodeTree, node_id
from flowyard_argo.reported_tasks import NOT_STARTED, failed_checks, item_of, never_started, passed_over, step_of

_ATTEMPT = re.compile(r"(.*)\((\d+)\)", re.S)  # a Retry node's child: ``<retry node name>(<attempt>)``
# a loop child's display name, ``<name>(<index>:<item>)``, and its hooks' and exit handler's (``....onExit``)
_LOOP_ITEM = re.compile(r"(.*?)\((\d+):.*\)([^)]*)", re.S)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
STATUS_INTERVAL = 0.5  # seconds between run.json snapshots while pods end (the journal has every end at once)


@dataclass(frozen=True)
class PipelineTasks:
    """For ``flowyard run PIPELINE --backend argo``: the pipeline's steps by the task name its compiled manifest
    gives them (their DNS names), and the run's parameters: what a step determines of its provenance record."""

    steps: Mapping[str, StepIR]
    params: Mapping[str, Any]

    @cached_property
    def names(self) -> dict[str, str]:
        """Task name -> the step's name in the spec."""
        return {task: step.name for task, step in self.steps.items()}

    @cached_property
    def by_name(self) -> dict[str, StepIR]:
        return {step.name: step for step in self.steps.values()}


@dataclass(frozen=True)
class PodTask:
    """One pod's end as the journal records a task (:class:`flowyard.runs.journal.JournalTask`)."""

    step: str
    item: int | None
    state: TaskState
    started_at: float | None
    finished_at: float | None
    attempts: int
    exit_code: int | None
    message: str
    values: Mapping[str, Any] = field(default_factory=dict)
    cached: bool = False
    files: Mapping[str, StoredFile] = field(default_factory=dict)
    missing: Mapping[str, list[int]] = field(default_factory=dict)


def previous_nodes(journal: Path, skip_prefix: str) -> dict[str, dict[str, Any]]:
    """Each pod node the journal recorded (the latest line of each), as ``status.nodes`` holds it: what
    ``argo retry`` keeps when it Succeeded. Nodes whose name starts with ``skip_prefix`` are left out."""
    nodes: dict[str, dict[str, Any]] = {}
    for event in read_journal(journal):
        name = event.get("node")
        if event.get("t") != "task" or not isinstance(name, str) or name.startswith(skip_prefix):
            continue
        nodes[name] = {
            "phase": event.get("state"),
            "outputs": event.get("outputs") or {},
            "startedAt": event.get("started"),
            "finishedAt": event.get("finished"),
        }
    return nodes


class RunRecord:
    """The run folder of one workflow run, written as its pods end (from the threads that run them)."""

    def __init__(
        self,
        directory: RunDirectory,
        header: RunStatus,
        *,
        secrets: Sequence[str] = (),
        secret_source: Callable[[], Sequence[str]] | None = None,
        progress: str = "quiet",
        pipeline: PipelineTasks | None = None,
        step_names: Mapping[str, str] | None = None,
        exit_templates: frozenset[str] = frozenset(),
    ) -> None:
        self.directory = directory
        self.header = header  # the run's status less its tasks: what run.json says around them
        self._secrets = tuple(secrets)
        self._secret_source = secret_source  # the values resolved as the run goes (pods' env, S3 keys)
        self.pipeline = pipeline
        # task name -> step name in the spec (a resumed run has them from retry.json, not its pipeline)
        self.step_names: Mapping[str, str] = pipeline.names if pipeline is not None else dict(step_names or {})
        self.exit_templates = exit_templates  # the on-exit alternatives (reported_tasks.exit_alternatives)
        self.progress_mode = progress  # "quiet", "plain" (lines), "live" (core's live view, plain without rich)
        self.progress: Progress | None = None
        self._lock = threading.RLock()  # held while run.json is rebuilt, which names tasks too
        self._names: dict[str, tuple[str, int | None]] = {}  # task node name -> (step, item)
        self._taken: set[tuple[str, int | None]] = set()
        self._status_written = float("-inf")
        for event in read_journal(directory.journal_file):  # argo retry: the names the first run gave
            if event.get("t") == "task" and isinstance(event.get("task"), str):
                self._claim(event["task"], (event["step"], event.get("item")))
        self._journal = Journal(directory.journal_file)  # core's writer: committed in windows, fsynced

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value the run knows so far: what its records mask."""
        later = tuple(self._secret_source()) if self._secret_source is not None else ()
        return self._secrets + later

    @cached_property
    def _steps(self) -> frozenset[str]:
        return frozenset(self.step_names.values())

    def task_of(self, tree: NodeTree, node: Node) -> tuple[str, str, int | None, int]:
        """(task node name, step, item, attempt) of a pod node."""
        owner, attempt = node, 1
        match = _ATTEMPT.fullmatch(node.name)
        if match:
            parent = tree.nodes.get(node_id(tree.workflow, match.group(1)))
            if parent is not None and parent.type == RETRY:
                owner, attempt = parent, int(match.group(2)) + 1
        with self._lock:
            if owner.name not in self._names:
                self._claim(owner.name, self._step_item(owner, node.inputs), fresh=True)
            step, item = self._names[owner.name]
        return owner.name, step, item, attempt

    def _step_item(self, node: Node, inputs: Mapping[str, Any] | None = None) -> tuple[str, int | None]:
        """(step, item) of a node: a pipeline's step by its name in the spec, any other by its display name; the
        item by :func:`flowyard_argo.reported_tasks.item_of`, from the pod's ``inputs``."""
        task, item = task_name(node.display_name)
        return step_of(task, node.template, self.step_names) or task, item_of(item, inputs)

    def _claim(self, owner: str, wanted: tuple[str, int | None], fresh: bool = False) -> None:
        step, item = wanted
        number = 1
        while fresh and (step if number == 1 else f"{step}-{number}", item) in self._taken:
            number += 1
        key = (step if number == 1 else f"{step}-{number}", item)
        self._names[owner] = key
        self._taken.add(key)

    def pod_started(self, tree: NodeTree, node: Node) -> None:
        """A pod is about to start: its progress line, and its logs readable as the task's while it runs."""
        _, step, item, attempt = self.task_of(tree, node)
        if attempt == 1 and not self.secrets:
            self._link_logs(node, step, item)
        if self.progress is not None and self._shown(step, item, node) == step:
            again = f" (attempt {attempt})" if attempt > 1 else ""
            self.progress.step_started(StepRow(_label(step, item) + again, TaskState.RUNNING, running=1))

    def _link_logs(self, node: Node, step: str, item: int | None) -> None:
        """The task's log files as second names of the pod's (which the pod's launcher truncates, never replaces),
        so ``flowyard logs -f`` follows a pod as it runs; its end replaces them with copies (masked, if need be).
        Not with secrets to mask (the pod's raw output would show), nor for a later attempt (appended to the
        earlier ones); where the file system has no hard links, the task's logs appear at the pod's end."""
        pod_folder = self.directory.path / "pods" / (node.pod or node.id)
        try:
            pod_folder.mkdir(parents=True, exist_ok=True)
            for stream in ("stdout", "stderr"):
                source, target = pod_folder / f"{stream}.log", self.directory.log_file(step, item, stream)
                source.touch()
                target.parent.mkdir(parents=True, exist_ok=True)
                target.unlink(missing_ok=True)
                os.link(source, target)
        except OSError:
            pass

    def pod_finished(self, tree: NodeTree, node: Node, template: Mapping[str, Any], *, kept: bool = False) -> None:
        """A pod node ended: its logs, provenance, journal line, the run's status, a progress line.

        ``kept``: a pod ``argo retry`` kept from the run it retries (its logs are there already)."""
        owner, step, item, attempt = self.task_of(tree, node)
        if not kept:
            self._copy_logs(node, step, item, attempt)
        self._write_provenance(node, template, step, item, attempt)
        exit_code = node.outputs.get("exitCode")
        task = PodTask(
            step,
            item,
            node.phase,
            node.started_at,
            node.finished_at,
            attempt,
            int(exit_code) if exit_code is not None else None,
            redact(node.message, self.secrets),
        )
        event = {**encode_task(task), "task": owner, "node": node.name, "pod": node.pod}
        if node.outputs:
            event["outputs"] = redact_value(node.outputs, self.secrets)
        self._journal.append(event)
        with self._lock:  # run.json: a snapshot at most every STATUS_INTERVAL (each one names every task so far)
            now = time.monotonic()
            if now - self._status_written >= STATUS_INTERVAL:
                self.directory.write_status(self.status(tree))
                self._status_written = now
        shown = self._shown(step, item, node) if self.progress is not None else None
        if self.progress is not None and shown is not None:
            message = task.message if not node.phase.ok else ""
            ended = StepRow(_label(shown, item), node.phase, done=1, failed=int(not node.phase.ok), message=message)
            self.progress.step_ended(ended)

    def _shown(self, step: str, item: int | None, node: Node) -> str | None:
        """The step a pod's progress line names: its own; for flowyard's own pods (numbering, checks) in a
        pipeline's run, none, or the step whose failure it is (:func:`reported_tasks.failed_checks`)."""
        if not self.step_names or step in self._steps:
            return step
        failed = failed_checks([(step, item, node.phase.value, node.message)], self.step_names)
        return next((shown for shown, _ in failed), None)

    def tasks(self, tree: NodeTree, ended: TaskState | None = None) -> tuple[TaskStatus, ...]:
        """One task per pod (a Retry node's attempts: one task, its last attempt deciding), in the order they ran; of
        a pipeline's run, its steps' only (an item helper's or a check's pod keeps its logs, not a task), and once it
        has ``ended``, the steps a failure kept from starting (:func:`reported_tasks.never_started`)."""
        latest: dict[tuple[str, int | None], TaskStatus] = {}
        for pod in tree.pods():
            _, step, item, attempt = self.task_of(tree, pod)
            exit_code = pod.outputs.get("exitCode")
            latest[(step, item)] = TaskStatus(
                step=step,
                item=item,
                state=pod.phase,
                started_at=pod.started_at,
                finished_at=pod.finished_at,
                attempts=attempt,
                exit_code=int(exit_code) if exit_code is not None else None,
                message=redact(pod.message, self.secrets),
            )
        if not self.step_names:
            return tuple(latest.values())
        latest.update(self._passed_over(tree, latest))  # a pipeline's run: its tasks by the rules every report uses
        latest.update(self._failed_checks(latest))
        if ended is not None:
            latest.update(self._never_started(tree, ended))
        steps = set(self.step_names.values())
        return tuple(task for task in latest.values() if task.step in steps)  # not flowyard's own pods

    def _never_started(self, tree: NodeTree, ended: TaskState) -> dict[tuple[str, int | None], TaskStatus]:
        nodes = [(task_name(n.display_name)[0], n.template) for n in list(tree.nodes.values())]  # a snapshot
        missing = never_started(self.step_names, nodes, ended.value)
        return {(step, None): TaskStatus(step, None, TaskState.OMITTED, message=NOT_STARTED) for step in missing}

    def _failed_checks(
        self, tasks: Mapping[tuple[str, int | None], TaskStatus]
    ) -> dict[tuple[str, int | None], TaskStatus]:
        """A producer whose value failed its check task is a failed step (:func:`reported_tasks.failed_checks`)."""
        rows = ((step, item, task.state, task.message) for (step, item), task in tasks.items())
        found = {}
        for key, (phase, message) in failed_checks(rows, self.step_names).items():
            if key in tasks:
                found[key] = replace(tasks[key], state=TaskState(phase), message=message)
        return found

    def _passed_over(
        self, tree: NodeTree, ran: Mapping[tuple[str, int | None], TaskStatus]
    ) -> dict[tuple[str, int | None], TaskStatus]:
        """A pipeline step that never got a pod, and is a task of the report (:func:`reported_tasks.passed_over`):
        its ``when`` was false (Skipped) or what it needs did not come (Omitted), as a local run reports it."""
        found = {}
        for node in list(tree.nodes.values()):  # a snapshot: the threads that run other branches add nodes
            if node.type != SKIPPED:
                continue
            task, item = task_name(node.display_name)
            step = step_of(task, node.template, self.step_names)
            if step is None or (step, item) in ran:
                continue
            if not passed_over(node.phase, node.message, node.template, self.exit_templates):
                continue
            message = redact(node.message, self.secrets)
            found[(step, item)] = TaskStatus(step, item, node.phase, node.started_at, node.finished_at, message=message)
        return found

    def status(self, tree: NodeTree, **changes: Any) -> RunStatus:
        """The run's status now: the header with ``changes`` (masked) and the tasks so far."""
        masked = {key: self.masked(value) if key in ("message", "outputs") else value for key, value in changes.items()}
        ended = changes.get("state")
        tasks = self.tasks(tree, ended if isinstance(ended, TaskState) and ended.done else None)
        return self.header.model_copy(update={**masked, "tasks": tasks})

    def rows(self, tree: NodeTree) -> list[StepRow]:
        """The live view's rows: one per step, a loop's items counted (their number grows as the run unfolds)."""
        by_step: dict[str, list[TaskStatus]] = {}
        for task in self.tasks(tree):
            by_step.setdefault(task.step, []).append(task)
        rows = []
        for step, tasks in by_step.items():
            states = [t.state for t in tasks]
            running = sum(s is TaskState.RUNNING for s in states)
            state = TaskState.RUNNING if running else aggregate_state(states)
            done = sum(s.done for s in states)
            failed = sum(s.done and not s.ok for s in states)
            rows.append(StepRow(step, state, total=len(tasks), done=done, running=running, failed=failed))
        return rows

    def masked(self, value: Any) -> Any:
        """A JSON value as the run folder may hold it: every secret the run knows shown as ``***``."""
        return redact_value(value, self.secrets)

    def start(self, tree: NodeTree) -> None:
        """The run begins: its progress view opens (the live one redraws from ``tree``)."""
        if self.progress_mode == "live":
            try:
                self.progress = LiveProgress(lambda: self.rows(tree))
            except ImportError:  # rich is not installed
                self.progress = PlainProgress()
        elif self.progress_mode == "plain":
            self.progress = PlainProgress()

    def close(self) -> None:
        self._journal.close()
        if self.progress is not None:
            self.progress.close()

    def _copy_logs(self, node: Node, step: str, item: int | None, attempt: int) -> None:
        """The pod's streams into the task's log files, secrets masked (an attempt after the first appended under
        a ``--- attempt N ---`` line, as core's log reader expects); the pod folder's own copies masked too."""
        pod_folder = self.directory.path / "pods" / (node.pod or node.id)
        for stream in ("stdout", "stderr"):
            source = pod_folder / f"{stream}.log"
            target = self.directory.log_file(step, item, stream)
            if source.is_file():
                redact_file(str(source), self.secrets)
            if attempt <= 1:
                write_atomic(target, source.read_bytes() if source.is_file() else b"", sync=False)
                continue
            with open(target, "ab") as f:
                f.write(f"--- attempt {attempt} ---\n".encode())
                if source.is_file():
                    with open(source, "rb") as pod_log:
                        shutil.copyfileobj(pod_log, f)

    def _write_provenance(
        self, node: Node, template: Mapping[str, Any], step: str, item: int | None, attempt: int
    ) -> None:
        body = template.get("container") or template.get("script") or {}
        given = {str(p["name"]): p.get("value") for p in node.inputs.get("parameters") or []}
        command = [str(word) for word in [*(body.get("command") or []), *(body.get("args") or [])]]
        measured: dict[str, Any] = {
            "run_id": self.header.run_id,
            "pipeline": self.header.pipeline,
            "attempt": attempt,
            "backend": "argo",
            "flowyard_version": __version__,
            "command": tuple(redact(word, self.secrets) for word in command) or None,
            "image_honoured": False,  # the image map's host programs stand in for the image
            "started_at": node.started_at,
            "finished_at": node.finished_at,
            "exit_code": int(node.outputs["exitCode"]) if "exitCode" in node.outputs else None,
        }
        ir_step = self.pipeline.by_name.get(step) if self.pipeline is not None else None
        if ir_step is not None and self.pipeline is not None:  # a pipeline's step: what it determines, the same
            record = ProvenanceRecord.of_task(ir_step, self.pipeline.params, item, **measured)  # on every backend
        else:
            image = str(body.get("image") or "") or None
            parameters = redact_value(given, self.secrets)
            record = ProvenanceRecord(step=step, item=item, parameters=parameters, image=image, **measured)
        write_atomic(self.directory.provenance_file(step, item), record.model_dump_json(indent=1).encode(), sync=False)


def task_name(display: str) -> tuple[str, int | None]:
    """(step, item) of a node's display name: the loop index out of it, what a folder name cannot hold made ``-``."""
    match = _LOOP_ITEM.fullmatch(display)
    base, item = (match.group(1) + match.group(3), int(match.group(2))) if match else (display, None)
    return _UNSAFE.sub("-", base).strip("-.") or "pod", item


def _label(step: str, item: int | None) -> str:
    return step if item is None else f"{step}[{item}]"
