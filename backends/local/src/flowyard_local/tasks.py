"""Running one task: stage its inputs, run its command or function, collect its outputs.

Container steps run their argv as a subprocess (never through a shell) in a fresh working
directory, in a process group of their own so a timeout or Ctrl-C kills everything they started.
Python steps run in-process on a worker thread, or through ``python -m flowyard.step`` in a
subprocess when they have a timeout (a thread cannot be killed), ``env`` or ``secrets`` (a thread
has no environment of its own: the process's is shared by every worker), or when asked to.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import posixpath
import shutil
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowyard import __version__, templates, value_matches
from flowyard.errors import InfrastructureError
from flowyard.execution.logfiles import CapturedLog, CapturedOutput, redact_file, tail
from flowyard.execution.processes import ProcessGroups, kill_group
from flowyard.execution.streams import TaskOutputCapture
from flowyard.ir import (
    ContainerIR,
    InputRef,
    ItemRef,
    OutputIR,
    OutputPathRef,
    ParamRef,
    RunStatusRef,
    StepIR,
    Template,
)
from flowyard.masking import redact_value
from flowyard.provenance import PROVENANCE_FILE, record_json, sha256_tree, task_fields, tree_digest
from flowyard.runs import TaskState, TaskStatus, redact, task_dir_name, write_atomic
from flowyard.runs.journal import encode_task, encode_tasks
from flowyard.stepimage.step import (
    FunctionSignature,
    StepFunctionError,
    TaskInput,
    TaskOutput,
    TaskSpec,
    import_function,
    read_value_outputs,
    signature_of,
    value_outputs_from_return,
)
from flowyard.store import ArtifactStore
from flowyard.templates import render_value

from flowyard_local.outputs import UnsafeOutputError, check_output, open_output, sha256_fd
from flowyard_local.stepfiles import CAPTURED_FILE, PROVENANCE_LINES, StepFile, captured_line

# Reading a member off an Enum class costs 150 ns on Python 3.11 (a plain class attribute, 25 ns),
# and a task's way through the runner read a dozen: the runner names them once here.
RUNNING, SUCCEEDED, FAILED, ERROR = TaskState.RUNNING, TaskState.SUCCEEDED, TaskState.FAILED, TaskState.ERROR
SKIPPED, OMITTED = TaskState.SKIPPED, TaskState.OMITTED


class TaskFailure(Exception):
    """The task failed in a way retries may fix (non-zero exit, exception, missing output)."""

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class TaskError(Exception):
    """The task cannot run as specified (a missing secret, an item without the field): no retry."""


@dataclass(frozen=True)
class FileRef:
    """An artifact in the store, with its digest."""

    key: str
    sha256: str | None = None
    source: str = ""


@dataclass(slots=True)
class ResolvedInput:
    name: str
    type: str
    value: Any = None
    file: FileRef | None = None
    files: list[tuple[int, FileRef | None]] | None = None  # fan-in of files, item order
    source: str = ""
    failed_items: tuple[int, ...] = ()


@dataclass(slots=True)
class TaskPlan:
    step: StepIR
    item: int | None
    item_value: Any
    inputs: dict[str, ResolvedInput]
    run_status: str = "Succeeded"  # for ${{ run.status }} in the on-exit step
    collects: bool = False  # some input is a fan-in


@dataclass(slots=True)
class TaskResult(TaskStatus):
    """How a task ended: its status as the run reports it, and what the runner keeps beside it."""

    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, FileRef] = field(default_factory=dict)
    infrastructure: bool = False
    missing: dict[str, list[int]] = field(default_factory=dict)  # fan-in inputs: items that failed

    def journal_event(self) -> dict[str, Any]:
        return encode_task(self)

    @staticmethod
    def journal_group(results: list[TaskResult]) -> dict[str, Any]:
        """Tasks of one step that finished together, as one event (:func:`flowyard.runs.journal.encode_tasks`)."""
        return encode_tasks(results)

    @classmethod
    def from_journal(cls, event: Mapping[str, Any]) -> TaskResult:
        return cls(
            step=event["step"],
            item=event.get("item"),
            state=TaskState(event["state"]),
            started_at=event.get("started"),
            finished_at=event.get("finished"),
            attempts=event.get("attempts", 0),
            exit_code=event.get("exit"),
            message=event.get("msg", ""),
            values=event.get("values", {}),
            files={k: FileRef(v[0], v[1]) for k, v in event.get("files", {}).items()},
            cached=event.get("cached", False),
        )


@dataclass(frozen=True)
class StepPlan:
    """What every task of one step shares, worked out once per step rather than once per task."""

    makes_folder: bool  # the task's folder is made before it runs (it has files, or a working directory)
    makes_workdir: bool  # and work/ in it: a cwd for commands, or a function's ``workdir``
    in_process: bool  # a Python function called on the worker thread
    wants_workdir: bool  # the function takes a ``workdir`` argument
    file_outputs: tuple[str, ...]
    value_outputs: tuple[OutputIR, ...]
    nested_outputs: tuple[str, ...]  # file outputs whose path has folders of its own to make
    output_files: Mapping[str, str]  # output -> the file the task writes it to, under its folder
    declared_inputs: Mapping[str, str]  # input with a path of its own -> where it goes, under the task's folder
    out_dir: bool  # some output goes to out/<name> (a file without a path, or a command's value)
    function: tuple[Callable[..., Any], FunctionSignature] | None = None  # in-process steps
    passes_all: bool = False  # the function accepts everything the step provides: no selecting per task


@dataclass
class RunContext:
    """What every task of a run shares. Read-only once the run starts, except the process registry."""

    run_id: str
    run_dir: Path
    pipeline: str
    store: ArtifactStore
    params: Mapping[str, Any]
    environ: Mapping[str, str]
    bin_dir: Path | None
    python_path: tuple[str, ...]
    stop: threading.Event
    python_subprocess: bool = False
    resumed: bool = False  # tasks may find what an earlier, killed or failed, attempt left
    store_in_run_dir: bool = True
    notices: tuple[str, ...] = ()
    processes: ProcessGroups = field(default_factory=ProcessGroups)
    functions: dict[str, tuple[Callable[..., Any], FunctionSignature]] = field(default_factory=dict)
    step_plans: dict[str, StepPlan] = field(default_factory=dict)
    made_dirs: set[str] = field(default_factory=set)  # steps whose folder exists
    capture: TaskOutputCapture = field(default_factory=TaskOutputCapture)
    cache: Any = None
    watchdog: Any = None  # a reaper.Watchdog: ends the run's processes if flowyard dies
    step_files: dict[str, StepFile] = field(default_factory=dict)  # in-process steps' logs and provenance

    def step_file(self, step: str, name: str) -> StepFile:
        """A step's append-only file (``stepfiles``), made once however many workers ask at once."""
        path = f"{self.run_dir_text}/tasks/{step}/{name}"
        found = self.step_files.get(path)
        return found if found is not None else self.step_files.setdefault(path, StepFile(path))

    def close_step_files(self) -> None:
        for f in self.step_files.values():
            f.close()

    @functools.cached_property
    def run_dir_text(self) -> str:
        return str(self.run_dir)

    @functools.cached_property
    def base_env(self) -> dict[str, str]:
        """The environment every task starts from: constant for a run, so built once."""
        env = dict(self.environ)
        if self.bin_dir is not None and self.bin_dir.is_dir():
            env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', os.defpath)}"
        if self.python_path:
            parts = [*self.python_path, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
            env["PYTHONPATH"] = os.pathsep.join(parts)
        return env

    def kill_all(self) -> None:
        self.processes.kill_all()


# What the runner keeps in a task's folder; a function's own files go beside them only if none of
# their paths starts with one of these.
_TASK_FILES = frozenset(
    {"stdout.log", "stderr.log", PROVENANCE_FILE, "work", "in", "out", "outputs", "task.json", "result.json"}
    | {CAPTURED_FILE, PROVENANCE_LINES}
)


def _meets_task_files(path: str) -> bool:
    first = posixpath.normpath(path).split("/")[0]
    return first in _TASK_FILES or any(first.startswith(f".{name}.") for name in _TASK_FILES)  # temp names


def _accepts_all(signature: FunctionSignature, provided: set[str]) -> bool:
    """Whether the function takes every argument the step provides and needs none it does not."""
    return (signature.var_keyword or provided <= signature.names) and set(signature.required) <= provided


def dig(value: Any, fields: tuple[str, ...], what: str = "item") -> Any:
    """:func:`flowyard.templates.dig`, failing the task when the field is not there."""
    try:
        return templates.dig(value, fields, what)
    except templates.MissingFieldError as e:
        raise TaskError(str(e)) from None


@dataclass(frozen=True)
class _TaskReferences:
    """What each reference is for one task: its values rendered as text, its files' paths on this host."""

    task: Task

    def text(self, text: str) -> str:
        return text

    def param(self, ref: ParamRef) -> str:
        return render_value(self.task.ctx.params[ref.name])

    def item(self, ref: ItemRef) -> str:
        return render_value(dig(self.task.plan.item_value, ref.fields))

    def input(self, ref: InputRef) -> str:
        if ref.path:
            return self.task._input_location(ref.name)
        return render_value(self.task.plan.inputs[ref.name].value)

    def output_path(self, ref: OutputPathRef) -> str:
        return str(self.task.output_path(ref.name))

    def run_status(self, ref: RunStatusRef) -> str:
        return self.task.plan.run_status


class Task:
    """One attempt loop of one task. Created on the scheduler thread, run on a worker."""

    def __init__(self, ctx: RunContext, plan: TaskPlan) -> None:
        self.ctx = ctx
        self.plan = plan
        self.step = plan.step
        self.secret_values: list[str] = []
        self._attempt_no = 1
        self._file_logs = False  # an attempt's output outgrew memory: the task's logs are files of its own
        self._earlier: list[tuple[int, str, str]] = []  # attempts kept in the step's file: (attempt, out, err)

    @functools.cached_property
    def folder(self) -> str:
        """The task's folder as text: most of a task's file work needs no Path objects (each costs µs)."""
        return f"{self.ctx.run_dir_text}/{task_dir_name(self.step.name, self.plan.item)}"

    @functools.cached_property
    def dir(self) -> Path:
        return Path(self.folder)

    @functools.cached_property
    def work(self) -> Path:
        return self.dir / "work"

    # --- paths -------------------------------------------------------------------------------

    def input_path(self, name: str) -> Path:
        return Path(self._input_location(name))

    def _input_location(self, name: str) -> str:
        """Where the task finds an input file (or fan-in folder), as text."""
        inp = self.plan.inputs[name]
        declared = self._step_plan().declared_inputs.get(name)
        if declared is not None:
            return f"{self.folder}/{declared}"
        if inp.files is not None:
            return f"{self.folder}/in/{name}"
        assert inp.file is not None
        if self._reads_in_place(inp):
            return self.ctx.store.path(inp.file.key)
        return f"{self.folder}/in/{name}/{posixpath.basename(inp.file.key)}"

    def _reads_in_place(self, inp: ResolvedInput) -> bool:
        """An in-process function reads an upstream file where it lies, as kfp.local hands a component
        its upstream's own output path: no copy, no folders. Commands get a copy of their own."""
        return inp.file is not None and self.ctx.store.protocol == "file" and self._step_plan().in_process

    def output_path(self, name: str) -> Path:
        return Path(f"{self.folder}/{self._step_plan().output_files[name]}")

    # --- rendering ---------------------------------------------------------------------------

    def render(self, template: Template) -> str:
        return templates.render(template, _TaskReferences(self))

    def env(self) -> dict[str, str]:
        env = dict(self.ctx.base_env)
        for key, tpl in self.step.env:
            env[key] = self.render(tpl)
        for s in self.step.secrets:
            value = self.ctx.environ.get(s.env)
            if not value:
                raise TaskError(
                    f"secret {s.secret}/{s.key} is read from the environment variable {s.env} when running "
                    "locally, and it is not set"
                )
            env[s.env] = value
            self.secret_values.append(value)
        env["FLOWYARD_RUN_ID"] = self.ctx.run_id
        env["FLOWYARD_STEP"] = self.step.name
        if self.plan.item is not None:
            env["FLOWYARD_ITEM"] = str(self.plan.item)
        return env

    # --- staging -----------------------------------------------------------------------------

    def stage_inputs(self) -> None:
        declared = self._step_plan().declared_inputs
        for name, inp in self.plan.inputs.items():
            if inp.type != "file" or (name not in declared and self._reads_in_place(inp)):
                continue
            dest = self.input_path(name)
            if inp.files is not None:
                dest.mkdir(parents=True, exist_ok=True)
                for idx, ref in inp.files:
                    if ref is not None:
                        self._fetch(ref.key, dest / f"{idx:06d}" / Path(ref.key).name)
            elif inp.file is not None:
                self._fetch(inp.file.key, dest)

    def _fetch(self, key: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if self.ctx.store.protocol == "file":
            shutil.copyfile(self.ctx.store.path(key), dest)
        else:
            self.ctx.store.get_file(key, dest)

    # --- running -----------------------------------------------------------------------------

    def run(self) -> TaskResult:
        """Every attempt, with backoff between them; never raises."""
        result = TaskResult(self.step.name, self.plan.item, RUNNING, time.time())
        if self.plan.collects:  # fan-in inputs: which items failed
            for name, inp in self.plan.inputs.items():
                if inp.failed_items:
                    result.missing[name] = list(inp.failed_items)
        attempt = 0
        while True:
            attempt += 1
            result.attempts = attempt
            try:
                self._attempt(result, attempt)
                result.state = SUCCEEDED
                result.exit_code = 0
                break
            except TaskFailure as e:
                result.state, result.exit_code = FAILED, e.exit_code
                result.message = self._clean(str(e))
            except TaskError as e:
                result.state, result.message = ERROR, self._clean(str(e))
                break
            except InfrastructureError as e:
                result.state, result.infrastructure = ERROR, True
                result.message = self._clean(str(e))
                break
            except StepFunctionError as e:
                result.state, result.message = ERROR, self._clean(str(e))
                break
            if attempt > self.step.retry.limit or self.ctx.stop.is_set():
                break
            b = self.step.retry.backoff
            delay = b.duration_seconds * (b.factor ** (attempt - 1))
            if b.max_duration_seconds is not None:
                delay = min(delay, b.max_duration_seconds)
            if self.ctx.stop.wait(delay):
                break
        if attempt > 1 and result.state == FAILED:
            result.message += f" (after {attempt} attempts)"
        result.finished_at = time.time()
        if result.state == SUCCEEDED and self.ctx.cache is not None and self.step.cache:
            self.ctx.cache.remember(self, result)
        return result

    def _clean(self, text: str) -> str:
        return redact(text, self.secret_values)

    def _step_plan(self) -> StepPlan:
        plan = self.ctx.step_plans.get(self.step.name)
        if plan is None:
            step = self.step
            in_process = step.kind == "python" and not (
                self.ctx.python_subprocess or step.timeout_seconds or step.env or step.secrets
            )
            function = self._function() if in_process else None
            wants_workdir = function is not None and function[1].accepts("workdir")
            paths = [o.path for o in step.outputs if o.path] + [i.path for i in step.inputs if i.path]
            # A function with no working directory writes its files in the task's folder itself: a
            # folder costs more than a file (on ext4 a block of its own), and fan-outs made one per
            # item. Not when one of its paths would meet the runner's own files there.
            makes_workdir = not in_process or wants_workdir or any(_meets_task_files(p) for p in paths)
            files_in = "work/" if makes_workdir else ""
            plan = StepPlan(
                makes_folder=(
                    makes_workdir
                    or any(i.type == "file" for i in step.inputs)
                    or any(o.type == "file" for o in step.outputs)
                ),
                makes_workdir=makes_workdir,
                in_process=in_process,
                wants_workdir=wants_workdir,
                file_outputs=tuple(o.name for o in step.outputs if o.type == "file"),
                value_outputs=tuple(o for o in step.outputs if o.type != "file"),
                nested_outputs=tuple(
                    o.name for o in step.outputs if o.type == "file" and o.path and len(Path(o.path).parts) > 1
                ),
                output_files={
                    o.name: posixpath.normpath(f"{files_in}{o.path}") if o.path else f"out/{o.name}"
                    for o in step.outputs
                },
                declared_inputs={i.name: posixpath.normpath(f"{files_in}{i.path}") for i in step.inputs if i.path},
                # out/ holds outputs declared without a path: files, and values a command writes
                out_dir=any(not o.path and (o.type == "file" or not in_process) for o in step.outputs),
                function=function,
                passes_all=function is not None
                and _accepts_all(
                    function[1],
                    {*(["workdir"] if wants_workdir else []), *(i.name for i in step.inputs)}
                    | {o.name for o in step.outputs if o.type == "file"},
                ),
            )
            self.ctx.step_plans[step.name] = plan
        return plan

    def _function(self) -> tuple[Callable[..., Any], FunctionSignature]:
        assert self.step.python is not None
        ref = self.step.python.function
        cached = self.ctx.functions.get(ref)
        if cached is None:
            fn = import_function(ref, self.ctx.python_path)
            cached = self.ctx.functions[ref] = (fn, signature_of(fn))
        return cached

    def _attempt(self, result: TaskResult, attempt: int) -> None:
        if self.ctx.cache is not None and self.step.cache and attempt == 1 and self.ctx.cache.restore(self, result):
            return
        plan = self._step_plan()
        if plan.makes_folder:
            self._ensure_dir()
            if plan.makes_workdir:
                work = f"{self.folder}/work"
                try:
                    os.mkdir(work)
                except FileExistsError:  # a retry, or a resumed task: a fresh one, as a new pod would have
                    shutil.rmtree(work)
                    os.mkdir(work)
            if attempt > 1 or self.ctx.resumed:  # what an earlier attempt wrote must not pass for this one's
                for rel in plan.output_files.values():
                    with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
                        os.unlink(f"{self.folder}/{rel}")
            if plan.out_dir:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(f"{self.folder}/out")
            self.stage_inputs()
        if isinstance(body := self.step.body, ContainerIR):
            argv = [self.render(t) for t in body.command]
            self._run_process(argv, attempt)
            values = self._read_values()
        elif plan.in_process:
            values = self._run_python_inprocess(attempt, plan)
        else:
            values = self._run_python_subprocess(attempt)
        if plan.value_outputs:
            self._check_values(values, plan.value_outputs)
        if self.secret_values and values:
            values = self._masked(values, result)
        result.values = values
        if plan.file_outputs:
            result.files = self._collect_files(plan)
            self._provenance(result, values)

    def _ensure_dir(self) -> None:
        """The task's folder; its step's folder is made once per run, not once per task."""
        if self.step.name not in self.ctx.made_dirs:
            (self.ctx.run_dir / "tasks" / self.step.name).mkdir(parents=True, exist_ok=True)
            self.ctx.made_dirs.add(self.step.name)
        if self.plan.item is not None:
            with contextlib.suppress(FileExistsError):
                os.mkdir(self.folder)

    def _log_files(self, attempt: int) -> tuple[Any, Any]:
        self._ensure_dir()
        mode = "wb" if attempt == 1 else "ab"
        out = open(self.dir / "stdout.log", mode)  # noqa: SIM115 - closed by the caller
        err = open(self.dir / "stderr.log", mode)  # noqa: SIM115
        if attempt > 1:
            for f in (out, err):
                f.write(f"--- attempt {attempt} ---\n".encode())
                f.flush()
        return out, err

    def _run_process(self, argv: list[str], attempt: int) -> None:
        env = self.env()
        out, err = self._log_files(attempt)
        watchdog = self.ctx.watchdog
        if watchdog is not None:
            watchdog.ensure()  # before the first process: nothing may start unwatched
        try:
            try:
                proc = subprocess.Popen(
                    argv,
                    cwd=self.work,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
            except FileNotFoundError:
                where = f"{self.ctx.bin_dir} or PATH" if self.ctx.bin_dir else "PATH"
                raise TaskFailure(f"command not found: {argv[0]!r} (looked in {where})", 127) from None
            except PermissionError:
                raise TaskFailure(f"command not executable: {argv[0]!r}", 126) from None
            self.ctx.processes.add(proc)
            if watchdog is not None:
                watchdog.started(proc.pid)
            try:
                code = proc.wait(timeout=self.step.timeout_seconds)
            except subprocess.TimeoutExpired:
                kill_group(proc)
                proc.wait()
                raise TaskFailure(f"timed out after {self.step.timeout_seconds:g}s (process group killed)") from None
            finally:
                kill_group(proc)  # whatever it left running in its group goes too
                self.ctx.processes.discard(proc)
                if watchdog is not None:
                    watchdog.ended(proc.pid)
        finally:
            out.close()
            err.close()
            if self.secret_values:
                self._redact_logs()
        if self.ctx.stop.is_set() and code != 0:
            raise TaskFailure("stopped", code)
        if code != 0:
            raise TaskFailure(f"exit code {code}" + self._stderr_tail(), code)

    def _stderr_tail(self) -> str:
        try:
            data = tail(f"{self.folder}/stderr.log").decode("utf-8", errors="replace").strip()
        except OSError:
            return ""
        last = data.splitlines()[-1] if data else ""
        return f": {self._clean(last)[:200]}" if last else ""

    def _redact_logs(self) -> None:
        for name in ("stdout.log", "stderr.log"):
            redact_file(f"{self.folder}/{name}", self.secret_values)

    def _task_io(self) -> tuple[list[TaskInput], list[TaskOutput]]:
        inputs = []
        for name, inp in self.plan.inputs.items():
            if inp.type == "file":
                inputs.append(TaskInput(name=name, type="file", path=self._input_location(name)))
            else:
                inputs.append(TaskInput(name=name, type=inp.type, value=inp.value))
        outputs = [TaskOutput(name=o.name, type=o.type, path=str(self.output_path(o.name))) for o in self.step.outputs]
        return inputs, outputs

    def _run_python_inprocess(self, attempt: int, plan: StepPlan) -> dict[str, Any]:
        assert plan.function is not None
        fn, signature = plan.function
        available: dict[str, Any] = {"workdir": self.work} if plan.wants_workdir else {}
        for name, inp in self.plan.inputs.items():
            available[name] = inp.value if inp.type != "file" else self.input_path(name)
        for name in plan.file_outputs:
            available[name] = path = self.output_path(name)
            if name in plan.nested_outputs:
                path.parent.mkdir(parents=True, exist_ok=True)
        kwargs = available if plan.passes_all else signature.select(available)
        if attempt == 1 and self.ctx.resumed:  # a silent stream writes no log: drop the earlier run's
            for name in ("stdout.log", "stderr.log"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{self.folder}/{name}")
        capture = self.ctx.capture
        self._attempt_no = attempt
        captured = capture.streams = CapturedOutput(self._spilled_logs)
        try:
            result = fn(**kwargs)
        except Exception as e:  # noqa: BLE001 - the user's function failed: its traceback goes to its log
            captured.add(1, traceback.format_exc())
            raise TaskFailure(f"{type(e).__name__}: {e}") from None
        finally:
            capture.streams = None
            self._write_captured(captured, attempt)
        if not plan.value_outputs:
            return {}
        return value_outputs_from_return(result, plan.value_outputs)

    def _spilled_logs(self) -> tuple[CapturedLog, CapturedLog]:
        """The task's own log files, for an attempt whose output outgrew memory. The first time, they
        start with the earlier attempts the step's file holds, so the files tell the whole story."""
        attempt = self._attempt_no
        header = f"--- attempt {attempt} ---\n" if attempt > 1 else ""
        heads = [header, header]
        if not self._file_logs:
            for index in (0, 1):
                earlier = (f"--- attempt {a} ---\n" * (a > 1) + texts[index] for a, *texts in self._earlier)
                heads[index] = "".join(earlier) + header
        truncate, self._file_logs = not self._file_logs, True
        return (
            CapturedLog(f"{self.folder}/stdout.log", self.secret_values, self._ensure_dir, truncate, heads[0]),
            CapturedLog(f"{self.folder}/stderr.log", self.secret_values, self._ensure_dir, truncate, heads[1]),
        )

    def _write_captured(self, captured: CapturedOutput, attempt: int) -> None:
        """The attempt's output: a line in the step's file (``stepfiles``), unless the task's logs are
        files of its own by now. A silent first attempt writes nothing (10,000 no-op items stay cheap),
        unless resumed (its line replaces what the killed run's attempt said)."""
        logs = captured.logs
        if logs is None:
            out, err = captured.texts()
            if not self._file_logs:
                if out or err or attempt > 1 or self.ctx.resumed:
                    out, err = self._clean(out), self._clean(err)
                    line = captured_line(self.plan.item, attempt, out, err)
                    self.ctx.step_file(self.step.name, CAPTURED_FILE).append(line)
                    self._earlier.append((attempt, out, err))
                return
            logs = self._spilled_logs()
            for log, text in zip(logs, (out, err), strict=True):
                if text:
                    log.append(text)
        for log in logs:
            log.close(always=attempt > 1)

    def _run_python_subprocess(self, attempt: int) -> dict[str, Any]:
        assert self.step.python is not None
        inputs, outputs = self._task_io()
        result_file = self.dir / "result.json"
        result_file.unlink(missing_ok=True)
        spec = TaskSpec(
            kind="python",
            workdir=str(self.work),
            function=self.step.python.function,
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            result_file=str(result_file),
            python_path=self.ctx.python_path,
        )
        task_file = self.dir / "task.json"
        write_atomic(task_file, spec.model_dump_json().encode())
        self._run_process([sys.executable, "-m", "flowyard.step", str(task_file)], attempt)
        return dict(json.loads(result_file.read_text(encoding="utf-8")))

    def _read_values(self) -> dict[str, Any]:
        _, outputs = self._task_io()
        for out in outputs:
            if out.type != "file" and out.path is not None:
                try:
                    check_output(out.path, self.folder)
                except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                    pass  # read_value_outputs says it is missing
                except UnsafeOutputError as e:
                    raise TaskFailure(f"value output {out.name!r} {e}: refused") from None
        try:
            return read_value_outputs(outputs, self.work)
        except StepFunctionError as e:
            raise TaskFailure(str(e)) from None

    def _masked(self, values: dict[str, Any], result: TaskResult) -> dict[str, Any]:
        """Value outputs with every secret replaced by ``***``: they go to the journal, --json and
        provenance, and downstream (as CI systems withhold an output that holds a secret)."""
        masked = {name: redact_value(value, self.secret_values) for name, value in values.items()}
        held = [name for name in values if masked[name] != values[name]]
        if held:
            result.message = f"a secret in value output(s) {', '.join(map(repr, held))} was masked as ***"
            # and in the files that carried them here, so no file of the run's keeps the secret
            if self.step.kind == "container":
                for name in held:
                    write_atomic(self.output_path(name), json.dumps(masked[name]).encode(), sync=False)
            elif (self.dir / "result.json").is_file():
                write_atomic(self.dir / "result.json", json.dumps(masked).encode(), sync=False)
        return masked

    def _check_values(self, values: Mapping[str, Any], outputs: tuple[OutputIR, ...]) -> None:
        for out in outputs:
            if not value_matches(out.type, values.get(out.name)):
                got = render_value(values.get(out.name))[:80]
                raise TaskFailure(f"output {out.name!r} should be of type {out.type}, got {got}")

    def _collect_files(self, plan: StepPlan) -> dict[str, FileRef]:
        """Digest each file output and put it in the store.

        With the default store (the run's own folder) a file stays where the task wrote it and its
        key is that place, as Nextflow keeps outputs in the task's work folder: no copy, no link,
        no folders. The journal line that records the task is what publishes it (and it is written
        only after the file is synced), so a killed task's half-written file is never an artifact:
        resuming starts that task again without it (a fresh working directory, its outputs removed).
        """
        files = {}
        base = task_dir_name(self.step.name, self.plan.item)
        for name in plan.file_outputs:
            rel = plan.output_files[name]
            src = f"{self.folder}/{rel}"
            try:
                fd, real = open_output(src, self.folder, check_parents=not plan.in_process)
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                out = self.step.output(name)
                where = out.path or f"${{{{ outputs.{name}.path }}}} ({src})"
                raise TaskFailure(f"the step did not write its output {name!r} at {where}") from None
            except UnsafeOutputError as e:
                raise TaskFailure(f"output {name!r} at {rel} {e}: refused") from None
            digest = sha256_fd(fd)
            if self.ctx.store_in_run_dir:
                key = f"{base}/{rel}"
            else:
                key = f"{base}/outputs/{name}/{posixpath.basename(rel)}"
                self._publish(real, key)
            files[name] = FileRef(key, digest)
        return files

    def _publish(self, src: str, key: str) -> None:
        """Into a store of its own: renamed into place on a local disk (linked, no copy), uploaded otherwise."""
        if self.ctx.store.protocol != "file":
            self.ctx.store.put_file(Path(src), key)
            return
        dest = Path(self.ctx.store.path(key))
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        try:
            os.link(src, tmp)  # same disk: no copy
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dest)

    @staticmethod
    def _input_digest(inp: ResolvedInput, where: str) -> str | None:
        """The upstream task already hashed what it produced; hash only what came from elsewhere."""
        if inp.file is not None and inp.file.sha256:
            return inp.file.sha256
        if inp.files is not None and all(r is None or r.sha256 for _, r in inp.files):
            return tree_digest([(f"{i:06d}/{Path(r.key).name}", r.sha256 or "") for i, r in inp.files if r])
        path = Path(where)
        return sha256_tree(path)[0] if path.exists() else None

    def _provenance(self, result: TaskResult, values: Mapping[str, Any]) -> None:
        """Write the task's provenance record beside its file artifacts.

        A value-only task writes none: its journal line (step, item, values, times, attempts) with
        the run's ``ir.json`` and ``params.json`` determine its record, and
        :func:`flowyard.provenance.record_from_journal` rebuilds it; 10,000 tiny tasks then cost
        no extra file or serialisation each.
        """
        if not result.files:
            return
        inputs: list[dict[str, Any]] = []
        for name, inp in self.plan.inputs.items():
            if inp.type == "file":
                where = self._input_location(name)
                digest = self._input_digest(inp, where)
                inputs.append({"name": name, "type": "file", "uri": where, "sha256": digest, "source": inp.source})
            else:
                inputs.append({"name": name, "type": inp.type, "value": inp.value, "source": inp.source})
            if name in result.missing:
                inputs[-1]["missing_items"] = result.missing[name]
        outputs: list[dict[str, Any]] = [
            {"name": n, "type": "file", "uri": self.ctx.store.uri(f.key), "sha256": f.sha256}
            for n, f in result.files.items()
        ]
        outputs += [{"name": n, "type": self.step.output(n).type, "value": v} for n, v in values.items()]
        record: dict[str, Any] = {
            **task_fields(self.step, self.ctx.params, self.plan.item),
            "run_id": self.ctx.run_id,
            "pipeline": self.ctx.pipeline,
            "attempt": result.attempts,
            "backend": "local",
            "flowyard_version": __version__,
            "inputs": inputs,
            "outputs": outputs,
            "image_honoured": False,
            "started_at": result.started_at,
            "finished_at": time.time(),
            "exit_code": 0,
        }
        if isinstance(body := self.step.body, ContainerIR):
            record["command"] = [self.render(t) for t in body.command]
        if self.ctx.notices:
            record["notices"] = list(self.ctx.notices)
        # synced with the journal group, before it records the task as done
        if self._step_plan().in_process:  # one line in the step's file (stepfiles)
            self.ctx.step_file(self.step.name, PROVENANCE_LINES).append(record_json(record, indent=None) + b"\n")
        else:
            write_atomic(f"{self.folder}/{PROVENANCE_FILE}", record_json(record), sync=False)
        if not self.ctx.store_in_run_dir:
            self.ctx.store.put_bytes(
                record_json(record), f"{task_dir_name(self.step.name, self.plan.item)}/{PROVENANCE_FILE}"
            )
