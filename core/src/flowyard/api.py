"""The library front door: ``flowyard.run`` and ``flowyard.compile`` do what the commands of the same
name do (load, resolve parameters, the backend's capability check and its notices) and return
what the command would print, as objects, raising :class:`flowyard.FlowyardError` where the command
would exit non-zero with one line.

A run leaves the caller's process as it found it: ``sys.stdout``, ``sys.stderr`` and the root
logger's handlers and level are what they were when it returns, however it ends (the local
backend routes its in-process steps' output by thread, so the caller's other threads are never
captured; an engine SDK run in-process, such as kfp.local, may still change process-wide state
while it runs, and what it leaves is undone).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from flowyard.backend import Backend, CompiledPipeline
    from flowyard.ir import PipelineIR
    from flowyard.runs import RunStatus
    from flowyard.spec import Pipeline

PipelineSource: TypeAlias = "str | os.PathLike[str] | Pipeline | PipelineIR"
"""A spec file (``pipeline.yaml``, ``file.py:attribute``), a :class:`~flowyard.Pipeline` built in
Python, or an already lowered :class:`~flowyard.PipelineIR`."""


def run(
    pipeline: PipelineSource | None,
    backend: str = "local",
    *,
    params: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    runs_root: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    environ: Mapping[str, str] | None = None,
    resume: str | None = None,
) -> RunStatus:
    """Run ``pipeline`` on ``backend`` and return its final status (``flowyard run``).

    ``params`` are checked against the pipeline's declared parameters (defaults filled in);
    ``options`` are the backend's ``-O`` options; runs are kept under ``runs_root`` (default: as the
    command line, ``$FLOWYARD_HOME/runs`` or ``./.flowyard/runs``). A task that fails is a status,
    not an exception: look at ``status.state`` (and ``status.exit_code``). ``resume=RUN_ID``
    (``flowyard run --resume``) continues a stopped or failed run with its own pipeline and
    parameters: ``pipeline`` is then None.
    """
    from flowyard._params import resolve_params
    from flowyard.errors import FlowyardError
    from flowyard.runs import RunRequest

    if (pipeline is None) == (resume is None):
        raise FlowyardError("give a pipeline, or resume=RUN_ID (a resumed run keeps its own pipeline)")
    if resume is not None and params:
        raise FlowyardError("a resumed run keeps the parameters it started with: give no params")
    ir = _ir_of(pipeline) if pipeline is not None else None
    engine = _backend(backend, options)
    request = RunRequest(
        params=resolve_params(ir, (), params or {}) if ir is not None else {},
        runs_root=Path(runs_root) if runs_root is not None else None,
        resume=resume,
        use_cache=use_cache,
        environ=environ,
    )  # Backend.run checks the capabilities and adds the check's notices
    with _process_state_kept():
        status: RunStatus = engine.run(ir, request)
    return status


def compile(  # the command's name: flowyard.compile
    pipeline: PipelineSource,
    backend: str,
    *,
    options: Mapping[str, Any] | None = None,
) -> CompiledPipeline:
    """Compile ``pipeline`` into ``backend``'s own documents (``flowyard compile``).

    The result's ``notices`` hold what the command prints as ``notice:`` lines (what the backend
    ignores or approximates, then what its compiler says); ``main.content`` is the document and
    ``write(path)`` writes every file.
    """
    ir = _ir_of(pipeline)
    engine = _backend(backend, options)
    with _process_state_kept():  # an engine SDK may configure logging on first use
        return engine.compile(ir)  # the capability check's notices first, then the compiler's


def _ir_of(pipeline: PipelineSource) -> PipelineIR:
    """The pipeline's IR, from whichever form it is given in."""
    from flowyard._loading import load_ir, resolve_uses
    from flowyard._lowering import lower
    from flowyard.ir import PipelineIR, SourceInfo
    from flowyard.spec import Pipeline

    if isinstance(pipeline, PipelineIR):
        return pipeline
    if isinstance(pipeline, Pipeline):  # built in Python: relative paths and `uses:` are the caller's folder's
        here = Path.cwd()
        return lower(resolve_uses(pipeline, here), source=SourceInfo(directory=str(here)))
    return load_ir(pipeline)


def _backend(name: str, options: Mapping[str, Any] | None) -> Backend:
    from flowyard.plugins import backend_registry

    return backend_registry().create(name, dict(options or {}))


@contextlib.contextmanager
def _process_state_kept() -> Iterator[None]:
    """Whatever a backend or an engine's SDK does to the root logger is undone when the run ends."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)
