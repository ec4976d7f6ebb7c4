"""Mutated pipeline specs through the loader and every compiler, each case in a worker process with
time and memory limits (issue 20).

A case is the text of a spec file. The worker writes it to a fresh folder, loads and lowers it, then
checks and compiles it for every compiling backend, as ``flowyard compile`` does. A case ends in one of:

- ``valid``: it compiled for every backend that accepted it;
- ``refused``: a :class:`flowyard.errors.FlowyardError` (a spec error, a backend's refusal);
- ``unexpected``: any other exception, a case over its time limit, or the worker dying (memory).

The worker is a subprocess under ``resource.setrlimit`` (address space) and a per-case timer; one
that dies is replaced and its case counted as unexpected. ``python tests/fuzz_specs.py worker`` is the
worker; the generation (hypothesis strategies) and the driver live here too so the CI test and the
long run (``benchmarks/fuzz_long.py``) share them.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
CASE_SECONDS = float(os.environ.get("FLOWYARD_FUZZ_CASE_SECONDS", "20"))
MEMORY_BYTES = int(os.environ.get("FLOWYARD_FUZZ_MEMORY_MB", "3072")) * 2**20
BACKENDS = ("argo", "kubeflow", "local")


# --- the worker ----------------------------------------------------------------------------------


class CaseTimeout(BaseException):
    """The case ran over its time limit (a BaseException so no ``except Exception`` swallows it)."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout


def _compile_all(text: str, registry: Any) -> list[str]:
    """Load ``text`` and compile it for every backend; the backends that refused it."""
    from flowyard._loading import load_ir
    from flowyard.errors import FlowyardError, UnsupportedFeatureError

    refused = []
    with tempfile.TemporaryDirectory(prefix="flowyard-fuzz-") as tmp:
        path = Path(tmp) / "pipeline.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        ir = load_ir(path)
        for name in BACKENDS:
            backend = registry.create(name, {"default_image": "alpine"} if name != "local" else None)
            try:
                report = backend.check(ir)
                if report.refused:
                    raise UnsupportedFeatureError(name, report.refusal_lines())
                backend.compile(ir).main.content.encode("utf-8", "surrogatepass")
            except FlowyardError:
                refused.append(name)
    return refused


def _classify(e: BaseException) -> str:
    from flowyard.errors import FlowyardError

    if isinstance(e, FlowyardError):
        return "refused"
    return "unexpected"


def worker() -> None:
    """Read one JSON case per line on stdin, answer one JSON outcome per line on stdout."""
    from flowyard.plugins import backend_registry

    registry = backend_registry()
    for text in seed_texts():  # warm up: the compilers' imports are not any case's time
        with contextlib.suppress(Exception):
            _compile_all(text, registry)
    signal.signal(signal.SIGALRM, _on_alarm)
    out = sys.stdout
    sys.stdout = sys.stderr  # whatever a compiler prints must not break the protocol
    for line in sys.stdin:
        text = json.loads(line)["text"]
        start = time.perf_counter()
        outcome: dict[str, Any]
        signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
        try:
            refused = _compile_all(text, registry)
            outcome = {"outcome": "valid", "refused_by": refused}
        except CaseTimeout:
            outcome = {"outcome": "unexpected", "detail": f"over {CASE_SECONDS:g} s"}
        except BaseException as e:  # noqa: BLE001 - the point: every exception is classified
            tb = traceback.format_exc()
            outcome = {"outcome": _classify(e), "detail": f"{type(e).__name__}: {str(e)[:300]}", "tb": tb[-3000:]}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        outcome["seconds"] = time.perf_counter() - start
        out.write(json.dumps(outcome) + "\n")
        out.flush()


# --- the driver ----------------------------------------------------------------------------------


def _limits() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


@dataclass
class Result:
    outcome: str
    seconds: float
    detail: str = ""
    tb: str = ""


