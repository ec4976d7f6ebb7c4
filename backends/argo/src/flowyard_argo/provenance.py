"""A watched Argo workflow, recorded like a local run: status, IR and one provenance record per node.

The records come from what the controller reports (node inputs, times, exit codes) and from the
manifest (image, command, secret references), so a cluster run is as traceable as a local one.
Artifacts stay in the cluster's repository; each output is recorded by its key, not copied here.
"""

from __future__ import annotations

from typing import Any

from flowyard import __version__
from flowyard.ir import PipelineIR
from flowyard.provenance import DataDigest, ProvenanceRecord, source_text
from flowyard.requests import SubmitRequest
from flowyard.runs import RunDirectory, RunStatus, epoch_seconds, runs_root

from flowyard_argo import service


def write_run_record(ir: PipelineIR, wf: dict[str, Any], status: RunStatus, request: SubmitRequest) -> RunDirectory:
    run = RunDirectory(runs_root(request.runs_root) / status.run_id)
    records = []
    templates = {t["name"]: t for t in (wf.get("spec") or {}).get("templates", [])}
    by_name = {s.name: s for s in ir.all_steps}
    for step_name, item, node in service.task_nodes(wf, {s.dns_name: s.name for s in ir.all_steps}):
        step = by_name[step_name]
        template = templates.get(node.get("templateName", ""), {})
        container = template.get("container") or {}
        node_inputs = node.get("inputs") or {}
        given = {p["name"]: p.get("value") for p in node_inputs.get("parameters") or []}
        given_files = {a["name"]: _artifact_uri(a) for a in node_inputs.get("artifacts") or []}
        inputs = [
            DataDigest(
                name=inp.name,
                type=inp.type,
                value=given.get(inp.name) if inp.type != "file" else None,
                uri=given_files.get(inp.name) if inp.type == "file" else None,
                source=source_text(step, inp.source, item),
            )
            for inp in step.inputs
        ]
        outputs = [
            DataDigest(name=p["name"], type="value", value=p.get("value"))
            for p in ((node.get("outputs") or {}).get("parameters") or [])
        ]
        outputs += [
            DataDigest(name=a["name"], type="file", uri=_artifact_uri(a))
            for a in ((node.get("outputs") or {}).get("artifacts") or [])
        ]
        code = (node.get("outputs") or {}).get("exitCode")
        record = ProvenanceRecord.of_task(
            step,
            request.params,
            item,
            run_id=status.run_id,
            pipeline=ir.name,
            backend="argo",
            flowyard_version=__version__,
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            command=tuple(container.get("command", []) + container.get("args", [])) or None,
            image=container.get("image"),  # what the controller ran
            started_at=epoch_seconds(node.get("startedAt")),
            finished_at=epoch_seconds(node.get("finishedAt")),
            exit_code=int(code) if code not in (None, "") else None,
        )
        records.append(record)
    run.write_record(ir, request.params, status, records)
    return run


def _artifact_uri(artifact: dict[str, Any]) -> str | None:
    s3 = artifact.get("s3") or {}
    if s3.get("key"):
        return f"s3://{s3.get('bucket', '<default repository>')}/{s3['key']}"
    return artifact.get("path")
