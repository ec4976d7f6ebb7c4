"""The interface every backend implements, and the capability gate in front of it.

A backend is a class (behaviour lives here, hooks only register it). It declares a closed set of
:class:`Capability` values; anything it does not declare is "not supported". Features that change
what a pipeline computes are refused when not declared; placement hints (image, resources) are
dropped with one notice per run instead.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from flowyard.errors import FlowyardError, UnsupportedFeatureError
from flowyard.ir import PipelineIR, S3StoreIR, StepIR, StepOutputSource
from flowyard.requests import LogQuery, Remote, SubmitRequest
from flowyard.runs import RunRequest, RunStatus
from flowyard.summary import StructuralSummary


class Capability(str, enum.Enum):
    """What a backend can do. A new member is "not declared" for every existing backend."""

    # kinds of step
    CONTAINER_STEPS = "container-steps"
    PYTHON_STEPS = "python-steps"
    # data flow and control flow: refused when not declared
    FAN_OUT = "fan-out"
    FAN_OUT_OVER_OUTPUT = "fan-out-over-output"
    FAN_OUT_OVER_FAN_OUT = "fan-out-over-fan-out"
    FAN_IN_VALUES = "fan-in-values"
    FAN_IN_FILES = "fan-in-files"
    STEP_PARALLELISM = "step-parallelism"
    PIPELINE_PARALLELISM = "pipeline-parallelism"
    RETRIES = "retries"
    TIMEOUTS = "timeouts"
    CONDITIONS = "conditions"
    EXIT_HANDLER = "exit-handler"
    CONTINUE_ON_FAILURE = "continue-on-failure"
    SECRETS = "secrets"
    S3_STORE = "s3-store"
    CACHING = "caching"
    # placement hints: ignored with a notice when not declared
    IMAGES = "images"
    RESOURCES = "resources"
    # operations: the optional methods
    RUN = "run"
    RESUME = "resume"
    SUBMIT = "submit"
    STATUS = "status"
    LOGS = "logs"
    SUMMARIZE = "summarize"


PLACEMENT_HINTS = frozenset({Capability.IMAGES, Capability.RESOURCES})


@dataclass(frozen=True)
class FeatureUse:
    """A capability a pipeline needs, and where it needs it (for the refusal message).

    A backend's own refusals (:meth:`Backend.refusals`) may name a narrower feature as a string,
    e.g. ``"argument-size"``, where no capability says it."""

    capability: Capability | str
    where: str

    @property
    def feature(self) -> str:
        return self.capability.value if isinstance(self.capability, Capability) else self.capability

    def __str__(self) -> str:
        return f"{self.feature} ({self.where})"


def _step_features(ir: PipelineIR, step: StepIR) -> list[FeatureUse]:
    where = f"step {step.name!r}"
    uses = [FeatureUse(Capability.CONTAINER_STEPS if step.kind == "container" else Capability.PYTHON_STEPS, where)]
    if step.for_each is not None:
        uses.append(FeatureUse(Capability.FAN_OUT, f"{where}, for_each"))
        src = step.for_each.source
        if isinstance(src, StepOutputSource):
            cap = Capability.FAN_OUT_OVER_FAN_OUT if step.for_each.over_fanout else Capability.FAN_OUT_OVER_OUTPUT
            uses.append(FeatureUse(cap, f"{where}, for_each over step {src.step!r}"))
    if step.parallelism is not None:
        uses.append(FeatureUse(Capability.STEP_PARALLELISM, f"{where}, parallelism {step.parallelism}"))
    for inp in step.inputs:
        if isinstance(inp.source, StepOutputSource) and inp.source.collect:
            cap = Capability.FAN_IN_FILES if inp.type == "file" else Capability.FAN_IN_VALUES
            uses.append(FeatureUse(cap, f"{where}, input {inp.name!r}"))
    if step.retry.limit:
        uses.append(FeatureUse(Capability.RETRIES, f"{where}, retries {step.retry.limit}"))
    if step.timeout_seconds is not None:
        uses.append(FeatureUse(Capability.TIMEOUTS, f"{where}, timeout {step.timeout_seconds:g}s"))
    if step.when is not None:
        uses.append(FeatureUse(Capability.CONDITIONS, f"{where}, when {step.when.text!r}"))
    if step.failure_policy == "continue":
        uses.append(FeatureUse(Capability.CONTINUE_ON_FAILURE, f"{where}, failure_policy continue"))
    if step.secrets:
        uses.append(FeatureUse(Capability.SECRETS, f"{where}, secrets"))
    if step.cache:
        uses.append(FeatureUse(Capability.CACHING, f"{where}, cache"))
    if step.image:
        uses.append(FeatureUse(Capability.IMAGES, f"{where}, image {step.image!r}"))
    if not step.resources.is_empty:
        uses.append(FeatureUse(Capability.RESOURCES, f"{where}, resources"))
    return uses


def required_features(ir: PipelineIR) -> list[FeatureUse]:
    """Every capability the pipeline uses, in pipeline order, each with where it is used."""
    uses: list[FeatureUse] = []
    for step in ir.steps:
        uses += _step_features(ir, step)
    if ir.on_exit is not None:
        uses.append(FeatureUse(Capability.EXIT_HANDLER, "on_exit"))
        uses += _step_features(ir, ir.on_exit)
    for out in ir.outputs:
        if out.source.collect:
            producer = ir.step(out.source.step)
            cap = (
                Capability.FAN_IN_FILES
                if producer.output(out.source.output).type == "file"
                else Capability.FAN_IN_VALUES
            )
            uses.append(FeatureUse(cap, f"pipeline output {out.name!r}"))
    if ir.parallelism is not None:
        uses.append(FeatureUse(Capability.PIPELINE_PARALLELISM, f"pipeline parallelism {ir.parallelism}"))
    if ir.failure_policy == "continue" and not any(u.capability is Capability.CONTINUE_ON_FAILURE for u in uses):
        uses.append(FeatureUse(Capability.CONTINUE_ON_FAILURE, "pipeline failure_policy continue"))
    if isinstance(ir.store, S3StoreIR):
        uses.append(FeatureUse(Capability.S3_STORE, f"store s3://{ir.store.bucket}"))
        if ir.store.access_key or ir.store.secret_key:
            uses.append(FeatureUse(Capability.SECRETS, "store credentials"))
    return uses


def cluster_refusals(ir: PipelineIR, engine: str, default_image: str | None) -> list[FeatureUse]:
    """Refusals every cluster engine shares: a step with no image to run in, and a container step's
    string value output, which the engine hands on as the file's JSON text (quotes included) where
    a local run decodes it."""
    out: list[FeatureUse] = []
    for s in ir.all_steps:
        if not s.image and not default_image:
            out.append(FeatureUse("step-image", f"step {s.name!r} names no image: set one, or -O default_image=IMAGE"))
        for inp in s.inputs:
            src = inp.source
            if not isinstance(src, StepOutputSource) or inp.type == "file":
                continue
            producer = ir.step(src.step)
            if producer.kind == "container" and producer.output(src.output).type in ("string", "any"):
                out.append(
                    FeatureUse(
                        "container-string-value-output",
                        f"step {producer.name!r}, output {src.output!r}: {engine} passes the file's JSON text, "
                        "quotes included; declare a non-string type or write a file output",
                    )
                )
    return out


@dataclass(frozen=True)
class SupportReport:
    """What a backend would refuse and what it would ignore for one pipeline."""

    backend: str
    refused: tuple[FeatureUse, ...]
    ignored: tuple[FeatureUse, ...]

    @property
    def ok(self) -> bool:
        return not self.refused

    def refusal_lines(self) -> list[str]:
        """One line per refused feature, listing every place that needs it."""
        where: dict[str, list[str]] = {}
        for u in self.refused:
            where.setdefault(u.feature, []).append(u.where)
        return [f"{cap} ({'; '.join(places)})" for cap, places in where.items()]

    def notices(self) -> list[str]:
        """One notice per ignored placement hint (not one per step)."""
        caps = sorted({u.feature for u in self.ignored})
        return [f"the {self.backend} backend ignores {c} (placement hints mean nothing here)" for c in caps]


class BackendOptions(BaseModel):
    """Per-backend options, set on the CLI with ``-O key=value``. Subclass and add fields."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid", frozen=True, defer_build=True)


