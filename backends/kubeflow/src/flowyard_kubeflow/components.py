"""One KFP component per step, made with the kfp SDK.

Two kinds, from one plan of the step's arguments (:func:`plan_step`):

- **lightweight** (``@dsl.component``): a function with the step's signature whose body calls
  :func:`flowyard.stepimage.function_task.run_function_task` with the step's IR. kfp embeds a lightweight
  component's *source*, so the function is generated as source text (the signature only: names are
  sanitised identifiers, types come from a fixed table, the IR is a string literal). Python-function
  steps are always this kind; under ``kfp.local`` container steps are too (it runs nothing else).
- **container** (``@dsl.container_component``): for a container step in the cluster package. The
  command runs in the user's image with KFP's placeholders, inside a small ``/bin/sh`` wrapper when
  the step has fixed paths, value outputs or env (the wrapper copies files between the step's working
  directory and KFP's paths, and exports env; every value is a positional argument, never script text).
"""

from __future__ import annotations

import inspect
import keyword
import linecache
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal

from flowyard.ir import (
    InputIR,
    InputRef,
    ItemRef,
    ItemSource,
    LiteralSource,
    OutputPathRef,
    ParamRef,
    ParamSource,
    PipelineIR,
    RunStatusRef,
    StepIR,
    StepOutputSource,
    Template,
    TemplateSource,
)
from flowyard.stepimage.function_task import ArgRole, FunctionTask
from flowyard.templates import assert_never, render, render_value

Target = Literal["cluster", "local"]
DEFAULT_WORKDIR = "/flowyard/work"

# IR value type -> (annotation source, annotation object name in kfp.dsl or builtins)
VALUE_TYPES = {
    "string": "str",
    "number": "float",
    "integer": "int",
    "bool": "bool",
    "object": "dict",
    "list": "list",
    "any": "str",  # JSON text between our own tasks; items arrive as the value itself
}

STATUS_MARK = "@@flowyard:run.status@@"  # where ${{ run.status }} goes in argv and env; the wrapper fills it in
WRAPPER = r"""set -e
wd=$1; shift; mkdir -p "$wd"; cd "$wd"
st=$1; shift; word=
if [ -n "$st" ]; then
  s=$(printf '%s' "$st" | sed -n 's/.*[^\\]"state": *"\([A-Z_]*\)".*/\1/p')
  case $s in SUCCEEDED|COMPLETE|CACHED) word=Succeeded;; *) word=Failed;; esac
fi
M='@@flowyard:run.status@@'
fill() { r=$1; o=; while :; do case $r in *"$M"*) o=$o${r%%"$M"*}$word; r=${r#*"$M"};; *) break;; esac; done; o=$o$r; }
n=$1; shift
while [ "$n" -gt 0 ]; do mkdir -p "$(dirname -- "$2")"; cp -R -- "$1" "$2"; shift 2; n=$((n-1)); done
n=$1; shift
while [ "$n" -gt 0 ]; do fill "$2"; export "$1=$o"; shift 2; n=$((n-1)); done
m=$1; shift; i=0
while [ "$i" -lt "$m" ]; do i=$((i+1)); eval "src_$i=\$1 dst_$i=\$2"; shift 2; done
if [ -n "$st" ]; then
  n=$#; i=0
  while [ "$i" -lt "$n" ]; do fill "$1"; shift; set -- "$@" "$o"; i=$((i+1)); done
fi
set +e; "$@"; rc=$?; set -e
[ "$rc" -eq 0 ] || exit "$rc"
i=0
while [ "$i" -lt "$m" ]; do
  i=$((i+1)); eval "s=\$src_$i d=\$dst_$i"; mkdir -p "$(dirname -- "$d")"; cp -R -- "$s" "$d"
done
"""


def identifier(name: str, taken: set[str]) -> str:
    """A Python identifier for ``name``, unique among ``taken`` (which it joins)."""
    base = re.sub(r"\W", "_", name)
    if not base or base[0].isdigit() or base.startswith("_") or keyword.iskeyword(base):
        base = f"a_{base.lstrip('_')}"
    out, n = base, 2
    while out in taken:
        out, n = f"{base}_{n}", n + 1
    taken.add(out)
    return out


def function_name(step: StepIR) -> str:
    return step.dns_name.replace("-", "_")


@dataclass(frozen=True)
class Arg:
    """One argument of a step's component: what it is, its type, and what feeds it in the DAG."""

    name: str
    role: ArgRole
    annotation: str  # source text, e.g. "Input[List[Artifact]]"
    key: tuple[Any, ...] | None  # ("param", p) | ("item", fields) | ("output", step, out, collect) | None


