"""Errors a user can act on. Each carries the CLI exit code it maps to, so no traceback reaches a user."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

EXIT_USAGE = 2
EXIT_INFRASTRUCTURE = 3


def short_json(value: Any, limit: int = 80) -> str:
    """The first ``limit`` characters of a value's JSON, encoding no more of it than that (an error
    message about a huge value must not cost what the value costs)."""
    out: list[str] = []
    size = 0
    for chunk in json.JSONEncoder(ensure_ascii=False, default=repr).iterencode(value):
        out.append(chunk)
        size += len(chunk)
        if size > limit:
            return "".join(out)[: limit - 3] + "..."
    return "".join(out)


class FlowyardError(Exception):
    """Base of every expected error; ``exit_code`` is what the CLI exits with."""

    exit_code: int = EXIT_USAGE


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where it is (file, line, field) and what was expected."""

    field: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


class SpecError(FlowyardError):
    """A pipeline spec that cannot be loaded or lowered; lists every problem found."""

    exit_code = EXIT_USAGE

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        if len(self.problems) == 1:
            return f"invalid pipeline spec: {self.problems[0]}"
        lines = [f"invalid pipeline spec ({len(self.problems)} problems):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class SpecFileNotFoundError(SpecError):
    """A pipeline file (or one it uses) that is not there: a wrong path, not an invalid spec."""

    def __init__(self, file: str) -> None:
        super().__init__([Problem("", "the file does not exist", file=file)])

    def _render(self) -> str:
        return str(self.problems[0])


class ParameterError(FlowyardError):
    """A ``--param`` or params-file value that does not fit the parameter's declared type."""

    exit_code = EXIT_USAGE


class UnsupportedFeatureError(FlowyardError):
    """A backend refuses a pipeline because it cannot honour a feature the pipeline needs."""

    exit_code = EXIT_USAGE

    def __init__(self, backend: str, refusals: Sequence[str]) -> None:
        self.backend = backend
        self.refusals: tuple[str, ...] = tuple(refusals)
        listed = "; ".join(refusals)
        super().__init__(f"backend {backend!r} cannot run this pipeline: {listed}")


class BackendNotFoundError(FlowyardError):
    exit_code = EXIT_USAGE


class PluginError(FlowyardError):
    """A plugin that is broken: a duplicate backend name, a hook that is not in the spec."""

    exit_code = EXIT_USAGE


class InfrastructureError(FlowyardError):
    """Something outside the pipeline failed: a server unreachable, an artifact store unavailable."""

    exit_code = EXIT_INFRASTRUCTURE


class RunNotFoundError(FlowyardError):
    exit_code = EXIT_USAGE
