"""Running one task: stage its inputs, run its command or function, collect its outputs.

Container steps run their argv as a subprocess (``processes``). Python steps run in-process on a
worker thread, or through ``python -m flowyard.step`` in a subprocess when they have a timeout (a
thread cannot be killed), ``env`` or ``secrets`` (a thread has no environment of its own: the
process's is shared by every worker), or when asked to (``stepplan.runs_in_process``). What a task
made is collected by ``collect`` and recorded by ``taskprovenance``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import posixpath
import shutil
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowyard import templates
from flowyard.errors import InfrastructureError
from flowyard.execution.logfiles import CapturedLog, CapturedOutput
from flowyard.ir import ContainerIR, InputRef, ItemRef, OutputPathRef, ParamRef, RunStatusRef, Template
from flowyard.runs import redact, task_dir_name, write_atomic
from flowyard.stepimage.step import StepFunctionError, TaskInput, TaskOutput, TaskSpec, value_outputs_from_return
from flowyard.templates import render_value

from flowyard_local.collect import check_values, collect_files, masked, read_values
from flowyard_local.context import RunContext
from flowyard_local.processes import run_process
from flowyard_local.stepfiles import CAPTURED_FILE, captured_line
from flowyard_local.stepplan import StepPlan, load_function, plan_step, runs_in_process
from flowyard_local.taskdata import (
    ERROR,
    FAILED,
    RUNNING,
    SUCCEEDED,
    FileRef,
    ResolvedInput,
    TaskError,
    TaskFailure,
    TaskPlan,
    TaskResult,
    dig,
)
from flowyard_local.taskprovenance import write_provenance


@dataclass(frozen=True)
class _TaskReferences:
    """What each reference is for one task: its values rendered as text, its files' paths on this host."""

    task: Task

    def text(self, text: str) -> str:
        return text

    def param(self, ref: ParamRef) -> str:
        return render_value(self.task.ctx.plan.params[ref.name])

    def item(self, ref: ItemRef) -> str:
        return render_value(dig(self.task.plan.item_value, ref.fields))

    def input(self, ref: InputRef) -> str:
        if ref.path:
            return self.task.input_location(ref.name)
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
        return f"{self.ctx.plan.run_dir_text}/{task_dir_name(self.step.name, self.plan.item)}"

    @functools.cached_property
    def dir(self) -> Path:
        return Path(self.folder)

    @functools.cached_property
    def work(self) -> Path:
        return self.dir / "work"

    # --- paths -------------------------------------------------------------------------------

    def input_path(self, name: str) -> Path:
        return Path(self.input_location(name))

    def input_location(self, name: str) -> str:
        """Where the task finds an input file (or fan-in folder), as text."""
        inp = self.plan.inputs[name]
        declared = self.step_plan().declared_inputs.get(name)
        if declared is not None:
            return f"{self.folder}/{declared}"
        if inp.files is not None:
            return f"{self.folder}/in/{name}"
        assert inp.file is not None
        if self._reads_in_place(inp):
            return self.ctx.plan.store.path(inp.file.key)
        return f"{self.folder}/in/{name}/{posixpath.basename(inp.file.key)}"

    def _reads_in_place(self, inp: ResolvedInput) -> bool:
        """An in-process function reads an upstream file where it lies, as kfp.local hands a component
        its upstream's own output path: no copy, no folders. Commands get a copy of their own."""
        return inp.file is not None and self.ctx.plan.store.protocol == "file" and self.step_plan().in_process

    def output_path(self, name: str) -> Path:
        return Path(f"{self.folder}/{self.step_plan().output_files[name]}")

    # --- rendering ---------------------------------------------------------------------------

    def render(self, template: Template) -> str:
        return templates.render(template, _TaskReferences(self))

    def env(self) -> dict[str, str]:
        env = dict(self.ctx.plan.base_env)
        for key, tpl in self.step.env:
            env[key] = self.render(tpl)
        for s in self.step.secrets:
            value = self.ctx.plan.environ.get(s.env)
            if not value:
                raise TaskError(
                    f"secret {s.secret}/{s.key} is read from the environment variable {s.env} when running "
                    "locally, and it is not set"
                )
            env[s.env] = value
            self.secret_values.append(value)
        env["FLOWYARD_RUN_ID"] = self.ctx.plan.run_id
        env["FLOWYARD_STEP"] = self.step.name
        if self.plan.item is not None:
            env["FLOWYARD_ITEM"] = str(self.plan.item)
        return env

    # --- staging -----------------------------------------------------------------------------

    def stage_inputs(self) -> None:
        declared = self.step_plan().declared_inputs
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
        if self.ctx.plan.store.protocol == "file":
            shutil.copyfile(self.ctx.plan.store.path(key), dest)
        else:
            self.ctx.plan.store.get_file(key, dest)

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
                result.message = self.clean(str(e))
            except TaskError as e:
                result.state, result.message = ERROR, self.clean(str(e))
                break
            except InfrastructureError as e:
                result.state, result.infrastructure = ERROR, True
                result.message = self.clean(str(e))
                break
            except StepFunctionError as e:
                result.state, result.message = ERROR, self.clean(str(e))
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
        cache = self.ctx.plan.cache
        if result.state == SUCCEEDED and cache is not None and self.step.cache:
            cache.remember(self, result)
        return result

    def clean(self, text: str) -> str:
        return redact(text, self.secret_values)

    def step_plan(self) -> StepPlan:
        """The step's plan, worked out by the first of its tasks to ask (``stepplan``)."""
        plan = self.ctx.step_plans.get(self.step.name)
        if plan is None:
            run = self.ctx.plan
            in_process = runs_in_process(self.step, run.python_subprocess)
            function = None
            if in_process:
                assert self.step.python is not None
                function = load_function(self.step.python.function, run.python_path, self.ctx.functions)
            plan = self.ctx.step_plans[self.step.name] = plan_step(self.step, in_process, function)
        return plan

    def _attempt(self, result: TaskResult, attempt: int) -> None:
        cache = self.ctx.plan.cache
        if cache is not None and self.step.cache and attempt == 1 and cache.restore(self, result):
            return
        plan = self.step_plan()
        if plan.makes_folder:
            self.ensure_dir()
            if plan.makes_workdir:
                work = f"{self.folder}/work"
                try:
                    os.mkdir(work)
                except FileExistsError:  # a retry, or a resumed task: a fresh one, as a new pod would have
                    shutil.rmtree(work)
                    os.mkdir(work)
            if attempt > 1 or self.ctx.plan.resumed:  # what an earlier attempt wrote must not pass for this one's
                for rel in plan.output_files.values():
                    with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
                        os.unlink(f"{self.folder}/{rel}")
            if plan.out_dir:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(f"{self.folder}/out")
            self.stage_inputs()
        if isinstance(body := self.step.body, ContainerIR):
            argv = [self.render(t) for t in body.command]
            run_process(self, argv, attempt)
            values = read_values(self)
        elif plan.in_process:
            values = self._run_python_inprocess(attempt, plan)
        else:
            values = self._run_python_subprocess(attempt)
        if plan.value_outputs:
            check_values(values, plan.value_outputs)
        if self.secret_values and values:
            values = masked(self, values, result)
        result.values = values
        if plan.file_outputs:
            result.files = collect_files(self, plan)
            write_provenance(self, result, values)

    def ensure_dir(self) -> None:
        """The task's folder; its step's folder is made once per run, not once per task."""
        if self.step.name not in self.ctx.made_dirs:
            (self.ctx.plan.run_dir.path / "tasks" / self.step.name).mkdir(parents=True, exist_ok=True)
            self.ctx.made_dirs.add(self.step.name)
        if self.plan.item is not None:
            with contextlib.suppress(FileExistsError):
                os.mkdir(self.folder)

    def task_io(self) -> tuple[list[TaskInput], list[TaskOutput]]:
        inputs = []
        for name, inp in self.plan.inputs.items():
            if inp.type == "file":
                inputs.append(TaskInput(name=name, type="file", path=self.input_location(name)))
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
        if attempt == 1 and self.ctx.plan.resumed:  # a silent stream writes no log: drop the earlier run's
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
            CapturedLog(f"{self.folder}/stdout.log", self.secret_values, self.ensure_dir, truncate, heads[0]),
            CapturedLog(f"{self.folder}/stderr.log", self.secret_values, self.ensure_dir, truncate, heads[1]),
        )

    def _write_captured(self, captured: CapturedOutput, attempt: int) -> None:
        """The attempt's output: a line in the step's file (``stepfiles``), unless the task's logs are
        files of its own by now. A silent first attempt writes nothing (10,000 no-op items stay cheap),
        unless resumed (its line replaces what the killed run's attempt said)."""
        logs = captured.logs
        if logs is None:
            out, err = captured.texts()
            if not self._file_logs:
                if out or err or attempt > 1 or self.ctx.plan.resumed:
                    out, err = self.clean(out), self.clean(err)
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
        inputs, outputs = self.task_io()
        result_file = self.dir / "result.json"
        result_file.unlink(missing_ok=True)
        spec = TaskSpec(
            kind="python",
            workdir=str(self.work),
            function=self.step.python.function,
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            result_file=str(result_file),
            python_path=self.ctx.plan.python_path,
        )
        task_file = self.dir / "task.json"
        write_atomic(task_file, spec.model_dump_json().encode())
        run_process(self, [sys.executable, "-m", "flowyard.step", str(task_file)], attempt)
        return dict(json.loads(result_file.read_text(encoding="utf-8")))


__all__ = [  # the task, and the plain values it trades in (``taskdata``), importable from here as before
    "ERROR",
    "FAILED",
    "RUNNING",
    "SUCCEEDED",
    "FileRef",
    "ResolvedInput",
    "Task",
    "TaskError",
    "TaskFailure",
    "TaskPlan",
    "TaskResult",
    "dig",
]
