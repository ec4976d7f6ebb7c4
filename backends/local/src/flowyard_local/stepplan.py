"""What every task of one step shares, worked out once per step rather than once per task."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowyard.ir import OutputIR, StepIR
from flowyard.provenance import PROVENANCE_FILE
from flowyard.stepimage.step import FunctionSignature, import_function, signature_of

from flowyard_local.stepfiles import CAPTURED_FILE, PROVENANCE_LINES

Function = tuple[Callable[..., Any], FunctionSignature]


@dataclass(frozen=True)
class StepPlan:
    """How the tasks of one step run: where their files go, and whether the function runs in-process."""

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
    function: Function | None = None  # in-process steps
    passes_all: bool = False  # the function accepts everything the step provides: no selecting per task


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


def runs_in_process(step: StepIR, python_subprocess: bool) -> bool:
    """A Python step runs on the worker thread unless it needs a process: a timeout (a thread cannot be
    killed), ``env`` or ``secrets`` (threads share one environment), or the run asks for one."""
    return step.kind == "python" and not (python_subprocess or step.timeout_seconds or step.env or step.secrets)


def plan_step(step: StepIR, in_process: bool, function: Function | None) -> StepPlan:
    """The step's plan; ``function`` is its imported function when it runs in-process."""
    wants_workdir = function is not None and function[1].accepts("workdir")
    paths = [o.path for o in step.outputs if o.path] + [i.path for i in step.inputs if i.path]
    # A function with no working directory writes its files in the task's folder itself: a
    # folder costs more than a file (on ext4 a block of its own), and fan-outs made one per
    # item. Not when one of its paths would meet the runner's own files there.
    makes_workdir = not in_process or wants_workdir or any(_meets_task_files(p) for p in paths)
    files_in = "work/" if makes_workdir else ""
    file_outputs = tuple(o.name for o in step.outputs if o.type == "file")
    return StepPlan(
        makes_folder=makes_workdir or any(i.type == "file" for i in step.inputs) or bool(file_outputs),
        makes_workdir=makes_workdir,
        in_process=in_process,
        wants_workdir=wants_workdir,
        file_outputs=file_outputs,
        value_outputs=tuple(o for o in step.outputs if o.type != "file"),
        nested_outputs=tuple(
            o.name for o in step.outputs if o.type == "file" and o.path and len(Path(o.path).parts) > 1
        ),
        output_files={
            o.name: posixpath.normpath(f"{files_in}{o.path}") if o.path else f"out/{o.name}" for o in step.outputs
        },
        declared_inputs={i.name: posixpath.normpath(f"{files_in}{i.path}") for i in step.inputs if i.path},
        # out/ holds outputs declared without a path: files, and values a command writes
        out_dir=any(not o.path and (o.type == "file" or not in_process) for o in step.outputs),
        function=function,
        passes_all=function is not None
        and _accepts_all(
            function[1],
            {*(["workdir"] if wants_workdir else []), *(i.name for i in step.inputs), *file_outputs},
        ),
    )


def load_function(ref: str, python_path: tuple[str, ...], loaded: dict[str, Function]) -> Function:
    """A step's function and its signature, imported once per run (``loaded`` keeps them)."""
    cached = loaded.get(ref)
    if cached is None:
        fn = import_function(ref, python_path)
        cached = loaded[ref] = (fn, signature_of(fn))
    return cached
