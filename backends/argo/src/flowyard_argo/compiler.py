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

from collections.abc import Mapping
from typing import Any

from flowyard.ir import PipelineIR
from flowyard.templates import render_value
from hera.workflows import DAG, CronWorkflow, Parameter, Task, Workflow, WorkflowTemplate
from hera.workflows import models as m

from flowyard_argo.errors import CompileError
from flowyard_argo.failed_items import CHECK, check_template
from flowyard_argo.items import ItemPlanning
from flowyard_argo.names import ENTRY, IR_ANNOTATION, MANIFEST_LIMIT, PIPELINE_LABEL
from flowyard_argo.nesting import nest
from flowyard_argo.on_exit import EXIT_HANDLER, exit_handler
from flowyard_argo.options import ArgoOptions
from flowyard_argo.references import unquotable
from flowyard_argo.retry_boundary import own_dag as attempts_in_own_dag
from flowyard_argo.retry_boundary import refuse_over_cap, retried_in_own_dag
from flowyard_argo.scalar_checks import values_template
from flowyard_argo.step_templates import StepTemplates
from flowyard_argo.tasks import TaskWiring

__all__ = ["ArgoCompiler", "CompileError", "build_workflow", "compile_manifest"]


class ArgoCompiler(StepTemplates, TaskWiring, ItemPlanning):
    """Builds one Workflow from one IR. Holds only what it derives from them; use once."""

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
        own_dag = retried_in_own_dag(self.ir)
        for step in self.ir.steps:
            if step.for_each is not None:
                self.items[step.name] = self.plan_items(step)
            container, calls = self.step_template(step)
            templates += attempts_in_own_dag(container, calls) if step.name in own_dag else [container]
            step_tasks, wrappers = self.step_tasks(step, calls)
            tasks += step_tasks
            extra += wrappers
        continues = any(s.failure_policy == "continue" for s in self.ir.steps)
        # assessDAGPhase (dag.go) reads only the targets' phases, by default the leaves: every task is a target
        # when a step continues, so a failed step whose dependents ran still fails the run, as locally
        tasks, parts = nest(tasks, continues=continues, taken={s.dns_name for s in self.ir.steps})
        self.needs_check |= any(getattr(t, "template", None) == CHECK for t in tasks)  # a split's part checks
        target = " ".join(t.name for t in tasks) if continues else None
        entry = DAG(name=ENTRY, tasks=tasks, fail_fast=not continues, target=target)
        all_templates: list[Any] = [entry, *parts, *extra, *templates]
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
        for count in sorted({len(outs) for outs in self.checked.values()}):
            all_templates.append(values_template(count, self.options.helper_image, self.options.image_pull_policy))
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


def manifest_document(ir: PipelineIR, options: ArgoOptions, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The workflow as the dict every path sends or writes: every ``$`` in a container doubled for the kubelet
    (:mod:`flowyard_argo.kubelet`), single-use step templates inlined where the release's CRDs cap
    ``spec.templates`` (:mod:`flowyard_argo.inlining`)."""
    from flowyard_argo.executor.versions import argo_version
    from flowyard_argo.inlining import inline_over_cap
    from flowyard_argo.kubelet import escaped_for_kubelet

    capped = argo_version(options.argo_version).crd_limits
    document = inline_over_cap(escaped_for_kubelet(build_workflow(ir, options, values).to_dict()), capped)
    if capped:
        refuse_over_cap(ir, document, options.argo_version)
    return document


def compile_manifest(ir: PipelineIR, options: ArgoOptions) -> tuple[dict[str, Any], str]:
    """The manifest as a dict and as YAML text: the one place the typed models are serialised."""
    import yaml

    from flowyard_argo.preflight import refusal

    document = manifest_document(ir, options)
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
        def ignore_aliases(self, data: Any) -> bool:
            return True  # a manifest is a tree: no anchors, and no alias bookkeeping for each of its nodes

    def str_presenter(dumper: Any, data: str) -> Any:
        style = "|" if "\n" in data else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    Dumper.add_representer(str, str_presenter)
    return Dumper