@dataclass(frozen=True)
class CompiledFile:
    name: str
    content: str
    media_type: str = "application/yaml"


@dataclass(frozen=True)
class CompiledPipeline:
    """What ``compile`` returns: the engine's documents, in memory. ``files[0]`` is the main one."""

    backend: str
    files: tuple[CompiledFile, ...]
    notices: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def main(self) -> CompiledFile:
        return self.files[0]

    def write(self, path: Path) -> list[Path]:
        """Write the main file to ``path`` and any others beside it; returns what was written."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.main.content, encoding="utf-8")
        written = [path]
        for extra in self.files[1:]:
            target = path.parent / extra.name
            target.write_text(extra.content, encoding="utf-8")
            written.append(target)
        return written


class OperationNotSupportedError(FlowyardError):
    def __init__(self, backend: str, capability: Capability) -> None:
        super().__init__(f"the {backend} backend cannot {capability.value} (it does not declare that capability)")


class Backend(abc.ABC):
    """Base class of every backend. Subclasses set ``name``, ``capabilities`` and ``Options``."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    Options: ClassVar[type[BackendOptions]] = BackendOptions

    def __init__(self, options: BackendOptions | Mapping[str, Any] | None = None) -> None:
        if options is None or isinstance(options, Mapping):
            try:
                options = self.Options.model_validate(dict(options or {}))
            except ValidationError as e:
                raise FlowyardError(f"invalid option for the {self.name} backend: {_options_error(e)}") from None
        self.options = options

    # --- the gate ------------------------------------------------------------------------------

    def support(self, ir: PipelineIR) -> SupportReport:
        refused: list[FeatureUse] = []
        ignored: list[FeatureUse] = []
        seen: set[tuple[Capability | str, str]] = set()
        for use in required_features(ir):
            if use.capability in self.capabilities or (use.capability, use.where) in seen:
                continue
            seen.add((use.capability, use.where))
            (ignored if use.capability in PLACEMENT_HINTS else refused).append(use)
        refused += self.refusals(ir)
        return SupportReport(self.name, tuple(refused), tuple(ignored))

    def refusals(self, ir: PipelineIR) -> list[FeatureUse]:
        """Backend-specific refusals beyond the capability set (e.g. a size limit). Default: none."""
        return []

    def check(self, ir: PipelineIR) -> SupportReport:
        """Raise :class:`UnsupportedFeatureError` naming each refused feature; else return the report."""
        report = self.support(ir)
        if report.refused:
            raise UnsupportedFeatureError(self.name, report.refusal_lines())
        return report

    def describe(self, ir: PipelineIR) -> dict[str, str]:
        """This backend's effective semantics for ``ir`` (parallelism, retries, ...), for ``compare``."""
        return {}

    def emulated(self, ir: PipelineIR) -> frozenset[Capability]:
        """Capabilities this backend provides by a workaround rather than natively (for ``compare``)."""
        return frozenset()

    def require(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise OperationNotSupportedError(self.name, capability)

    # --- operations: public template methods (gate, then the plugin's ``_``-method) ------------

    def compile(self, ir: PipelineIR) -> CompiledPipeline:
        """Translate the IR into the engine's documents, after the capability check (which refuses
        by name); the check's notices come first in the result's. Pure: no I/O, no network."""
        report = self.check(ir)
        compiled = self._compile(ir)
        return replace(compiled, notices=(*report.notices(), *compiled.notices))

    def run(self, ir: PipelineIR | None, request: RunRequest) -> RunStatus:
        """Execute the pipeline here and now (capability ``run``; ``resume`` to continue a run).

        ``ir`` is ``None`` when ``request.resume`` names a run to continue (its IR is in its folder).
        The capability check runs here, once; its notices join ``request.notices``."""
        self.require(Capability.RUN)
        if request.resume is not None:
            self.require(Capability.RESUME)
        if ir is not None:
            request = request.with_notices(self.check(ir).notices())
        return self._run(ir, request)

    def submit(self, ir: PipelineIR, request: SubmitRequest) -> RunStatus:
        """Send the pipeline to a remote engine (capability ``submit``), after the capability check."""
        self.require(Capability.SUBMIT)
        self.check(ir)
        return self._submit(ir, request)

    def status(self, run_id: str, remote: Remote) -> RunStatus:
        """The status of a run (capability ``status``)."""
        self.require(Capability.STATUS)
        return self._status(run_id, remote)

    def logs(self, run_id: str, query: LogQuery) -> Iterator[str]:
        """The log lines of a run's tasks, ``step[item]: text`` (capability ``logs``)."""
        self.require(Capability.LOGS)
        return self._logs(run_id, query)

    def summarize(self, compiled: CompiledPipeline) -> StructuralSummary:
        """Parse this backend's own output back into a summary, for ``compare`` (capability ``summarize``)."""
        self.require(Capability.SUMMARIZE)
        return self._summarize(compiled)

    # --- what a backend implements: called only through the methods above ---------------------

    @abc.abstractmethod
    def _compile(self, ir: PipelineIR) -> CompiledPipeline:
        """The engine's documents for an IR the gate accepted. Pure: no I/O, no network."""

    def _run(self, ir: PipelineIR | None, request: RunRequest) -> RunStatus:
        """Run an IR the gate accepted (or resume ``request.resume`` when ``ir`` is ``None``)."""
        raise OperationNotSupportedError(self.name, Capability.RUN)

    def _submit(self, ir: PipelineIR, request: SubmitRequest) -> RunStatus:
        """Send an IR the gate accepted; ``PENDING`` unless ``request.watch``."""
        raise OperationNotSupportedError(self.name, Capability.SUBMIT)

    def _status(self, run_id: str, remote: Remote) -> RunStatus:
        """Ask the engine at ``remote`` (a ``None`` setting: your environment variable, then config)."""
        raise OperationNotSupportedError(self.name, Capability.STATUS)

    def _logs(self, run_id: str, query: LogQuery) -> Iterator[str]:
        """Lines ``step[item]: text``, narrowed by ``query.step``/``query.item``; ``query.follow``: to the end."""
        raise OperationNotSupportedError(self.name, Capability.LOGS)

    def _summarize(self, compiled: CompiledPipeline) -> StructuralSummary:
        """Read this backend's own ``compile`` output back (the contract kit compares it with the IR's)."""
        raise OperationNotSupportedError(self.name, Capability.SUMMARIZE)


def _options_error(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = "unknown option" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def parse_option_pairs(pairs: list[str]) -> dict[str, Any]:
    """``-O key=value`` pairs; values are JSON where they parse as JSON, strings otherwise."""
    import json

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise FlowyardError(f"expected -O KEY=VALUE, got {pair!r}")
        try:
            out[key.replace("-", "_")] = json.loads(text)
        except ValueError:
            out[key.replace("-", "_")] = text
    return out


__all__ = [
    "PLACEMENT_HINTS",
    "Backend",
    "BackendOptions",
    "Capability",
    "CompiledFile",
    "CompiledPipeline",
    "FeatureUse",
    "OperationNotSupportedError",
    "SupportReport",
    "cluster_refusals",
    "parse_option_pairs",
    "required_features",
]
