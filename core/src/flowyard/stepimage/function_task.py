"""Run one step from a function call's arguments: the body of flowyard's KFP lightweight components.

A Kubeflow Pipelines lightweight component is a Python function whose arguments the KFP executor
fills: values, artifacts (objects with a ``.path``), output paths, a final-status object. The
kubeflow backend generates, per step, a function with the step's signature whose body is one call
to :func:`run_function_task` with the step's IR embedded as JSON. So the step runs the same way
everywhere: in its image on a cluster, or under ``kfp.local`` here. Only flowyard-core is needed.

Files are laid out as the local runner lays them out (fixed paths under a fresh working directory,
fan-in folders ``<input>/000000/<file>``); value outputs are written where KFP reads them. With
``FLOWYARD_TASK_RECORDS`` set (``flowyard run --backend kubeflow`` sets it), each task also writes
a record (state, times, exit code, outputs) and its log there, since kfp.local keeps neither.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, TextIO

from pydantic import BaseModel, ConfigDict

from flowyard._lowering import value_matches
from flowyard.ir import (
    InputIR,
    InputRef,
    ItemRef,
    ItemSource,
    LiteralSource,
    OutputPathRef,
    ParamRef,
    ParamSource,
    PythonIR,
    RunStatusRef,
    StepIR,
    StepOutputSource,
    Template,
    TemplateSource,
)
from flowyard.stepimage.step import INDEX_WIDTH, TaskInput, TaskOutput, call_function, read_value_outputs
from flowyard.templates import dig, render, render_value

RECORDS_ENV = "FLOWYARD_TASK_RECORDS"
_ITERATION = re.compile(r"iteration-(\d+)")
_KFP_STATES = {"SUCCEEDED": "Succeeded", "FAILED": "Failed", "CANCELLED": "Failed"}


class ArgRole(BaseModel):
    """What one argument of the generated function stands for."""

    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    kind: Literal["input", "param", "item", "status", "output", "log"]
    name: str = ""


class FunctionTask(BaseModel):
    """Everything a generated component embeds: the step, and what each of its arguments is."""

    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    step: StepIR
    args: dict[str, ArgRole]
    basenames: dict[str, str] = {}  # file input -> name of the file its producer wrote
    json_text: tuple[str, ...] = ()  # value inputs (and outputs) of type any travel as JSON text
    bin_dirs: tuple[str, ...] = ()  # searched first for a container step's command (local runs)
    returns: str | None = None  # the value output the function returns instead of writing it


def normalise(value: Any) -> Any:
    """KFP carries numbers as protobuf doubles: put back the integers it turned into floats."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    return value


class TaskError(Exception):
    """The task cannot run as its spec says (a missing field, a file not written)."""


class _Tee(io.TextIOBase):
    def __init__(self, *streams: TextIO) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for s in self.streams:
            s.write(text)
            s.flush()
        return len(text)


@dataclass(frozen=True)
class _RunReferences:
    """What each reference is inside the step's image: the call's arguments, rendered as text."""

    run: _Run

    def text(self, text: str) -> str:
        return text

    def param(self, ref: ParamRef) -> str:
        return render_value(normalise(self.run.by_role[("param", ref.name)]))

    def item(self, ref: ItemRef) -> str:
        return render_value(dig(normalise(self.run.by_role[("item", "")]), ref.fields))

    def input(self, ref: InputRef) -> str:
        if ref.path:
            return str(self.run.placed[ref.name])
        return render_value(self.run.values[ref.name])

    def output_path(self, ref: OutputPathRef) -> str:
        return str(self.run.output_path(ref.name))

    def run_status(self, ref: RunStatusRef) -> str:
        state = str(getattr(self.run.by_role[("status", "")], "state", "") or "")
        return _KFP_STATES.get(state.upper(), state.title())


