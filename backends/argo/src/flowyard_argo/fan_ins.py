"""Which fanned-out outputs other steps gather, and how they travel so that an empty or a large fan-out arrives
as locally (issue 15, divergences 3 and 9). Read by the compiler; one concept: the fan-in's wiring on Argo."""

from __future__ import annotations

from typing import Any

from flowyard.ir import ItemSource, PipelineIR, StepIR, StepOutputSource


def list_artifact(output: str) -> str:
    return f"flowyard-list-{output}"


def file_fan_in_producers(step: StepIR) -> set[str]:
    """The fanned-out steps whose outputs ``step`` reads only as folders of files: an empty loop feeds it an empty
    collection, so it runs after one (the values' aggregate of an empty loop does not exist on Argo)."""
    folders: set[str] = set()
    others: set[str] = set()
    for inp in step.inputs:
        if isinstance(inp.source, StepOutputSource):
            is_folder = inp.type == "file" and inp.source.collect
            (folders if is_folder else others).add(inp.source.step)
    extra = [step.for_each.source] if step.for_each is not None else []
    extra += [step.when.left, step.when.right] if step.when is not None else []
    others |= {src.step for src in extra if isinstance(src, StepOutputSource)}
    return folders - others


def value_fan_in_producers(ir: PipelineIR) -> set[str]:
    """The fanned-out steps whose value outputs another step gathers (a fan-in, or a loop over them)."""
    gathered = set()
    for step in ir.steps:
        sources: list[Any] = [i.source for i in step.inputs if i.type != "file"]
        sources += [step.for_each.source] if step.for_each is not None else []
        for src in sources:
            producer = ir.step(src.step) if isinstance(src, StepOutputSource) else None
            if producer is not None and producer.for_each is not None and producer.output(src.output).type != "file":
                gathered.add(producer.name)
    return gathered


def listed_outputs(ir: PipelineIR) -> set[tuple[str, str]]:
    """(step, output) pairs a fan-out numbers through the item helper: also saved as a file for it to read, as one
    argv string a list over 131,072 bytes could not start the helper's pod (E2BIG)."""
    return {
        (s.for_each.source.step, s.for_each.source.output)
        for s in ir.steps
        if s.for_each is not None and isinstance(s.for_each.source, StepOutputSource) and not s.for_each.over_fanout
    }


def guarded_fan_outs(ir: PipelineIR) -> set[str]:
    """The fanned-out steps with a ``when`` of the whole step (not of each item).

    Wrapped in a DAG template, the ``when`` is on the wrapper's task, so a false one is one Skipped node on every
    release, as the local run reports one Skipped step: on the loop task itself, 3.x expands the loop into a Skipped
    node per item, and 4.1.2 records "Skipped, empty params" when the loop's list holds a tag (``dag.go``
    ``expandTask``). And a loop over no items is a Skipped node too (``executeDAGTask``, "Skipped, empty params"):
    inside the wrapper it leaves the wrapper Succeeded, so its readers can tell an empty fan-out (an empty
    collection, locally) from a skipped step (they are omitted).
    """
    return {
        s.name
        for s in ir.steps
        if s.for_each is not None
        and s.when is not None
        and not any(isinstance(side, ItemSource) for side in (s.when.left, s.when.right))
    }


def wrapped_loops(ir: PipelineIR) -> set[str]:
    """The fanned-out steps whose loop is wrapped in a DAG template: those with their own parallelism (Argo honours it
    only on the template that holds the loop), those whose values are gathered (an empty loop's aggregate needs a
    default) and those with a ``when`` another step reads."""
    own = {s.name for s in ir.steps if s.for_each is not None and s.parallelism is not None}
    return own | value_fan_in_producers(ir) | guarded_fan_outs(ir)
