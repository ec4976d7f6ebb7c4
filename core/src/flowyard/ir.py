"""The neutral, versioned, immutable IR that every backend receives (never the raw spec).

Lowering (:mod:`flowyard._lowering`) produces it; compilers and runners consume it. Everything here is
resolved: references point at things that exist, names are unique and DNS-1123, steps are in a
topological order, defaults are applied. Bump :data:`IR_VERSION` on any change a backend could notice.
"""

import functools
import json
import operator
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from flowyard.errors import FlowyardError

IR_VERSION: Literal["2"] = "2"  # 2: a step's body is one union (``body``), not two optional fields

ValueType = Literal["string", "number", "integer", "bool", "object", "list", "any"]
DataType = Literal["file", "string", "number", "integer", "bool", "object", "list", "any"]
FailurePolicy = Literal["stop", "continue"]


class _Frozen(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True, extra="forbid", defer_build=True)


# --- references and templates -------------------------------------------------------------------


class ParamRef(_Frozen):
    kind: Literal["param"] = "param"
    name: str


class ItemRef(_Frozen):
    """The current fan-out item, or a field inside it (``item.event.msg`` has fields ``("event", "msg")``)."""

    kind: Literal["item"] = "item"
    fields: tuple[str, ...] = ()


class InputRef(_Frozen):
    """An input of the current step: its value, or (``path=True``) where its file is placed."""

    kind: Literal["input"] = "input"
    name: str
    path: bool = False


class OutputPathRef(_Frozen):
    """Where the current step must write a declared output file."""

    kind: Literal["output_path"] = "output_path"
    name: str


class StepOutputRef(_Frozen):
    kind: Literal["step_output"] = "step_output"
    step: str
    output: str


class RunStatusRef(_Frozen):
    """``Succeeded`` or ``Failed``: only meaningful in the on-exit step."""

    kind: Literal["run_status"] = "run_status"


Ref = Annotated[
    ParamRef | ItemRef | InputRef | OutputPathRef | StepOutputRef | RunStatusRef,
    Field(discriminator="kind"),
]


class Text(_Frozen):
    kind: Literal["text"] = "text"
    text: str


TemplatePart = Annotated[
    Text | ParamRef | ItemRef | InputRef | OutputPathRef | StepOutputRef | RunStatusRef,
    Field(discriminator="kind"),
]


class Template(_Frozen):
    """A string with ``${{ ... }}`` placeholders, parsed. Each backend renders it in its own syntax."""

    parts: tuple[TemplatePart, ...] = ()

    @property
    def refs(self) -> tuple[Ref, ...]:
        return tuple(p for p in self.parts if not isinstance(p, Text))

    @property
    def is_literal(self) -> bool:
        return not self.refs

    def literal(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, Text))


# --- data sources ---------------------------------------------------------------------------------


class LiteralSource(_Frozen):
    kind: Literal["literal"] = "literal"
    value: Any


class TemplateSource(_Frozen):
    kind: Literal["template"] = "template"
    template: Template


class ParamSource(_Frozen):
    kind: Literal["param"] = "param"
    name: str


class ItemSource(_Frozen):
    kind: Literal["item"] = "item"
    fields: tuple[str, ...] = ()


class StepOutputSource(_Frozen):
    """An output of an upstream step.

    ``collect`` is true when the upstream step fans out and the consumer takes every item's output
    at once (fan-in): files arrive as a folder with one zero-padded sub-folder per item, values as a
    JSON list in item order, failed items as ``null``/missing.
    """

    kind: Literal["step_output"] = "step_output"
    step: str
    output: str
    collect: bool = False


Source = Annotated[
    LiteralSource | TemplateSource | ParamSource | ItemSource | StepOutputSource,
    Field(discriminator="kind"),
]


# --- the pipeline ---------------------------------------------------------------------------------


class ParameterIR(_Frozen):
    name: str
    type: ValueType
    default: Any = None
    required: bool = False
    description: str = ""


class SecretRefIR(_Frozen):
    """A secret: a Kubernetes secret ``secret``/``key`` on clusters, the host variable ``env`` locally."""

    secret: str
    key: str
    env: str


class InputIR(_Frozen):
    name: str
    type: DataType
    source: Source
    path: str | None = None  # files: where the step expects it, relative to its workdir (or absolute)


class OutputIR(_Frozen):
    name: str
    type: DataType
    path: str | None = None  # fixed path relative to the workdir; None: handed over by placeholder


class ForEachIR(_Frozen):
    """Run the step once per item of ``source``.

    ``over_fanout`` is true when ``source`` is an output of a fanned-out step: item *i* is then that
    step's output for its item *i*, and this step waits for the whole upstream fan-out.
    """

    source: Source
    over_fanout: bool = False


class BackoffIR(_Frozen):
    duration_seconds: float = 1.0
    factor: float = 2.0
    max_duration_seconds: float | None = None


class RetryIR(_Frozen):
    limit: int = 0  # re-tries after the first attempt, as Argo counts them
    backoff: BackoffIR = BackoffIR()


class ResourcesIR(_Frozen):
    cpu: str | None = None
    memory: str | None = None
    gpu: int | None = None

    @property
    def is_empty(self) -> bool:
        return self.cpu is None and self.memory is None and self.gpu is None


