"""The step entrypoint: run one task from a task file, the same way on every backend.

``python -m flowyard.step TASK.json`` runs a Python-function step (or a container step's command,
where an engine cannot express its file contract natively), then writes the value outputs as JSON
to ``result_file``. The local backend calls :func:`call_function` in-process for the same contract.

Python functions receive, by parameter name: value inputs as Python values, file inputs as
:class:`pathlib.Path`, file outputs as the ``Path`` to write, and ``workdir`` (the task's own
working directory; never the process's). One value output is the return value; several are a dict.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from flowyard.errors import FlowyardError


class TaskInput(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    name: str
    type: str
    value: Any = None
    path: str | None = None  # files: where the file (or fan-in folder) is


class TaskOutput(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    name: str
    type: str
    path: str | None = None  # where the step writes it, relative to workdir (or absolute)


class TaskSpec(BaseModel):
    """Everything one task needs, already rendered: no placeholders left."""

    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    kind: Literal["container", "python"]
    workdir: str
    argv: tuple[str, ...] = ()
    function: str | None = None
    env: dict[str, str] = {}
    inputs: tuple[TaskInput, ...] = ()
    outputs: tuple[TaskOutput, ...] = ()
    result_file: str | None = None
    python_path: tuple[str, ...] = ()


class StepFunctionError(FlowyardError):
    """The step's function could not be found or called as the spec says."""

    exit_code = 1