class _Run:
    def __init__(self, task: FunctionTask, arguments: Mapping[str, Any]) -> None:
        self.task = task
        self.step = task.step
        self.by_role = {(r.kind, r.name): arguments[a] for a, r in task.args.items() if a in arguments}
        # under the run's folder when flowyard drives the run (kept with it, pruned with it); else the
        # container's own temporary space
        records = os.environ.get(RECORDS_ENV)
        root = Path(records).parent / "work" if records else None
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix=f"{self.step.dns_name}-", dir=root))
        self.values: dict[str, Any] = {}
        self.placed: dict[str, Path] = {}
        self.command: list[str] | None = None

    # --- where things are ---------------------------------------------------------------------

    def item_index(self) -> int | None:
        for (kind, _), value in self.by_role.items():
            if kind in ("output", "log"):
                m = _ITERATION.findall(str(getattr(value, "path", value)))
                if m:
                    return int(m[-1])
        return None

    def output_target(self, name: str) -> Path:
        """Where KFP wants the output (an artifact's path, or a parameter's output file)."""
        value = self.by_role[("output", name)]
        return Path(getattr(value, "path", value))

    def output_path(self, name: str) -> Path:
        """Where the step writes it: its fixed path under the working directory, else KFP's path."""
        out = self.step.output(name)
        if out.path is not None:
            return self.work / out.path
        if out.type == "file":
            return self.output_target(name)
        return self.work / ".flowyard-outputs" / name

    # --- inputs ---------------------------------------------------------------------------------

    def value_of(self, inp: InputIR) -> Any:
        src = inp.source
        if isinstance(src, LiteralSource):
            return src.value
        if isinstance(src, TemplateSource):
            return self.render(src.template)
        if isinstance(src, ParamSource):
            return normalise(self.by_role[("param", src.name)])
        if isinstance(src, ItemSource):
            return dig(normalise(self.by_role[("item", "")]), src.fields)
        value = self.by_role[("input", inp.name)]
        if inp.name in self.task.json_text:
            if isinstance(src, StepOutputSource) and src.collect:
                return [None if v is None else json.loads(v) for v in value]
            return json.loads(value)
        return normalise(value)

    def place_file(self, inp: InputIR) -> Path:
        src = inp.source
        given = self.by_role[("item", "")] if isinstance(src, ItemSource) else self.by_role[("input", inp.name)]
        base = self.task.basenames.get(inp.name, inp.name)
        if isinstance(given, list):  # fan-in: the core's folder layout, in item order
            inbox = self.work.parent / f"{self.work.name}-in" / inp.name
            folder = inbox if inp.path is None else self.work / inp.path
            for i, art in enumerate(given):
                dest = folder / f"{i:0{INDEX_WIDTH}d}" / base
                dest.parent.mkdir(parents=True, exist_ok=True)
                _copy(Path(art.path), dest)
            return folder
        inbox = self.work.parent / f"{self.work.name}-in" / inp.name
        dest = self.work / inp.path if inp.path is not None else inbox / base
        dest.parent.mkdir(parents=True, exist_ok=True)
        _copy(Path(given.path), dest)
        return dest

    def resolve_inputs(self) -> list[TaskInput]:
        inputs = []
        for inp in self.step.inputs:
            if inp.type == "file":
                self.placed[inp.name] = self.place_file(inp)
                inputs.append(TaskInput(name=inp.name, type="file", path=str(self.placed[inp.name])))
            else:
                self.values[inp.name] = self.value_of(inp)
                inputs.append(TaskInput(name=inp.name, type=inp.type, value=self.values[inp.name]))
        return inputs

    def input_record(self) -> list[dict[str, Any]]:
        """Each input as provenance wants it: its value or where its file was, and its source."""
        from flowyard.provenance import source_text

        item = self.item_index()
        rows = []
        for inp in self.step.inputs:
            row: dict[str, Any] = {
                "name": inp.name,
                "type": inp.type,
                "source": source_text(self.step, inp.source, item),
            }
            if inp.type == "file":
                if inp.name in self.placed:
                    from flowyard.provenance import sha256_tree

                    row["uri"] = f"file://{self.placed[inp.name]}"
                    row["sha256"], row["size"] = sha256_tree(self.placed[inp.name])
            elif inp.name in self.values:
                row["value"] = self.values[inp.name]
            rows.append(row)
        return rows

    # --- rendering ------------------------------------------------------------------------------

    def render(self, template: Template) -> str:
        return render(template, _RunReferences(self))

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.task.bin_dirs:
            env["PATH"] = os.pathsep.join([*self.task.bin_dirs, env.get("PATH", "")])
        for key, tpl in self.step.env:
            env[key] = self.render(tpl)
        missing = [s.env for s in self.step.secrets if s.env not in env]
        if missing:
            raise TaskError(f"secret(s) not set in the environment: {', '.join(missing)}")
        env["FLOWYARD_STEP"] = self.step.name
        return env

    # --- running --------------------------------------------------------------------------------

    def run(self, log: TextIO) -> int:
        inputs = self.resolve_inputs()
        outputs = [TaskOutput(name=o.name, type=o.type, path=str(self.output_path(o.name))) for o in self.step.outputs]
        for o in outputs:
            Path(str(o.path)).parent.mkdir(parents=True, exist_ok=True)
        body = self.step.body
        if isinstance(body, PythonIR):
            os.chdir(self.work)  # KFP runs each task in a process of its own
            os.environ.update(self.env())  # the step's env, as a container step gets it (own process too)
            with contextlib.redirect_stdout(_Tee(sys.stdout, log)), contextlib.redirect_stderr(_Tee(sys.stderr, log)):
                values = call_function(body.function, inputs, outputs, self.work)
        else:
            argv = [self.render(t) for t in body.command]
            self.command = argv
            env = self.env()
            if self.task.bin_dirs:
                found = shutil.which(argv[0], path=env["PATH"])
                argv[0] = found or argv[0]
            try:
                proc = subprocess.Popen(
                    argv, cwd=self.work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
                )
            except FileNotFoundError:
                raise TaskError(f"command not found: {argv[0]}") from None
            with proc:
                assert proc.stdout is not None
                for line in proc.stdout:
                    sys.stdout.write(line)
                    log.write(line)
                code = proc.wait()
            if code != 0:
                return code
            values = read_value_outputs(outputs, self.work)
        self.write_outputs(values)
        return 0

    def write_outputs(self, values: Mapping[str, Any]) -> None:
        for out in self.step.outputs:
            if out.type == "file":
                target = self.output_target(out.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                made = self.output_path(out.name)
                if not made.exists():
                    raise TaskError(f"the step did not write its output {out.name!r} ({out.path or 'its path'})")
                if made != target:
                    _copy(made, target)
                continue
            value = values.get(out.name)
            if not value_matches(out.type, normalise(value)):  # as the local backend checks them
                raise TaskError(f"output {out.name!r} should be of type {out.type}, got {render_value(value)[:80]}")
            self.values[f"outputs.{out.name}"] = value
            if out.name == self.task.returns:
                continue
            if out.type == "any":
                text = json.dumps(value, ensure_ascii=False)
            elif out.type == "string":
                text = str(value)
            elif out.type == "bool":
                text = "true" if value else "false"
            else:
                text = json.dumps(value, ensure_ascii=False)
            target = self.output_target(out.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")


def _copy(src: Path, dest: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dest, dirs_exist_ok=True)
    else:
        shutil.copyfile(src, dest)


@contextlib.contextmanager
def _record(run: _Run) -> Iterator[tuple[TextIO, dict[str, Any]]]:
    """The task's log (and, when asked for, its record) whatever happens inside."""
    folder = os.environ.get(RECORDS_ENV)
    log_art = run.by_role.get(("log", ""))
    paths = [Path(log_art.path)] if log_art is not None else []
    stem = f"{run.step.dns_name}-{secrets.token_hex(6)}"
    if folder:
        paths.append(Path(folder) / f"{stem}.log")
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
    logs = [open(p, "w", encoding="utf-8") for p in paths]  # noqa: SIM115 - closed below
    record: dict[str, Any] = {
        "step": run.step.name,
        "item": run.item_index(),
        "started": time.time(),
        "state": "Failed",
        "exit_code": None,
        "message": "",
        "log": str(paths[-1]) if paths else None,
    }
    try:
        yield _Tee(*logs), record  # type: ignore[misc]
    finally:
        record["finished"] = time.time()
        for f in logs:
            f.close()
        if folder:
            data = json.dumps(record, ensure_ascii=False, default=str)
            (Path(folder) / f"{stem}.json").write_text(data, encoding="utf-8")


def run_function_task(spec: str, arguments: Mapping[str, Any]) -> Any:
    """Run the step ``spec`` (a :class:`FunctionTask` as JSON) with KFP's ``arguments``; raise
    ``SystemExit`` with the step's exit code when it fails, so KFP marks the task failed. Returns the
    value of the output named by ``returns``, if any."""
    task = FunctionTask.model_validate_json(spec)
    run = _Run(task, arguments)
    code = 1
    with _record(run) as (log, record):
        try:
            code = run.run(log)
            record["message"] = "" if code == 0 else f"exit code {code}"
        except Exception as e:  # noqa: BLE001 - the user's step failed: its message in the log and the record
            record["message"] = f"{type(e).__name__}: {e}"
            log.write(f"flowyard: {record['message']}\n")
            print(f"flowyard: {record['message']}", file=sys.stderr)
            code = 1
        record["exit_code"] = code
        record["state"] = "Succeeded" if code == 0 else "Failed"
        record["inputs"] = run.input_record()
        record["command"] = run.command
        if code == 0:
            outputs = {k.removeprefix("outputs."): v for k, v in run.values.items() if k.startswith("outputs.")}
            record["values"] = outputs
            record["files"] = {o.name: str(run.output_target(o.name)) for o in run.step.outputs if o.type == "file"}
    if code != 0:
        raise SystemExit(code)
    if task.returns is None:
        return None
    value = run.values.get(f"outputs.{task.returns}")
    out = task.step.output(task.returns)
    return json.dumps(value, ensure_ascii=False) if out.type == "any" else value
