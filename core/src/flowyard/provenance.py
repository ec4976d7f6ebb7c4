"""Provenance records: which step, item, inputs, parameters, command and image produced an artifact.

One record per task, ``provenance.json`` in the task's folder beside its ``outputs/``. Backends that
run on clusters write the same records from the engine's node status, so every run is traceable
alike. Secret values never appear: a record holds secret *references* only.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

PROVENANCE_SCHEMA: Literal["flowyard.provenance/v1"] = "flowyard.provenance/v1"
PROVENANCE_FILE = "provenance.json"


class DataDigest(BaseModel):
    """One input or output: its name, type, where it is, and its digest (files only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    type: str
    uri: str | None = None
    sha256: str | None = None
    size: int | None = None
    value: Any = None  # values only
    source: str | None = None  # inputs: "steps.activator.outputs.event[3]", "params.messages", ...


class ProvenanceRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal["flowyard.provenance/v1"] = PROVENANCE_SCHEMA
    run_id: str
    pipeline: str
    step: str
    item: int | None = None
    attempt: int = 1
    backend: str
    flowyard_version: str
    parameters: dict[str, Any] = {}
    inputs: tuple[DataDigest, ...] = ()
    outputs: tuple[DataDigest, ...] = ()
    command: tuple[str, ...] | None = None
    function: str | None = None
    image: str | None = None
    image_honoured: bool = True
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    secrets: tuple[str, ...] = ()  # "secret/key as ENV" references, never values
    notices: tuple[str, ...] = ()


def sha256_file(path: Path, chunk: int = 1 << 20) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def sha256_tree(path: Path) -> tuple[str, int]:
    """Digest of a file, or of a folder as the sorted list of (relative path, file digest)."""
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()
    total = 0
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        digest, size = sha256_file(f)
        total += size
        h.update(f"{f.relative_to(path).as_posix()}\0{digest}\n".encode())
    return h.hexdigest(), total


def find_record(path: Path) -> tuple[Path, ProvenanceRecord]:
    """The provenance record of the task that produced ``path`` (an artifact or a task folder)."""
    from flowyard.errors import FlowyardError

    p = path.resolve()
    for folder in (p, *p.parents):
        candidate = folder / PROVENANCE_FILE
        if candidate.is_file():
            return folder, ProvenanceRecord.model_validate_json(candidate.read_bytes())
        if (folder / "ir.json").is_file():
            break
    raise FlowyardError(f"{path}: no provenance record found (is it inside a flowyard run's folder?)")


def provenance_chain(path: Path) -> list[tuple[int, ProvenanceRecord]]:
    """The record of ``path``'s task, then the records of the tasks that produced its inputs, depth-first."""
    from flowyard.runs import task_dir_name

    task_dir, record = find_record(path)
    run_dir = task_dir
    while not (run_dir / "ir.json").is_file() and run_dir.parent != run_dir:
        run_dir = run_dir.parent
    chain: list[tuple[int, ProvenanceRecord]] = []
    seen: set[tuple[str, int | None]] = set()

    def visit(rec: ProvenanceRecord, depth: int) -> None:
        chain.append((depth, rec))
        for inp in rec.inputs:
            for step, item in _producers(inp.source):
                if (step, item) in seen:
                    continue
                seen.add((step, item))
                f = run_dir / task_dir_name(step, item) / PROVENANCE_FILE
                if f.is_file():
                    visit(ProvenanceRecord.model_validate_json(f.read_bytes()), depth + 1)
                elif item is None and (run_dir / task_dir_name(step, None)).is_dir():
                    for sub in sorted((run_dir / task_dir_name(step, None)).iterdir()):
                        if sub.name.isdigit() and (sub / PROVENANCE_FILE).is_file():
                            seen.add((step, int(sub.name)))
                            visit(
                                ProvenanceRecord.model_validate_json((sub / PROVENANCE_FILE).read_bytes()),
                                depth + 1,
                            )

    visit(record, 0)
    return chain


def _producers(source: str | None) -> list[tuple[str, int | None]]:
    """``steps.a.outputs.x[3]`` -> [("a", 3)]; ``steps.a.outputs.x[*]`` -> [("a", None)] (every item)."""
    if not source or not source.startswith("steps."):
        return []
    _, step, _, rest = source.split(".", 3)
    if "[" in rest:
        idx = rest[rest.index("[") + 1 : -1]
        return [(step, None if idx == "*" else int(idx))]
    return [(step, None)]


def format_chain(chain: list[tuple[int, ProvenanceRecord]]) -> str:
    from datetime import datetime, timezone

    lines = []
    for depth, r in chain:
        pad = "  " * depth + ("└─ " if depth else "")
        task = r.step if r.item is None else f"{r.step}[{r.item}]"
        when = (
            datetime.fromtimestamp(r.finished_at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            if r.finished_at
            else "-"
        )
        lines.append(f"{pad}{task}  run {r.run_id}  backend {r.backend}  exit {r.exit_code}  at {when}")
        sub = "  " * depth + ("   " if depth else "") + "  "
        what = " ".join(r.command) if r.command else r.function or "-"
        image = (r.image or "-") + ("" if r.image_honoured else " (not used here)")
        lines.append(f"{sub}command: {what}")
        lines.append(f"{sub}image:   {image}   flowyard {r.flowyard_version}")
        for o in r.outputs:
            lines.append(
                f"{sub}output {o.name}: {o.uri or o.value!r}" + (f"  sha256:{o.sha256[:16]}" if o.sha256 else "")
            )
        for i in r.inputs:
            detail = f"sha256:{i.sha256[:16]}" if i.sha256 else json.dumps(i.value)[:60]
            lines.append(f"{sub}input  {i.name} <- {i.source or 'literal'}  {detail}")
    return "\n".join(lines)
