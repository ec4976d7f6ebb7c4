"""What a workflow run leaves in core's run folder, so ``flowyard status``, ``flowyard logs`` and ``--resume`` read
it as they read a local run: a task per pod (a Retry node's attempts are one task's attempts), its logs as the
task's ``stdout.log``/``stderr.log`` with secrets masked, its provenance record, a ``journal.jsonl`` line when it
ends (in core's encoding, plus the node it was, for ``argo retry``), ``run.json`` rewritten as pods end, and a
plain progress line as each pod starts and ends.

A task's name is its step's (or DAG task's) name, and its item the loop index Argo puts in the node's display name
(``each(1:b)`` is ``each`` item 1); two nodes of the same name (a template called from two places, recursion) get
``name-2``, ``name-3``... in the order they first ran, kept across ``argo retry`` through the journal.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowyard import __version__
from flowyard.masking import redact, redact_value
from flowyard.provenance import ProvenanceRecord
from flowyard.runs import SYMBOLS, RunDirectory, RunStatus, TaskState, TaskStatus, read_journal, write_atomic
from flowyard.runs.journal import StoredFile, encode_task
from flowyard_argo.executor.nodes import RETRY, Node, NodeTree, node_id

_ATTEMPT = re.compile(r"(.*)\((\d+)\)", re.S)  # a Retry node's child: ``<retry node name>(<attempt>)``
_LOOP_ITEM = re.compile(r"(.*?)\((\d+):.*\)", re.S)  # a loop child's display name: ``<name>(<index>:<item>)``
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
Progress = Callable[[str], None]


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


def plain_progress(line: str) -> None:
    """Progress off a terminal, as the local backend prints it: a timestamped line on stderr."""
    import sys

    print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


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
        progress: Progress | None = None,
    ) -> None:
        self.directory = directory
        self.header = header  # the run's status less its tasks: what run.json says around them
        self.secrets = tuple(secrets)
        self.progress = progress
        self._lock = threading.RLock()  # held while run.json is rebuilt, which names tasks too
        self._names: dict[str, tuple[str, int | None]] = {}  # task node name -> (step, item)
        self._taken: set[tuple[str, int | None]] = set()
        for event in read_journal(directory.journal_file):  # argo retry: the names the first run gave
            if event.get("t") == "task" and isinstance(event.get("task"), str):
                self._claim(event["task"], (event["step"], event.get("item")))
        directory.path.mkdir(parents=True, exist_ok=True)
        self._journal = _open_journal(directory.journal_file)

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
                self._claim(owner.name, _task_name(owner.display_name), fresh=True)
            step, item = self._names[owner.name]
        return owner.name, step, item, attempt

    def _claim(self, owner: str, wanted: tuple[str, int | None], fresh: bool = False) -> None:
        step, item = wanted
        number = 1
        while fresh and (step if number == 1 else f"{step}-{number}", item) in self._taken:
            number += 1
        key = (step if number == 1 else f"{step}-{number}", item)
        self._names[owner] = key
        self._taken.add(key)

    def pod_started(self, tree: NodeTree, node: Node) -> None:
        if self.progress is not None:
            _, step, item, attempt = self.task_of(tree, node)
            again = f" (attempt {attempt})" if attempt > 1 else ""
            self.progress(f"{SYMBOLS[TaskState.RUNNING]} {_label(step, item)} started{again}")

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
        line = json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            self._journal.write(line)
            self._journal.flush()
            os.fsync(self._journal.fileno())
            self.directory.write_status(self.status(tree))
        if self.progress is not None:
            message = f": {task.message}" if task.message and not node.phase.ok else ""
            self.progress(f"{SYMBOLS[node.phase]} {_label(step, item)} {node.phase.value.lower()}{message}")

    def tasks(self, tree: NodeTree) -> tuple[TaskStatus, ...]:
        """One task per pod (a Retry node's attempts: one task, its last attempt deciding), in the order they ran."""
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
        return tuple(latest.values())

    def status(self, tree: NodeTree, **changes: Any) -> RunStatus:
        """The run's status now: the header with ``changes`` and the tasks so far."""
        return self.header.model_copy(update={**changes, "tasks": self.tasks(tree)})

    def close(self) -> None:
        self._journal.close()

    def _copy_logs(self, node: Node, step: str, item: int | None, attempt: int) -> None:
        """The pod's streams into the task's log files, secrets masked (an attempt after the first appended under
        a ``--- attempt N ---`` line, as core's log reader expects); the pod folder's own copies masked too."""
        pod_folder = self.directory.path / "pods" / (node.pod or node.id)
        for stream in ("stdout", "stderr"):
            source = pod_folder / f"{stream}.log"
            data = source.read_bytes() if source.is_file() else b""
            if self.secrets and data:
                data = redact(data.decode("utf-8", "replace"), self.secrets).encode()
                write_atomic(source, data, sync=False)
            target = self.directory.log_file(step, item, stream)
            if attempt <= 1:
                write_atomic(target, data, sync=False)
            else:
                with open(target, "ab") as f:
                    f.write(f"--- attempt {attempt} ---\n".encode() + data)

    def _write_provenance(
        self, node: Node, template: Mapping[str, Any], step: str, item: int | None, attempt: int
    ) -> None:
        body = template.get("container") or template.get("script") or {}
        given = {str(p["name"]): p.get("value") for p in node.inputs.get("parameters") or []}
        command = [str(word) for word in [*(body.get("command") or []), *(body.get("args") or [])]]
        record = ProvenanceRecord(
            run_id=self.header.run_id,
            pipeline=self.header.pipeline,
            step=step,
            item=item,
            attempt=attempt,
            backend="argo",
            flowyard_version=__version__,
            parameters=redact_value(given, self.secrets),
            command=tuple(redact(word, self.secrets) for word in command) or None,
            image=str(body.get("image") or "") or None,
            image_honoured=False,  # the image map's host programs stand in for the image
            started_at=node.started_at,
            finished_at=node.finished_at,
            exit_code=int(node.outputs["exitCode"]) if "exitCode" in node.outputs else None,
        )
        write_atomic(self.directory.provenance_file(step, item), record.model_dump_json(indent=1).encode(), sync=False)


def _task_name(display: str) -> tuple[str, int | None]:
    match = _LOOP_ITEM.fullmatch(display)
    base, item = (match.group(1), int(match.group(2))) if match else (display, None)
    return _UNSAFE.sub("-", base).strip("-.") or "pod", item


def _label(step: str, item: int | None) -> str:
    return step if item is None else f"{step}[{item}]"


def _open_journal(path: Path) -> Any:
    """The journal opened to append; a torn last line a killed run left is ended first, so ours stand alone."""
    handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by RunRecord.close
    if handle.tell() > 0:
        with open(path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                handle.write("\n")
    return handle
