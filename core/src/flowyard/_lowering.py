"""Spec -> IR: resolve references, apply defaults, sanitise names, order the graph.

A pure function: :func:`lower` reads a :class:`~flowyard.spec.Pipeline` and returns a
:class:`~flowyard.ir.PipelineIR`, or raises :class:`~flowyard.errors.SpecError` listing every
problem found, each with the field path (and, given a ``locate`` callback, the file line).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flowyard._lowering_sources import Loc as Loc
from flowyard._lowering_sources import References
from flowyard._lowering_sources import value_matches as value_matches
from flowyard._names import dns1123_label, identifier_problem
from flowyard.errors import Problem, SpecError, short_json
from flowyard.ir import (
    BackoffIR,
    ConditionIR,
    ContainerIR,
    DataType,
    ForEachIR,
    InputIR,
    ItemSource,
    LiteralSource,
    LocalStoreIR,
    OutputIR,
    ParameterIR,
    ParamRef,
    ParamSource,
    PipelineIR,
    PipelineOutputIR,
    PythonIR,
    ResourcesIR,
    RetryIR,
    S3StoreIR,
    SecretRefIR,
    Source,
    SourceInfo,
    StepIR,
    StepOutputRef,
    StepOutputSource,
    StoreIR,
    Template,
    TemplateSource,
)
from flowyard.spec import Input, Pipeline, Retry, S3Store, SecretRef, Step
from flowyard.templates import TemplateSyntaxError, parse_template, single_ref

# a run is named after its pipeline plus 6 characters ('-' and the 5 Kubernetes' generateName adds), and
# the whole must be a 63-character label: Argo's compile raised on a longer prefix
PIPELINE_DNS_MAX = 57

Locate = Callable[[Loc], "int | None"]

RESERVED_PYTHON_ARGS = frozenset({"workdir"})


@dataclass(frozen=True)
class _StepContext:
    """The step being lowered, what every pass over it reads."""

    name: str
    step: Step
    loc: Loc
    on_exit: bool
    workdir: str | None


class _Lowering:
    def __init__(self, spec: Pipeline, locate: Locate | None, file: str | None) -> None:
        self.spec = spec
        self.locate = locate
        self.file = file
        self.problems: list[Problem] = []
        self.refs = References(spec, self.problem)

    def problem(self, loc: Loc, message: str) -> None:
        line = self.locate(loc) if self.locate else None
        field = ".".join(str(p) for p in loc)
        self.problems.append(Problem(field=field, message=message, file=self.file, line=line))

    # --- names ---------------------------------------------------------------------------------

    def dns_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        owner: dict[str, str] = {}
        all_steps = list(self.spec.steps)
        if self.spec.on_exit is not None:
            all_steps.append("on_exit")
        for name in all_steps:
            loc: Loc = ("steps", name) if name in self.spec.steps else ("on_exit",)
            try:
                dns = dns1123_label(name)
            except ValueError as e:
                self.problem(loc, str(e))
                continue
            if dns in owner:
                self.problem(
                    loc,
                    f"step names {owner[dns]!r} and {name!r} both become {dns!r} as DNS-1123 names "
                    "(what Kubernetes engines require); rename one of them",
                )
                continue
            owner[dns] = name
            names[name] = dns
        return names

    # --- parameters ----------------------------------------------------------------------------

    def parameters(self) -> tuple[ParameterIR, ...]:
        out = []
        for name, p in self.spec.parameters.items():
            if (why := identifier_problem(name)) is not None:
                self.problem(("parameters", name), why)
            if not p.required and p.default is not None and not value_matches(p.type, p.default):
                self.problem(
                    ("parameters", name, "default"),
                    f"expected a default of type {p.type}, got {short_json(p.default)}",
                )
            out.append(
                ParameterIR(
                    name=name,
                    type=p.type,
                    default=p.default,
                    required=p.required,
                    description=p.description,
                )
            )
        return tuple(out)

    # --- steps ---------------------------------------------------------------------------------

    def relative_path(self, loc: Loc, path: str, workdir: str | None) -> str | None:
        """Normalise a file path to one relative to the workdir; refuse escapes such as ``../x``."""
        if posixpath.isabs(path):
            if workdir and (path == workdir or path.startswith(workdir.rstrip("/") + "/")):
                path = posixpath.relpath(path, workdir)
            else:
                self.problem(
                    loc,
                    f"expected a path relative to the step's workdir ({workdir or 'none set'}), got {path!r}",
                )
                return None
        norm = posixpath.normpath(path)
        if norm == "." or norm.startswith("../") or norm == "..":
            self.problem(loc, f"path {path!r} leaves the step's working directory")
            return None
        return norm

    # --- one step, in passes: each reports its problems and returns its part of the StepIR ----------

    def step(self, name: str, step: Step, dns: str, loc: Loc, on_exit: bool = False) -> StepIR | None:
        before = len(self.problems)
        d = self.spec.defaults
        if (step.container is None) == (step.python is None):
            self.problem(loc, "expected exactly one of 'container' (a command) or 'python' (a function)")
            return None
        ctx = _StepContext(name, step, loc, on_exit, (step.container.workdir if step.container else None) or d.workdir)
        for_each = self.step_for_each(ctx)
        outputs = self.step_outputs(ctx)
        inputs = self.step_inputs(ctx, for_each)
        input_types: dict[str, str] = {i.name: i.type for i in inputs}
        command = self.step_command(ctx, input_types)
        env = self.step_env(ctx, input_types)
        after = self.step_after(ctx)
        when = self.refs.condition((*loc, "when"), step.when, name) if step.when is not None else None
        if step.parallelism is not None and step.for_each is None:
            self.problem((*loc, "parallelism"), "a step-level parallelism limit needs for_each")
        if len(self.problems) > before:
            return None
        depends = set(after)
        for src in _sources(inputs, for_each, when):
            if isinstance(src, StepOutputSource):
                depends.add(src.step)
        return StepIR(
            name=name,
            dns_name=dns,
            description=step.description,
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            env=tuple(env),
            secrets=tuple(_secret_ir(s) for s in step.secrets),
            depends_on=tuple(sorted(depends)),
            for_each=for_each,
            parallelism=step.parallelism,
            when=when,
            params_used=_params_used(command, env, inputs, for_each, when),
            failure_policy=step.failure_policy or self.spec.failure_policy,
            body=self.step_body(ctx, command),
            **self.step_runtime(step),
        )

    def step_for_each(self, ctx: _StepContext) -> ForEachIR | None:
        if ctx.step.for_each is None:
            return None
        if ctx.on_exit:
            self.problem((*ctx.loc, "for_each"), "the on_exit step cannot fan out")
            return None
        return self.refs.for_each((*ctx.loc, "for_each"), ctx.step.for_each, ctx.name)

    def step_outputs(self, ctx: _StepContext) -> list[OutputIR]:
        outputs = []
        for oname, out in ctx.step.outputs.items():
            oloc: Loc = (*ctx.loc, "outputs", oname)
            if (why := identifier_problem(oname)) is not None:
                self.problem(oloc, why)
            path = None
            if out.path is not None:
                path = self.relative_path((*oloc, "path"), out.path, ctx.workdir)
            elif out.type != "file" and ctx.step.container is not None:
                self.problem(oloc, "a container step writes a value output as JSON to a file: give its 'path'")
            outputs.append(OutputIR(name=oname, type=out.type, path=path))
        return outputs

    def step_inputs(self, ctx: _StepContext, for_each: ForEachIR | None) -> list[InputIR]:
        inputs = []
        for iname, inp in ctx.step.inputs.items():
            iloc: Loc = (*ctx.loc, "inputs", iname)
            if (why := identifier_problem(iname)) is not None:
                self.problem(iloc, why)
            if ctx.step.python is not None and iname in RESERVED_PYTHON_ARGS:
                self.problem(iloc, f"{iname!r} is reserved: Python steps receive their working directory under it")
            if "value" not in inp.model_fields_set:
                self.problem((*iloc, "value"), "expected a value: a literal, a template or a ${{ reference }}")
                continue
            lowered = self.step_input(ctx, iname, inp, for_each)
            if lowered is not None:
                inputs.append(lowered)
        if ctx.step.python is not None:
            for c in sorted(set(ctx.step.inputs) & set(ctx.step.outputs)):
                self.problem(
                    (*ctx.loc, "outputs", c),
                    f"a Python step's inputs and outputs share its arguments: {c!r} is both",
                )
        return inputs

    def step_input(self, ctx: _StepContext, iname: str, inp: Input, for_each: ForEachIR | None) -> InputIR | None:
        """One input: its source, its type (declared, or what its source gives) and where its file goes."""
        iloc: Loc = (*ctx.loc, "inputs", iname)
        fanned_out = ctx.step.for_each is not None
        source, known = self.refs.source_of((*iloc, "value"), inp.value, ctx.name, fanned_out, ctx.on_exit)
        if source is None:
            return None
        type_: DataType | None = inp.type or known
        if isinstance(source, ItemSource) and for_each is not None and for_each.over_fanout and not source.fields:
            upstream = for_each.source
            assert isinstance(upstream, StepOutputSource)
            type_ = inp.type or self.refs.output_type(upstream.step, upstream.output)
        if inp.type and known and inp.type != known and "any" not in (inp.type, known):
            self.problem((*iloc, "type"), f"declared {inp.type}, but the value it is given is of type {known}")
        if (
            isinstance(source, LiteralSource)
            and inp.type not in (None, "file", "any")
            and not value_matches(inp.type, source.value)
        ):
            self.problem((*iloc, "value"), f"expected a value of type {inp.type}")
        path = None
        if inp.path is not None:
            if type_ != "file":
                self.problem((*iloc, "path"), "only file inputs are placed at a path")
            else:
                path = self.relative_path((*iloc, "path"), inp.path, ctx.workdir)
        if type_ == "file" and isinstance(source, (LiteralSource, TemplateSource)):
            self.problem((*iloc, "value"), "a file input takes a file: ${{ steps.STEP.outputs.NAME }} or ${{ item }}")
        return InputIR(name=iname, type=type_ or "any", source=source, path=path)

    def step_template(self, ctx: _StepContext, loc: Loc, text: str, input_types: dict[str, str]) -> Template | None:
        """A command argument or ``env`` value: parsed, and each reference checked for where it stands."""
        try:
            tpl = parse_template(text)
        except TemplateSyntaxError as e:
            self.problem(loc, str(e))
            return None
        fanned_out = ctx.step.for_each is not None
        self.refs.check_template(
            loc, tpl, ctx.name, fanned_out, ctx.on_exit, in_input=False, step=ctx.step, input_types=input_types
        )
        return tpl

    def step_command(self, ctx: _StepContext, input_types: dict[str, str]) -> tuple[Template, ...]:
        container = ctx.step.container
        if container is None:
            return ()
        templates = []
        for i, arg in enumerate([*container.command, *container.args]):
            field = "command" if i < len(container.command) else "args"
            idx = i if field == "command" else i - len(container.command)
            tpl = self.step_template(ctx, (*ctx.loc, "container", field, idx), arg, input_types)
            if tpl is not None:
                templates.append(tpl)
        return tuple(templates)

    def step_env(self, ctx: _StepContext, input_types: dict[str, str]) -> list[tuple[str, Template]]:
        env = []
        for key, value in {**self.spec.defaults.env, **ctx.step.env}.items():
            eloc: Loc = (*ctx.loc, "env", key)
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
                self.problem(eloc, "expected an environment variable name")
                continue
            tpl = self.step_template(ctx, eloc, value, input_types)
            if tpl is not None:
                env.append((key, tpl))
        secret_envs = [s.env for s in ctx.step.secrets]
        for dup in sorted(
            {e for e in secret_envs if secret_envs.count(e) > 1} | (set(secret_envs) & {k for k, _ in env})
        ):
            self.problem((*ctx.loc, "secrets"), f"environment variable {dup!r} is set twice")
        return env

    def step_after(self, ctx: _StepContext) -> list[str]:
        after = []
        for i, a in enumerate(ctx.step.after):
            if a not in self.spec.steps:
                self.problem((*ctx.loc, "after", i), f"no step named {a!r}")
            elif a == ctx.name:
                self.problem((*ctx.loc, "after", i), "a step cannot run after itself")
            else:
                after.append(a)
        if ctx.on_exit and ctx.step.after:
            self.problem((*ctx.loc, "after"), "the on_exit step always runs last")
        return after

    def step_body(self, ctx: _StepContext, command: tuple[Template, ...]) -> ContainerIR | PythonIR:
        """What the step runs: a container's command, or a Python function, in its image."""
        step = ctx.step
        image = (step.container.image if step.container else step.python.image if step.python else None) or (
            self.spec.defaults.image
        )
        if step.container is not None:
            return ContainerIR(image=image or "", command=command, workdir=ctx.workdir)
        assert step.python is not None
        return PythonIR(function=step.python.function, image=image or "")

    def step_runtime(self, step: Step) -> dict[str, Any]:
        """Retries, timeout, resources and caching: the step's own, else the pipeline's defaults."""
        d = self.spec.defaults
        res = step.resources or d.resources
        return {
            "retry": _retry_ir(step.retries if step.retries is not None else d.retries),
            "timeout_seconds": step.timeout if step.timeout is not None else d.timeout,
            "resources": ResourcesIR(
                cpu=None if res is None or res.cpu is None else str(res.cpu),
                memory=None if res is None else res.memory,
                gpu=None if res is None else res.gpu,
            ),
            "cache": bool(step.cache if step.cache is not None else d.cache),
        }

    def order(self, steps: dict[str, StepIR]) -> tuple[StepIR, ...]:
        """Topological order, spec order among equals; a cycle is reported with its path."""
        position = {name: i for i, name in enumerate(self.spec.steps)}
        remaining = {n: set(s.depends_on) & set(steps) for n, s in steps.items()}
        ordered: list[StepIR] = []
        while remaining:
            ready = sorted((n for n, deps in remaining.items() if not deps), key=position.__getitem__)
            if not ready:
                cycle = _find_cycle(remaining)
                self.problem(
                    ("steps", cycle[0]),
                    "dependency cycle: " + " -> ".join(cycle) + " (through inputs, for_each, when or after)",
                )
                return ()
            for n in ready:
                ordered.append(steps[n])
                del remaining[n]
            for deps in remaining.values():
                deps.difference_update(ready)
        return tuple(ordered)

    def pipeline_outputs(self) -> list[PipelineOutputIR]:
        """The pipeline's outputs: each one step's output, gathered when that step fans out."""
        spec = self.spec
        outputs = []
        for oname, value in spec.outputs.items():
            loc: Loc = ("outputs", oname)
            try:
                ref = single_ref(value)
            except TemplateSyntaxError as e:
                self.problem(loc, str(e))
                continue
            if not isinstance(ref, StepOutputRef):
                self.problem(loc, "expected ${{ steps.STEP.outputs.NAME }}")
                continue
            if self.refs.check_step_output(loc, ref, ""):
                outputs.append(
                    PipelineOutputIR(
                        name=oname,
                        source=StepOutputSource(
                            step=ref.step,
                            output=ref.output,
                            collect=spec.steps[ref.step].for_each is not None,
                        ),
                    )
                )
        return outputs

    def run(self, source: SourceInfo) -> PipelineIR:
        spec = self.spec
        try:
            pipeline_dns = dns1123_label(spec.name, PIPELINE_DNS_MAX)
        except ValueError as e:
            self.problem(("name",), str(e))
            pipeline_dns = "pipeline"
        params = self.parameters()
        dns = self.dns_names()
        steps: dict[str, StepIR] = {}
        for name, step in spec.steps.items():
            if (why := identifier_problem(name, "a step name")) is not None:
                self.problem(("steps", name), why)
                continue
            if step.uses is not None:
                self.problem(
                    ("steps", name, "uses"),
                    "reusable steps are resolved when loading a file; load it with flowyard.load_pipeline",
                )
                continue
            if name in dns:
                lowered = self.step(name, step, dns[name], ("steps", name))
                if lowered is not None:
                    steps[name] = lowered
        on_exit = None
        if spec.on_exit is not None and "on_exit" in dns:
            on_exit = self.step("on_exit", spec.on_exit, dns["on_exit"], ("on_exit",), on_exit=True)
        outputs = self.pipeline_outputs()
        ordered = self.order(steps) if not self.problems else ()
        if self.problems:
            raise SpecError(self.problems)
        return PipelineIR(
            name=spec.name,
            dns_name=pipeline_dns,
            description=spec.description,
            parameters=params,
            steps=ordered,
            on_exit=on_exit,
            outputs=tuple(outputs),
            parallelism=spec.parallelism,
            failure_policy=spec.failure_policy,
            store=_store_ir(spec),
            source=source,
        )


