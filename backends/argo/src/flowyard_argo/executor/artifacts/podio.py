"""A pod's artifacts on this machine: inputs loaded into the pod's folder, outputs saved to the repository.

An input that an upstream pod produced is taken from the run folder (``artifacts/<node id>/<name>``, the same
bytes the repository holds); a raw artifact is its text; any other is loaded through :class:`ArtifactStore`
into ``pods/<pod>/inputs/<name>``. Every output is kept in the run folder and saved to the repository.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flowyard_argo.executor.artifacts.repository import has_location_or_key
from flowyard_argo.executor.artifacts.transfer import ArtifactError, ArtifactMissing, ArtifactSettings, ArtifactStore
from flowyard_argo.executor.context import ExecutionError, RunContext
from flowyard_argo.executor.nodes import Node


def store_of(run: RunContext) -> ArtifactStore:
    """The run's store (the run folder's repository when the run was given none)."""
    if run.artifacts is None:
        run.artifacts = ArtifactStore(ArtifactSettings(), run.folder)
    return run.artifacts


# util/strftime/strftime.go FormatChars, as Python's strftime writes them for a UTC time (the API server's)
_STRFTIME = {c: f"%{c}" for c in "BbmAadHIMSYyp"} | {"Z": "UTC", "z": "+0000", "L": ".000"}


def key_values(run: RunContext, node: Node) -> dict[str, str | None]:
    """What a key format may name: the workflow's variables, the pod's name and ``workflow.creationTimestamp.<c>``
    (``setGlobalParameters``: each strftime character of ``FormatChars``; ``.s`` the Unix time, ``.RFC3339``)."""
    values: dict[str, str | None] = {**run.globals, "pod.name": node.pod or node.id}
    created = run.globals.get("workflow.creationTimestamp")
    if created:
        stamp = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        for char, layout in _STRFTIME.items():
            values.setdefault(f"workflow.creationTimestamp.{char}", stamp.strftime(layout))
        values.setdefault("workflow.creationTimestamp.s", str(int(stamp.timestamp())))
        values.setdefault("workflow.creationTimestamp.RFC3339", created)
    return values


def pod_folder(run: RunContext, node: Node) -> Path:
    return run.folder / "pods" / (node.pod or node.id)


def load_input(run: RunContext, node: Node, art: Mapping[str, Any], own: Any = None) -> Path | None:
    """Load an input artifact with a key or location into the pod's folder; ``None`` for an optional one
    that is missing, or one with nowhere to load from (``HasLocationOrKey``). ``own``: the template's
    ``archiveLocation``."""
    if not has_location_or_key(art):
        return None
    target = pod_folder(run, node) / "inputs" / str(art.get("name"))
    try:
        store_of(run).load(art, target, key_values(run, node), own)
    except ArtifactMissing as e:
        if art.get("optional"):
            return None
        raise ExecutionError(str(e)) from None
    except (ArtifactError, OSError) as e:
        raise ExecutionError(store_of(run).settings.secrets.redact(str(e))) from None
    return target


def archives_logs(run: RunContext, template: Mapping[str, Any]) -> bool:
    """``IsArchiveLogs``: the repository's ``archiveLogs: true`` wins; else the template's ``archiveLocation``,
    else the workflow's ``archiveLogs``."""
    repository = store_of(run).settings.repository
    if repository and repository.get("archiveLogs") is True:
        return True
    own = (template.get("archiveLocation") or {}).get("archiveLogs")
    return bool(own if own is not None else run.spec.get("archiveLogs"))


def save_logs(run: RunContext, node: Node, template: Mapping[str, Any]) -> dict[str, Any] | None:
    """``SaveLogs``: the main container's log as ``main.log`` beside the pod's outputs (artifact ``main-logs``,
    not archived); here its stdout then its stderr, where the container runtime interleaves them."""
    if not archives_logs(run, template):
        return None
    folder = pod_folder(run, node)
    log = folder / "outputs" / "main.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"".join((folder / f).read_bytes() for f in ("stdout.log", "stderr.log") if (folder / f).is_file()))
    art = {"name": "main-logs", "archive": {"none": {}}}
    location = save_output(run, node, art, log, template.get("archiveLocation"))
    return {"name": "main-logs", **location, "_local": str(log)}


def save_output(run: RunContext, node: Node, art: Mapping[str, Any], host: Path, own: Any = None) -> dict[str, Any]:
    """Save an output artifact to the repository; the location fields its node records (an S3 key)."""
    work = pod_folder(run, node) / "outputs"
    try:
        location = store_of(run).save(art, host, work, key_values(run, node), own)
    except (ArtifactError, OSError) as e:
        raise ExecutionError(store_of(run).settings.secrets.redact(str(e))) from None
    return {"s3": location["s3"]} if "s3" in location else {}
