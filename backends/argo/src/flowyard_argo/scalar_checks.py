"""A container step's number, integer and bool outputs, checked and rendered as locally before another container or a
``when`` reads them (issue 15, divergence 10).

Locally a container's value output file is read as JSON, checked against its declared type (``value_matches``) and
handed on as ``render_value`` writes it (``2.50`` as ``2.5``, `` 3`` as ``3``, ``1E2`` as ``100.0``); a value that is
not JSON, or not of its type, fails the producer. Argo's wait container saves the file's text less one trailing
newline (``workflow/executor/executor.go`` ``SaveParameters``), unchecked. So where such an output is read by a
container or a ``when``, a small task after the producer (``<step>-values``, stdlib Python in ``helper_image``, argv
only) reads the producer's output parameters, checks and renders them by the same rules, and the readers take its
outputs instead. A value that does not pass fails that task with the local message, which the template hands to
Argo as the container's termination message (``terminationMessagePolicy: FallbackToLogsOnError``; ``operator.go``
``inferFailedReason`` appends it to the node's message).
"""

from __future__ import annotations

import json

from flowyard.ir import ContainerIR, PipelineIR, StepIR, StepOutputSource
from hera.workflows import Container, Parameter, Task
from hera.workflows import models as m

SCALAR_TYPES = frozenset({"number", "integer", "bool"})
VALUES = "flowyard-values"  # the check template, one per number of outputs: flowyard-values-1, -2, ...
CHECKED_DIR = "/tmp/flowyard/values"  # noqa: S108  inside the check's own short-lived container

SCRIPT = """\
import json, os, sys
def fits(kind, v):
    if kind == "bool" or isinstance(v, bool):
        return kind == "bool" and isinstance(v, bool)
    return isinstance(v, int) if kind == "integer" else isinstance(v, (int, float))
def render(v):
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
folder, spec = sys.argv[1], json.loads(sys.argv[2])
os.makedirs(folder, exist_ok=True)
for k, ((name, kind, path), text) in enumerate(zip(spec, sys.argv[3:])):
    try:
        value = json.loads(text)
    except ValueError as e:
        sys.exit("value output %r in %s is not JSON: %s" % (name, path, e))
    if not fits(kind, value):
        sys.exit("output %r should be of type %s, got %s" % (name, kind, render(value)[:80]))
    with open(os.path.join(folder, "v%d" % k), "w", encoding="utf-8") as f:
        f.write(render(value))
"""


def values_task(dns: str) -> str:
    return f"{dns}-values"


def checked_producer(task: str) -> str | None:
    """The producer a check task (``<step>-values``) checks, by its task name; ``None`` for any other task. A run's
    report gives a check's failure to its producer: the value is the producer's, as a local run reports it."""
    return task.removesuffix("-values") if task.endswith("-values") else None


def values_template_name(count: int) -> str:
    return f"{VALUES}-{count}"


def is_values_template(name: str) -> bool:
    """A check task's template: ``flowyard-values-<count>`` (:func:`values_template_name`)."""
    return name.startswith(f"{VALUES}-") and name.removeprefix(f"{VALUES}-").isdigit()


def scalar_reads(step: StepIR) -> set[tuple[str, str]]:
    """(producer, output) pairs this step reads where the text itself counts: its ``when`` sides, and its value
    inputs when it is a container (a Python step's entrypoint parses the text itself)."""
    sources = [side for side in (step.when.left, step.when.right)] if step.when is not None else []
    if isinstance(step.body, ContainerIR):
        sources += [inp.source for inp in step.inputs if inp.type != "file"]
    return {(s.step, s.output) for s in sources if isinstance(s, StepOutputSource) and not s.collect}


def checked_outputs(ir: PipelineIR) -> dict[str, tuple[str, ...]]:
    """Per container step (not fanned out), its number/integer/bool outputs that a container or a ``when`` reads,
    in declared order: the steps that get a check task."""
    steps = {s.name: s for s in ir.steps}
    read = set().union(*(scalar_reads(s) for s in ir.steps))
    checked: dict[str, tuple[str, ...]] = {}
    for name, producer in steps.items():
        if producer.kind != "container" or producer.for_each is not None:
            continue
        outs = tuple(o.name for o in producer.outputs if o.type in SCALAR_TYPES and (name, o.name) in read)
        if outs:
            checked[name] = outs
    return checked


def values_ref(dns: str, index: int) -> str:
    """The checked value of a producer's ``index``-th checked output, in the DAG that holds its check task."""
    return f"{{{{tasks.{values_task(dns)}.outputs.parameters.v{index}}}}}"


def check_task(producer: StepIR, outputs: tuple[str, ...]) -> Task:
    """The task after ``producer`` that checks and renders ``outputs``; it runs only when the producer succeeded."""
    spec = [[o, producer.output(o).type, producer.output(o).path or o] for o in outputs]
    arguments = [Parameter(name="spec", value=json.dumps(spec, ensure_ascii=False))]
    tag = f"tasks.{producer.dns_name}.outputs.parameters"
    arguments += [Parameter(name=f"v{k}", value=f"{{{{{tag}.{o}}}}}") for k, o in enumerate(outputs)]
    return Task(
        name=values_task(producer.dns_name),
        template=values_template_name(len(outputs)),
        arguments=arguments,
        depends=f"{producer.dns_name}.Succeeded",
    )


def values_template(count: int, image: str, pull_policy: str | None) -> Container:
    """Checks ``count`` values (argv elements, never a shell) and writes each rendered, without a newline."""
    slots = [f"v{k}" for k in range(count)]
    return Container(
        name=values_template_name(count),
        image=image,
        image_pull_policy=pull_policy,
        command=["python3", "-c", SCRIPT, CHECKED_DIR, "{{inputs.parameters.spec}}"],
        args=[f"{{{{inputs.parameters.{s}}}}}" for s in slots],
        inputs=[Parameter(name="spec"), *(Parameter(name=s) for s in slots)],
        outputs=[Parameter(name=s, value_from=m.ValueFrom(path=f"{CHECKED_DIR}/{s}")) for s in slots],
        termination_message_policy="FallbackToLogsOnError",
    )
