"""What a run reports as it stands: one row per task, and the pipeline's outputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowyard.ir import PipelineIR
from flowyard.store import ArtifactStore

from flowyard_local.stepstate import StepState
from flowyard_local.taskdata import TaskResult


def task_rows(steps: Mapping[str, StepState], on_exit: TaskResult | None) -> list[TaskResult]:
    """Every task's result, in step and item order; a step settled as a whole counts as one task."""
    rows: list[TaskResult] = []
    for name, st in steps.items():
        if st.outcome is not None and not st.results:
            rows.append(TaskResult(name, None, st.outcome, message=st.message))
            continue
        results = st.results
        if st.fanned_out:
            rows += [results[i] for i in sorted(results)]  # type: ignore[type-var]
        elif None in results:
            rows.append(results[None])
    if on_exit is not None:
        rows.append(on_exit)
    return rows


def pipeline_outputs(ir: PipelineIR, steps: Mapping[str, StepState], store: ArtifactStore) -> dict[str, Any]:
    """The pipeline's declared outputs: values, and files as their store URIs (None where a task failed)."""
    out: dict[str, Any] = {}
    for po in ir.outputs:
        up = steps[po.source.step]
        if po.source.collect:
            out[po.name] = [_output_value(up.ok_result(i), po.source.output, store) for i in range(up.count)]
        else:
            out[po.name] = _output_value(up.ok_result(None), po.source.output, store)
    return out


def _output_value(r: TaskResult | None, output: str, store: ArtifactStore) -> Any:
    if r is None:
        return None
    if output in r.files:
        return store.uri(r.files[output].key)
    return r.values.get(output)
