"""IR -> a KFP v2 pipeline package, built with the kfp SDK and compiled by ``kfp.compiler.Compiler``.

The pipeline function is made at run time: a function with the pipeline's parameters as its
signature (``__signature__``) whose body, called by kfp with pipeline channels, creates one task per
step inside ``dsl.ParallelFor`` / ``dsl.If`` / ``dsl.ExitHandler`` as the IR says. Fan-in is
``dsl.Collected``. A fan-out over a fanned-out step's outputs needs that step's loop inside a
sub-pipeline returning the collected outputs (kfp refuses ``ParallelFor(Collected(...))``), so such
steps, and only those, are built as ``STEP-fanout`` sub-pipelines.

Two targets: ``cluster`` (what ``compile`` writes: container steps as container components in their
images) and ``local`` (what ``run`` gives kfp.local, which only runs lightweight Python components:
every step is one, running the step through flowyard's function-task runtime; no pipeline outputs,
which kfp.local cannot read back from an exit handler; no resources or secrets, which it ignores).
"""

from __future__ import annotations

import contextlib
import inspect
import tempfile
import typing
from pathlib import Path
from typing import Any

from flowyard.ir import (
    OPERATORS,
    ConditionIR,
    ContainerIR,
    LiteralSource,
    ParamSource,
    PipelineIR,
    PythonIR,
    StepIR,
    StepOutputSource,
)
from flowyard.templates import assert_never

from flowyard_kubeflow.chains import chain_members, fan_out_chains
from flowyard_kubeflow.components import (
    VALUE_TYPES,
    Target,
    container_component,
    identifier,
    lightweight_component,
    plan_step,
)
from flowyard_kubeflow.options import KubeflowOptions

PYTHON_TYPES: dict[str, Any] = {"str": str, "float": float, "int": int, "bool": bool, "dict": dict, "list": list}


class CompileError(Exception):
    """The IR asks for something this compiler cannot write (the gate should have refused it)."""


def wrapped_steps(ir: PipelineIR) -> set[str]:
    """Fanned-out steps another step fans out over without joining their loop (see
    :mod:`flowyard_kubeflow.chains`): built as sub-pipelines."""
    chained = fan_out_chains(ir)
    out = set()
    for s in ir.steps:
        if s.for_each is not None and s.for_each.over_fanout and s.name not in chained:
            src = s.for_each.source
            assert isinstance(src, StepOutputSource)
            out.add(src.step)
    return out


def _kfp_type(annotation: str) -> Any:
    from kfp.dsl import Artifact, Input, Output

    table: dict[str, Any] = {
        "Input[Artifact]": Input[Artifact],
        "Input[List[Artifact]]": Input[typing.List[Artifact]],  # noqa: UP006 - kfp reads typing.List
        "Output[Artifact]": Output[Artifact],
        "List[Artifact]": typing.List[Artifact],  # noqa: UP006
        "Artifact": Artifact,
    }
    return table.get(annotation, PYTHON_TYPES.get(annotation, str))


def _signature(params: list[tuple[str, Any, Any]], returns: Any = inspect.Signature.empty) -> inspect.Signature:
    return inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=a, default=d) for n, a, d in params],
        return_annotation=returns,
    )