class Pool:
    """One worker process at a time, replaced when it dies; cases go through :meth:`run`."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if k != "FLOWYARD_HOME"}
        return subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            preexec_fn=_limits,
        )

    def run(self, text: str) -> Result:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        start = time.perf_counter()
        try:
            self.proc.stdin.write(json.dumps({"text": text}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:  # the worker died: out of memory, or a crash of the interpreter
            code = self.proc.wait()
            self.close()
            return Result("unexpected", time.perf_counter() - start, f"the worker died (exit {code})")
        data = json.loads(line)
        return Result(data["outcome"], data["seconds"], data.get("detail", ""), data.get("tb", ""))

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            proc.stdin.close()  # type: ignore[union-attr]
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]


# --- the cases -----------------------------------------------------------------------------------


def seed_texts() -> list[str]:
    """The examples and every canonical pipeline, as YAML files."""
    from flowyard.testing.pipelines import CANONICAL_PIPELINES

    texts = [p.read_text(encoding="utf-8") for p in sorted((REPO / "examples").rglob("*.yaml"))]
    texts = [t for t in texts if "kind: Pipeline" in t]
    for name, build in sorted(CANONICAL_PIPELINES.items()):
        data = build().model_dump(mode="json", by_alias=True, exclude_defaults=True)
        data.setdefault("apiVersion", "flowyard/v1")
        if name == "wide-fanout":
            continue
        texts.append(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return texts


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, 10**30, 0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["${{ params.x }}", "${{ steps.a.outputs.b }}", "${{ item }}", "${{", "'", '"', "\x00", "5m"]),
)
HOSTILE_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
SNIPPETS = st.sampled_from(
    [
        "&a ",
        "*a",
        "<<: *a\n",
        "? [a, b]\n: c\n",
        "!!binary aGk=",
        "!!set {a}",
        "!!python/object:os.system x",
        "[" * 100,
        "[" * 700 + "]" * 700,
        "{",
        "'",
        "\t",
        "\x00",
        ".inf",
        ".nan",
        "9" * 5000,
        "2001-12-14t21:59:43.10-05:00",
        "${{ params.message }}",
        "${{ steps.processor.outputs.event }}",
        "\n  - x\n",
        ": ",
        "- ",
        "---\n",
    ]
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {k: (_replace(v, rest, value) if k == head else v) for k, v in data.items()}
    return [(_replace(v, rest, value) if i == head else v) for i, v in enumerate(data)]


def _deep(levels: int, leaf: Any) -> Any:
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


def _dump(data: Any) -> str:
    try:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    except (RecursionError, yaml.YAMLError):
        return json.dumps(data)


@st.composite
def structural_mutant(draw: st.DrawFn, seeds: list[str]) -> str:
    """A seed with some of its values replaced by hostile ones (nulls in lists, mixed types, deep
    lists, huge or non-finite numbers), some keys dropped or invented."""
    data = yaml.safe_load(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["value", "deep", "mixed", "drop", "add"]))
        if kind == "value":
            data = _replace(data, path, draw(HOSTILE_VALUES))
        elif kind == "deep":
            data = _replace(data, path, _deep(draw(st.integers(1, 120)), draw(_SCALARS)))
        elif kind == "mixed":
            data = _replace(data, path, [None, 1, "a", 1.5, True, {"k": [None]}, [1, [2]]][: draw(st.integers(1, 7))])
        elif kind == "drop" and path and isinstance(parent := _get(data, path[:-1]), dict):
            data = _replace(data, path[:-1], {k: v for k, v in parent.items() if k != path[-1]})
        elif kind == "add" and isinstance(parent := _get(data, path), dict):
            data = _replace(data, path, {**parent, draw(st.text(max_size=10)): draw(HOSTILE_VALUES)})
    return _dump(data)


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


@st.composite
def text_mutant(draw: st.DrawFn, seeds: list[str]) -> str:
    """A seed's text with snippets inserted, slices deleted or lines duplicated."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "duplicate", "bomb"]))
        if kind == "insert":
            text = text[:pos] + draw(SNIPPETS) + text[pos:]
        elif kind == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 40)) :]
        elif kind == "duplicate":
            lines = text.splitlines(keepends=True) or [""]
            i = draw(st.integers(0, len(lines) - 1))
            text = "".join(lines[: i + 1] + lines[i:])
        else:
            levels = draw(st.integers(2, 9))
            bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
            bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
            param = "  bomb:\n    type: list\n    default:\n      - {" + ", ".join(bomb) + "}\n"
            text = text.replace("parameters:\n", "parameters:\n" + param, 1)
    return text


def mutants(seeds: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(structural_mutant(seeds), text_mutant(seeds))


if __name__ == "__main__" and sys.argv[1:] == ["worker"]:
    worker()
