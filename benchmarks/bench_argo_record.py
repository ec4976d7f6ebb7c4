"""Argo executor: what writing core's run folder (journal, task logs, provenance, run.json snapshots) costs a run,
against the same workflow run without it, measured in the same run, interleaved.

    uv run python benchmarks/bench_argo_record.py            # a 200-item fan-out, 3 interleaved repeats
    uv run python benchmarks/bench_argo_record.py --smoke    # 20 items, 1 repeat

No target: the ratio says what `flowyard status`/`logs`/`--resume` cost a manifest run (needs unshare).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from flowyard.runs import RunDirectory, RunStatus, TaskState
from flowyard_argo.executor.images import ImageMap
from flowyard_argo.executor.pods import namespaces_available
from flowyard_argo.executor.record import RunRecord
from flowyard_argo.executor.versions import argo_version
from flowyard_argo.executor.workflow import prepare, run_workflow

MANIFEST = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: fan}}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: each
        template: echo
        withSequence: {{count: "{count}"}}
        arguments: {{parameters: [{{name: n, value: "{{{{item}}}}"}}]}}
  - name: echo
    inputs: {{parameters: [{{name: n}}]}}
    container: {{image: busybox, command: [echo, "item {{{{inputs.parameters.n}}}}"]}}
"""


def one(count: int, folder: Path, recorded: bool) -> float:
    version = argo_version("4.1.2")
    wf, _ = prepare(yaml.safe_load(MANIFEST.format(count=count)), version, source="bench.yaml")
    record = None
    if recorded:
        header = RunStatus(run_id="fan", pipeline="fan", backend="argo", state=TaskState.RUNNING)
        record = RunRecord(RunDirectory(folder), header)
    start = time.perf_counter()
    try:
        result = run_workflow(wf, version, ImageMap.load(None), folder, record=record)
    finally:
        if record is not None:
            record.close()
    elapsed = time.perf_counter() - start
    assert result.phase is TaskState.SUCCEEDED, result.message
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    smoke = parser.parse_args().smoke
    count, repeats = (20, 1) if smoke else (200, 3)
    if not namespaces_available():
        print("record: skipped (no mount/network namespaces here)")
        return
    bare, recorded = [], []
    with tempfile.TemporaryDirectory(prefix="flowyard-bench-record-") as tmp:
        for i in range(repeats):
            bare.append(one(count, Path(tmp) / f"bare{i}", recorded=False))
            recorded.append(one(count, Path(tmp) / f"recorded{i}", recorded=True))
    base, with_record = statistics.median(bare), statistics.median(recorded)
    print(f"{count} pods, no run folder record   median {base:6.2f} s")
    print(
        f"{count} pods, core's run folder      median {with_record:6.2f} s   {with_record / base:.2f}x"
        f"   {(with_record - base) / count * 1000:+.1f} ms per pod"
    )


if __name__ == "__main__":
    main()