class KfpCompiler:
    """Builds the pipeline for one IR and one target. Use once."""

    def __init__(self, ir: PipelineIR, options: KubeflowOptions, target: Target, bin_dirs: tuple[str, ...] = ()):
        self.ir = ir
        self.options = options
        self.target = target
        self.bin_dirs = bin_dirs
        self.plans = {s.name: plan_step(ir, s, target) for s in ir.all_steps}
        self.components = {s.name: self.component(s) for s in ir.all_steps}
        self.wrapped = wrapped_steps(ir)
        self.chained = fan_out_chains(ir)
        taken: set[str] = set()
        self.param_names = {p.name: identifier(p.name, taken) for p in ir.parameters}
        self.subpipelines = {name: self.make_sub_pipeline(self.ir.step(name)) for name in sorted(self.wrapped)}
        # KFP returns pipeline outputs only from the top level, and an exit handler wraps every task;
        # kfp.local cannot read them back from one either: flowyard's task records give them there.
        self.has_outputs = target == "cluster" and bool(ir.outputs) and ir.on_exit is None

    def make_sub_pipeline(self, step: StepIR) -> tuple[Any, list[Any], bool]:
        """A fanned-out step as a sub-pipeline returning its collected outputs, so that a later step can
        fan out over them (kfp refuses ``ParallelFor(Collected(...))``)."""
        from kfp import dsl

        plan = self.plans[step.name]
        outer = [a for a in plan.args if a.key is not None and a.key[0] != "item"]
        src = step.for_each.source if step.for_each else None
        literal_items = isinstance(src, LiteralSource)
        inputs = [(a.name, _kfp_type(a.annotation), inspect.Parameter.empty) for a in outer]
        if not literal_items:
            files = isinstance(src, StepOutputSource) and self.ir.step(src.step).output(src.output).type == "file"
            inputs.append(("items", _kfp_type("List[Artifact]" if files else "list"), inspect.Parameter.empty))
        out_fields = [
            (plan.outputs[o.name], _kfp_type("List[Artifact]" if o.type == "file" else "list")) for o in step.outputs
        ]
        returns = typing.NamedTuple("Outputs", out_fields)  # type: ignore[misc]

        def body(*channels: Any) -> Any:
            given = dict(zip([n for n, _, _ in inputs], channels, strict=True))
            items = list(src.value) if isinstance(src, LiteralSource) else given["items"]
            with dsl.ParallelFor(items, parallelism=step.parallelism or 0) as item:

                def resolve(key: tuple[Any, ...]) -> Any:
                    if key[0] == "item":
                        value = item
                        for f in key[1]:
                            value = getattr(value, f)
                        return value
                    return given[next(a.name for a in outer if a.key == key)]

                task = self.call(step, resolve)
            return returns(*[dsl.Collected(task.outputs[plan.outputs[o.name]]) for o in step.outputs])

        body.__signature__ = _signature(inputs, returns)  # type: ignore[attr-defined]
        body.__name__ = f"{step.dns_name}-fanout".replace("-", "_")
        return dsl.pipeline(name=f"{step.dns_name}-fanout")(body), outer, literal_items

    def component(self, step: StepIR) -> Any:
        plan = self.plans[step.name]
        image = step.image or self.options.default_image or ""
        if self.target == "local":
            is_exit = self.ir.on_exit is not None and step.name == self.ir.on_exit.name
            guard = None if is_exit else {s.name: s.retry.limit for s in self.ir.all_steps}
            return lightweight_component(plan, self.options.local_base_image, self.bin_dirs, guard)
        match step.body:
            case PythonIR():
                return lightweight_component(plan, image)
            case ContainerIR():
                return container_component(plan, image)
            case _:
                assert_never(step.body)

    # --- tasks ------------------------------------------------------------------------------------

    def configure(self, step: StepIR, task: Any) -> Any:
        """Per-task settings: display name, caching, retries; resources and secrets on the cluster."""
        if self.target == "cluster" and step.name != step.dns_name:
            task.set_display_name(step.name)  # kfp.local warns that it ignores display names
        task.set_caching_options(step.cache)
        if step.retry.limit:
            b = step.retry.backoff
            task.set_retry(
                num_retries=step.retry.limit,
                backoff_duration=f"{b.duration_seconds:g}s",
                backoff_factor=b.factor,
                backoff_max_duration=f"{b.max_duration_seconds:g}s" if b.max_duration_seconds is not None else None,
            )
        if self.target == "cluster":
            r = step.resources
            if r.cpu is not None:
                task.set_cpu_limit(r.cpu)
            if r.memory is not None:
                task.set_memory_limit(r.memory)
            if r.gpu:
                task.set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(r.gpu)
            if step.secrets:
                from kfp import kubernetes

                for s in step.secrets:
                    kubernetes.use_secret_as_env(task, secret_name=s.secret, secret_key_to_env={s.key: s.env})
        return task

    def call(self, step: StepIR, resolve: Any) -> Any:
        plan = self.plans[step.name]
        kwargs = {a.name: resolve(a.key) for a in plan.args if a.key is not None}
        return self.configure(step, self.components[step.name](**kwargs))

    # --- the pipeline -------------------------------------------------------------------------------

    def pipeline(self) -> Any:
        from kfp import dsl

        params = []
        for p in self.ir.parameters:
            default = inspect.Parameter.empty if p.required else p.default
            params.append((self.param_names[p.name], PYTHON_TYPES[VALUE_TYPES[p.type]], default))
        outputs = self.output_fields() if self.has_outputs else []
        returns = typing.NamedTuple("Outputs", outputs) if outputs else inspect.Signature.empty

        # Python wants required parameters first; kfp goes by name
        order = sorted(range(len(params)), key=lambda i: params[i][2] is not inspect.Parameter.empty)
        names = [self.ir.parameters[i].name for i in order]

        def body(*channels: Any) -> Any:
            return _DagBuild(self, dict(zip(names, channels, strict=True))).build()

        body.__signature__ = _signature([params[i] for i in order], returns)  # type: ignore[attr-defined]
        body.__name__ = self.ir.dns_name.replace("-", "_")
        root = self.options.pipeline_root if self.target == "cluster" else None
        name = self.ir.dns_name if self.target == "cluster" else self.local_name()
        return dsl.pipeline(name=name, description=self.ir.description or None, pipeline_root=root)(body)

    def local_name(self) -> str:
        """kfp.local loads a package as ONE component when an executor is named after the pipeline
        (``Implementation.from_pipeline_spec_dict``): a pipeline named like one of its steps ran that
        step alone. The kfp.local package's name is one no step has."""
        steps = {s.dns_name for s in self.ir.all_steps}
        name = self.ir.dns_name
        while name in steps:
            name = f"{name}-pipeline"
        return name

    def output_fields(self) -> list[tuple[str, Any]]:
        fields = []
        taken: set[str] = set()
        for out in self.ir.outputs:
            producer = self.ir.step(out.source.step).output(out.source.output)
            if producer.type == "file":
                annotation = "List[Artifact]" if out.source.collect else "Artifact"
            else:
                annotation = "list" if out.source.collect else VALUE_TYPES[producer.type]
            fields.append((identifier(out.name, taken), _kfp_type(annotation)))
        return fields

    def package(self) -> str:
        """The compiled package's YAML text."""
        from kfp import compiler

        pipeline = self.pipeline()
        with tempfile.TemporaryDirectory(prefix="flowyard-kfp-") as tmp:
            path = Path(tmp) / "pipeline.yaml"
            compiler.Compiler().compile(pipeline, str(path), pipeline_parameters=None)
            return _safe_header(path.read_bytes().decode("utf-8"), pipeline)  # CR kept as written


