"""``${{ run.status }}`` on a KFP server: the spec's word (Succeeded or Failed) from the state KFP gives.

The on-exit task receives a PipelineTaskFinalStatus whose ``state`` is the producer's MLMD execution
state (kubeflow/pipelines 2.17.0 ``backend/src/v2/driver/resolve.go``, ``resolveInputParameter``:
``GetLastKnownState().String()``: COMPLETE, CACHED, FAILED, CANCELED, ...); kfp.local says SUCCEEDED
or FAILED. Container steps get the word from the ``sh`` wrapper (:data:`flowyard_kubeflow.components.WRAPPER`);
Python steps from :func:`normalise_status`, called by the generated component before the runtime.
"""

from __future__ import annotations

from typing import Any

SUCCEEDED = ("SUCCEEDED", "COMPLETE", "CACHED")  # anything else, the run did not succeed


def status_word(state: str) -> str:
    return "Succeeded" if state.upper() in SUCCEEDED else "Failed"


def normalise_status(arguments: dict[str, Any]) -> dict[str, Any]:
    """Put kfp.local's words in every final-status argument, whatever the server called the state
    (the runtime maps SUCCEEDED and FAILED)."""
    out = dict(arguments)
    for name, value in arguments.items():
        state = getattr(value, "state", None)
        if isinstance(state, str) and hasattr(value, "pipeline_task_name"):
            value.state = "SUCCEEDED" if status_word(state) == "Succeeded" else "FAILED"
            out[name] = value
    return out
