"""The kubeflow backend: KFP v2 pipeline packages built with the kfp SDK, run with kfp.local, submitted
to a KFP API server. kfp is imported only when a pipeline is compiled, run or submitted."""

from __future__ import annotations

from typing import ClassVar

from flowyard.backend import Backend, Capability, CompiledFile, CompiledPipeline, FeatureUse, cluster_refusals
from flowyard.errors import FlowyardError
from flowyard.ir import PipelineIR, StepOutputSource
from flowyard.requests import Remote, SubmitRequest
from flowyard.runs import RunRequest, RunStatus
from flowyard.summary import StructuralSummary

from flowyard_kubeflow.options import KubeflowOptions

SUPPORTED_KFP = "Kubeflow Pipelines 2.14 to 2.17 (-O kfp_version=2.5 for what 2.5 runs); packages from kfp 2.17"
KFP_LOCAL_PARALLELISM = 2  # kfp.local's SubprocessRunner runs at most two tasks at once


def kfp_kubernetes_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("kfp.kubernetes") is not None


class KubeflowBackend(Backend):
    name = "kubeflow"
    description = "Kubeflow Pipelines: a KFP v2 package built with the kfp SDK; runs here with kfp.local"
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
            Capability.RETRIES,
            Capability.CONDITIONS,
            Capability.EXIT_HANDLER,
            Capability.SECRETS,
            Capability.CACHING,
            Capability.IMAGES,
            Capability.RESOURCES,
            Capability.RUN,
            Capability.SUBMIT,
            Capability.STATUS,
            Capability.SUMMARIZE,
        }
    )
    Options: ClassVar[type[KubeflowOptions]] = KubeflowOptions
    options: KubeflowOptions

    # --- the gate ------------------------------------------------------------------------------

    def refusals(self, ir: PipelineIR) -> list[FeatureUse]:
        """What KFP (or this mapping of it) cannot express, beyond the capability set."""
        from flowyard_kubeflow import server_refusals as sr
        from flowyard_kubeflow.compiler import wrapped_steps

        out = cluster_refusals(ir, "KFP", self.options.default_image)
        out += sr.version_refusals(ir, self.options) + sr.retry_refusals(ir)
        out += sr.value_refusals(ir) + sr.literal_item_refusals(ir) + sr.topology_refusals(ir)
        wrapped = wrapped_steps(ir)  # fanned-out steps built as sub-pipelines (all have a for_each)
        for s in ir.steps:
            src = s.for_each.source if s.for_each is not None else None
            over_wrapped = isinstance(src, StepOutputSource) and src.step in wrapped
            if over_wrapped and ir.step(src.step).output(src.output).type == "file":  # type: ignore[union-attr]
                why = (
                    f"step {s.name!r} fans out over {src.step!r}'s files and cannot join its loop; a KFP server "  # type: ignore[union-attr]
                    "has no artifact iterator (argocompiler/dag.go, DAG)"
                )
                out.append(FeatureUse("fan-out-over-fanned-out-files", why))
        for p in ir.parameters:
            if p.type == "any":
                out.append(FeatureUse("untyped-parameter", f"parameter {p.name!r}: KFP parameters need a type"))
        for s in ir.all_steps:
            where = f"step {s.name!r}"
            if s.retry.limit and s.for_each is not None and not self.options.retries_in_fan_out:
                out.append(
                    FeatureUse(
                        "retries-in-fan-out",
                        f"{where}: KFP's server ignores set_retry inside ParallelFor (argocompiler/dag.go, "
                        "iterationItemTask; kubeflow/pipelines 12389, 13897); "
                        "-O retries_in_fan_out=true to accept that",
                    )
                )
            if s.secrets and not kfp_kubernetes_installed():
                why = f"{where}: needs kfp-kubernetes (pip install 'flowyard-kubeflow[kubernetes]')"
                out.append(FeatureUse("secrets", why))
            for dep in s.depends_on:
                if ir.step(dep).when is not None:
                    out.append(
                        FeatureUse(
                            "after-a-conditional-step",
                            f"{where} runs after {dep!r}, which has a condition: KFP lets no task outside a "
                            "dsl.If depend on one inside it",
                        )
                    )
            if s.when is not None and s.name in wrapped:
                out.append(FeatureUse("condition-on-gathered-fan-out", f"{where}: a condition on a sub-pipeline"))
            if s.kind == "container":
                for inp in s.inputs:
                    if inp.type == "file" and isinstance(inp.source, StepOutputSource) and inp.source.collect:
                        out.append(
                            FeatureUse(
                                "fan-in-files-into-container",
                                f"{where}, input {inp.name!r}: a container component cannot take a list of "
                                "artifacts as paths; make the consumer a Python-function step",
                            )
                        )
        return out

    # --- compiling -----------------------------------------------------------------------------

    def _compile(self, ir: PipelineIR) -> CompiledPipeline:
        """The cluster package: container steps as container components in their own images."""
        from flowyard_kubeflow.compiler import CompileError, compile_package

        try:
            text = compile_package(ir, self.options, "cluster")
        except CompileError as e:
            raise FlowyardError(f"cannot compile for Kubeflow Pipelines: {e}") from None
        ignored = self.server_check(text)
        return CompiledPipeline(
            backend=self.name,
            files=(CompiledFile(name=f"{ir.dns_name}.yaml", content=text),),
            notices=tuple(ignored),
            metadata={"objects": _count_objects(text)},
        )

    def server_check(self, text: str) -> list[str]:
        """The server-compatibility pass for ``-O kfp_version``: raise on what the server rejects;
        return a notice per setting it ignores."""
        from flowyard_kubeflow.compat import check_text

        findings = check_text(text, self.options.kfp_version)
        rejected = [f.line() for f in findings if f.rule.effect == "rejected"]
        if rejected:
            version = self.options.kfp_version
            raise FlowyardError(f"a KFP {version} server would refuse this package: " + "; ".join(rejected))
        return [f"KFP {self.options.kfp_version} ignores: {f.line()}" for f in findings]

    # --- running here: kfp.local ----------------------------------------------------------------

    def _run(self, ir: PipelineIR | None, request: RunRequest) -> RunStatus:
        """Run the pipeline through kfp.local's SubprocessRunner (a real KFP executor, no cluster)."""
        from flowyard_kubeflow.runner import run_local

        if ir is None:  # only a resume comes without a pipeline, and the gate refused it (no RESUME)
            raise FlowyardError("nothing to run: give a pipeline")
        if request.only_step:
            raise FlowyardError("the kubeflow backend runs whole pipelines; use the local backend for --step")
        from flowyard.errors import UnsupportedFeatureError

        from flowyard_kubeflow.server_refusals import kfp_local_refusals, value_refusals

        here = kfp_local_refusals(ir) + [f"{u.capability} ({u.where})" for u in value_refusals(ir, request.params)]
        if here:
            raise UnsupportedFeatureError(self.name, here)
        return run_local(ir, request, self.options)

    # --- a KFP API server ----------------------------------------------------------------------

    def _submit(self, ir: PipelineIR, request: SubmitRequest) -> RunStatus:
        """Create a run from the cluster package on a KFP API server; with ``request.watch``, follow
        it and record it in a local run directory."""
        from flowyard.connection import submitted_run
        from flowyard.errors import UnsupportedFeatureError
        from flowyard.runs import RunDirectory, new_run_id, runs_root

        from flowyard_kubeflow import service
        from flowyard_kubeflow.compiler import KfpCompiler
        from flowyard_kubeflow.server_refusals import kubelet_refusals

        rewritten = kubelet_refusals(ir, request.params)
        if rewritten:
            raise UnsupportedFeatureError(self.name, [str(u) for u in rewritten])
        compiler = KfpCompiler(ir, self.options, "cluster")
        text = compiler.package()
        self.server_check(text)  # before the server is asked anything
        conn = service.connect(request.remote, request.experiment)
        arguments = {
            compiler.param_names[k]: float(v) if ir.parameter(k).type == "number" else v
            for k, v in request.params.items()
        }
        run_id = service.create_run(conn, text, arguments, new_run_id(ir.dns_name))
        link = conn.run_link(run_id)

        def follow() -> RunStatus:  # to the end, then recorded like a local run
            run = service.watch(conn, run_id, self.options.poll_seconds, self.options.watch_timeout)
            status = service.run_status(run, ir.name, {s.dns_name: s.name for s in ir.all_steps}, link)
            RunDirectory(runs_root(request.runs_root) / run_id).write_record(ir, request.params, status)
            return status

        return submitted_run(
            backend=self.name, pipeline=ir.name, run_id=run_id, link=link, watch=request.watch, follow=follow
        )

    def _status(self, run_id: str, remote: Remote) -> RunStatus:
        from flowyard_kubeflow import service

        conn = service.connect(remote)
        run = service.get_run(conn, run_id)
        return service.run_status(run, str(run.display_name or run_id), None, conn.run_link(run_id))

    def _summarize(self, compiled: CompiledPipeline) -> StructuralSummary:
        from flowyard_kubeflow.summary import summarize_package

        return summarize_package(compiled.main.content)

    def emulated(self, ir: PipelineIR) -> frozenset[Capability]:
        return frozenset({Capability.FAN_OUT_OVER_FAN_OUT})

    def describe(self, ir: PipelineIR) -> dict[str, str]:
        limits = [f"{s.name}: ParallelFor parallelism {s.parallelism}" for s in ir.steps if s.parallelism]
        return {
            "parallelism": "pipeline-wide: not expressible (refused)"
            + ("; " + "; ".join(limits) if limits else "")
            + f"; kfp.local runs at most {KFP_LOCAL_PARALLELISM} tasks at once",
            "retries": "set_retry (num_retries = re-tries, backoff); ignored by KFP's server inside ParallelFor",
            "fan-in": "dsl.Collected, in item order",
            "engine": SUPPORTED_KFP,
        }


def _count_objects(text: str) -> dict[str, int]:
    import yaml

    doc = next(d for d in yaml.safe_load_all(text) if d)
    components = doc.get("components", {})
    executors = doc.get("deploymentSpec", {}).get("executors", {})
    return {"components": len(components), "executors": len(executors)}