class _DagBuild:
    """The body of the pipeline function: runs inside kfp's pipeline context."""

    def __init__(self, c: KfpCompiler, params: dict[str, Any]) -> None:
        self.c = c
        self.ir = c.ir
        self.params = params
        self.tasks: dict[str, Any] = {}
        self.subs: dict[str, Any] = {}

    def resolve(self, key: tuple[Any, ...], item: Any = None) -> Any:
        from kfp import dsl

        kind = key[0]
        if kind == "param":
            return self.params[key[1]]
        if kind == "item":
            value = item
            for f in key[1]:
                value = getattr(value, f)
            return value
        _, step, output, collect = key
        if step in self.subs:
            return self.subs[step].outputs[output]
        arg = self.c.plans[step].outputs[output]
        channel = self.tasks[step].outputs[arg]
        return dsl.Collected(channel) if collect else channel

    def items(self, step: StepIR) -> Any:
        assert step.for_each is not None
        src = step.for_each.source
        if isinstance(src, LiteralSource):
            return list(src.value)
        if isinstance(src, ParamSource):
            return self.params[src.name]
        assert isinstance(src, StepOutputSource)
        if src.step in self.subs:
            return self.subs[src.step].outputs[src.output]
        return self.tasks[src.step].outputs[self.c.plans[src.step].outputs[src.output]]

    def condition(self, cond: ConditionIR) -> Any:
        from kfp import dsl

        def side(src: Any) -> Any:
            if isinstance(src, LiteralSource):
                return src.value
            if isinstance(src, ParamSource):
                return self.params[src.name]
            if isinstance(src, StepOutputSource):
                return self.tasks[src.step].outputs[self.c.plans[src.step].outputs[src.output]]
            raise CompileError(f"a condition on {src!r}")

        # kfp's channels overload the comparisons; a literal on the left works too (Python falls back
        # to the channel's reflected operator)
        return dsl.If(OPERATORS[cond.op](side(cond.left), side(cond.right)))

    def loop(self, step: StepIR) -> Any:
        """The step's ``ParallelFor``, with the steps chained after it (one per item, in order)."""
        from kfp import dsl

        members = chain_members(self.ir, step.name)
        limits = [s.parallelism for s in (step, *members) if s.parallelism]
        with dsl.ParallelFor(self.items(step), parallelism=min(limits, default=0)) as item:
            task = self.c.call(step, lambda key: self.resolve(key, item))
            self.tasks[step.name] = task
            for member in members:
                self.chained(member)
        return task

    def chained(self, step: StepIR) -> None:
        """A chained step inside its chain's loop: its item is its upstream task's output."""
        assert step.for_each is not None and isinstance(step.for_each.source, StepOutputSource)
        src = step.for_each.source
        upstream = self.tasks[src.step].outputs[self.c.plans[src.step].outputs[src.output]]
        when = self.condition(step.when) if step.when is not None else contextlib.nullcontext()
        with when:
            task = self.c.call(step, lambda key: upstream if key[0] == "item" else self.resolve(key))
        self.tasks[step.name] = task
        self.after(step, task)

    def add(self, step: StepIR) -> None:
        if step.name in self.c.chained:
            return  # built inside its chain's loop
        when = self.condition(step.when) if step.when is not None else contextlib.nullcontext()
        with when:
            if step.for_each is None:
                task = self.c.call(step, self.resolve)
                self.tasks[step.name] = task
            elif step.name in self.c.wrapped:
                self.subs[step.name] = self.sub_pipeline(step)
                task = self.subs[step.name]
            else:
                task = self.loop(step)
        self.after(step, task)

    def after(self, step: StepIR, task: Any) -> None:
        """``after`` for the dependencies no data passes along."""
        data_deps = {a.key[1] for a in self.c.plans[step.name].args if a.key is not None and a.key[0] == "output"} | (
            {step.for_each.source.step}
            if step.for_each and isinstance(step.for_each.source, StepOutputSource)
            else set()
        )
        for dep in step.depends_on:
            if dep not in data_deps:
                task.after(self.subs.get(dep) or self.tasks[dep])

    def sub_pipeline(self, step: StepIR) -> Any:
        """Call the step's sub-pipeline (made beforehand: kfp allows no pipeline defined inside another)."""
        sub, outer, literal_items = self.c.subpipelines[step.name]
        args = {a.name: self.resolve(a.key) for a in outer}
        if not literal_items:
            args["items"] = self.items(step)
        return sub(**args)

    def build(self) -> Any:
        from kfp import dsl

        handler: Any = contextlib.nullcontext()
        if self.ir.on_exit is not None:
            exit_task = self.c.call(self.ir.on_exit, self.resolve)
            handler = dsl.ExitHandler(exit_task)
        with handler:
            for step in self.ir.steps:
                self.add(step)
        if not self.c.has_outputs:
            return None
        values = []
        for out in self.ir.outputs:
            values.append(self.resolve(("output", out.source.step, out.source.output, out.source.collect)))
        fields = self.c.output_fields()
        return typing.NamedTuple("Outputs", fields)(*values)  # type: ignore[operator]  # fields known at run time only


