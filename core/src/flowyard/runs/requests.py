"""What the CLI (or a library caller) asks a backend to do: run here, or submit to an engine."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunRequest:
    """How to run: parameter values, where runs live, resume/caching, a single step, output style."""

    params: Mapping[str, Any] = field(default_factory=dict)
    runs_root: Path | None = None
    resume: str | None = None
    use_cache: bool = True
    only_step: str | None = None
    step_inputs: Mapping[str, Path] = field(default_factory=dict)
    progress: bool = False
    quiet: bool = True
    notices: tuple[str, ...] = ()
    environ: Mapping[str, str] | None = None

    def with_notices(self, notices: Iterable[str]) -> RunRequest:
        return replace(self, notices=(*self.notices, *notices))


@dataclass(frozen=True)
class SubmitRequest:
    """How to reach a remote engine, and what to send it. ``None`` settings fall back to env, then config."""

    params: Mapping[str, Any] = field(default_factory=dict)
    server: str | None = None
    namespace: str | None = None
    token: str | None = None
    insecure: bool | None = None
    experiment: str | None = None
    watch: bool = False
    step: str | None = None
    item: int | None = None
    runs_root: Path | None = None