@dataclass
class StepPlan:
    step: StepIR
    args: list[Arg] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # output name -> argument name
    basenames: dict[str, str] = field(default_factory=dict)
    json_text: list[str] = field(default_factory=list)
    returns: str | None = None  # the value output returned (local target), not written to a path
    taken: set[str] = field(default_factory=set)  # argument names given so far

    def arg(self, kind: str, name: str = "") -> Arg | None:
        return next((a for a in self.args if a.role.kind == kind and a.role.name == name), None)

    def add(self, base: str, role: ArgRole, annotation: str, key: tuple[Any, ...] | None) -> Arg:
        """The argument for ``role``: the one already added, else a new one named after ``base``."""
        existing = self.arg(role.kind, role.name)
        if existing is not None:
            return existing
        arg = Arg(identifier(base, self.taken), role, annotation, key)
        self.args.append(arg)
        return arg


def template_refs(step: StepIR) -> list[Any]:
    templates: list[Template] = [t for _, t in step.env]
    if step.container is not None:
        templates += list(step.container.command)
    templates += [i.source.template for i in step.inputs if isinstance(i.source, TemplateSource)]
    return [r for t in templates for r in t.refs]


def plan_step(ir: PipelineIR, step: StepIR, target: Target) -> StepPlan:
    """The component's arguments for ``step``. Container components (cluster) take each item field
    they print as an argument of its own; lightweight ones take the whole item and dig."""
    plan = StepPlan(step)
    _plan_inputs(ir, plan)  # inputs first: they keep their own names where they can
    _plan_reads(ir, plan, lightweight=step.kind == "python" or target == "local")
    _plan_outputs(ir, plan, target)
    if target == "local":
        plan.add("flowyard_log", ArgRole(kind="log"), "Output[Artifact]", None)
    return plan


def _plan_inputs(ir: PipelineIR, plan: StepPlan) -> None:
    """An argument per input from another step (a file or a value), and one for a file item."""
    step = plan.step
    for inp in step.inputs:
        src = inp.source
        if isinstance(src, StepOutputSource):
            producer = ir.step(src.step)
            out = producer.output(src.output)
            if inp.type == "file":
                annotation = "Input[List[Artifact]]" if src.collect else "Input[Artifact]"
                plan.basenames[inp.name] = PurePosixPath(out.path).name if out.path else out.name
            else:
                annotation = "list" if src.collect else VALUE_TYPES[out.type]
                if out.type == "any":
                    plan.json_text.append(inp.name)
            plan.add(
                inp.name,
                ArgRole(kind="input", name=inp.name),
                annotation,
                ("output", src.step, src.output, src.collect),
            )
        elif isinstance(src, ItemSource) and inp.type == "file":
            assert step.for_each is not None and isinstance(step.for_each.source, StepOutputSource)
            up = ir.step(step.for_each.source.step).output(step.for_each.source.output)
            plan.basenames[inp.name] = PurePosixPath(up.path).name if up.path else up.name
            plan.add(inp.name, ArgRole(kind="item"), "Input[Artifact]", ("item", ()))


def _plan_reads(ir: PipelineIR, plan: StepPlan, *, lightweight: bool) -> None:
    """Arguments for what the step reads itself: parameters, item fields, the run's final status."""
    step = plan.step
    refs = template_refs(step)
    # the parameters the step reads itself (not the list it fans out over: the loop passes items)
    params = {r.name for r in refs if isinstance(r, ParamRef)}
    params |= {i.source.name for i in step.inputs if isinstance(i.source, ParamSource)}
    for p in sorted(params):
        plan.add(f"param_{p}", ArgRole(kind="param", name=p), VALUE_TYPES[ir.parameter(p).type], ("param", p))
    item_fields = {r.fields for r in refs if isinstance(r, ItemRef)}
    item_fields |= {i.source.fields for i in step.inputs if isinstance(i.source, ItemSource) and i.type != "file"}
    if item_fields and plan.arg("item") is None:
        if lightweight:
            plan.add("item", ArgRole(kind="item"), item_annotation(ir, step), ("item", ()))
        else:
            for fields in sorted(item_fields):
                name = "item" if not fields else "item_" + "_".join(fields)
                annotation = item_annotation(ir, step) if not fields else "str"
                plan.add(name, ArgRole(kind="item", name=".".join(fields)), annotation, ("item", fields))
    if any(isinstance(r, RunStatusRef) for r in refs):
        plan.add("status", ArgRole(kind="status"), "dsl.PipelineTaskFinalStatus", None)


