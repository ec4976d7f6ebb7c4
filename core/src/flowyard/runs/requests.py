"""What the CLI (or a library caller) asks a backend to run here (``submit``'s request is in flowyard.requests)."""

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