ConditionOperator = Literal["==", "!=", "<", "<=", ">", ">="]
# what each operator does: applied to values (the local runner) or to engine objects that overload them (kfp)
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class ConditionIR(_Frozen):
    """``left op right``; each side is a single reference or a JSON literal."""

    left: Source
    op: ConditionOperator
    right: Source
    text: str


class ContainerIR(_Frozen):
    """A command run in an image."""

    kind: Literal["container"] = "container"
    image: str
    command: tuple[Template, ...]
    workdir: str | None = None


class PythonIR(_Frozen):
    """A Python function called in an image."""

    kind: Literal["python"] = "python"
    function: str  # "package.module:function"
    image: str


StepBody = Annotated[ContainerIR | PythonIR, Field(discriminator="kind")]
"""What a step runs: exactly one of the kinds, so a backend ``match``es on it and mypy checks the cases."""


class StepIR(_Frozen):
    name: str  # as written in the spec
    dns_name: str  # DNS-1123 label, unique in the pipeline
    description: str = ""
    body: StepBody
    inputs: tuple[InputIR, ...] = ()
    outputs: tuple[OutputIR, ...] = ()
    env: tuple[tuple[str, Template], ...] = ()
    secrets: tuple[SecretRefIR, ...] = ()
    depends_on: tuple[str, ...] = ()  # names of upstream steps, sorted
    for_each: ForEachIR | None = None
    parallelism: int | None = None
    when: ConditionIR | None = None
    retry: RetryIR = RetryIR()
    timeout_seconds: float | None = None
    failure_policy: FailurePolicy = "stop"
    resources: ResourcesIR = ResourcesIR()
    cache: bool = False
    params_used: tuple[str, ...] = ()  # pipeline parameters the step reads, sorted

    @property
    def kind(self) -> Literal["container", "python"]:
        return self.body.kind

    @property
    def container(self) -> ContainerIR | None:
        """The body when it is a command (a shorthand where only that kind is handled)."""
        return self.body if isinstance(self.body, ContainerIR) else None

    @property
    def python(self) -> PythonIR | None:
        """The body when it is a Python function."""
        return self.body if isinstance(self.body, PythonIR) else None

    @property
    def image(self) -> str:
        return self.body.image

    def input(self, name: str) -> InputIR:
        return next(i for i in self.inputs if i.name == name)

    def output(self, name: str) -> OutputIR:
        return next(o for o in self.outputs if o.name == name)


class LocalStoreIR(_Frozen):
    type: Literal["local"] = "local"
    path: str | None = None  # None: inside each run's directory


class S3StoreIR(_Frozen):
    type: Literal["s3"] = "s3"
    endpoint: str | None = None
    bucket: str
    prefix: str = ""
    region: str | None = None
    insecure: bool = False
    access_key: SecretRefIR | None = None
    secret_key: SecretRefIR | None = None


StoreIR = Annotated[LocalStoreIR | S3StoreIR, Field(discriminator="type")]


class PipelineOutputIR(_Frozen):
    name: str
    source: StepOutputSource


class SourceInfo(_Frozen):
    """Where the spec came from; ``directory`` anchors relative paths such as the ``bin/`` folder."""

    file: str | None = None
    directory: str | None = None


class PipelineIR(_Frozen):
    ir_version: Literal["2"] = IR_VERSION
    name: str
    dns_name: str
    description: str = ""
    parameters: tuple[ParameterIR, ...] = ()
    steps: tuple[StepIR, ...]  # topological order, ties broken by spec order
    on_exit: StepIR | None = None
    outputs: tuple[PipelineOutputIR, ...] = ()
    parallelism: int | None = None
    failure_policy: FailurePolicy = "stop"
    store: StoreIR = LocalStoreIR()
    source: SourceInfo = SourceInfo()

    @functools.cached_property
    def _steps_by_name(self) -> dict[str, StepIR]:
        return {s.name: s for s in self.all_steps}

    def step(self, name: str) -> StepIR:
        return self._steps_by_name[name]  # KeyError for an unknown name

    def parameter(self, name: str) -> ParameterIR:
        return next(p for p in self.parameters if p.name == name)

    def downstream(self, name: str) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps if name in s.depends_on)

    @property
    def all_steps(self) -> tuple[StepIR, ...]:
        return self.steps + ((self.on_exit,) if self.on_exit is not None else ())

    def is_fanned_out(self, step: str) -> bool:
        return self.step(step).for_each is not None


class IRVersionError(FlowyardError):
    """An IR written by a flowyard whose IR has another shape (a run made before an upgrade)."""


def read_ir_json(data: bytes | str, where: str = "the IR") -> PipelineIR:
    """A stored IR (a run's ``ir.json``), refused by name when another IR version wrote it."""
    try:
        version = json.loads(data).get("ir_version")
    except (ValueError, AttributeError):
        version = None
    if version != IR_VERSION:
        raise IRVersionError(
            f"{where} is IR version {version!r}; this flowyard reads version {IR_VERSION!r} "
            "(re-run it with the flowyard that made it)"
        )
    return PipelineIR.model_validate_json(data)
