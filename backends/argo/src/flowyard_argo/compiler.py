"""IR -> an Argo Workflow (or WorkflowTemplate, CronWorkflow), built from hera's typed models.

Nothing here writes a dict by hand: every object is a hera class or a model from
``hera.workflows.models``, and serialisation happens once, at the edge (:func:`compile_manifest`).
The mapping is documented row by row in ``docs/backends/argo.md``. In short: one container template
per step, one DAG (``main``) wiring them; a fanned-out step with its own parallelism is wrapped in a
DAG template carrying it (Argo only honours the limit on the template that contains the loop); fan-out
items are numbered (:mod:`flowyard_argo.helper`) so that their files land under zero-padded keys and
their values carry their index.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from flowyard.ir import (
    ConditionIR,
    ContainerIR,
    InputIR,
    InputRef,
    ItemRef,
    ItemSource,
    LiteralSource,
    OutputIR,
    OutputPathRef,
    ParamRef,
    ParamSource,
    PipelineIR,
    PythonIR,
    RunStatusRef,
    S3StoreIR,
    StepIR,
    StepOutputSource,
    Template,
    TemplateSource,
)
from flowyard.templates import MissingFieldError, assert_never, dig, render, render_value
from hera.workflows import (
    DAG,
    Artifact,
    Container,
    CronWorkflow,
    Env,
    NoneArchiveStrategy,
    Parameter,
    RawArtifact,
    RetryStrategy,
    S3Artifact,
    SecretEnv,
    Task,
    Workflow,
    WorkflowTemplate,
)
from hera.workflows import models as m

from flowyard_argo.failed_items import CHECK, check_task, check_template, failed_items_check, status_output
from flowyard_argo.fan_ins import file_fan_in_producers, list_artifact, listed_outputs, value_fan_in_producers
from flowyard_argo.helper import COUNT_PATH, DATA_PATH, ITEMS_PATH, READ_DATA, SCRIPT
from flowyard_argo.on_exit import EXIT_HANDLER, P_RUN_STATUS, RUN_STATUS_TAG, exit_handler, failed_step_name
from flowyard_argo.options import ArgoOptions

ENTRY = "main"
HELPER = "flowyard-items"
HELPER_FILE = "flowyard-items-file"  # the helper reading an upstream step's list from a file
INPUTS_ROOT = "/flowyard/inputs"
OUTPUTS_ROOT = "/flowyard/outputs"
VALUES_DIR = "/flowyard/values"
COLLECTED_DIR = "/flowyard/collected"
DEFAULT_WORKDIR = "/flowyard/work"
P_INDEX = "flowyard-index"
P_ITEM = "flowyard-item"
P_ITEMS = "flowyard-items"
AWS_S3_ENDPOINT = "s3.amazonaws.com"  # Argo's docs for AWS S3 (docs/configure-artifact-repository.md)
ARGUMENT_LIMIT = 128 * 1024  # Argo refuses larger parameter values
MANIFEST_LIMIT = 1024 * 1024  # etcd's object limit is ~1.5 MB; Argo's docs advise staying under 1 MB
IR_ANNOTATION = "workflows.flowyard.dev/ir-version"
PIPELINE_LABEL = "workflows.flowyard.dev/pipeline"


def loop_template(dns: str) -> str:
    return f"{dns}-loop"


def items_task(dns: str) -> str:
    return f"{dns}-items"


def field_param(k: int) -> str:
    return f"flowyard-f{k}"


def basename(out: OutputIR) -> str:
    return PurePosixPath(out.path).name if out.path else out.name


def reserved_names(ir: PipelineIR) -> dict[str, str]:
    """Template and task names the compiler adds, each with what it is for."""
    names = {ENTRY: "the entry DAG", HELPER: "the item-numbering template", EXIT_HANDLER: "the on-exit handler"}
    names[CHECK] = "the failed-items check template"
    names[HELPER_FILE] = "the item-numbering template reading a file"
    if ir.on_exit is not None:
        names[failed_step_name(ir.on_exit.dns_name)] = "the on-exit step run after a failure"
    gathered = value_fan_in_producers(ir)
    for s in ir.steps:
        if s.for_each is not None:
            names[items_task(s.dns_name)] = f"the item list of step {s.name!r}"
            if s.parallelism is not None or s.name in gathered:
                names[loop_template(s.dns_name)] = f"the loop wrapper of step {s.name!r}"
                names[check_task(s.dns_name)] = f"the failed-items check of step {s.name!r}"
    return names


# --- how a step's items arrive ---------------------------------------------------------------------


@dataclass(frozen=True)
class Items:
    """Where a fanned-out step's numbered items come from, and how many there are."""

    with_items: tuple[dict[str, str], ...] | None = None
    with_param: str | None = None
    count: str = "0"
    helper_args: dict[str, str] | None = None  # this step's own helper task, if it needs one
    helper_depends: tuple[str, ...] = ()
    helper_data: str | None = None  # the upstream list as an artifact (``from``), read from DATA_PATH
    fields: tuple[tuple[str, ...], ...] = ()


