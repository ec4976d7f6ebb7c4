"""The user-facing pipeline spec (``apiVersion: flowyard/v1``), as immutable pydantic models.

The same models load from YAML/JSON and are built from Python; :func:`flowyard._lowering.lower`
turns a :class:`Pipeline` into the IR that backends receive. Shorthands keep files short:
an output written as a string is a file at that path; an input written as a bare value is its
``value``; ``retries: 3`` is ``retries: {limit: 3}``.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

API_VERSION = "flowyard/v1"

ValueType = Literal["string", "number", "integer", "bool", "object", "list", "any"]
DataType = Literal["file", "string", "number", "integer", "bool", "object", "list", "any"]

MAX_DURATION_SECONDS = 2**31 - 1  # about 68 years: what every engine's integer seconds can hold
MAX_VALUE_DEPTH = 32  # KFP carries values as protobuf, which refuses over 100 levels: two per list level
INT64 = 2**63

_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)(ms|s|m|h|d))")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string such as ``30s``, ``5m``, ``1h30m``, ``250ms``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30, '30s', '5m' or '1h30m'")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            pos, seconds = 0, 0.0
            for m in _DURATION.finditer(text):
                if m.start() != pos:
                    break
                seconds += float(m[1]) * _UNIT_SECONDS[m[2]]
                pos = m.end()
            if pos != len(text):
                raise ValueError(f"expected a duration such as 30, '30s', '5m' or '1h30m', got {value!r}") from None
    else:
        raise ValueError("expected a duration such as 30, '30s', '5m' or '1h30m'")
    if not math.isfinite(seconds):
        raise ValueError(f"expected a finite duration, got {seconds}")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"a duration of at most {MAX_DURATION_SECONDS} seconds (about 68 years)")
    return seconds


def json_value_problem(value: Any) -> str | None:
    """What keeps ``value`` from being a JSON value every engine can carry, or None."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        v, where, depth = stack.pop()
        at = f" at {where}" if where else ""
        if depth > MAX_VALUE_DEPTH:
            return f"nested more than {MAX_VALUE_DEPTH} levels deep{at}"
        if v is None or isinstance(v, (str, bool)):
            continue
        if isinstance(v, int):
            if not -INT64 <= v < INT64:
                return f"an integer outside the signed 64-bit range{at}"
        elif isinstance(v, float):
            if not math.isfinite(v):
                return f"not a finite number ({v}){at}"
        elif isinstance(v, (list, tuple)):
            stack += [(x, f"{where}[{i}]", depth + 1) for i, x in enumerate(v)]
        elif isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str):
                    return f"a mapping key that is not a string ({type(k).__name__}){at}"
                stack.append((x, f"{where}.{k}" if where else k, depth + 1))
        else:
            return f"a {type(v).__name__}, which has no JSON form{at}"
    return None


def _json_value(value: Any) -> Any:
    problem = json_value_problem(value)
    if problem:
        raise ValueError(f"expected a JSON value: {problem}")
    return value


JsonValue = Annotated[Any, AfterValidator(_json_value)]
"""Any value a JSON document can hold, bounded: finite numbers, 64-bit integers, string keys."""


Duration = Annotated[float, Field(description="Seconds, or a string such as '30s', '5m', '1h30m'.")]


class SpecModel(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, defer_build=True, allow_inf_nan=False
    )


class Parameter(SpecModel):
    """A pipeline parameter. Without ``default`` it is required at run time."""

    type: ValueType = "string"
    default: JsonValue = None
    description: str = ""

    @property
    def required(self) -> bool:
        return "default" not in self.model_fields_set


class SecretRef(SpecModel):
    """A secret value: Kubernetes secret ``secret``/``key`` on clusters; locally the host variable ``env``.

    Inside the step the value is the environment variable ``env``.
    """

    secret: str = Field(min_length=1)
    key: str = Field(min_length=1)
    env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class Resources(SpecModel):
    """Placement hints: requests and limits on clusters; ignored (with a notice) locally."""

    cpu: str | int | float | None = None
    memory: str | None = None
    gpu: int | None = Field(default=None, ge=0)


class Backoff(SpecModel):
    duration: float | str = 1.0
    factor: float = Field(default=2.0, ge=1.0)
    max_duration: float | str | None = None

    @field_validator("duration", "max_duration")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        return None if v is None else parse_duration(v)


class Retry(SpecModel):
    """``limit`` counts re-tries after the first attempt, as Argo does: ``limit: 2`` is 3 attempts."""

    limit: int = Field(ge=0)
    backoff: Backoff | None = None


class Container(SpecModel):
    """Run ``command`` (the argv: no shell) in ``image``, in ``workdir``."""

    image: str | None = None
    command: list[str] = Field(min_length=1)
    args: list[str] = Field(default_factory=list)
    workdir: str | None = None


class PythonFunction(SpecModel):
    """Run ``function`` (``package.module:function``) through flowyard's step entrypoint."""

    function: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    image: str | None = None


class Input(SpecModel):
    """What a step consumes: ``value`` is a literal, a template, or one ``${{ reference }}``.

    File inputs are placed at ``path`` (relative to the step's workdir), or wherever
    ``${{ inputs.NAME.path }}`` says.
    """

    value: JsonValue = None
    type: DataType | None = None
    path: str | None = None


class Output(SpecModel):
    """What a step produces. ``type: file`` (the default) is an artifact; any other type is a value the
    step writes as JSON to ``path`` (container steps) or returns (Python steps)."""

    type: DataType = "file"
    path: str | None = None
    description: str = ""


