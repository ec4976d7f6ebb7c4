"""What each backend operation is asked: one request type per operation, none borrowed for another.

``run`` takes :class:`flowyard.runs.RunRequest`; ``submit`` a :class:`SubmitRequest`; ``status`` a
:class:`Remote` (where the engine is, nothing else); ``logs`` a :class:`LogQuery`. A ``None`` setting
of a :class:`Remote` falls back to the backend's environment variable, then the config file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Remote:
    """How to reach a remote engine. The token is left out of ``repr`` so that it never reaches a log."""

    server: str | None = None
    namespace: str | None = None
    token: str | None = field(default=None, repr=False)
    insecure: bool | None = None


@dataclass(frozen=True)
class SubmitRequest:
    """What ``submit`` sends and where: the parameter values, the engine, and whether to follow the run.

    ``runs_root`` is where a watched run's record is written (default: the configured runs folder);
    ``experiment`` files the run under a named experiment on engines that have them (kubeflow)."""

    params: Mapping[str, Any] = field(default_factory=dict)
    remote: Remote = field(default_factory=Remote)
    experiment: str | None = None
    watch: bool = False
    runs_root: Path | None = None


@dataclass(frozen=True)
class LogQuery:
    """Which logs ``logs`` reads: a run's tasks on ``remote``, narrowed to one ``step`` (and fan-out
    ``item``) when given; ``follow`` keeps reading until the run ends."""

    remote: Remote = field(default_factory=Remote)
    step: str | None = None
    item: int | None = None
    follow: bool = False


__all__ = ["LogQuery", "Remote", "SubmitRequest"]
