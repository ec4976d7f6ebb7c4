"""What the chosen KFP server version cannot run, refused by name before compiling (the package-level
checks of the same rules are :mod:`flowyard_kubeflow.compat`, which cites the upstream source)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flowyard.backend import FeatureUse
from flowyard.ir import LiteralSource, PipelineIR, RunStatusRef, StepIR, StepOutputSource

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
        if b.max_duration_seconds is not None:
            why = (
                f"step {s.name!r}: max_duration caps each wait (docs/spec.md); a KFP server hands it to Argo's "
                "backoff.maxDuration (argocompiler/container.go, getTaskRetryStrategyFromInput), a budget from the "
                "first attempt (argo-workflows operator.go, processNodeRetries)"
            )
            out.append(FeatureUse("backoff-max-duration", why))
        if b.factor != int(b.factor):
            why = f"step {s.name!r}: backoff factor {b.factor:g}; KFP's server needs a whole number"
            out.append(FeatureUse("fractional-backoff-factor", why))
    return out


def _bad_value(value: Any, top: bool = True) -> str | None:
    """Why kfp cannot carry ``value`` as written: a null inside an object or list (the SDK's
    ``to_protobuf_value`` refuses it), or text with KFP's ``{{$...}}`` placeholder syntax (which
    kfp.local replaces, so the step received null)."""
    if value is None and not top:
        return "a null inside an object or list"
    if isinstance(value, str) and not value.isascii() and not _encodable(value):
        return "text that is not Unicode (a lone surrogate), which kfp cannot write"
    if isinstance(value, str) and KFP_PLACEHOLDER in value:
        return f"text with KFP's placeholder syntax {KFP_PLACEHOLDER!r}"
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return next((why for v in items if (why := _bad_value(v, top=False))), None)


KFP_PLACEHOLDER = "{{$"


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _written_values(
    ir: PipelineIR, params: Mapping[str, Any] | None, *, running: bool = False
) -> list[tuple[str, Any]]:
    """(where, value) for each value written before the run: defaults, literals, loop items, the run's parameters;
    ``running``: only those the run uses (not the default of a parameter given a value)."""
    given = set(params or {}) if running else set()
    found: list[tuple[str, Any]] = [(f"parameter {p.name!r}", p.default) for p in ir.parameters if p.name not in given]
    found += [(f"parameter {k!r} (given)", v) for k, v in (params or {}).items()]
    for s in ir.all_steps:
        found += [
            (f"step {s.name!r}, input {i.name!r}", i.source.value)
            for i in s.inputs
            if isinstance(i.source, LiteralSource)
        ]
        if s.for_each is not None and isinstance(s.for_each.source, LiteralSource):
            found.append((f"step {s.name!r}, for_each", s.for_each.source.value))
    return found


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = [*value.keys(), *value.values()] if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for item in items for text in _texts(item)]


def kubelet_refusals(ir: PipelineIR, params: Mapping[str, Any]) -> list[FeatureUse]:
    """Values a KFP cluster would hand a step changed: its driver resolves them into the pod's ``args``
    (``backend/src/v2/driver/driver.go`` ``resolveContainerArgs``), which the kubelet expands, ``$$`` to ``$`` and
    ``$(NAME)`` to a variable's value (Kubernetes ``third_party/forked/golang/expansion/expand.go``). kfp.local
    passes them as written, so only a submitted run is refused."""
    out = []
    for where, value in _written_values(ir, params, running=True):
        bad = next((t for t in _texts(value) if "$$" in t or "$(" in t), None)
        if bad is not None:
            why = "holds '$$'" if "$$" in bad else "holds '$('"
            out.append(FeatureUse("kubelet-expansion", f"{where}: {why}, which the kubelet would rewrite in the pod"))
    return out


def value_refusals(ir: PipelineIR, params: Mapping[str, Any] | None = None) -> list[FeatureUse]:
    """Values kfp cannot carry: in defaults, literals, loop items and the run's parameters."""
    out = []
    for where, value in _written_values(ir, params):
        why = _bad_value(value)
        if why is not None:
            feature = (
                "null-in-value"
                if why.startswith("a null")
                else "unencodable-text"
                if why.startswith("text that is not")
                else "kfp-placeholder-in-value"
            )
            out.append(FeatureUse(feature, f"{where}: {why}"))
    return out


_LEGAL_SUBVAR = re.compile(r"^[a-zA-Z_][0-9a-zA-Z_]*$")  # kfp's LoopArgumentVariable.LEGAL_SUBVAR_NAME_REGEX


def literal_item_refusals(ir: PipelineIR) -> list[FeatureUse]:
    """Literal ``for_each`` lists kfp's ``ParallelFor`` cannot take (kfp ``dsl/for_loop.py``):
    ``LoopParameterArgument.from_raw_items`` refuses an empty list, the loop's item type is its first
    item's (``_get_first_element_type``, so other types fail ``verify_type_compatibility``), and each key
    of a mapping item becomes a ``LoopArgumentVariable``, which must be an ASCII Python name."""
    out = []
    for s in ir.all_steps:
        if s.for_each is None or not isinstance(s.for_each.source, LiteralSource):
            continue
        items, where = s.for_each.source.value, f"step {s.name!r}, for_each"
        types = sorted({type(v).__name__ for v in items}) if isinstance(items, list) else []
        keys = sorted({k for v in items if isinstance(v, dict) for k in v if not _LEGAL_SUBVAR.match(k)})
        if isinstance(items, list) and not items:
            out.append(FeatureUse("empty-literal-fan-out", f"{where}: an empty list (kfp's ParallelFor takes none)"))
        elif len(types) > 1:
            why = f"{where}: items of types {', '.join(types)} (KFP types a loop's items by its first item)"
            out.append(FeatureUse("mixed-item-types", why))
        elif keys:
            why = f"{where}: item keys {', '.join(map(repr, keys))} (KFP needs ASCII Python names as item keys)"
            out.append(FeatureUse("item-keys-not-names", why))
    return out


def topology_refusals(ir: PipelineIR) -> list[FeatureUse]:
    """kfp returns pipeline outputs only from the top level (``InvalidTopologyException``)."""
    out = []
    for o in ir.outputs:
        if ir.step(o.source.step).when is not None:
            why = (
                f"pipeline output {o.name!r} comes from {o.source.step!r}, which has a condition: KFP returns "
                "outputs only from the top level of a pipeline"
            )
            out.append(FeatureUse("output-of-a-conditional-step", why))
    return out


def kfp_local_refusals(ir: PipelineIR) -> list[str]:
    """What kfp.local cannot run though a server can (``run --backend kubeflow`` only)."""
    from flowyard_kubeflow.compiler import wrapped_steps

    out = [
        f"fan-out-over-gathered-fan-out (step {name!r} runs as a sub-pipeline whose collected outputs a later "
        "fan-out iterates; kfp.local cannot: 'Parent pipeline input argument ... not found')"
        for name in sorted(wrapped_steps(ir))
    ]
    for s in ir.all_steps:
        sides = (s.when.left, s.when.right) if s.when is not None else ()
        if any(isinstance(x, StepOutputSource) for x in sides):
            out.append(
                f"condition-on-step-output (step {s.name!r}: kfp.local cannot resolve a condition on an upstream "
                "value, 'Could not resolve CEL parameter', and would skip it; the cluster package keeps it)"
            )
    return out
