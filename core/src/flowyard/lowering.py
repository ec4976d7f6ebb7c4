"""Spec -> IR: resolve references, apply defaults, sanitise names, order the graph.

A pure function: :func:`lower` reads a :class:`~flowyard.spec.Pipeline` and returns a
:class:`~flowyard.ir.PipelineIR`, or raises :class:`~flowyard.errors.SpecError` listing every
problem found, each with the field path (and, given a ``locate`` callback, the file line).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterable
from typing import Any

from flowyard.errors import Problem, SpecError, short_json
from flowyard.ir import (
    BackoffIR,
    ConditionIR,
    ContainerIR,
    DataType,
    ForEachIR,
    InputIR,
    InputRef,
    ItemRef,
    ItemSource,
    LiteralSource,
    LocalStoreIR,
    OutputIR,
    OutputPathRef,
    ParameterIR,
    ParamRef,
    ParamSource,
    PipelineIR,
    PipelineOutputIR,
    PythonIR,
    ResourcesIR,
    RetryIR,
    RunStatusRef,
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
from flowyard.names import dns1123_label, identifier_problem
from flowyard.spec import Pipeline, Retry, S3Store, SecretRef, Step
from flowyard.templates import TemplateSyntaxError, parse_template, ref_text, single_ref

# a run is named after its pipeline plus 6 characters ('-' and the 5 Kubernetes' generateName adds), and
# the whole must be a 63-character label: Argo's compile raised on a longer prefix
PIPELINE_DNS_MAX = 57

Loc = tuple[str | int, ...]
Locate = Callable[[Loc], "int | None"]

RESERVED_PYTHON_ARGS = frozenset({"workdir"})
_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
    "any": lambda v: True,
}
_CONDITION = re.compile(r"^\s*(.+?)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$", re.DOTALL)


def value_matches(type_: str, value: Any) -> bool:
    """Whether a JSON value fits a declared parameter type."""
    return _TYPE_CHECKS[type_](value)


class _Lowering:
    def __init__(self, spec: Pipeline, locate: Locate | None, file: str | None) -> None:
        self.spec = spec
        self.locate = locate
        self.file = file
        self.problems: list[Problem] = []

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

    def output_type(self, step: str, output: str) -> DataType | None:
        s = self.spec.steps.get(step)
        if s is None or output not in s.outputs:
            return None
        return s.outputs[output].type

    def check_step_output(self, loc: Loc, ref: StepOutputRef, me: str) -> bool:
        if ref.step == me:
            self.problem(loc, f"step {me!r} refers to its own output {ref.output!r}")
            return False
        if ref.step not in self.spec.steps:
            self.problem(loc, f"no step named {ref.step!r} (steps: {', '.join(self.spec.steps)})")
            return False
        if ref.output not in self.spec.steps[ref.step].outputs:
            have = ", ".join(self.spec.steps[ref.step].outputs) or "none"
            self.problem(loc, f"step {ref.step!r} has no output {ref.output!r} (its outputs: {have})")
            return False
        return True

    def source_of(
        self, loc: Loc, value: Any, me: str, fanned_out: bool, on_exit: bool
    ) -> tuple[Source | None, DataType | None]:
        """A spec value (literal, template or single reference) as a source, with its type if known."""
        try:
            ref = single_ref(value)
        except TemplateSyntaxError as e:
            self.problem(loc, str(e))
            return None, None
        if ref is None:
            if isinstance(value, str):
                try:
                    tpl = parse_template(value)
                except TemplateSyntaxError as e:
                    self.problem(loc, str(e))
                    return None, None
                if tpl.is_literal:
                    return LiteralSource(value=tpl.literal()), "string"
                if not self.check_template(loc, tpl, me, fanned_out, on_exit, in_input=True):
                    return None, None
                return TemplateSource(template=tpl), "string"
            return LiteralSource(value=value), _literal_type(value)
        if isinstance(ref, ParamRef):
            if ref.name not in self.spec.parameters:
                self.problem(loc, f"no parameter named {ref.name!r}")
                return None, None
            return ParamSource(name=ref.name), self.spec.parameters[ref.name].type
        if isinstance(ref, ItemRef):
            if not fanned_out:
                self.problem(loc, f"{ref_text(ref)} is only defined in a step with for_each")
                return None, None
            return ItemSource(fields=ref.fields), None
        if isinstance(ref, StepOutputRef):
            if on_exit:
                self.problem(
                    loc,
                    "the on_exit step runs after the others whatever happened; it cannot take step outputs",
                )
                return None, None
            if not self.check_step_output(loc, ref, me):
                return None, None
            collect = self.spec.steps[ref.step].for_each is not None
            return (
                StepOutputSource(step=ref.step, output=ref.output, collect=collect),
                self.output_type(ref.step, ref.output)
                if not collect
                else _collection_type(self.output_type(ref.step, ref.output)),
            )
        if isinstance(ref, RunStatusRef) and on_exit:
            return TemplateSource(template=Template(parts=(ref,))), "string"
        self.problem(loc, f"${{{{ {ref_text(ref)} }}}} cannot be used here")
        return None, None

    def check_template(
        self,
        loc: Loc,
        tpl: Template,
        me: str,
        fanned_out: bool,
        on_exit: bool,
        *,
        in_input: bool,
        step: Step | None = None,
        input_types: dict[str, str] | None = None,
    ) -> bool:
        """Check every reference in a template; ``input_types`` (name -> lowered type) lets
        ``${{ inputs.X }}`` be checked against what X is: a file needs ``.path``, a value must not."""
        ok = True
        for ref in tpl.refs:
            text = ref_text(ref)
            if isinstance(ref, ParamRef):
                if ref.name not in self.spec.parameters:
                    self.problem(loc, f"no parameter named {ref.name!r} in ${{{{ {text} }}}}")
                    ok = False
            elif isinstance(ref, ItemRef):
                if not fanned_out:
                    self.problem(loc, f"${{{{ {text} }}}} is only defined in a step with for_each")
                    ok = False
            elif isinstance(ref, RunStatusRef):
                if not on_exit:
                    self.problem(loc, "${{ run.status }} is only defined in the on_exit step")
                    ok = False
            elif isinstance(ref, StepOutputRef):
                self.problem(
                    loc,
                    f"${{{{ {text} }}}}: take another step's output through an input "
                    f"(inputs: {{{ref.output}: '${{{{ {text} }}}}'}}), then use ${{{{ inputs.{ref.output} }}}}",
                )
                ok = False
            elif in_input or step is None:
                self.problem(loc, f"${{{{ {text} }}}} cannot be used in an input value")
                ok = False
            elif isinstance(ref, InputRef):
                inp = step.inputs.get(ref.name)
                is_file = (input_types or {}).get(ref.name) == "file"
                if inp is None:
                    self.problem(loc, f"no input named {ref.name!r} in ${{{{ {text} }}}}")
                    ok = False
                elif is_file and not ref.path:
                    self.problem(loc, f"input {ref.name!r} is a file: use ${{{{ inputs.{ref.name}.path }}}}")
                    ok = False
                elif ref.path and not is_file:
                    self.problem(loc, f"input {ref.name!r} is a value, not a file: use ${{{{ inputs.{ref.name} }}}}")
                    ok = False
            elif isinstance(ref, OutputPathRef) and ref.name not in step.outputs:
                self.problem(loc, f"no output named {ref.name!r} in ${{{{ {text} }}}}")
                ok = False
        return ok

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

    def for_each(self, loc: Loc, value: Any, me: str) -> ForEachIR | None:
        if isinstance(value, list):
            return ForEachIR(source=LiteralSource(value=value))
        try:
            ref = single_ref(value)
        except TemplateSyntaxError as e:
            self.problem(loc, str(e))
            return None
        if isinstance(ref, ParamRef):
            p = self.spec.parameters.get(ref.name)
            if p is None:
                self.problem(loc, f"no parameter named {ref.name!r}")
                return None
            if p.type not in ("list", "any"):
                self.problem(loc, f"parameter {ref.name!r} is of type {p.type}; for_each needs a list")
                return None
            return ForEachIR(source=ParamSource(name=ref.name))
        if isinstance(ref, StepOutputRef):
            if not self.check_step_output(loc, ref, me):
                return None
            upstream = self.spec.steps[ref.step]
            over_fanout = upstream.for_each is not None
            out_type = upstream.outputs[ref.output].type
            if not over_fanout and out_type not in ("list", "any"):
                self.problem(
                    loc,
                    f"output {ref.output!r} of step {ref.step!r} is of type {out_type}; for_each needs a list",
                )
                return None
            return ForEachIR(
                source=StepOutputSource(step=ref.step, output=ref.output, collect=over_fanout),
                over_fanout=over_fanout,
            )
        self.problem(loc, "expected a list, ${{ params.NAME }} or ${{ steps.STEP.outputs.NAME }}")
        return None

    def condition(self, loc: Loc, text: str, me: str) -> ConditionIR | None:
        m = _CONDITION.match(text)
        if m is None:
            left_text, op, right_text = text, "==", "true"
        else:
            left_text, op, right_text = m[1], m[2], m[3]
        sides: list[Source] = []
        for side in (left_text, right_text):
            try:
                ref = single_ref(side)
            except TemplateSyntaxError as e:
                self.problem(loc, str(e))
                return None
            if ref is None:
                if "${{" in side:
                    self.problem(
                        loc,
                        f"each side of a condition is one ${{{{ reference }}}} or a literal, got {side!r}",
                    )
                    return None
                try:
                    sides.append(LiteralSource(value=json.loads(side)))
                except ValueError:
                    if len(side) >= 2 and side[0] == side[-1] and side[0] in "'\"":
                        sides.append(LiteralSource(value=side[1:-1]))
                    else:
                        self.problem(
                            loc,
                            f"expected a number, true/false or a quoted string in the condition, got {side!r}",
                        )
                        return None
                continue
            if isinstance(ref, ParamRef):
                if ref.name not in self.spec.parameters:
                    self.problem(loc, f"no parameter named {ref.name!r}")
                    return None
                sides.append(ParamSource(name=ref.name))
            elif isinstance(ref, StepOutputRef):
                if not self.check_step_output(loc, ref, me):
                    return None
                if self.spec.steps[ref.step].outputs[ref.output].type == "file":
                    self.problem(
                        loc,
                        f"a condition compares values; output {ref.output!r} of step {ref.step!r} is a file",
                    )
                    return None
                if self.spec.steps[ref.step].for_each is not None:
                    self.problem(loc, f"a condition cannot test the outputs of fanned-out step {ref.step!r}")
                    return None
                sides.append(StepOutputSource(step=ref.step, output=ref.output))
            else:
                self.problem(loc, "a condition tests ${{ params.NAME }} or ${{ steps.STEP.outputs.NAME }}")
                return None
        if all(isinstance(s, LiteralSource) for s in sides):
            self.problem(loc, "a condition must test a parameter or a step output, not only literals")
            return None
        return ConditionIR(left=sides[0], op=op, right=sides[1], text=text)

    def step(self, name: str, step: Step, dns: str, loc: Loc, on_exit: bool = False) -> StepIR | None:
        before = len(self.problems)
        d = self.spec.defaults
        if (step.container is None) == (step.python is None):
            self.problem(loc, "expected exactly one of 'container' (a command) or 'python' (a function)")
            return None
        workdir = (step.container.workdir if step.container else None) or d.workdir
        fanned_out = step.for_each is not None
        for_each = None
        if step.for_each is not None and not on_exit:
            for_each = self.for_each((*loc, "for_each"), step.for_each, name)
        elif step.for_each is not None:
            self.problem((*loc, "for_each"), "the on_exit step cannot fan out")

        outputs = []
        for oname, out in step.outputs.items():
            oloc: Loc = (*loc, "outputs", oname)
            if (why := identifier_problem(oname)) is not None:
                self.problem(oloc, why)
            path = None
            if out.path is not None:
                path = self.relative_path((*oloc, "path"), out.path, workdir)
            elif out.type != "file" and step.container is not None:
                self.problem(oloc, "a container step writes a value output as JSON to a file: give its 'path'")
            outputs.append(OutputIR(name=oname, type=out.type, path=path))

        inputs = []
        for iname, inp in step.inputs.items():
            iloc: Loc = (*loc, "inputs", iname)
            if (why := identifier_problem(iname)) is not None:
                self.problem(iloc, why)
            if step.python is not None and iname in RESERVED_PYTHON_ARGS:
                self.problem(iloc, f"{iname!r} is reserved: Python steps receive their working directory under it")
            if "value" not in inp.model_fields_set:
                self.problem((*iloc, "value"), "expected a value: a literal, a template or a ${{ reference }}")
                continue
            source, known = self.source_of((*iloc, "value"), inp.value, name, fanned_out, on_exit)
            if source is None:
                continue
            type_: DataType | None = inp.type or known
            if isinstance(source, ItemSource) and for_each is not None and for_each.over_fanout and not source.fields:
                upstream = for_each.source
                assert isinstance(upstream, StepOutputSource)
                type_ = inp.type or self.output_type(upstream.step, upstream.output)
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
                    path = self.relative_path((*iloc, "path"), inp.path, workdir)
            if type_ == "file" and isinstance(source, (LiteralSource, TemplateSource)):
                self.problem(
                    (*iloc, "value"),
                    "a file input takes a file: ${{ steps.STEP.outputs.NAME }} or ${{ item }}",
                )
            inputs.append(InputIR(name=iname, type=type_ or "any", source=source, path=path))
        if step.python is not None:
            clash = set(step.inputs) & set(step.outputs)
            for c in sorted(clash):
                self.problem(
                    (*loc, "outputs", c),
                    f"a Python step's inputs and outputs share its arguments: {c!r} is both",
                )

        input_types: dict[str, str] = {i.name: i.type for i in inputs}
        command: tuple[Template, ...] = ()
        if step.container is not None:
            templates = []
            for i, arg in enumerate([*step.container.command, *step.container.args]):
                field = "command" if i < len(step.container.command) else "args"
                idx = i if field == "command" else i - len(step.container.command)
                aloc: Loc = (*loc, "container", field, idx)
                try:
                    tpl = parse_template(arg)
                except TemplateSyntaxError as e:
                    self.problem(aloc, str(e))
                    continue
                self.check_template(
                    aloc, tpl, name, fanned_out, on_exit, in_input=False, step=step, input_types=input_types
                )
                templates.append(tpl)
            command = tuple(templates)

        env = []
        for key, value in {**d.env, **step.env}.items():
            eloc: Loc = (*loc, "env", key)
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
                self.problem(eloc, "expected an environment variable name")
                continue
            try:
                tpl = parse_template(value)
            except TemplateSyntaxError as e:
                self.problem(eloc, str(e))
                continue
            self.check_template(
                eloc, tpl, name, fanned_out, on_exit, in_input=False, step=step, input_types=input_types
            )
            env.append((key, tpl))
        secret_envs = [s.env for s in step.secrets]
        for dup in sorted(
            {e for e in secret_envs if secret_envs.count(e) > 1} | (set(secret_envs) & {k for k, _ in env})
        ):
            self.problem((*loc, "secrets"), f"environment variable {dup!r} is set twice")

        after = []
        for i, a in enumerate(step.after):
            if a not in self.spec.steps:
                self.problem((*loc, "after", i), f"no step named {a!r}")
            elif a == name:
                self.problem((*loc, "after", i), "a step cannot run after itself")
            else:
                after.append(a)
        if on_exit and step.after:
            self.problem((*loc, "after"), "the on_exit step always runs last")

        when = self.condition((*loc, "when"), step.when, name) if step.when is not None else None
        if step.parallelism is not None and step.for_each is None:
            self.problem((*loc, "parallelism"), "a step-level parallelism limit needs for_each")

        retries = step.retries if step.retries is not None else d.retries
        retry = _retry_ir(retries)
        timeout = step.timeout if step.timeout is not None else d.timeout
        res = step.resources or d.resources
        resources = ResourcesIR(
            cpu=None if res is None or res.cpu is None else str(res.cpu),
            memory=None if res is None else res.memory,
            gpu=None if res is None else res.gpu,
        )
        if len(self.problems) > before:
            return None

        depends = set(after)
        refs_sources: list[Any] = [i.source for i in inputs]
        if for_each is not None:
            refs_sources.append(for_each.source)
        if when is not None:
            refs_sources += [when.left, when.right]
        for src in refs_sources:
            if isinstance(src, StepOutputSource):
                depends.add(src.step)
        params_used = _params_used(command, env, inputs, for_each, when)
        image = (step.container.image if step.container else step.python.image if step.python else None) or d.image
        return StepIR(
            name=name,
            dns_name=dns,
            description=step.description,
            kind="container" if step.container is not None else "python",
            container=ContainerIR(image=image or "", command=command, workdir=workdir) if step.container else None,
            python=PythonIR(function=step.python.function, image=image or "") if step.python else None,
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            env=tuple(env),
            secrets=tuple(_secret_ir(s) for s in step.secrets),
            depends_on=tuple(sorted(depends)),
            for_each=for_each,
            parallelism=step.parallelism,
            when=when,
            retry=retry,
            timeout_seconds=timeout,
            failure_policy=step.failure_policy or self.spec.failure_policy,
            resources=resources,
            cache=bool(step.cache if step.cache is not None else d.cache),
            params_used=params_used,
        )

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
            if self.check_step_output(loc, ref, ""):
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


def _literal_type(value: Any) -> DataType:
    for t in ("bool", "integer", "number", "string", "object", "list"):
        if value_matches(t, value):
            return t
    return "any"


def _collection_type(item_type: DataType | None) -> DataType | None:
    """A fan-in of files is a folder (still a file input); of values, a list."""
    return "file" if item_type == "file" else "list"


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


def _params_used(
    command: Iterable[Template],
    env: Iterable[tuple[str, Template]],
    inputs: Iterable[InputIR],
    for_each: ForEachIR | None,
    when: ConditionIR | None,
) -> tuple[str, ...]:
    used: set[str] = set()
    templates = [*command, *(t for _, t in env)]
    sources: list[Any] = [i.source for i in inputs]
    if for_each is not None:
        sources.append(for_each.source)
    if when is not None:
        sources += [when.left, when.right]
    for src in sources:
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