def data_producers(step: StepIR) -> set[str]:
    """The steps whose outputs this step reads (inputs, ``for_each``, ``when``), not those it only runs after."""
    sources: list[Any] = [inp.source for inp in step.inputs]
    if step.for_each is not None:
        sources.append(step.for_each.source)
    if step.when is not None:
        sources += [step.when.left, step.when.right]
    return {src.step for src in sources if isinstance(src, StepOutputSource)}


def item_fields(step: StepIR) -> tuple[tuple[str, ...], ...]:
    """Every ``item.a.b`` field path the step uses, in a fixed order (``flowyard-f0``, ...)."""
    found: set[tuple[str, ...]] = set()

    def scan(tpl: Template) -> None:
        for part in tpl.parts:
            if isinstance(part, ItemRef) and part.fields:
                found.add(part.fields)

    if step.container is not None:
        for t in step.container.command:
            scan(t)
    for _, t in step.env:
        scan(t)
    for inp in step.inputs:
        if isinstance(inp.source, ItemSource) and inp.source.fields:
            found.add(inp.source.fields)
        elif isinstance(inp.source, TemplateSource):
            scan(inp.source.template)
    if step.when is not None:
        for side in (step.when.left, step.when.right):
            if isinstance(side, ItemSource) and side.fields:
                found.add(side.fields)
    return tuple(sorted(found))


def literal_data(values: Any) -> str:
    """A literal ``for_each`` list as the helper's argument: JSON in printable ASCII.

    The controller substitutes it with ``strconv.Quote``, which writes DEL and astral non-printables in
    Go-only syntax that its JSON parse back rejects; ``\\u007f`` and ``\\uXXXX`` are the same JSON.
    """
    return json.dumps(values, separators=(",", ":"), ensure_ascii=True).replace("\x7f", "\\u007f")


def check_literal_fields(values: list[Any], fields: tuple[tuple[str, ...], ...], step: str) -> None:
    """Refuse at compile time what the helper would refuse at run time: ``{{`` in an item, a missing field."""
    for i, item in enumerate(values):
        if "{{" in json.dumps(item, ensure_ascii=False):
            raise CompileError(
                f"step {step!r}: for_each item {i} holds '{{{{', which Argo's controller would substitute or "
                "evaluate as its own tag in the pod (argo-workflows 1765, 7828)"
            )
        for path in fields:
            try:
                dig(item, path, f"step {step!r}: for_each item {i}")
            except MissingFieldError as e:
                raise CompileError(str(e)) from None


def unquotable(text: str) -> str | None:
    """The first character Argo cannot substitute into a template, described; ``None`` when there is none.

    The controller inserts a simple tag's value with ``strconv.Quote`` and parses the JSON back
    (``util/template/simple_template.go``); Go writes C0 controls other than ``\\b\\t\\n\\f\\r``, DEL
    and non-printable characters beyond U+FFFF as ``\\xNN``/``\\a``/``\\v``/``\\UXXXXXXXX``, which JSON rejects.
    """
    for ch in text:
        code = ord(ch)
        if (code < 0x20 and ch not in "\b\t\n\f\r") or code == 0x7F or (code > 0xFFFF and not ch.isprintable()):
            return f"U+{code:04X}"
    return None


def item_expression(ref: str) -> str:
    """The expression that gives a numbered item's field back byte for byte (see :mod:`flowyard_argo.helper`).

    ``ref`` is ``item.fK`` on a task (``processItem``'s scope) or ``inputs.parameters['flowyard-fK']`` in the
    step's template: there the result is inserted after the last ``strconv.Quote`` pass over the inputs, so
    control characters and DEL arrive as written (``util/template/expression_template.go``).
    """
    return f"{{{{=jsonpath({ref}, '$.v')}}}}"


class CompileError(Exception):
    """The IR asks for something this compiler cannot write (the gate should have refused it)."""


# --- the compiler ----------------------------------------------------------------------------------


@dataclass
class _StepTemplate:
    """What one step needs from the DAG that calls it: argument values keyed by input name."""

    parameters: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)  # input parameter name -> the file its value is written to


@dataclass(frozen=True)
class _StepReferences:
    """What each reference becomes in one step's template: an Argo ``{{...}}`` expression or path."""

    compiler: ArgoCompiler
    step: StepIR
    calls: _StepTemplate
    where: str

    def text(self, text: str) -> str:
        return self.compiler._literal_text(text, self.where)

    def param(self, ref: ParamRef) -> str:
        return f"{{{{workflow.parameters.{ref.name}}}}}"

    def item(self, ref: ItemRef) -> str:
        return self.compiler.item_param(self.step, ref.fields, self.calls)

    def input(self, ref: InputRef) -> str:
        inp = self.step.input(ref.name)
        if ref.path:
            return self.compiler.input_path(self.step, inp)
        return self.compiler.value_text(self.step, inp, self.calls, self.where)[1]

    def output_path(self, ref: OutputPathRef) -> str:
        return self.compiler.output_path(self.step, self.step.output(ref.name))

    def run_status(self, ref: RunStatusRef) -> str:
        self.calls.parameters[P_RUN_STATUS] = "{{workflow.status}}"  # each alternative of the handler sets it
        return RUN_STATUS_TAG


