"""The entry DAG's tasks for each step: its dependencies, its item helper, and the DAG template wrapping a loop
that has its own parallelism or whose values are gathered."""

from __future__ import annotations

from typing import Any

from flowyard.ir import StepIR, StepOutputSource
from hera.workflows import DAG, Artifact, Parameter, RawArtifact, Task
from hera.workflows import models as m

from flowyard_argo import failed_items
from flowyard_argo.failed_items import failed_items_check, status_output
from flowyard_argo.fan_ins import file_fan_in_producers
from flowyard_argo.items import Items
from flowyard_argo.names import HELPER, HELPER_FILE, P_ITEMS, items_task, loop_template
from flowyard_argo.references import Rendering, StepCalls
from flowyard_argo.scalar_checks import check_task, scalar_reads, values_task


def data_producers(step: StepIR) -> set[str]:
    """The steps whose outputs this step reads (inputs, ``for_each``, ``when``), not those it only runs after."""
    sources: list[Any] = [inp.source for inp in step.inputs]
    if step.for_each is not None:
        sources.append(step.for_each.source)
    if step.when is not None:
        sources += [step.when.left, step.when.right]
    return {src.step for src in sources if isinstance(src, StepOutputSource)}


class TaskWiring(Rendering):
    """The tasks of ``main``."""

    def depends_on(self, step_name: str, *, data: bool, folders_of: frozenset[str] = frozenset()) -> str:
        """One dependency in ``depends``: the reader runs where it runs locally.

        A consumer of a step's outputs (``data``) needs it to have succeeded, so it is Omitted after a skipped or
        failed producer as locally; the bare name (``ancestry.go`` ``expandDependency``: Succeeded, Skipped or
        Daemoned) would also accept Skipped and start it on outputs that do not exist. Under ``continue`` a
        fanned-out producer's readers wait for it in any outcome: its task group is ``Failed`` when one item
        failed (``dag.go`` ``executeDAGTask``), and they gather what the others made, ``null`` for the failed
        ones. A step only after a loop wrapped under ``continue`` also waits for its failed-items check, since
        the wrapper succeeds whatever its items did (:mod:`flowyard_argo.failed_items`). ``continueOn`` is not an
        option: ``validate.go`` refuses it in a DAG that uses ``depends``.
        """
        dns = self.dns(step_name)
        producer = self.steps[step_name]
        if producer.failure_policy == "continue" and producer.for_each is not None:
            if data:
                return f"({dns}.Succeeded || {dns}.Skipped || {dns}.Daemoned || {dns}.Failed || {dns}.Errored)"
            if step_name in self.wrapped:
                return f"{dns} && {failed_items.check_task(dns)}"
        if data and step_name in folders_of and producer.when is None:
            return f"({dns}.Succeeded || {dns}.Skipped)"  # a loop over no items is Skipped (executeDAGTask)
        return f"{dns}.Succeeded" if data else dns

    def depends(self, step: StepIR, items: Items | None) -> str | None:
        producers = data_producers(step)
        folders = frozenset(file_fan_in_producers(step))
        names = [self.depends_on(d, data=d in producers, folders_of=folders) for d in step.depends_on]
        checked = sorted({p for p, o in scalar_reads(step) if o in self.checked.get(p, ())})
        names += [f"{values_task(self.dns(p))}.Succeeded" for p in checked]  # reads the check's outputs
        if items is not None and items.helper_args is not None:
            names.append(items_task(step.dns_name))
        return " && ".join(names) or None

    def step_tasks(self, step: StepIR, calls: StepCalls) -> tuple[list[Task], list[Any]]:
        """The entry DAG's tasks for a step (its check task after it), and any extra templates (its parallelism
        wrapper)."""
        tasks, extra = self.own_tasks(step, calls)
        if step.name in self.checked:
            tasks.append(check_task(step, self.checked[step.name]))
        return tasks, extra

    def own_tasks(self, step: StepIR, calls: StepCalls) -> tuple[list[Task], list[Any]]:
        items = self.items.get(step.name)
        when = self.condition(step, step.when) if step.when is not None else None
        tasks = [self.helper_task(step, items)] if items is not None and items.helper_args is not None else []
        if items is None or step.name not in self.wrapped:
            arguments: list[Any] = [Parameter(name=k, value=v) for k, v in calls.parameters.items()]
            arguments += [Artifact(name=k, **v) for k, v in calls.artifacts.items()]
            depends = self.depends(step, items)
            loop = loop_over(items)
            tasks.append(
                Task(
                    name=step.dns_name,
                    template=step.dns_name,
                    arguments=arguments or None,
                    depends=depends,
                    when=when,
                    **loop,
                )
            )
            return tasks, []
        # per-step parallelism: Argo honours it only on the template that contains the loop
        outer, wrapper = self.wrapped_loop(step, items, calls, when)
        tasks.append(outer)
        if step.failure_policy == "continue":
            self.needs_check = True
            tasks.append(failed_items_check(step.name, step.dns_name))
        return tasks, [wrapper]

    def helper_task(self, step: StepIR, items: Items) -> Task:
        """The task numbering a step's items (:mod:`flowyard_argo.helper`), from an argument or a file."""
        assert items.helper_args is not None
        helper_args: list[Any] = [Parameter(name=k, value=v) for k, v in items.helper_args.items()]
        if items.helper_data is not None:
            helper_args.append(Artifact(name="data", from_=items.helper_data))
        elif items.helper_raw is not None:  # argoexec's init container writes the data, substituted, to its path
            helper_args.append(RawArtifact(name="data", data=items.helper_raw))
        from_file = items.helper_data is not None or items.helper_raw is not None
        self.needs_helper_file |= from_file
        self.needs_helper |= not from_file
        return Task(
            name=items_task(step.dns_name),
            template=HELPER_FILE if from_file else HELPER,
            arguments=helper_args,
            depends=" && ".join(self.depends_on(d, data=True) for d in items.helper_depends) or None,
        )

    def wrapped_loop(self, step: StepIR, items: Items, calls: StepCalls, when: str | None) -> tuple[Task, DAG]:
        """The task in ``main`` calling a DAG template that holds the loop, and that template.

        The template takes the upstream values (``{{tasks...}}`` is not in its scope), carries the step's
        parallelism and ``failFast``, and hands out the loop's aggregated values (``[]`` for no items).
        """
        continue_on = m.ContinueOn(failed=True) if step.failure_policy == "continue" else None
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
        loop = loop_over(items)
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
        wrapper = DAG(
            name=loop_template(step.dns_name),
            parallelism=step.parallelism,
            fail_fast=step.failure_policy != "continue",  # template-level: stops starting items (checkParallelism)
            inputs=[Parameter(name=k) for k in outer_params] + [Artifact(name=k) for k in outer_artifacts] or None,
            outputs=wrapper_outputs(step) + ([status_output(step.dns_name)] if continue_on else []) or None,
            tasks=[inner],
        )
        outer_args: list[Any] = [Parameter(name=k, value=v) for k, v in outer_params.items()]
        outer_args += [Artifact(name=k, **v) for k, v in outer_artifacts.items()]
        outer = Task(
            name=step.dns_name,
            template=loop_template(step.dns_name),
            arguments=outer_args or None,
            depends=self.depends(step, items),
            when=None if item_when else when,
        )
        return outer, wrapper


def loop_over(items: Items | None) -> dict[str, Any]:
    """The task's loop: ``withItems`` rows or ``withParam`` (none for a step that is not fanned out)."""
    if items is None:
        return {}
    if items.with_items is not None:
        return {"with_items": [dict(r) for r in items.with_items]}
    return {"with_param": items.with_param}


def wrapper_outputs(step: StepIR) -> list[Parameter]:
    """A loop wrapper's value outputs: the loop's aggregates, ``[]`` for a loop over no items, which is Skipped
    and has no aggregate (``getTemplateOutputsFromScope``)."""
    aggregates = f"tasks.{step.dns_name}.outputs.parameters"
    return [
        Parameter(name=o.name, value_from=m.ValueFrom(parameter=f"{{{{{aggregates}.{o.name}}}}}", default="[]"))
        for o in step.outputs
        if o.type != "file"
    ]