def _retries_shorthand(v: Any) -> Any:
    if isinstance(v, int) and not isinstance(v, bool):
        if v < 0:
            raise ValueError("retries cannot be negative")
        return {"limit": v}
    return v


def _shorthand_inputs(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: (x if isinstance(x, (dict, Input)) else {"value": x}) for k, x in v.items()}
    return v


def _shorthand_outputs(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: ({"path": x} if isinstance(x, str) else x) for k, x in v.items()}
    return v


class RunSettings(SpecModel):
    """How a step runs; shared by steps and pipeline-wide ``defaults``."""

    retries: int | Retry | None = None
    timeout: float | str | None = None

    @field_validator("retries", mode="before")
    @classmethod
    def _retries(cls, v: Any) -> Any:
        return _retries_shorthand(v)

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, v: Any) -> Any:
        return None if v is None else parse_duration(v)


class Step(RunSettings):
    """One step: a container command or a Python function, its data, and how it runs.

    ``uses`` names a reusable step file (``kind: Step``); the fields given here override it and
    its inputs are merged by name.
    """

    description: str = ""
    uses: str | None = None
    container: Container | None = None
    python: PythonFunction | None = None
    inputs: dict[str, Input] = Field(default_factory=dict)
    outputs: dict[str, Output] = Field(default_factory=dict)
    after: list[str] = Field(default_factory=list)
    for_each: list[JsonValue] | str | None = None
    parallelism: int | None = Field(default=None, ge=1)
    when: str | None = None
    retries: int | Retry | None = None
    timeout: float | str | None = None
    failure_policy: Literal["stop", "continue"] | None = None
    resources: Resources | None = None
    env: dict[str, str] = Field(default_factory=dict)
    secrets: list[SecretRef] = Field(default_factory=list)
    cache: bool | None = None

    @field_validator("inputs", mode="before")
    @classmethod
    def _inputs(cls, v: Any) -> Any:
        return _shorthand_inputs(v)

    @field_validator("outputs", mode="before")
    @classmethod
    def _outputs(cls, v: Any) -> Any:
        return _shorthand_outputs(v)

    def merged_over(self, base: Step) -> Step:
        """This step's explicit fields laid over ``base`` (a reusable step); inputs merge by name."""
        data = base.model_dump(exclude_unset=True, by_alias=True)
        own = self.model_dump(exclude_unset=True, by_alias=True)
        inputs = dict(data.get("inputs", {}))
        for name, inp in own.pop("inputs", {}).items():
            inputs[name] = {**inputs.get(name, {}), **inp}
        data.update(own)
        if inputs:
            data["inputs"] = inputs
        data.pop("uses", None)
        return Step.model_validate(data)

    def bind(self, **fields: Any) -> Step:
        """Use this (reusable) step in a pipeline with some fields set: ``ACTIVATOR.bind(for_each=...)``."""
        return Step.model_validate(fields).merged_over(self)


class StepFile(Step):
    """A reusable step in a file of its own."""

    api_version: Literal["flowyard/v1"] = Field(alias="apiVersion")
    kind: Literal["Step"]


class Defaults(RunSettings):
    """Values every step gets unless it sets its own."""

    image: str | None = None
    workdir: str | None = None
    resources: Resources | None = None
    env: dict[str, str] = Field(default_factory=dict)
    cache: bool | None = None


class LocalStore(SpecModel):
    """Artifacts on the local disk: in each run's folder, or under ``path``."""

    type: Literal["local"] = "local"
    path: str | None = None


class S3Store(SpecModel):
    """S3-compatible object storage (AWS S3, MinIO). Credentials are secret references."""

    type: Literal["s3"] = "s3"
    endpoint: str | None = None
    bucket: str = Field(min_length=3)
    prefix: str = ""
    region: str | None = None
    insecure: bool = False
    access_key: SecretRef | None = None
    secret_key: SecretRef | None = None


Store = Annotated[LocalStore | S3Store, Field(discriminator="type")]


class Pipeline(SpecModel):
    """A pipeline: parameters, steps (a mapping, in order), outputs, and how it runs."""

    api_version: Literal["flowyard/v1"] = Field(default="flowyard/v1", alias="apiVersion")
    kind: Literal["Pipeline"] = "Pipeline"
    name: str = Field(min_length=1)
    description: str = ""
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    defaults: Defaults = Defaults()
    steps: dict[str, Step] = Field(min_length=1)
    on_exit: Step | None = None
    outputs: dict[str, str] = Field(default_factory=dict)
    parallelism: int | None = Field(default=None, ge=1)
    failure_policy: Literal["stop", "continue"] = "stop"
    store: Store = Field(default_factory=LocalStore)


def pipeline_json_schema() -> dict[str, Any]:
    """The JSON Schema of a pipeline file (``flowyard schema``), for editor completion."""
    schema = Pipeline.model_json_schema(by_alias=True)
    step = schema["$defs"]["Step"]["properties"]
    # The shorthands the validators accept: an output as its path, an input as its bare value,
    # retries as a count.
    step["outputs"]["additionalProperties"] = {"anyOf": [{"$ref": "#/$defs/Output"}, {"type": "string"}]}
    step["inputs"]["additionalProperties"] = {"anyOf": [{"$ref": "#/$defs/Input"}, {"not": {"type": "object"}}]}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://flowyard.dev/schema/pipeline-v1.json"
    schema["title"] = "flowyard pipeline (apiVersion flowyard/v1)"
    return schema