def compile_package(
    ir: PipelineIR, options: KubeflowOptions, target: Target = "cluster", bin_dirs: tuple[str, ...] = ()
) -> str:
    return KfpCompiler(ir, options, target, bin_dirs).package()


# what PyYAML (kfp.Client's reader) takes as a line break, or refuses in a comment
_LINE_BREAKS = frozenset("\r\x85\u2028\u2029")


def _printable(ch: str) -> bool:
    """YAML 1.1's printable set, less its line breaks."""
    o = ord(ch)
    if ch in _LINE_BREAKS:
        return False
    return ch == "\t" or 0x20 <= o <= 0x7E or 0xA0 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or o >= 0x10000


def _comment_line(line: str) -> str:
    line = "".join(ch if _printable(ch) else f"\\u{ord(ch):04x}" for ch in line)
    return line if line.startswith("#") else "#    " + line


def _safe_header(text: str, pipeline: Any) -> str:
    """kfp writes each parameter's default, as given, into the package's header comment; a line break
    in a default (``\\n``, and for PyYAML also CR, U+0085, U+2028, U+2029) ended the comment and
    injected YAML into what kfp.Client reads, and a control character made the file unreadable. The
    header is rewritten from what kfp made of it: one comment line per line, anything unprintable
    escaped. The body is PyYAML's own escaped dump and is kept as it is."""
    from google.protobuf import json_format
    from kfp.compiler.pipeline_spec_builder import extract_comments_from_pipeline_spec

    header = extract_comments_from_pipeline_spec(
        json_format.MessageToDict(pipeline.pipeline_spec), pipeline.description
    )
    written = text[: len(header)]  # a default's object keys come out of a protobuf map: their order may differ
    if sorted(written) != sorted(header) or written.count("\n") != header.count("\n"):
        raise CompileError("kfp wrote a package header flowyard does not recognise; refusing to pass it on")
    lines = written.split("\n")
    safe = [_comment_line(line) if line else line for line in lines]
    return "\n".join(safe) + text[len(header) :]
