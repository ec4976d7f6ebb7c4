"""The local backend: runs a pipeline's IR here, with the cluster engines' semantics.

Its compiled form is the IR itself (JSON): the runner executes exactly what every other backend
compiles, which is what makes a local run say something about a cluster run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pydantic_core
from flowyard.backend import Backend, BackendOptions, Capability, CompiledFile, CompiledPipeline
from flowyard.errors import FlowyardError, InfrastructureError
from flowyard.execution.processes import end_marked_processes
from flowyard.ir import LocalStoreIR, PipelineIR, StepIR, StepOutputSource
from flowyard.masking import MIN_SECRET_LENGTH, short_secrets
from flowyard.requests import LogQuery, Remote
from flowyard.runlock import lock_run
from flowyard.runs import (
    RunDirectory,
    RunRequest,
    RunStatus,
    find_run,
    new_run_id,
    read_json,
    runs_root,
    write_atomic,
)
from flowyard.store import ArtifactStore, open_store
from pydantic import Field

from flowyard_local.cache import cache_for
from flowyard_local.runner import Scheduler, default_workers, load_previous, pool_notices
from flowyard_local.step_rows import progress_events, step_row

if TYPE_CHECKING:  # imported where used: a run needs neither
    from flowyard.execution.progress import Progress
    from flowyard.summary import StructuralSummary


class LocalOptions(BackendOptions):
    """Options of the local backend (``-O key=value``)."""

    workers: int | None = Field(
        default=None,
        ge=1,
        description="Tasks at once at most (default: max(4, CPUs), or the pipeline's largest limit up to 64).",
    )
    python_subprocess: bool = Field(
        default=False, description="Run Python-function steps in a subprocess each (python -m flowyard.step)."
    )
    s3_endpoint: str | None = Field(default=None, description="Override the S3 store's endpoint URL.")
    cache_dir: Path | None = Field(
        default=None, description="Where cached task results are kept (default: .cache in the runs folder)."
    )


class RunInterrupted(FlowyardError):
    exit_code = 130


class LocalBackend(Backend):
    name = "local"
    description = "runs here: an embedded DAG runner with the cluster engines' semantics"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.CONTAINER_STEPS,
            Capability.PYTHON_STEPS,
            Capability.FAN_OUT,
            Capability.FAN_OUT_OVER_OUTPUT,
            Capability.FAN_OUT_OVER_FAN_OUT,
            Capability.FAN_IN_VALUES,
            Capability.FAN_IN_FILES,
            Capability.STEP_PARALLELISM,
            Capability.PIPELINE_PARALLELISM,
            Capability.RETRIES,
            Capability.TIMEOUTS,
            Capability.CONDITIONS,
            Capability.EXIT_HANDLER,
            Capability.CONTINUE_ON_FAILURE,
            Capability.SECRETS,
            Capability.S3_STORE,
            Capability.CACHING,
            Capability.RUN,
            Capability.RESUME,
            Capability.STATUS,
            Capability.LOGS,
            Capability.SUMMARIZE,
        }
    )
    Options: ClassVar[type[LocalOptions]] = LocalOptions
    options: LocalOptions

    # --- compiling ---------------------------------------------------------------------------

    def _compile(self, ir: PipelineIR) -> CompiledPipeline:
        text = ir.model_dump_json(indent=2)
        return CompiledPipeline(
            backend=self.name,
            files=(CompiledFile(f"{ir.dns_name}.ir.json", text + "\n", "application/json"),),
            metadata={"objects": {"tasks": len(ir.all_steps)}},
        )

    def describe(self, ir: PipelineIR) -> dict[str, str]:
        workers = self.options.workers or default_workers(ir)
        limit = min(ir.parallelism or workers, workers)
        return {
            "parallelism": f"at most {limit} tasks at once here; every step limit held exactly",
            "retries": "limit = re-tries after the first attempt; waits duration x factor^n, capped",
            "timeouts": "per attempt; the task's process group is killed",
        }

    def _summarize(self, compiled: CompiledPipeline) -> StructuralSummary:
        from flowyard.summary import summarize_ir

        return summarize_ir(PipelineIR.model_validate(json.loads(compiled.main.content)))

    # --- running -----------------------------------------------------------------------------

    def _run(self, ir: PipelineIR | None, request: RunRequest) -> RunStatus:
        with contextlib.ExitStack() as held:  # the run folder's lock, released however the run ends
            return self._run_holding(ir, request, held)

    def _run_holding(self, ir: PipelineIR | None, request: RunRequest, held: contextlib.ExitStack) -> RunStatus:
        root = runs_root(request.runs_root)
        environ = dict(os.environ if request.environ is None else request.environ)
        if request.resume is not None:
            run_dir = find_run(request.resume, root)
            held.enter_context(lock_run(run_dir.path))
            end_marked_processes(run_dir.run_id)  # what the killed attempt left running must not write on
            ir = run_dir.read_ir()
            params = read_json(run_dir.params_file)
            external = self._checked(ir, request, environ)
        else:
            if ir is None:
                raise FlowyardError("nothing to run: give a pipeline or a run to resume")
            params = dict(request.params)
            external = self._checked(ir, request, environ)
            run_dir = RunDirectory(root / new_run_id(ir.dns_name))
            run_dir.path.mkdir(parents=True, exist_ok=False)
            held.enter_context(lock_run(run_dir.path))
            # Not fsynced one by one: the journal's first commit syncs them before it records anything.
            write_atomic(run_dir.ir_file, ir.model_dump_json(indent=1).encode(), sync=False)
            # pydantic-core's encoder: the stdlib's indenting one is pure Python (a 10,000-item list: 15 ms)
            write_atomic(run_dir.params_file, pydantic_core.to_json(params, indent=1), sync=False)
        store, in_run_dir = self._store(ir, run_dir, environ)
        store.check()
        previous = load_previous(run_dir, store) if request.resume else {}
        workers = self.options.workers or default_workers(ir)
        notices = [*request.notices, *pool_notices(ir, workers, given=self.options.workers is not None)]
        scheduler = Scheduler(
            ir,
            params,
            run_dir,
            store,
            workers=workers,
            environ=environ,
            notices=tuple(notices),
            python_subprocess=self.options.python_subprocess,
            store_in_run_dir=in_run_dir,
            previous=previous,
            resumed=request.resume is not None,
            only_step=request.only_step,
            external=external,
            cache=cache_for((self.options.cache_dir or root / ".cache").absolute(), request.use_cache),
        )
        progress = _progress(request, scheduler)
        writer = _StatusWriter(run_dir)
        scheduler.on_event = _tee(progress and progress_events(progress), writer.maybe(scheduler.status))
        writer.write(scheduler.status())
        with _sigterm_as_interrupt():
            try:
                status = scheduler.execute()
            finally:
                if progress is not None:
                    progress.close()
        writer.write(status)
        if scheduler.infrastructure:
            raise InfrastructureError(
                f"{scheduler.infrastructure}\nrun {run_dir.run_id} stopped; when the store is back: "
                f"flowyard run --resume {run_dir.run_id}"
            )
        if scheduler.interrupted:
            raise RunInterrupted(status.message)
        return status

    def _store(self, ir: PipelineIR, run_dir: RunDirectory, environ: Mapping[str, str]) -> tuple[ArtifactStore, bool]:
        store = open_store(ir.store, local_root=run_dir.path, environ=environ, endpoint_url=self.options.s3_endpoint)
        in_run_dir = isinstance(ir.store, LocalStoreIR) and ir.store.path is None
        if not in_run_dir:  # a shared store: every run under its own prefix
            store = ArtifactStore(store.fs, f"{store.root}/{run_dir.run_id}", protocol=store.protocol)
        return store, in_run_dir

    def _checked(self, ir: PipelineIR, request: RunRequest, environ: Mapping[str, str]) -> dict[str, Any] | None:
        """What the user got wrong, said before anything is made (no half-made run folder); the
        inputs given to ``--step``."""
        _refuse_short_secrets(ir, environ)
        return self._external_inputs(ir, request) if request.only_step else None

    def _external_inputs(self, ir: PipelineIR, request: RunRequest) -> dict[str, Any]:
        """``--step NAME --input ...``: the given inputs, read; a usage error for anything missing."""
        step = next((s for s in ir.steps if s.name == request.only_step), None)
        if step is None:
            raise FlowyardError(f"no step named {request.only_step!r} (steps: {', '.join(s.name for s in ir.steps)})")
        known = {i.name: i for i in step.inputs}
        out: dict[str, Any] = {}
        for name, path in request.step_inputs.items():
            if name == "for_each":
                _must_exist(name, path, folder_ok=True)
                out[name] = _items_from(path)
                continue
            if name not in known:
                raise FlowyardError(f"step {step.name!r} has no input {name!r} (inputs: {', '.join(known) or 'none'})")
            if known[name].type == "file":
                _must_exist(name, path, folder_ok=True)
            out[name] = str(path) if known[name].type == "file" else _json_or_file(path)
        _require_upstream_inputs(step, out)
        return out

    # --- looking at runs ---------------------------------------------------------------------

    def _status(self, run_id: str, remote: Remote) -> RunStatus:
        """A run in the configured runs folder (a local run has no server to ask)."""
        return find_run(run_id).read_status()

    def _logs(self, run_id: str, query: LogQuery) -> Iterator[str]:
        from flowyard.logs import follow_run_logs, read_run_logs

        run_dir = find_run(run_id)
        return (follow_run_logs if query.follow else read_run_logs)(run_dir, query.step, query.item)


def _refuse_short_secrets(ir: PipelineIR, environ: Mapping[str, str]) -> None:
    """A secret too short to mask without rewriting other text is refused by name, before the run."""
    short = short_secrets((s for step in ir.all_steps for s in step.secrets), environ)
    if short:
        raise FlowyardError(
            f"secret value(s) in {', '.join(short)} shorter than {MIN_SECRET_LENGTH} characters: flowyard masks "
            f"secrets in every output, and a value this short would be masked inside unrelated text; use a longer one"
        )


def _must_exist(name: str, path: Path, *, folder_ok: bool) -> None:
    if not (path.is_file() or (folder_ok and path.is_dir())):
        raise FlowyardError(f"--input {name}={path}: no such file" + (" or folder" if folder_ok else ""))


def _require_upstream_inputs(step: StepIR, given: Mapping[str, Any]) -> None:
    """A step run alone has no upstream steps: what would come from them must be given."""
    fe = step.for_each
    if fe is not None and isinstance(fe.source, StepOutputSource) and "for_each" not in given:
        raise FlowyardError(
            f"step {step.name!r} fans out over step {fe.source.step!r}'s outputs: give its items with "
            "--input for_each=PATH (a JSON list, or a folder of item folders)"
        )
    for inp in step.inputs:
        if isinstance(inp.source, StepOutputSource) and inp.name not in given:
            raise FlowyardError(
                f"step {step.name!r} runs alone: its input {inp.name!r} comes from step {inp.source.step!r}: "
                f"give it with --input {inp.name}=PATH"
            )


def _items_from(path: Path) -> list[Any]:
    """``--input for_each=...``: a folder in the fan-in layout (one file per item folder), or a JSON list."""
    if path.is_dir():
        items = []
        for entry in sorted(path.iterdir()):
            files = sorted(f for f in entry.rglob("*") if f.is_file()) if entry.is_dir() else [entry]
            if len(files) != 1:
                raise FlowyardError(f"--input for_each={path}: expected one file in {entry}, found {len(files)}")
            items.append(str(files[0]))
        return items
    value = _json_or_file(path)
    if not isinstance(value, list):
        raise FlowyardError(f"--input for_each={path}: expected a JSON list or a folder of item folders")
    return value


def _json_or_file(path: Path) -> Any:
    text = path.read_text(encoding="utf-8") if path.is_file() else str(path)
    try:
        return json.loads(text)
    except ValueError:
        raise FlowyardError(f"expected JSON (or a JSON file) for a value input, got {str(path)[:80]!r}") from None


def _progress(request: RunRequest, scheduler: Scheduler) -> Progress | None:
    if request.quiet:
        return None
    from flowyard.execution.progress import LiveProgress, PlainProgress

    if not request.progress:
        return PlainProgress()
    steps = list(scheduler.steps.values())
    return LiveProgress(lambda: [step_row(st) for st in steps])


class _StatusWriter:
    """Rewrites run.json at most once a second while the run goes on (for status and logs -f)."""

    def __init__(self, run_dir: RunDirectory, every: float = 1.0) -> None:
        self.run_dir = run_dir
        self.every = every
        self.last = 0.0

    def write(self, status: RunStatus) -> None:
        import time

        self.run_dir.write_status(status)
        self.last = time.monotonic()

    def maybe(self, make: Any) -> Any:
        import time

        def on_event(kind: str, data: Any) -> None:
            if kind == "step" and time.monotonic() - self.last >= self.every:
                self.write(make())

        return on_event


def _tee(*callbacks: Any) -> Any:
    active = [c for c in callbacks if c is not None]

    def on_event(kind: str, data: Any) -> None:
        for c in active:
            c(kind, data)

    return on_event


class _sigterm_as_interrupt:
    """SIGTERM stops a run the way Ctrl-C does: children killed, journal committed, resumable."""

    def __enter__(self) -> None:
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._handle)

    @staticmethod
    def _handle(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