def _retry_ir(retries: int | Retry | None) -> RetryIR:
    if retries is None:
        return RetryIR()
    assert isinstance(retries, Retry)
    b = retries.backoff
    backoff = (
        BackoffIR()
        if b is None
        else BackoffIR(
            duration_seconds=float(b.duration),
            factor=b.factor,
            max_duration_seconds=None if b.max_duration is None else float(b.max_duration),
        )
    )
    return RetryIR(limit=retries.limit, backoff=backoff)


def _secret_ir(s: SecretRef) -> SecretRefIR:
    return SecretRefIR(secret=s.secret, key=s.key, env=s.env)


def _store_ir(spec: Pipeline) -> StoreIR:
    st = spec.store
    if isinstance(st, S3Store):
        return S3StoreIR(
            endpoint=st.endpoint,
            bucket=st.bucket,
            prefix=st.prefix.strip("/"),
            region=st.region,
            insecure=st.insecure,
            access_key=_secret_ir(st.access_key) if st.access_key else None,
            secret_key=_secret_ir(st.secret_key) if st.secret_key else None,
        )
    return LocalStoreIR(path=st.path)


def _sources(inputs: Iterable[InputIR], for_each: ForEachIR | None, when: ConditionIR | None) -> list[Source]:
    """Every source a step reads: its inputs', its ``for_each``'s and both sides of its ``when``."""
    sources: list[Source] = [i.source for i in inputs]
    if for_each is not None:
        sources.append(for_each.source)
    if when is not None:
        sources += [when.left, when.right]
    return sources


def _params_used(
    command: Iterable[Template],
    env: Iterable[tuple[str, Template]],
    inputs: Iterable[InputIR],
    for_each: ForEachIR | None,
    when: ConditionIR | None,
) -> tuple[str, ...]:
    used: set[str] = set()
    templates = [*command, *(t for _, t in env)]
    for src in _sources(inputs, for_each, when):
        if isinstance(src, ParamSource):
            used.add(src.name)
        elif isinstance(src, TemplateSource):
            templates.append(src.template)
    for tpl in templates:
        used.update(r.name for r in tpl.refs if isinstance(r, ParamRef))
    return tuple(sorted(used))


def _find_cycle(graph: dict[str, set[str]]) -> list[str]:
    start = min(graph)
    path = [start]
    seen = {start: 0}
    node = start
    while True:
        node = min(graph[node])
        if node in seen:
            return [*path[seen[node] :], node]
        seen[node] = len(path)
        path.append(node)


def lower(spec: Pipeline, *, locate: Locate | None = None, source: SourceInfo | None = None) -> PipelineIR:
    """Lower a spec to the IR. Raises :class:`SpecError` with every problem it finds."""
    src = source or SourceInfo()
    return _Lowering(spec, locate, src.file).run(src)