class ArgoCompiler:
    """Builds one Workflow from one IR. Holds only what it derives from them; use once."""

    def __init__(self, ir: PipelineIR, options: ArgoOptions, values: Mapping[str, Any] | None = None) -> None:
        self.ir = ir
        self.options = options
        self.values = dict(values or {})  # parameter values to send (submit); else the defaults
        self.items: dict[str, Items] = {}
        self.needs_helper = False
        self.needs_helper_file = False
        self.listed = listed_outputs(ir)  # (step, output) a fan-out's helper reads as a file
        self.needs_check = False
        # fanned-out steps whose values are gathered: wrapped, so an empty loop's aggregate is "[]"
        self.gathered = value_fan_in_producers(ir)
        self.steps = {s.name: s for s in ir.all_steps}  # ir.step() is a linear scan

    # --- names and references ----------------------------------------------------------------

    def dns(self, step: str) -> str:
        return self.steps[step].dns_name

    def output_ref(self, step: str, output: str) -> str:
        """The expression, in the entry DAG, for an upstream step's value output (aggregated if fanned out)."""
        return f"{{{{tasks.{self.dns(step)}.outputs.parameters.{output}}}}}"

    def key(self, step: StepIR, out: OutputIR, *, indexed: str | None) -> str:
        """The artifact key of an output: a folder per step and output, a sub-folder per item."""
        store = self.ir.store
        prefix = store.prefix.strip("/") + "/" if isinstance(store, S3StoreIR) and store.prefix.strip("/") else ""
        base = f"{prefix}{{{{workflow.name}}}}/{step.dns_name}/{out.name}"
        if indexed is None:
            return base
        return f"{base}/{indexed}/{basename(out)}"

    def workdir(self, step: StepIR) -> str:
        if step.container is not None and step.container.workdir:
            return step.container.workdir
        return DEFAULT_WORKDIR

    def output_path(self, step: StepIR, out: OutputIR) -> str:
        if out.path is None:
            return f"{OUTPUTS_ROOT}/{out.name}"
        return str(PurePosixPath(self.workdir(step)) / out.path)

    def input_path(self, step: StepIR, inp: InputIR) -> str:
        if inp.path is not None:
            return str(PurePosixPath(self.workdir(step)) / inp.path)
        src = inp.source
        if isinstance(src, StepOutputSource) and not src.collect:
            return f"{INPUTS_ROOT}/{inp.name}/{basename(self.steps[src.step].output(src.output))}"
        if isinstance(src, ItemSource) and step.for_each is not None:
            up = step.for_each.source
            assert isinstance(up, StepOutputSource)
            return f"{INPUTS_ROOT}/{inp.name}/{basename(self.steps[up.step].output(up.output))}"
        return f"{INPUTS_ROOT}/{inp.name}"

    # --- items -------------------------------------------------------------------------------

    def plan_items(self, step: StepIR) -> Items:
        assert step.for_each is not None
        fields = item_fields(step)
        src = step.for_each.source
        fields_json = json.dumps([list(f) for f in fields])
        own = items_task(step.dns_name)
        with_param = f"{{{{tasks.{own}.outputs.parameters.items}}}}"
        count = f"{{{{tasks.{own}.outputs.parameters.count}}}}"
        if isinstance(src, LiteralSource):
            check_literal_fields(list(src.value), fields, step.name)
        if isinstance(src, LiteralSource | ParamSource):
            param = f"{{{{workflow.parameters.{getattr(src, 'name', '')}}}}}"
            data = literal_data(src.value) if isinstance(src, LiteralSource) else param
            args = {"mode": "enumerate", "data": data, "count": "-"}
            return Items(with_param=with_param, count=count, helper_args={**args, "fields": fields_json}, fields=fields)
        assert isinstance(src, StepOutputSource)
        up = self.steps[src.step]
        if not step.for_each.over_fanout:  # through a file: the list can be over one argv string's 131,072 bytes
            args = {"mode": "enumerate", "data": DATA_PATH, "count": "-"}
            return Items(
                with_param=with_param,
                count=count,
                helper_args={**args, "fields": fields_json},
                helper_depends=(src.step,),  # step names
                helper_data=f"{{{{tasks.{up.dns_name}.outputs.artifacts.{list_artifact(src.output)}}}}}",
                fields=fields,
            )
        upstream = self.items[src.step]
        if up.output(src.output).type == "file":
            # item i reads upstream item i's file from its indexed key: same numbering as upstream
            return Items(with_items=upstream.with_items, with_param=upstream.with_param, count=upstream.count)
        args = {"mode": "gather", "data": self.output_ref(src.step, src.output), "count": upstream.count}
        return Items(
            with_param=with_param,
            count=upstream.count,
            helper_args={**args, "fields": fields_json},
            helper_depends=(src.step,),  # step names
            fields=fields,
        )

    # --- rendering into Argo's template syntax ----------------------------------------------

    def _literal_text(self, text: str, where: str) -> str:
        if "{{" in text:
            raise CompileError(f"{where}: Argo would read '{{{{' in {text[:60]!r} as its own placeholder")
        return text

    def render(self, step: StepIR, tpl: Template, calls: _StepTemplate, where: str) -> str:
        return render(tpl, _StepReferences(self, step, calls, where))

    def item_param(self, step: StepIR, fields: tuple[str, ...], calls: _StepTemplate) -> str:
        if not fields:
            calls.parameters[P_ITEM] = "{{item.item}}"
            return item_expression(f"inputs.parameters['{P_ITEM}']")
        k = self.items[step.name].fields.index(fields)
        calls.parameters[field_param(k)] = f"{{{{item.f{k}}}}}"
        return item_expression(f"inputs.parameters['{field_param(k)}']")

    def value_text(self, step: StepIR, inp: InputIR, calls: _StepTemplate, where: str) -> tuple[str, str]:
        """(encoding, text) of a value input inside the step's template."""
        src = inp.source
        if isinstance(src, LiteralSource):
            if isinstance(src.value, str):
                return "rendered", self._literal_text(src.value, where)
            return "json", self._literal_text(json.dumps(src.value, ensure_ascii=False), where)
        if isinstance(src, TemplateSource):
            return "rendered", self.render(step, src.template, calls, where)
        if isinstance(src, ParamSource):
            return "rendered", f"{{{{workflow.parameters.{src.name}}}}}"
        if isinstance(src, ItemSource):
            return "rendered", self.item_param(step, src.fields, calls)
        assert isinstance(src, StepOutputSource)
        calls.parameters[inp.name] = self.output_ref(src.step, src.output)
        producer = self.steps[src.step]
        encoding = "rendered" if producer.kind == "python" else "json"
        return encoding, f"{{{{inputs.parameters.{inp.name}}}}}"

    def condition(self, step: StepIR, cond: ConditionIR) -> str:
        def side(src: Any) -> str:
            if isinstance(src, LiteralSource):
                if isinstance(src.value, str):
                    if "'" in src.value:
                        raise CompileError(f"step {step.name!r}: a quote in the condition literal {src.value!r}")
                    return f"'{src.value}'"
                return render_value(src.value)
            if isinstance(src, ParamSource):
                text, quoted = f"{{{{workflow.parameters.{src.name}}}}}", self.quoted_parameter(step, src.name)
            elif isinstance(src, ItemSource):
                fields = self.items[step.name].fields
                text = item_expression("item.item" if not src.fields else f"item.f{fields.index(src.fields)}")
                quoted = True
            elif isinstance(src, StepOutputSource):
                text = self.output_ref(src.step, src.output)
                quoted = self.steps[src.step].output(src.output).type == "string"
            else:
                raise CompileError(f"step {step.name!r}: condition side {src!r}")
            return f"'{text}'" if quoted else text

        return f"{side(cond.left)} {cond.op} {side(cond.right)}"

    def quoted_parameter(self, step: StepIR, name: str) -> bool:
        """Whether a parameter's side of ``when`` is quoted: strings are (an ``any`` holding one too, as its
        spaces would break govaluate); a value govaluate cannot hold inside quotes is refused by name.

        Argo inserts the value as is, and govaluate ends a quoted string at either quote and reads a
        backslash as an escape (``lexer.go`` ``readUntilFalse``), so such a value would rewrite the condition.
        """
        param = self.ir.parameter(name)
        value = self.values.get(name, param.default)
        if param.type not in ("string", "any") or (param.type == "any" and not isinstance(value, str)):
            return False
        bad = next((ch for ch in ("'", '"', "\\") if isinstance(value, str) and ch in value), None)
        if bad is not None:
            raise CompileError(
                f"parameter {name!r}: its value holds {bad}, which would rewrite step {step.name!r}'s condition "
                "in Argo's govaluate (a quoted string ends at either quote; a backslash escapes)"
            )
        return True

    # --- one step ----------------------------------------------------------------------------

    def s3(self) -> dict[str, Any]:
        """The S3 location fields every artifact of a pipeline with an S3 store carries."""
        store = self.ir.store
        if not isinstance(store, S3StoreIR):
            return {}
        # S3Artifact.HasLocation needs an endpoint: without one the artifact would go to the default repository
        fields: dict[str, Any] = {"bucket": store.bucket, "endpoint": store.endpoint or AWS_S3_ENDPOINT}
        if store.insecure:
            fields["insecure"] = True
        if store.region:
            fields["region"] = store.region
        if store.access_key:
            fields["access_key_secret"] = m.SecretKeySelector(name=store.access_key.secret, key=store.access_key.key)
        if store.secret_key:
            fields["secret_key_secret"] = m.SecretKeySelector(name=store.secret_key.secret, key=store.secret_key.key)
        return fields

    def keyed(self) -> bool:
        return isinstance(self.ir.store, S3StoreIR)

    def output_artifact(self, step: StepIR, out: OutputIR) -> Artifact:
        path = self.output_path(step, out)
        archive = NoneArchiveStrategy()
        if step.for_each is not None:
            key = self.key(step, out, indexed=f"{{{{inputs.parameters.{P_INDEX}}}}}")
            return S3Artifact(name=out.name, path=path, key=key, archive=archive, **self.s3())
        if self.keyed():
            key = self.key(step, out, indexed=None)
            return S3Artifact(name=out.name, path=path, key=key, archive=archive, **self.s3())
        return Artifact(name=out.name, path=path, archive=archive)

    def list_artifact_of(self, step: StepIR, out: OutputIR, path: str) -> Artifact:
        """A value output also saved as a file, for a fan-out's item helper (never unpacked: ``archive: none``)."""
        name, archive = list_artifact(out.name), NoneArchiveStrategy()
        if self.keyed():
            key = f"{self.key(step, out, indexed=None)}/{name}"
            return S3Artifact(name=name, path=path, key=key, archive=archive, **self.s3())
        return Artifact(name=name, path=path, archive=archive)

    def input_artifact(self, step: StepIR, inp: InputIR, calls: _StepTemplate) -> Artifact:
        """An input file or folder, with ``archive: none``: without it the executor unpacks anything that looks
        like a tarball (``workflow/executor/executor.go`` ``unarchiveArtifact``), a user's ``.tar.gz`` included."""
        path = self.input_path(step, inp)
        archive = NoneArchiveStrategy()
        src = inp.source
        if isinstance(src, ItemSource):  # fan-out over a fanned-out step's files: item i reads file i
            assert step.for_each is not None and isinstance(step.for_each.source, StepOutputSource)
            up = self.steps[step.for_each.source.step]
            out = up.output(step.for_each.source.output)
            key = self.key(up, out, indexed=f"{{{{inputs.parameters.{P_INDEX}}}}}")
            return S3Artifact(name=inp.name, path=path, archive=archive, key=key, **self.s3())
        assert isinstance(src, StepOutputSource)
        up = self.steps[src.step]
        out = up.output(src.output)
        if src.collect or self.keyed():  # a fan-in reads the whole key prefix as a folder, one sub-folder per item
            key = self.key(up, out, indexed=None)
            # an empty fan-out writes no key under the prefix: loadS3Artifact's NotFound, unless optional
            optional = True if src.collect else None
            return S3Artifact(name=inp.name, path=path, archive=archive, key=key, optional=optional, **self.s3())
        calls.artifacts[inp.name] = {"from_": f"{{{{tasks.{up.dns_name}.outputs.artifacts.{out.name}}}}}"}
        return Artifact(name=inp.name, path=path, archive=archive)

    def step_template(self, step: StepIR) -> tuple[Container, _StepTemplate]:
        calls = _StepTemplate()
        where = f"step {step.name!r}"
        artifacts_in = [self.input_artifact(step, i, calls) for i in step.inputs if i.type == "file"]
        artifacts_out = [self.output_artifact(step, o) for o in step.outputs if o.type == "file"]
        params_out = []
        for out in step.outputs:
            if out.type == "file":
                continue
            path = f"{VALUES_DIR}/{out.name}" if step.kind == "python" else self.output_path(step, out)
            params_out.append(Parameter(name=out.name, value_from=m.ValueFrom(path=path)))
            if (step.name, out.name) in self.listed:  # the item helper reads it as a file
                artifacts_out.append(self.list_artifact_of(step, out, path))
        match step.body:
            case PythonIR():
                command = self.python_command(step, calls, where)
                workdir = None
            case ContainerIR(command=templates):
                command = [self.render(step, t, calls, where) for t in templates]
                workdir = self.workdir(step)
            case _:
                assert_never(step.body)
        env: list[Any] = [Env(name=k, value=self.render(step, t, calls, f"{where}, env {k}")) for k, t in step.env]
        env += [SecretEnv(name=s.env, secret_name=s.secret, secret_key=s.key) for s in step.secrets]
        if step.for_each is not None:
            calls.parameters[P_INDEX] = "{{item.index}}"
        params_in = [Parameter(name=n) for n in calls.parameters]
        # argoexec's init container writes a raw artifact's data, the parameter substituted, to its path
        artifacts_in += [
            RawArtifact(name=f"flowyard-raw-{n}", path=path, data=f"{{{{inputs.parameters.{n}}}}}")
            for n, path in calls.raw.items()
        ]
        container = Container(
            name=step.dns_name,
            image=step.image or self.options.default_image,
            image_pull_policy=self.options.image_pull_policy,
            command=command,
            working_dir=workdir,
            env=env or None,
            inputs=[*params_in, *artifacts_in] or None,
            outputs=[*params_out, *artifacts_out] or None,
            retry_strategy=self.retry(step),
            active_deadline_seconds=math.ceil(step.timeout_seconds) if step.timeout_seconds is not None else None,
            resources=self.resources(step),
        )
        return container, calls

    def python_command(self, step: StepIR, calls: _StepTemplate, where: str) -> list[str]:
        assert step.python is not None
        argv = [self.options.python, "-m", "flowyard.step", "exec", "--kind", "python"]
        argv += ["--function", step.python.function, "--workdir", DEFAULT_WORKDIR]
        for inp in step.inputs:
            if inp.type == "file":
                collected = isinstance(inp.source, StepOutputSource) and inp.source.collect
                argv += ["--folder" if collected else "--file", inp.name, self.input_path(step, inp)]
            elif isinstance(inp.source, StepOutputSource) and inp.source.collect:
                count_param = f"flowyard-count-{inp.name}"
                calls.parameters[inp.name] = self.output_ref(inp.source.step, inp.source.output)
                calls.parameters[count_param] = self.items[inp.source.step].count
                item_type = self.steps[inp.source.step].output(inp.source.output).type
                # through a file: the aggregate can be over Linux's 131,072 bytes for one argv string (E2BIG)
                path = calls.raw[inp.name] = f"{COLLECTED_DIR}/{inp.name}"
                argv += ["--collected-file", inp.name, item_type, f"{{{{inputs.parameters.{count_param}}}}}", path]
            else:
                encoding, text = self.value_text(step, inp, calls, f"{where}, input {inp.name!r}")
                argv += ["--value", inp.name, inp.type, encoding, text]
        for out in step.outputs:
            path = self.output_path(step, out) if out.type == "file" else f"{VALUES_DIR}/{out.name}"
            argv += ["--output", out.name, out.type, path]
        argv += ["--values-dir", VALUES_DIR]
        if step.for_each is not None:
            argv += ["--index", f"{{{{inputs.parameters.{P_INDEX}}}}}"]
        return argv

    def retry(self, step: StepIR) -> RetryStrategy | None:
        if not step.retry.limit:
            return None
        b = step.retry.backoff
        if b.max_duration_seconds is not None and self.options.argo_version == "3.6.19":
            raise CompileError(
                f"step {step.name!r}: retries.backoff.max_duration caps each wait; Argo 3.6 has no such cap "
                "(backoff.cap is from 3.7; its maxDuration is a total budget): compile with -O argo_version=3.7.9 "
                "or later, or drop max_duration"
            )
        # the spec's max_duration caps each wait: Argo's cap (3.7+), not maxDuration, a budget from the first
        # attempt (operator.go processNodeRetries)
        backoff = m.Backoff(
            duration=f"{b.duration_seconds:g}s",
            factor=m.IntOrString(int(b.factor)),
            cap=f"{b.max_duration_seconds:g}s" if b.max_duration_seconds is not None else None,
        )
        return RetryStrategy(limit=step.retry.limit, retry_policy="Always", backoff=backoff)

    def resources(self, step: StepIR) -> m.ResourceRequirements | None:
        r = step.resources
        if r.is_empty:
            return None
        amounts: dict[str, m.Quantity] = {}
        if r.cpu is not None:
            amounts["cpu"] = m.Quantity(r.cpu)
        if r.memory is not None:
            amounts["memory"] = m.Quantity(r.memory)
        limits = dict(amounts)
        if r.gpu:
            limits["nvidia.com/gpu"] = m.Quantity(str(r.gpu))
        return m.ResourceRequirements(requests=amounts or None, limits=limits or None)

    # --- tasks -------------------------------------------------------------------------------

    def depends_on(self, step_name: str, *, data: bool, folders_of: frozenset[str] = frozenset()) -> str:
        """One dependency in ``depends``.

        A step whose policy is ``continue`` is waited for in any outcome: ``validate.go`` refuses ``continueOn``
        in a DAG that uses ``depends``, and this is the form ``ancestry.go`` (``expandDependency``) rewrites
        ``continueOn: {failed: true}`` into. A consumer of a step's outputs (``data``) needs it to have
        succeeded, so it is Omitted after a skipped producer as locally; the bare name would also accept
        Skipped and start it on outputs that do not exist.
        """
        dns = self.dns(step_name)
        producer = self.steps[step_name]
        if producer.failure_policy == "continue":
            return f"({dns}.Succeeded || {dns}.Skipped || {dns}.Daemoned || {dns}.Failed || {dns}.Errored)"
        if data and step_name in folders_of and producer.when is None:
            return f"({dns}.Succeeded || {dns}.Skipped)"  # a loop over no items is Skipped (executeDAGTask)
        return f"{dns}.Succeeded" if data else dns

    def depends(self, step: StepIR, items: Items | None) -> str | None:
        producers = data_producers(step)
        folders = frozenset(file_fan_in_producers(step))
        names = [self.depends_on(d, data=d in producers, folders_of=folders) for d in step.depends_on]
        if items is not None and items.helper_args is not None:
            names.append(items_task(step.dns_name))
        return " && ".join(names) or None

    def step_tasks(self, step: StepIR, calls: _StepTemplate) -> tuple[list[Task], list[Any]]:
        """The entry DAG's tasks for a step, and any extra templates (its parallelism wrapper)."""
        items = self.items.get(step.name)
        continue_on = m.ContinueOn(failed=True) if step.failure_policy == "continue" else None
        when = self.condition(step, step.when) if step.when is not None else None
        tasks: list[Task] = []
        if items is not None and items.helper_args is not None:
            helper_args: list[Any] = [Parameter(name=k, value=v) for k, v in items.helper_args.items()]
            if items.helper_data is not None:
                self.needs_helper_file = True
                helper_args.append(Artifact(name="data", from_=items.helper_data))
            else:
                self.needs_helper = True
            tasks.append(
                Task(
                    name=items_task(step.dns_name),
                    template=HELPER if items.helper_data is None else HELPER_FILE,
                    arguments=helper_args,
                    depends=" && ".join(self.depends_on(d, data=True) for d in items.helper_depends) or None,
                )
            )
        arguments: list[Any] = [Parameter(name=k, value=v) for k, v in calls.parameters.items()]
        arguments += [Artifact(name=k, **v) for k, v in calls.artifacts.items()]
        loop: dict[str, Any] = {}
        if items is not None:
            loop = (
                {"with_items": [dict(r) for r in items.with_items]}
                if items.with_items is not None
                else {"with_param": items.with_param}
            )
        if items is None or (step.parallelism is None and step.name not in self.gathered):
            tasks.append(
                Task(
                    name=step.dns_name,
                    template=step.dns_name,
                    arguments=arguments or None,
                    depends=self.depends(step, items),
                    when=when,
                    **loop,
                )
            )
            return tasks, []
        # per-step parallelism: Argo honours it only on the template that contains the loop
        outer_params: dict[str, str] = {}
        inner_args: list[Any] = []
        for k, v in calls.parameters.items():
            if "{{tasks." in v:
                outer_params[k] = v
                inner_args.append(Parameter(name=k, value=f"{{{{inputs.parameters.{k}}}}}"))
            else:
                inner_args.append(Parameter(name=k, value=v))
        outer_artifacts = dict(calls.artifacts)
        inner_args += [Artifact(name=k, from_=f"{{{{inputs.artifacts.{k}}}}}") for k in outer_artifacts]
        if "with_param" in loop:
            outer_params[P_ITEMS] = loop["with_param"]
            loop = {"with_param": f"{{{{inputs.parameters.{P_ITEMS}}}}}"}
        item_when = when is not None and "(item." in when
        inner = Task(
            name=step.dns_name,
            template=step.dns_name,
            arguments=inner_args or None,
            when=when if item_when else None,
            continue_on=continue_on,
            **loop,
        )
        value_outputs = [o for o in step.outputs if o.type != "file"]
        wrapper = DAG(
            name=loop_template(step.dns_name),
            parallelism=step.parallelism,
            fail_fast=step.failure_policy != "continue",  # template-level: stops starting items (checkParallelism)
            inputs=[Parameter(name=k) for k in outer_params] + [Artifact(name=k) for k in outer_artifacts] or None,
            outputs=[
                Parameter(
                    name=o.name,
                    value_from=m.ValueFrom(
                        # a loop over no items is Skipped and has no aggregate (getTemplateOutputsFromScope)
                        parameter=f"{{{{tasks.{step.dns_name}.outputs.parameters.{o.name}}}}}",
                        default="[]",
                    ),
                )
                for o in value_outputs
            ]
            + ([status_output(step.dns_name)] if continue_on else [])
            or None,
            tasks=[inner],
        )
        outer_args: list[Any] = [Parameter(name=k, value=v) for k, v in outer_params.items()]
        outer_args += [Artifact(name=k, **v) for k, v in outer_artifacts.items()]
        tasks.append(
            Task(
                name=step.dns_name,
                template=loop_template(step.dns_name),
                arguments=outer_args or None,
                depends=self.depends(step, items),
                when=None if item_when else when,
            )
        )
        if continue_on is not None:
            self.needs_check = True
            tasks.append(failed_items_check(step.name, step.dns_name))
        return tasks, [wrapper]

    def helper_template(self, *, from_file: bool = False) -> Container:
        """The item helper; ``from_file``: its ``data`` is DATA_PATH, where Argo puts the upstream list."""
        data = [Artifact(name="data", path=DATA_PATH, archive=NoneArchiveStrategy())] if from_file else []
        return Container(
            name=HELPER_FILE if from_file else HELPER,
            image=self.options.helper_image,
            image_pull_policy=self.options.image_pull_policy,
            command=["python3", "-c", READ_DATA + SCRIPT if from_file else SCRIPT, "{{inputs.parameters.mode}}"],
            args=["{{inputs.parameters.data}}", "{{inputs.parameters.count}}", "{{inputs.parameters.fields}}"],
            inputs=[*(Parameter(name=n) for n in ("mode", "data", "count", "fields")), *data],
            outputs=[
                Parameter(name="items", value_from=m.ValueFrom(path=ITEMS_PATH)),
                Parameter(name="count", value_from=m.ValueFrom(path=COUNT_PATH)),
            ],
        )

    # --- the workflow ------------------------------------------------------------------------

    def arguments(self) -> list[Parameter]:
        params = []
        for p in self.ir.parameters:
            kwargs: dict[str, Any] = {"name": p.name}
            if p.name in self.values:
                kwargs["value"] = render_value(self.values[p.name])
            elif not p.required:
                kwargs["value"] = render_value(p.default)
            if "{{" in kwargs.get("value", ""):
                raise CompileError(
                    f"parameter {p.name!r}: its value holds '{{{{', which Argo's controller would substitute or "
                    "evaluate as its own tag in the pod (argo-workflows 1765, 7828); give it in a file instead"
                )
            bad = unquotable(kwargs.get("value", ""))
            if bad is not None:
                raise CompileError(
                    f"parameter {p.name!r}: its value holds {bad}, which Argo's controller cannot substitute "
                    "(strconv.Quote writes it in a form its JSON parser rejects); give it in a file or a literal "
                    "for_each list instead"
                )
            if p.description:
                kwargs["description"] = p.description
            params.append(Parameter(**kwargs))
        return params

    def build(self) -> Workflow:
        templates: list[Any] = []
        tasks: list[Task | m.DAGTask] = []
        extra: list[Any] = []
        for step in self.ir.steps:
            if step.for_each is not None:
                self.items[step.name] = self.plan_items(step)
            container, calls = self.step_template(step)
            templates.append(container)
            step_tasks, wrappers = self.step_tasks(step, calls)
            tasks += step_tasks
            extra += wrappers
        continues = any(s.failure_policy == "continue" for s in self.ir.steps)
        # assessDAGPhase (dag.go) reads only the targets' phases, by default the leaves: every task is a target
        # when a step continues, so a failed step whose dependents ran still fails the run, as locally
        target = " ".join(t.name for t in tasks) if continues else None
        entry = DAG(name=ENTRY, tasks=tasks, fail_fast=not continues, target=target)
        all_templates: list[Any] = [entry, *extra, *templates]
        on_exit = None
        if self.ir.on_exit is not None:
            exit_template, calls = self.step_template(self.ir.on_exit)
            all_templates += [exit_handler(self.ir.on_exit.dns_name, calls.parameters, calls.artifacts), exit_template]
            on_exit = EXIT_HANDLER
        if self.needs_helper:
            all_templates.append(self.helper_template())
        if self.needs_helper_file:
            all_templates.append(self.helper_template(from_file=True))
        if self.needs_check:
            all_templates.append(check_template(self.options.helper_image, self.options.image_pull_policy))
        return self.workflow(all_templates, on_exit)

    def workflow(self, templates: list[Any], on_exit: str | None) -> Workflow:
        o = self.options
        labels = {PIPELINE_LABEL: self.ir.dns_name, **o.labels}
        common: dict[str, Any] = {
            "namespace": o.namespace,
            "labels": labels,
            "annotations": {IR_ANNOTATION: self.ir.ir_version},
            "entrypoint": ENTRY,
            "arguments": self.arguments() or None,
            "templates": templates,
            "parallelism": self.ir.parallelism,
            "on_exit": on_exit,
            "service_account_name": o.service_account,
            "artifact_repository_ref": self.artifact_repository_ref(),
        }
        if o.kind == "Workflow":
            return Workflow(generate_name=f"{self.ir.dns_name}-", **common)
        if o.kind == "WorkflowTemplate":
            return WorkflowTemplate(name=self.ir.dns_name, **common)
        if not o.schedule:
            raise CompileError("kind=CronWorkflow needs a schedule: -O schedule='0 * * * *'")
        return CronWorkflow(name=self.ir.dns_name, schedules=[o.schedule], **common)

    def artifact_repository_ref(self) -> m.ArtifactRepositoryRef | None:
        ref = self.options.artifact_repository_ref
        if not ref:
            return None
        config_map, _, key = ref.partition("/")
        return m.ArtifactRepositoryRef(config_map=config_map, key=key or None)


