"""What the chosen KFP server version cannot run, refused by name before compiling (the package-level
checks of the same rules are :mod:`flowyard_kubeflow.compat`, which cites the upstream source)."""

from __future__ import annotations

from flowyard.backend import FeatureUse
from flowyard.ir import PipelineIR, RunStatusRef, StepIR, StepOutputSource

from flowyard_kubeflow.chains import fan_out_chains
from flowyard_kubeflow.compat import RULES, minor_version
from flowyard_kubeflow.options import KubeflowOptions


def _uses_run_status(step: StepIR) -> bool:
    from flowyard_kubeflow.components import template_refs

    return any(isinstance(r, RunStatusRef) for r in template_refs(step))


def _fan_ins(ir: PipelineIR) -> list[str]:
    where = [
        f"step {s.name!r}, input {i.name!r}"
        for s in ir.all_steps
        for i in s.inputs
        if isinstance(i.source, StepOutputSource) and i.source.collect
    ]
    where += [f"pipeline output {o.name!r}" for o in ir.outputs if o.source.collect]
    chained = fan_out_chains(ir)
    for s in ir.steps:  # a fan-out over a fan-out that is no chain iterates over collected outputs
        src = s.for_each.source if s.for_each is not None else None
        if isinstance(src, StepOutputSource) and src.collect and s.name not in chained:
            where.append(f"step {s.name!r}, for_each")
    return where


def version_refusals(ir: PipelineIR, options: KubeflowOptions) -> list[FeatureUse]:
    """Collected and PipelineTaskFinalStatus need 2.14; before it, retries hold only at the top level."""
    version = options.kfp_version
    if minor_version(version) >= 14:
        return []
    out = []
    for where in _fan_ins(ir):
        why = f"{where}: dsl.Collected needs KFP 2.14 (-O kfp_version={version}; {RULES['collected'].upstream})"
        out.append(FeatureUse("fan-in", why))
    if ir.on_exit is not None and _uses_run_status(ir.on_exit):
        why = f"on-exit step {ir.on_exit.name!r}: ${{{{ run.status }}}} needs KFP 2.14 (PipelineTaskFinalStatus)"
        out.append(FeatureUse("run-status", why))
    for s in ir.steps:
        grouped = s.when is not None or ir.on_exit is not None
        if s.retry.limit and grouped and s.for_each is None:  # fan-outs: retries-in-fan-out
            cite = RULES["retry-outside-root-dag"].upstream
            why = f"step {s.name!r}: KFP {version} retries only top-level tasks ({cite})"
            out.append(FeatureUse("retries-in-a-group", why))
    return out


def retry_refusals(ir: PipelineIR) -> list[FeatureUse]:
    """Backoffs a KFP server cannot honour: fractions of a second, fractional factors."""
    out = []
    for s in ir.all_steps:
        if not s.retry.limit:
            continue
        b = s.retry.backoff
        durations = [b.duration_seconds] + ([b.max_duration_seconds] if b.max_duration_seconds is not None else [])
        if any(d != int(d) for d in durations):
            why = f"step {s.name!r}: KFP takes whole seconds only ({RULES['sub-second-backoff'].upstream})"
            out.append(FeatureUse("sub-second-backoff", why))
        if b.factor != int(b.factor):
            why = f"step {s.name!r}: backoff factor {b.factor:g}; KFP's server needs a whole number"
            out.append(FeatureUse("fractional-backoff-factor", why))
    return out