def _plan_outputs(ir: PipelineIR, plan: StepPlan, target: Target) -> None:
    step = plan.step
    loops = _loop_sources(ir)
    for out in step.outputs:
        annotation = "Output[Artifact]" if out.type == "file" else f"dsl.OutputPath({VALUE_TYPES[out.type]})"
        if target == "local" and out.type != "file" and plan.returns is None and (step.name, out.name) in loops:
            # kfp.local 2.17 finds a ParallelFor's items among task outputs only under the key "Output":
            # the function's return value
            plan.returns = out.name
            plan.outputs[out.name] = "Output"
            continue
        # an output named like an input (the seed's processor: event in, event out) is NAME_output
        base = f"{out.name}_output" if any(i.name == out.name for i in step.inputs) else out.name
        arg = plan.add(base, ArgRole(kind="output", name=out.name), annotation, None)
        plan.outputs[out.name] = arg.name


def item_annotation(ir: PipelineIR, step: StepIR) -> str:
    """KFP checks a loop item's type against the input it feeds: for a literal list it knows the
    element type; for a list from a parameter or an output it passes the item as it is; a chained
    step's item is the upstream task's output, of that output's type."""

    from flowyard_kubeflow.chains import fan_out_chains

    src = step.for_each.source if step.for_each is not None else None
    if isinstance(src, StepOutputSource) and step.name in fan_out_chains(ir):
        return VALUE_TYPES[ir.step(src.step).output(src.output).type]
    if not isinstance(src, LiteralSource) or not src.value:
        return "str"
    kinds = {type(v) for v in src.value}
    if kinds <= {int} and bool not in kinds:
        return "int"
    if kinds <= {int, float}:
        return "float"
    for py, name in ((str, "str"), (bool, "bool"), (dict, "dict"), (list, "list")):
        if kinds == {py}:
            return name
    return "str"


def _loop_sources(ir: PipelineIR) -> set[tuple[str, str]]:
    """(step, output) pairs another step fans out over directly (not over a fan-out)."""
    out = set()
    for s in ir.steps:
        if s.for_each is not None and not s.for_each.over_fanout and isinstance(s.for_each.source, StepOutputSource):
            out.add((s.for_each.source.step, s.for_each.source.output))
    return out


# --- lightweight components --------------------------------------------------------------------

_PRELUDE = "from kfp import dsl\nfrom kfp.dsl import *\nfrom typing import *\n"


def _generated_function(name: str, signature: str, body: list[str], returns: str | None = None) -> Any:
    """Define a function from source that ``inspect.getsource`` can read back (kfp embeds it)."""
    arrow = f" -> {returns}" if returns else ""
    source = f"def {name}({signature}){arrow}:\n" + "".join(f"    {line}\n" for line in body)
    filename = f"<flowyard-generated {name} {abs(hash(source)):x}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {}
    exec(_PRELUDE, namespace)  # noqa: S102 - kfp's own prelude for component sources
    # dont_inherit: this module's `from __future__ import annotations` must not turn them into strings
    exec(compile(source, filename, "exec", dont_inherit=True), namespace)  # noqa: S102 - from sanitised names
    return namespace[name]


def lightweight_component(
    plan: StepPlan, base_image: str, bin_dirs: tuple[str, ...] = (), guard: dict[str, int] | None = None
) -> Any:
    """``guard`` (kfp.local runs): every step's retries, for :mod:`flowyard_kubeflow.local_guard`."""
    from kfp import dsl

    task = FunctionTask(
        step=plan.step,
        args={a.name: a.role for a in plan.args},
        basenames=plan.basenames,
        json_text=tuple(plan.json_text),
        bin_dirs=bin_dirs,
        returns=plan.returns,
    )
    signature = ", ".join(f"{a.name}: {a.annotation}" for a in plan.args)
    returns = VALUE_TYPES[plan.step.output(plan.returns).type] if plan.returns is not None else None
    body = ["_flowyard_arguments = dict(locals())"]
    if plan.arg("status") is not None:  # the spec's word whatever the server calls the state
        body += [
            "from flowyard_kubeflow.run_status import normalise_status",
            "_flowyard_arguments = normalise_status(_flowyard_arguments)",
        ]
    if guard is not None:
        fanned_out = plan.step.for_each is not None
        body += [
            "from flowyard_kubeflow.local_guard import omit_after_failure",
            f"omit_after_failure({plan.step.name!r}, {fanned_out!r}, {guard!r}, _flowyard_arguments)",
        ]
    body += [
        "from flowyard.function_task import run_function_task",
        f"return run_function_task({task.model_dump_json()!r}, _flowyard_arguments)",
    ]
    fn = _generated_function(function_name(plan.step), signature, body, returns)
    fn.__doc__ = plan.step.description or None
    return dsl.component(fn, base_image=base_image, install_kfp_package=False)