def build_workflow(ir: PipelineIR, options: ArgoOptions, values: Mapping[str, Any] | None = None) -> Workflow:
    """The hera object for ``ir`` (not yet serialised), with ``values`` for its parameters if given."""
    return ArgoCompiler(ir, options, values).build()


def compile_manifest(ir: PipelineIR, options: ArgoOptions) -> tuple[dict[str, Any], str]:
    """The manifest as a dict and as YAML text: the one place the typed models are serialised."""
    import yaml

    from flowyard_argo.preflight import refusal

    document = build_workflow(ir, options).to_dict()
    refused = refusal(document, options.argo_version)
    if refused is not None:
        raise CompileError(refused)
    text = yaml.dump(document, sort_keys=False, allow_unicode=True, width=120, Dumper=_dumper())
    if len(text.encode()) > MANIFEST_LIMIT:
        raise CompileError(
            f"the manifest is {len(text.encode()) / 1024:.0f} KiB, over the ~1 MiB Kubernetes allows an object "
            "(etcd); a long literal for_each list is the usual cause: make it a list parameter with its value "
            "given at submit time, or produce it from an upstream step's output"
        )
    return document, text


def _dumper() -> Any:
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class Dumper(base):  # type: ignore[valid-type,misc]
        pass

    def str_presenter(dumper: Any, data: str) -> Any:
        style = "|" if "\n" in data else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    Dumper.add_representer(str, str_presenter)
    return Dumper
