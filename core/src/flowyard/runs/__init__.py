"""The run model every backend reports in, one concept per module:

- :mod:`~flowyard.runs.status`: task states, :class:`TaskStatus`, :class:`RunStatus`;
- :mod:`~flowyard.runs.tree`: the status tree (``argo get``'s layout);
- :mod:`~flowyard.runs.directory`: one run's folder (:class:`RunDirectory`) and atomic writes;
- :mod:`~flowyard.runs.catalog`: the runs folder: find, list, prune;
- :mod:`~flowyard.runs.journal`: the journal's format, written and read;
- :mod:`~flowyard.runs.requests`: what a caller asks a backend to do.

Everything is importable from here, as it was when this was one module.
"""

from flowyard.masking import redact
from flowyard.runs.catalog import find_run, list_runs, prune_runs, run_listing
from flowyard.runs.directory import (
    PROVENANCE_FILE,
    RUNS_DIR,
    RunDirectory,
    new_run_id,
    output_documents,
    read_json,
    runs_root,
    task_dir_name,
    write_atomic,
)
from flowyard.runs.journal import TASK_COLUMNS, read_journal, task_events
from flowyard.runs.requests import RunRequest
from flowyard.runs.status import (
    SYMBOLS,
    RunStatus,
    TaskState,
    TaskStatus,
    aggregate_state,
    epoch_seconds,
    round_seconds,
    task_key,
)
from flowyard.runs.tree import format_duration, render_status_tree

__all__ = [
    "PROVENANCE_FILE",
    "RUNS_DIR",
    "SYMBOLS",
    "TASK_COLUMNS",
    "RunDirectory",
    "RunRequest",
    "RunStatus",
    "TaskState",
    "TaskStatus",
    "aggregate_state",
    "epoch_seconds",
    "find_run",
    "format_duration",
    "list_runs",
    "new_run_id",
    "output_documents",
    "prune_runs",
    "read_journal",
    "read_json",
    "redact",
    "render_status_tree",
    "round_seconds",
    "run_listing",
    "runs_root",
    "task_dir_name",
    "task_events",
    "task_key",
    "write_atomic",
]
