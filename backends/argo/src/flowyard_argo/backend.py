"""The argo backend: Argo Workflow manifests built with hera, submitted to an Argo Server.

hera is imported only when a pipeline is compiled or submitted, so listing backends stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from flowyard.backend import Backend, Capability, CompiledFile, CompiledPipeline, FeatureUse, cluster_refusals
from flowyard.errors import FlowyardError
from flowyard.ir import PipelineIR, StepIR, StepOutputSource
from flowyard.requests import LogQuery, Remote, SubmitRequest
from flowyard.runs import RunRequest, RunStatus
from flowyard.summary import StructuralSummary

from flowyard_argo.options import ArgoOptions

SUPPORTED_ARGO = "v3.5 and later (manifests checked against Argo v4.1.2's schema)"


def condition_refusals(ir: PipelineIR, step: StepIR) -> list[FeatureUse]:
    """A ``when`` side that is a step's text: Argo inserts it as written into the condition (``operator.go``
    ``shouldExecute`` after substitution), where a quote in it ends govaluate's string and a backslash escapes
    (``lexer.go`` ``readUntilFalse``); a container's arrives as its file's JSON text, quotes included. A number or
    bool holds neither (a container's is parsed, checked and rendered by its check task first: ``scalar_checks``)."""
    if step.when is None:
        return []
    out = []
    for side in (step.when.left, step.when.right):
        if not isinstance(side, StepOutputSource):
            continue
        kind = ir.step(side.step).output(side.output).type
        if kind in ("string", "any", "object", "list"):
            out.append(
                FeatureUse(
                    "condition-on-step-text",
                    f"step {step.name!r}: its condition reads output {side.output!r} of step {side.step!r}, "
                    f"{kind}-typed text Argo's govaluate would read as written (a quote in it rewrites the "
                    "condition); test a number or bool output, or a parameter",
                )
            )
    return out


class ArgoBackend(Backend):
    name = "argo"
    description = "Argo Workflows: a Workflow manifest built with hera, submitted to an Argo Server"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.CONTAINER_STEPS,
            Capability.PYTHON_STEPS,
            Capability.FAN_OUT,
            Capability.FAN_OUT_OVER_OUTPUT,
            Capability.FAN_OUT_OVER_FAN_OUT,
            Capability.FAN_IN_VALUES,
            Capability.FAN_IN_FILES,
            Capability.STEP_PARALLELISM,
            Capability.PIPELINE_PARALLELISM,
            Capability.RETRIES,
            Capability.TIMEOUTS,
            Capability.CONDITIONS,
            Capability.EXIT_HANDLER,
            Capability.CONTINUE_ON_FAILURE,
            Capability.SECRETS,
            Capability.S3_STORE,
            Capability.IMAGES,
            Capability.RESOURCES,
            Capability.RUN,
            Capability.RESUME,
            Capability.SUBMIT,
            Capability.STATUS,
            Capability.LOGS,
            Capability.SUMMARIZE,
        }
    )
    Options: ClassVar[type[ArgoOptions]] = ArgoOptions
    options: ArgoOptions

    # --- the gate ------------------------------------------------------------------------------

    def refusals(self, ir: PipelineIR) -> list[FeatureUse]:
        """What Argo (or this mapping of it) cannot express, beyond the capability set."""
        from flowyard_argo.argument_size import oversized_parameter
        from flowyard_argo.names import reserved_names

        out = cluster_refusals(ir, "Argo", self.options.default_image)
        reserved = reserved_names(ir)
        for s in ir.all_steps:
            where = f"step {s.name!r}"
            if s.dns_name in reserved:
                out.append(FeatureUse("argo-reserved-name", f"{where} is named like {reserved[s.dns_name]}"))
            if s.retry.limit and s.retry.backoff.factor != int(s.retry.backoff.factor):
                out.append(FeatureUse("retry-backoff-factor", f"{where}: Argo's factor is an integer"))
            for inp in s.inputs:
                src = inp.source
                if not isinstance(src, StepOutputSource) or inp.type == "file":
                    continue
                producer = ir.step(src.step)
                if src.collect and s.kind == "container":
                    out.append(
                        FeatureUse(
                            "fan-in-values-into-container",
                            f"{where}, input {inp.name!r}: on Argo a list of values is gathered by flowyard's "
                            "step entrypoint; make the consumer a Python-function step",
                        )
                    )
                kind = producer.output(src.output).type
                if s.kind == producer.kind == "container" and kind in ("object", "list") and not src.collect:
                    out.append(
                        FeatureUse(
                            "container-object-value-output",
                            f"{where}, input {inp.name!r}: Argo hands on step {producer.name!r}'s {kind} as its "
                            "file's text, where locally the command gets compact JSON with sorted keys; pass a "
                            "file, or make either step a Python function",
                        )
                    )
                if src.collect and producer.kind == "container":
                    out.append(
                        FeatureUse(
                            "fan-in-of-container-values",
                            f"step {producer.name!r}, output {src.output!r}: the index Argo needs to order "
                            "gathered values is added by flowyard's step entrypoint (Python-function steps)",
                        )
                    )
            out += condition_refusals(ir, s)
            if s.for_each is not None and s.for_each.over_fanout:
                src = s.for_each.source
                assert isinstance(src, StepOutputSource)
                producer = ir.step(src.step)
                if producer.kind == "container" and producer.output(src.output).type != "file":
                    out.append(FeatureUse("fan-in-of-container-values", f"{where}, for_each over {src.step!r}"))
        defaults = {p.name: p.default for p in ir.parameters if not p.required}
        oversized = oversized_parameter(ir, defaults, "its default")
        if oversized is not None:
            out.append(FeatureUse("argument-size", oversized))
        return out

    # --- compiling -----------------------------------------------------------------------------

    def _compile(self, ir: PipelineIR) -> CompiledPipeline:
        from flowyard_argo.compiler import CompileError, compile_manifest

        try:
            document, text = compile_manifest(ir, self.options)
        except CompileError as e:
            raise FlowyardError(f"cannot compile for Argo: {e}") from None
        spec = document["spec"].get("workflowSpec", document["spec"])  # a CronWorkflow nests it
        return CompiledPipeline(
            backend=self.name,
            files=(CompiledFile(name=f"{ir.dns_name}.yaml", content=text),),
            metadata={
                "kind": document["kind"],
                "objects": {
                    "templates": len(spec["templates"]),
                    "DAG tasks": sum(len(t.get("dag", {}).get("tasks", [])) for t in spec["templates"]),
                },
            },
        )

    # --- here: the compiled manifest through the Argo executor -----------------------------------

    def _run(self, ir: PipelineIR | None, request: RunRequest) -> RunStatus:
        """Compile as ``submit`` would send it, then execute that manifest by the controller's rules
        (``-O argo_version=``), pods on this machine (``-O image_map=``)."""
        from flowyard_argo.compiler import CompileError, manifest_document
        from flowyard_argo.executor.record import PipelineTasks
        from flowyard_argo.manifest_run import execute_manifest

        progress = "quiet" if request.quiet else "live" if request.progress else "plain"
        if request.resume:
            from flowyard_argo.manifest_run import retry_run

            status, _ = retry_run(request.resume, request.runs_root, progress=progress)
            return status
        if ir is None:
            raise FlowyardError("nothing to run: give a pipeline, or --resume RUN_NAME")
        _refuse_oversized(ir, request.params)
        try:
            document = manifest_document(ir, self.options, request.params)
        except CompileError as e:
            raise FlowyardError(f"cannot compile for Argo: {e}") from None
        status, _ = execute_manifest(
            document,
            self.options,
            source=f"{ir.name} (compiled for argo)",
            pipeline=ir.name,
            root=request.runs_root,
            progress=progress,
            tasks=PipelineTasks({s.dns_name: s for s in ir.all_steps}, dict(request.params)),
        )
        from pathlib import Path

        from flowyard_argo.run_outputs import pipeline_outputs

        outputs = pipeline_outputs(ir, Path(status.location)) if status.location else {}
        return status.model_copy(update={"notices": (*request.notices, *status.notices), "outputs": outputs})

    # --- the cluster ---------------------------------------------------------------------------

    def _submit(self, ir: PipelineIR, request: SubmitRequest) -> RunStatus:
        """Create the workflow on an Argo Server; with ``request.watch``, follow it to the end and
        write its node status as provenance records in a local run directory."""
        from flowyard.connection import submitted_run

        from flowyard_argo import service
        from flowyard_argo.compiler import CompileError, manifest_document

        if self.options.kind != "Workflow":
            raise FlowyardError(f"submit sends a Workflow; kind={self.options.kind} is for `flowyard compile`")
        _refuse_oversized(ir, request.params)
        conn = service.connect(request.remote, self.options.namespace)
        try:
            workflow = manifest_document(ir, self.options, request.params)
        except CompileError as e:
            raise FlowyardError(f"cannot compile for Argo: {e}") from None
        from flowyard_argo.preflight import refusal

        refused = refusal(workflow, self.options.argo_version, submitting=True)
        if refused is not None:
            raise FlowyardError(f"cannot submit to Argo: {refused}")
        created = service.create(conn, workflow)
        name = created["metadata"]["name"]
        link = service.workflow_link(conn, name)

        def follow() -> RunStatus:  # to the end, then recorded like a local run
            from flowyard_argo.provenance import write_run_record

            final = service.watch(conn, name, self.options.poll_seconds, self.options.watch_timeout)
            status = service.run_status(final, ir.name, _step_names(ir), link)
            write_run_record(ir, final, status, request)
            return status

        return submitted_run(
            backend=self.name, pipeline=ir.name, run_id=name, link=link, watch=request.watch, follow=follow
        )

    def _status(self, run_id: str, remote: Remote) -> RunStatus:
        from flowyard_argo import service

        conn = service.connect(remote, self.options.namespace)
        wf = service.get(conn, run_id)
        pipeline = (wf.get("metadata", {}).get("labels") or {}).get("workflows.flowyard.dev/pipeline", run_id)
        return service.run_status(wf, pipeline, _step_names(None, wf), service.workflow_link(conn, run_id))

    def _logs(self, run_id: str, query: LogQuery) -> Iterator[str]:
        """Lines ``step[item]: text``; ``query.step``/``query.item`` narrow them to one task."""
        from flowyard_argo import service

        conn = service.connect(query.remote, self.options.namespace)
        wf = service.get(conn, run_id)
        pods: list[tuple[str, int | None, dict[str, Any]]] = service.task_nodes(wf, _step_names(None, wf))
        for entry in service.stream_logs(conn, run_id, follow=query.follow):
            pod = str(entry.get("podName", ""))
            owner = next(((st, it) for st, it, node in pods if service.pod_matches(pod, run_id, node)), None)
            if owner is None:  # flowyard's own helper pods
                continue
            step, item = owner
            if query.step is not None and step != query.step:
                continue
            if query.item is not None and item != query.item:
                continue
            label = step if item is None else f"{step}[{item}]"
            yield f"{label}: {entry.get('content', '')}"

    def _summarize(self, compiled: CompiledPipeline) -> StructuralSummary:
        from flowyard_argo.summary import summarize_manifest

        return summarize_manifest(compiled.main.content)

    def emulated(self, ir: PipelineIR) -> frozenset[Capability]:
        return frozenset({Capability.FAN_IN_FILES, Capability.FAN_IN_VALUES, Capability.FAN_OUT_OVER_FAN_OUT})

    def describe(self, ir: PipelineIR) -> dict[str, str]:
        limits = [f"{s.name}: at most {s.parallelism} (its own DAG template)" for s in ir.steps if s.parallelism]
        return {
            "parallelism": (f"pipeline: spec.parallelism {ir.parallelism}" if ir.parallelism else "pipeline: unlimited")
            + ("; " + "; ".join(limits) if limits else ""),
            "retries": "retryStrategy (limit counts re-tries, policy Always, backoff)",
            "fan-in": "files under zero-padded key prefixes; values from aggregated parameters carrying the index",
            "engine": f"Argo Workflows {SUPPORTED_ARGO}",
        }


def _step_names(ir: PipelineIR | None, wf: Any = None) -> dict[str, str]:
    """Argo task/template name -> the step's name in the spec (DNS names when no IR is at hand)."""
    from flowyard_argo.failed_items import CHECK
    from flowyard_argo.names import HELPER, HELPER_FILE
    from flowyard_argo.scalar_checks import is_values_template

    if ir is not None:
        return {s.dns_name: s.name for s in ir.all_steps}
    templates = ((wf or {}).get("spec") or {}).get("templates") or []
    ours = (HELPER, HELPER_FILE, CHECK)
    return {
        t["name"]: t["name"]
        for t in templates
        if "container" in t and t["name"] not in ours and not is_values_template(t["name"])
    }


def _refuse_oversized(ir: PipelineIR, params: Mapping[str, Any]) -> None:
    """A given value that a pod would hold as one argv or environment string over Linux's limit: refused by name
    before anything is sent or run (exit 2)."""
    from flowyard_argo.argument_size import oversized_parameter

    oversized = oversized_parameter(ir, params, "the value given")
    if oversized is not None:
        raise FlowyardError(f"cannot run this on Argo: {oversized}")
