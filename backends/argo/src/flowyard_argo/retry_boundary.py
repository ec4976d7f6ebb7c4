"""A retried step's attempts in a DAG of their own, so that a failed attempt does not stop the run.

``failure_policy: stop`` sets the template-level ``failFast`` on ``main``, the parts of a split pipeline and a loop's
wrapper. ``operator.go`` ``checkParallelism`` then starts nothing more in such a DAG once one of its nodes failed,
counting every Failed or Errored Pod, Steps or DAG node whose boundary is the DAG (``node_counters.go``
``getUnsuccessfulChildren``, v3.6.19 to v4.1.2): a retried task's first failed attempt is one (its pod's boundary
is the task's DAG; the Retry node is not counted), so the retry never started and the run failed (argo-workflows
5398). Locally every attempt is made. So a retried step under such a DAG is called through a DAG template of its own,
without ``failFast``, named as the step, that passes its inputs to the step's container (``<step>-attempts``) and
hands back its outputs: the attempts' boundary is that DAG, and only its node, Failed once the last attempt failed,
counts in the DAG that fails fast.

The inner task is named as the step, so a run's reports read its attempts as the step's; their item is their
``flowyard-index`` input, as their display name holds no loop index (:func:`flowyard_argo.reported_tasks.item_of`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flowyard.ir import PipelineIR
from hera.workflows import DAG, Artifact, Container, Parameter, Task
from hera.workflows import models as m

from flowyard_argo.fan_ins import wrapped_loops

if TYPE_CHECKING:
    from flowyard_argo.references import StepCalls


def attempts_template(dns: str) -> str:
    return f"{dns}-attempts"


def retried_in_own_dag(ir: PipelineIR) -> set[str]:
    """The retried steps a DAG that fails fast calls: ``main`` and its parts unless some step continues (their
    ``failFast`` is off then), a loop's wrapper unless the looping step continues."""
    continues = any(s.failure_policy == "continue" for s in ir.steps)
    wrapped = wrapped_loops(ir)
    return {
        s.name
        for s in ir.steps
        if s.retry.limit and (s.failure_policy != "continue" if s.name in wrapped else not continues)
    }


def refuse_over_cap(ir: PipelineIR, document: Mapping[str, Any], version: str) -> None:
    """Name the retried steps' DAGs when they are what keeps a manifest over v4's 200 templates once every container
    that can be is written inline (:mod:`flowyard_argo.inlining`): it would fit without them. Pre-flight words any
    other excess."""
    from flowyard_argo.errors import CompileError
    from flowyard_argo.inlining import MAX_TEMPLATES, least_templates

    least, retried = least_templates(document), len(retried_in_own_dag(ir))
    if least > MAX_TEMPLATES >= least - retried:  # without their DAGs it would fit
        raise CompileError(
            f"Argo {version}'s CRDs allow at most {MAX_TEMPLATES} templates (WorkflowSpec.Templates maxItems), and "
            f"this pipeline needs more even with every container that can be written inline: its {retried} retried "
            "steps each need a DAG template of their own under failure_policy: stop (in one DAG a failed attempt "
            "stops the run before its retry, argo-workflows 5398); retry fewer steps, set failure_policy: continue, "
            "or compile with -O argo_version=3.7.9"
        )


def own_dag(container: Container, calls: StepCalls) -> list[Any]:
    """The DAG template named as the step, calling its container, and the container, renamed ``<step>-attempts``."""
    name = str(container.name)
    arguments: list[Any] = [Parameter(name=k, value=f"{{{{inputs.parameters.{k}}}}}") for k in calls.parameters]
    arguments += [Artifact(name=k, from_=f"{{{{inputs.artifacts.{k}}}}}") for k in calls.artifacts]
    outputs: list[Any] = []
    for out in container.outputs if isinstance(container.outputs, list) else []:  # step_template gives a list
        if isinstance(out, Parameter):
            source = f"{{{{tasks.{name}.outputs.parameters.{out.name}}}}}"
            outputs.append(Parameter(name=out.name, value_from=m.ValueFrom(parameter=source)))
        elif isinstance(out, Artifact):
            outputs.append(Artifact(name=out.name, from_=f"{{{{tasks.{name}.outputs.artifacts.{out.name}}}}}"))
    wrapper = DAG(
        name=name,
        inputs=[*(Parameter(name=k) for k in calls.parameters), *(Artifact(name=k) for k in calls.artifacts)] or None,
        outputs=outputs or None,
        tasks=[Task(name=name, template=attempts_template(name), arguments=arguments or None)],
    )
    container.name = attempts_template(name)  # hera's templates have no copy: this one was made for this step only
    return [wrapper, container]
