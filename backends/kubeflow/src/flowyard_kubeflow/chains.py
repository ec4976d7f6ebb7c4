"""Fan-outs over a fanned-out step's outputs, as a KFP server can run them.

Item *i* of such a fan-out is the upstream step's output for its item *i*: a one-to-one chain. A KFP
server cannot iterate over artifacts (``artifactIterator`` is refused by the argo compiler in every
version: kubeflow/pipelines ``backend/src/v2/compiler/argocompiler/dag.go``, ``DAG``), so such a
step is built as the next link of a per-item chain inside the upstream step's ``ParallelFor``: one
loop, each iteration running the chain's steps in order on one item. Documents and item order are
those of the local backend; what differs is timing (item *i*'s second step does not wait for the
other items' first step) and the loop's limit (the smallest limit of its steps).

A step is chained only when that changes nothing else: it takes no fan-in of a step in the chain,
its other upstream steps come before the chain starts, and, for a container step, it reads no
``item.field`` (KFP selects fields only of a loop's own items). Otherwise the upstream step stays a
sub-pipeline returning its collected outputs, iterated as parameters (values only).
"""

from __future__ import annotations

from flowyard.ir import ItemRef, ItemSource, PipelineIR, StepIR, StepOutputSource


def _reads_item_fields(step: StepIR) -> bool:
    from flowyard_kubeflow.components import template_refs

    if any(isinstance(r, ItemRef) and r.fields for r in template_refs(step)):
        return True
    return any(isinstance(i.source, ItemSource) and i.source.fields for i in step.inputs)


def _upstream_closure(ir: PipelineIR, name: str) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        for dep in ir.step(todo.pop()).depends_on:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def fan_out_chains(ir: PipelineIR) -> dict[str, str]:
    """Chained step -> the first step of its chain (whose loop it joins)."""
    root_of: dict[str, str] = {}
    position = {s.name: i for i, s in enumerate(ir.steps)}
    for step in ir.steps:
        fe = step.for_each
        if fe is None or not fe.over_fanout or not isinstance(fe.source, StepOutputSource):
            continue
        up = fe.source.step
        root = root_of.get(up, up)
        members = {root} | {s for s, r in root_of.items() if r == root}
        upstream_type = ir.step(up).output(fe.source.output).type
        collects_member = any(
            isinstance(i.source, StepOutputSource) and i.source.collect and i.source.step in members
            for i in step.inputs
        )
        others = set(step.depends_on) - members
        late = any(position[d] > position[root] for d in others)
        downstream_of_chain = any(members & (_upstream_closure(ir, d) | {d}) for d in others)
        if (
            upstream_type == "any"
            or collects_member
            or late
            or downstream_of_chain
            or (step.kind == "container" and _reads_item_fields(step))
        ):
            continue
        root_of[step.name] = root
    return root_of


def chain_members(ir: PipelineIR, root: str) -> list[StepIR]:
    """The steps chained after ``root``, in the pipeline's order."""
    chains = fan_out_chains(ir)
    return [s for s in ir.steps if chains.get(s.name) == root]