def import_function(ref: str, python_path: Sequence[str] = ()) -> Callable[..., Any]:
    """``package.module:function`` -> the function; ``python_path`` folders are searched first."""
    module_name, _, attr = ref.partition(":")
    for folder in reversed(python_path):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise StepFunctionError(f"cannot import {module_name!r} for step function {ref!r}: {e}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise StepFunctionError(f"module {module_name!r} has no function {attr!r}")
    return fn  # type: ignore[no-any-return]


def output_path(workdir: Path, out: TaskOutput) -> Path:
    return workdir / (out.path or f".flowyard-outputs/{out.name}")


@dataclass(frozen=True)
class FunctionSignature:
    """What a step function accepts, worked out once per function rather than once per task."""

    qualname: str
    names: frozenset[str]
    required: tuple[str, ...]
    var_keyword: bool

    def accepts(self, name: str) -> bool:
        return self.var_keyword or name in self.names

    def select(self, available: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments to call it with; a required one we cannot give is an error."""
        missing = [n for n in self.required if n not in available]
        if missing:
            raise StepFunctionError(
                f"function {self.qualname} needs argument {missing[0]!r}, which the step does not provide "
                f"(it provides: {', '.join(sorted(available))})"
            )
        if self.var_keyword:
            return dict(available)
        return {k: v for k, v in available.items() if k in self.names}


def signature_of(fn: Callable[..., Any]) -> FunctionSignature:
    params = inspect.signature(fn).parameters
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    plain = [p for p in params.values() if p.kind not in variadic]
    return FunctionSignature(
        qualname=getattr(fn, "__qualname__", repr(fn)),
        names=frozenset(p.name for p in plain),
        required=tuple(p.name for p in plain if p.default is inspect.Parameter.empty),
        var_keyword=any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()),
    )


def function_kwargs(
    fn: Callable[..., Any], inputs: Sequence[TaskInput], outputs: Sequence[TaskOutput], workdir: Path
) -> dict[str, Any]:
    available: dict[str, Any] = {"workdir": workdir}
    for inp in inputs:
        available[inp.name] = Path(inp.path) if inp.type == "file" and inp.path else inp.value
    for out in outputs:
        if out.type == "file":
            path = output_path(workdir, out)
            path.parent.mkdir(parents=True, exist_ok=True)
            available[out.name] = path
    return signature_of(fn).select(available)


def value_outputs_from_return(result: Any, outputs: Sequence[Any]) -> dict[str, Any]:
    """Map a function's return value to its value outputs (anything with ``name`` and ``type``)."""
    values = [o for o in outputs if o.type != "file"]
    if not values:
        return {}
    if len(values) == 1:
        return {values[0].name: result}
    if not isinstance(result, Mapping) or set(result) != {o.name for o in values}:
        raise StepFunctionError(
            f"a step with several value outputs returns a dict with keys {sorted(o.name for o in values)}, "
            f"got {type(result).__name__}"
        )
    return {o.name: result[o.name] for o in values}


def call_function(
    function: str,
    inputs: Sequence[TaskInput],
    outputs: Sequence[TaskOutput],
    workdir: Path,
    python_path: Sequence[str] = (),
) -> dict[str, Any]:
    """Call a Python step and return its value outputs. File outputs are left where it wrote them."""
    fn = import_function(function, python_path)
    result = fn(**function_kwargs(fn, inputs, outputs, workdir))
    return value_outputs_from_return(result, outputs)


def read_value_outputs(outputs: Sequence[TaskOutput], workdir: Path) -> dict[str, Any]:
    """A container step's value outputs: each is JSON in the file it declares."""
    values = {}
    for out in outputs:
        if out.type == "file":
            continue
        path = output_path(workdir, out)
        try:
            values[out.name] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StepFunctionError(f"the step did not write its value output {out.name!r} to {out.path}") from None
        except ValueError as e:
            raise StepFunctionError(f"value output {out.name!r} in {out.path} is not JSON: {e}") from None
    return values


def run_task(task: TaskSpec) -> int:
    """Run a task in its workdir; write value outputs to ``task.result_file``. Returns an exit code."""
    workdir = Path(task.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if task.kind == "python":
        assert task.function is not None
        prev = os.getcwd()
        os.chdir(workdir)  # a subprocess of its own: changing cwd here is safe
        try:
            values = call_function(task.function, task.inputs, task.outputs, workdir, task.python_path)
        finally:
            os.chdir(prev)
        code = 0
    else:
        env = {**os.environ, **task.env}
        code = subprocess.call(list(task.argv), cwd=workdir, env=env)
        values = read_value_outputs(task.outputs, workdir) if code == 0 else {}
    if task.result_file and code == 0:
        Path(task.result_file).write_text(json.dumps(values), encoding="utf-8")
    return code


# --- cluster form: one task described on the command line ----------------------------------------
#
# A cluster engine substitutes its own placeholders into argv elements (never through a shell), so
# every value travels as one whole argv element and is decoded here by its declared type.

INDEX_WIDTH = 6  # fan-out items are numbered 000000, 000001, ... in keys and fan-in folders


def decode_value(type_: str, encoding: str, text: str) -> Any:
    """Turn an engine-substituted text back into the value it stands for.

    ``json``: the text is JSON (a literal, or a file a container step wrote). ``rendered``: the text
    is what :func:`flowyard.templates.render_value` makes of the value (strings bare, the rest JSON).
    """
    if encoding == "json":
        try:
            return json.loads(text)
        except ValueError:
            raise StepFunctionError(f"expected JSON for a {type_}, got {text[:80]!r}") from None
    if encoding != "rendered":
        raise StepFunctionError(f"unknown value encoding {encoding!r}")
    if type_ == "string":
        return text
    if type_ == "any":
        try:
            return json.loads(text)
        except ValueError:
            return text
    try:
        return json.loads(text)
    except ValueError:
        raise StepFunctionError(f"expected a {type_} as JSON, got {text[:80]!r}") from None


def encode_envelope(index: int, value: Any) -> str:
    """A fanned-out item's value output, carrying its index: engines that aggregate outputs drop
    failed items and do not promise an order (argo-workflows 11221), so the consumer re-orders."""
    return json.dumps({"index": index, "value": value}, separators=(",", ":"), ensure_ascii=False)


def decode_collected(text: str, count: int) -> list[Any]:
    """An engine's aggregate of :func:`encode_envelope` texts -> values in item order, ``None`` for
    the items that produced nothing (failed or omitted)."""
    values: list[Any] = [None] * count
    for entry in json.loads(text or "[]"):
        envelope = json.loads(entry) if isinstance(entry, str) else entry
        index = int(envelope["index"])
        if 0 <= index < count:
            values[index] = envelope["value"]
    return values


def _exec_parser() -> Any:
    import argparse

    p = argparse.ArgumentParser(prog="python -m flowyard.step exec", description="Run one task of a cluster run.")
    p.add_argument("--kind", choices=("python", "container"), required=True)
    p.add_argument("--function")
    p.add_argument("--workdir", required=True)
    p.add_argument("--value", nargs=4, action="append", default=[], metavar=("NAME", "TYPE", "ENCODING", "TEXT"))
    p.add_argument(  # a value read from a file: an engine's value can be over one argv string's limit
        "--value-file", nargs=4, action="append", default=[], metavar=("NAME", "TYPE", "ENCODING", "PATH")
    )
    p.add_argument("--collected", nargs=4, action="append", default=[], metavar=("NAME", "TYPE", "COUNT", "TEXT"))
    p.add_argument(  # the same, read from a file: an engine's aggregate can be over one argv string's limit
        "--collected-file", nargs=4, action="append", default=[], metavar=("NAME", "TYPE", "COUNT", "PATH")
    )
    p.add_argument("--file", nargs=2, action="append", default=[], metavar=("NAME", "PATH"))
    p.add_argument("--folder", nargs=2, action="append", default=[], metavar=("NAME", "PATH"), help="made if absent")
    p.add_argument("--output", nargs=3, action="append", default=[], metavar=("NAME", "TYPE", "PATH"))
    p.add_argument("--values-dir", help="write each value output here, one file per output")
    p.add_argument("--index", help="this task's fan-out item index: value outputs carry it")
    p.add_argument("argv", nargs="*", help="container kind: the command, after --")
    return p


JSON_SUFFIX = ".json"  # ``<values-dir>/<name>.json``: the value as JSON, where the text leaves a string bare


def exec_task(args: Sequence[str]) -> int:
    """``python -m flowyard.step exec ...``: decode the inputs, run the task, write value outputs.

    Value outputs go to ``--values-dir/<name>``: as rendered text, or as an index envelope when
    ``--index`` is given (so the engine's aggregate can be put back in item order), each followed by one
    newline: Argo saves an output parameter as the file less one trailing newline (``SaveParameters``); and to
    ``<name>.json`` as JSON, which tells the text ``[1, 2]`` from the list (a fan-out's item list reads it)."""
    ns = _exec_parser().parse_args(list(args))
    values = [*ns.value, *((n, t, enc, Path(p).read_text(encoding="utf-8")) for n, t, enc, p in ns.value_file)]
    inputs = [TaskInput(name=n, type=t, value=decode_value(t, enc, text)) for n, t, enc, text in values]
    texts = [*ns.collected, *((n, t, c, Path(p).read_text(encoding="utf-8")) for n, t, c, p in ns.collected_file)]
    for name, _type, count, text in texts:
        inputs.append(TaskInput(name=name, type="list", value=decode_collected(text, int(count))))
    for _name, path in ns.folder:  # a fan-in of files: an engine writes no folder for an empty fan-out
        Path(path).mkdir(parents=True, exist_ok=True)
    inputs += [TaskInput(name=n, type="file", path=path) for n, path in [*ns.file, *ns.folder]]
    outputs = [TaskOutput(name=n, type=t, path=path) for n, t, path in ns.output]
    values_dir = Path(ns.values_dir) if ns.values_dir else None
    result_file = None
    if values_dir is not None:
        values_dir.mkdir(parents=True, exist_ok=True)
        result_file = str(values_dir / ".flowyard-result.json")
    task = TaskSpec(
        kind=ns.kind,
        workdir=ns.workdir,
        argv=tuple(ns.argv),
        function=ns.function,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        result_file=result_file,
    )
    code = run_task(task)
    if code == 0 and values_dir is not None and result_file is not None:
        from flowyard.templates import render_value

        values = json.loads(Path(result_file).read_text(encoding="utf-8"))
        for name, value in values.items():
            text = encode_envelope(int(ns.index), value) if ns.index is not None else render_value(value)
            (values_dir / name).write_text(text + "\n", encoding="utf-8")  # the one newline Argo's reader drops
            (values_dir / f"{name}{JSON_SUFFIX}").write_text(json.dumps(value), encoding="utf-8")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["exec"]:
        try:
            return exec_task(args[1:])
        except FlowyardError as e:
            print(f"flowyard.step: {e}", file=sys.stderr)
            return 1
    if len(args) != 1:
        print("usage: python -m flowyard.step TASK.json | exec ...", file=sys.stderr)
        return 2
    try:
        task = TaskSpec.model_validate_json(Path(args[0]).read_bytes())
        return run_task(task)
    except FlowyardError as e:
        print(f"flowyard.step: {e}", file=sys.stderr)
        return 1
    except FileNotFoundError as e:
        print(f"flowyard.step: {e}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main())