# --- container components (cluster package) -------------------------------------------------------


def _annotation_object(annotation: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(_PRELUDE, namespace)  # noqa: S102
    return eval(annotation, namespace)  # noqa: S307 - one of the fixed annotation strings above


def container_component(plan: StepPlan, image: str) -> Any:
    from kfp import dsl

    step = plan.step
    assert step.container is not None
    names = [a.name for a in plan.args]

    def body(*placeholders: Any) -> Any:
        ph = dict(zip(names, placeholders, strict=True))
        return container_spec(plan, image, ph)

    params = [
        inspect.Parameter(a.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=_annotation_object(a.annotation))
        for a in plan.args
    ]
    body.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    body.__name__ = function_name(step)
    body.__doc__ = step.description or None
    return dsl.container_component(body)


@dataclass
class _ContainerReferences:
    """What each reference becomes in a container step's command: a KFP placeholder, or a path in the
    step's working directory that the wrapper copies a KFP path to (inputs) or from (outputs)."""

    plan: StepPlan
    ph: dict[str, Any]
    workdir: str
    copies_in: list[str] = field(default_factory=list)  # pairs: KFP path, workdir path
    copies_out: list[str] = field(default_factory=list)  # pairs: workdir path, KFP path or placeholder

    def arg_ph(self, kind: str, name: str = "") -> Any:
        arg = self.plan.arg(kind, name)
        assert arg is not None, (kind, name)
        return self.ph[arg.name]

    def text(self, text: str) -> str:
        return text

    def param(self, ref: ParamRef) -> str:
        return str(self.arg_ph("param", ref.name))

    def item(self, ref: ItemRef) -> str:
        return str(self.arg_ph("item", ".".join(ref.fields)))

    def input(self, ref: InputRef) -> str:
        inp = self.plan.step.input(ref.name)
        if ref.path:
            return self.place_input(inp)
        match inp.source:
            case ParamSource(name=name):
                return str(self.arg_ph("param", name))
            case ItemSource(fields=fields):
                return str(self.arg_ph("item", ".".join(fields)))
            case StepOutputSource():
                return str(self.arg_ph("input", inp.name))
            case TemplateSource(template=template):
                return render(template, self)
            case LiteralSource(value=value):
                return render_value(value)
            case _:
                assert_never(inp.source)

    def output_path(self, ref: OutputPathRef) -> str:
        return self.place_output(ref.name)

    def run_status(self, ref: RunStatusRef) -> str:
        return STATUS_MARK  # the wrapper puts the word in, from the whole final status

    def place_input(self, inp: InputIR) -> str:
        given = self.arg_ph("item") if isinstance(inp.source, ItemSource) else self.arg_ph("input", inp.name)
        if inp.path is None:
            return str(given.path)
        dest = str(PurePosixPath(self.workdir) / inp.path)
        if dest not in self.copies_in[1::2]:
            self.copies_in.extend([given.path, dest])
        return dest

    def place_output(self, name: str) -> str:
        out = self.plan.step.output(name)
        if out.path is None and out.type == "file":
            return str(self.arg_ph("output", name).path)
        made = str(PurePosixPath(self.workdir) / (out.path or f".flowyard-outputs/{name}"))
        target = self.arg_ph("output", name)
        if made not in self.copies_out[0::2]:
            self.copies_out.extend([made, target.path if out.type == "file" else target])
        return made


def container_spec(plan: StepPlan, image: str, ph: dict[str, Any]) -> Any:
    """The step's command with KFP placeholders, wrapped when files or env need handling."""
    from kfp import dsl

    step = plan.step
    assert step.container is not None
    workdir = step.container.workdir or DEFAULT_WORKDIR
    refs = _ContainerReferences(plan, ph, workdir)
    argv = [render(t, refs) for t in step.container.command]
    for inp in step.inputs:
        if inp.type == "file":
            refs.place_input(inp)
    for out in step.outputs:
        refs.place_output(out.name)
    env = [x for key, tpl in step.env for x in (key, render(tpl, refs))]
    status = str(refs.arg_ph("status")) if plan.arg("status") is not None else ""
    copies_in, copies_out = refs.copies_in, refs.copies_out
    if not (copies_in or copies_out or env or step.container.workdir or status):
        return dsl.ContainerSpec(image=image, command=argv)
    command = ["/bin/sh", "-c", WRAPPER, "flowyard-step", workdir, status]
    command += [str(len(copies_in) // 2), *copies_in, str(len(env) // 2), *env, str(len(copies_out) // 2), *copies_out]
    return dsl.ContainerSpec(image=image, command=[*command, *argv])
