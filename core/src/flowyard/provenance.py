"""Provenance records: which step, item, inputs, parameters, command and image produced an artifact.

One record per task, ``provenance.json`` in the task's folder beside its ``outputs/``, or a line of
its step's ``provenance.jsonl`` (the local backend's in-process tasks; the newest line of a task is
its record, and a torn last line is skipped). Backends that
run on clusters write the same records from the engine's node status, so every run is traceable
alike. Secret values never appear: a record holds secret *references* only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import pydantic_core
from pydantic import BaseModel, ConfigDict

from flowyard.ir import ParamSource, StepIR
from flowyard.runs.directory import PROVENANCE_FILE as PROVENANCE_FILE
from flowyard.runs.directory import PROVENANCE_LINES as PROVENANCE_LINES
from flowyard.runs.directory import RunDirectory, read_json
from flowyard.runs.journal import read_journal

PROVENANCE_SCHEMA: Literal["flowyard.provenance/v1"] = "flowyard.provenance/v1"


class DataDigest(BaseModel):
    """One input or output: its name, type, where it is, and its digest (files only)."""

    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    name: str
    type: str
    uri: str | None = None
    sha256: str | None = None
    size: int | None = None
    value: Any = None  # values only
    source: str | None = None  # inputs: "steps.activator.outputs.event[3]", "params.messages", ...
    missing_items: tuple[int, ...] = ()  # fan-in inputs: items that failed (null / missing)


class ProvenanceRecord(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True, extra="forbid", defer_build=True)

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

    @classmethod
    def of_task(cls, step: StepIR, params: Mapping[str, Any], item: int | None, **fields: Any) -> ProvenanceRecord:
        """A task's record: what its step determines (:func:`task_fields`), then what the backend measured."""
        return cls(**{**task_fields(step, params, item), **fields})


def task_fields(step: StepIR, params: Mapping[str, Any], item: int | None) -> dict[str, Any]:
    """The fields of a task's record that its step determines, the same on every backend.

    A fanned-out task records its item, not the whole list parameter it came from. A dict, so the local
    runner can write it without a validation pass (:func:`record_json`).
    """
    fe = step.for_each
    skip = fe.source.name if fe is not None and isinstance(fe.source, ParamSource) else None
    return {
        "step": step.name,
        "item": item,
        "parameters": {p: params[p] for p in step.params_used if p != skip and p in params},
        "function": step.python.function if step.python is not None else None,
        "image": step.image or None,
        "secrets": tuple(f"{s.secret}/{s.key} as {s.env}" for s in step.secrets),
    }


def record_json(record: dict[str, Any], indent: int | None = 1) -> bytes:
    """``provenance.json`` for a record a runner built itself, byte for byte what
    ``ProvenanceRecord.model_validate(record).model_dump_json(indent=1)`` writes (``indent=None``:
    on one line, for ``provenance.jsonl``).

    Every field in the model's order, its default where the runner gave none, serialised without a
    validation pass: a run writes one record per task, and validating each took three times as long
    as writing it. Tests hold the two forms to the same bytes.
    """
    data = {name: record.get(name, default) for name, default in _defaults(ProvenanceRecord)}
    digest_defaults = _defaults(DataDigest)
    for key in ("inputs", "outputs"):
        data[key] = [{n: d.get(n, default) for n, default in digest_defaults} for d in data[key]]
    return pydantic_core.to_json(data, indent=indent)


@functools.cache
def _defaults(model: type[BaseModel]) -> tuple[tuple[str, Any], ...]:
    return tuple((name, field.default) for name, field in model.model_fields.items())


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # no buffer, no stat: a run hashes every file it makes
    try:
        while block := os.read(fd, chunk):
            h.update(block)
            size += len(block)
    finally:
        os.close(fd)
    return h.hexdigest(), size


def sha256_tree(path: Path) -> tuple[str, int]:
    """Digest of a file, or of a folder as the sorted list of (relative path, file digest)."""
    if path.is_file():
        return sha256_file(path)
    entries = []
    total = 0
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        digest, size = sha256_file(f)
        total += size
        entries.append((f.relative_to(path).as_posix(), digest))
    return tree_digest(entries), total


def tree_digest(entries: list[tuple[str, str]]) -> str:
    """A folder's digest from its (relative path, file digest) pairs, sorted by path."""
    h = hashlib.sha256()
    for rel, digest in sorted(entries):
        h.update(f"{rel}\0{digest}\n".encode())
    return h.hexdigest()


def find_record(path: Path) -> tuple[Path, ProvenanceRecord]:
    """The provenance record of the task that produced ``path`` (an artifact or a task folder)."""
    from flowyard.errors import FlowyardError

    p = path.resolve()
    for folder in (p, *p.parents):
        candidate = folder / PROVENANCE_FILE
        if candidate.is_file():
            return folder, ProvenanceRecord.model_validate_json(candidate.read_bytes())
        record = step_record(folder, None) or (
            step_record(folder.parent, int(folder.name)) if folder.name.isdigit() else None
        )
        if record is not None:
            return folder, record
        if RunDirectory(folder).ir_file.is_file():
            break
    raise FlowyardError(f"{path}: no provenance record found (is it inside a flowyard run's folder?)")


class StepRecords:
    """Where each task's newest line is in a step's ``provenance.jsonl``: read once, then one line each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where: dict[int | None, tuple[int, int]] = {}
        if not path.is_file():
            return
        offset = 0
        with open(path, "rb") as f:
            for line in f:
                try:
                    item = json.loads(line).get("item")
                except (ValueError, AttributeError):  # a torn line a killed run left
                    item = False
                if item is not False:
                    self.where[item] = (offset, len(line))
                offset += len(line)

    def get(self, item: int | None) -> ProvenanceRecord | None:
        found = self.where.get(item)
        if found is None:
            return None
        with open(self.path, "rb") as f:
            f.seek(found[0])
            return ProvenanceRecord.model_validate_json(f.read(found[1]))


def step_record(step_dir: Path, item: int | None) -> ProvenanceRecord | None:
    """A task's record from its step's ``provenance.jsonl``, if the step keeps one."""
    path = step_dir / PROVENANCE_LINES
    return StepRecords(path).get(item) if path.is_file() else None


def provenance_chain(path: Path) -> list[tuple[int, ProvenanceRecord]]:
    """The record of ``path``'s task, then the records of the tasks that produced its inputs, depth-first."""
    task_dir, record = find_record(path)
    run = RunDirectory.containing(task_dir) or RunDirectory(task_dir)
    chain: list[tuple[int, ProvenanceRecord]] = []
    seen: set[tuple[str, int | None]] = set()

    journal: dict[tuple[str, int | None], dict[str, Any]] | None = None
    steps: dict[str, StepRecords] = {}

    def load(step: str, item: int | None) -> list[ProvenanceRecord]:
        """Records of a task: its provenance.json, or rebuilt from the journal for value-only tasks."""
        nonlocal journal
        f = run.provenance_file(step, item)
        if f.is_file():
            return [ProvenanceRecord.model_validate_json(f.read_bytes())]
        if step not in steps:
            steps[step] = StepRecords(run.provenance_lines(step))
        found = steps[step].get(item)
        if found is not None:
            return [found]
        if journal is None:
            journal = {
                (e["step"], e.get("item")): e
                for e in read_journal(run.journal_file)
                if e.get("t") == "task" and e.get("state") == "Succeeded"
            }
        if item is None and (step, None) not in journal:
            items = sorted({k[1] for k in journal if k[0] == step and k[1] is not None} | _item_dirs(run, step))
            return [r for i in items for r in load(step, i)]
        event = journal.get((step, item))
        return [record_from_journal(run.path, event)] if event else []

    def visit(rec: ProvenanceRecord, depth: int) -> None:
        chain.append((depth, rec))
        for inp in rec.inputs:
            for step, item in _producers(inp.source):
                if (step, item) in seen:
                    continue
                seen.add((step, item))
                for found in load(step, item):
                    seen.add((found.step, found.item))
                    visit(found, depth + 1)

    visit(record, 0)
    return chain


def _item_dirs(run: RunDirectory, step: str) -> set[int]:
    folder = run.task_dir(step, None)
    return {int(p.name) for p in folder.iterdir() if p.name.isdigit()} if folder.is_dir() else set()


def record_from_journal(run_dir: Path, event: dict[str, Any]) -> ProvenanceRecord:
    """A value-only task's record, rebuilt from its journal line and the run's ir.json and params.json."""
    from flowyard.ir import ItemSource, LiteralSource, StepOutputSource

    run = RunDirectory(run_dir)
    ir = run.read_ir()
    params = read_json(run.params_file)
    status = read_json(run.status_file) if run.status_file.exists() else {}
    step = ir.step(event["step"])
    item = event.get("item")
    fe = step.for_each
    inputs = []
    for inp in step.inputs:
        src = inp.source
        if isinstance(src, StepOutputSource):
            where = f"steps.{src.step}.outputs.{src.output}" + ("[*]" if src.collect else "")
            missing = tuple(event.get("missing", {}).get(inp.name, ()))
            inputs.append(DataDigest(name=inp.name, type=inp.type, source=where, missing_items=missing))
        elif isinstance(src, ItemSource) and fe is not None and isinstance(fe.source, StepOutputSource):
            up = fe.source
            where = f"steps.{up.step}.outputs.{up.output}[{item}]"
            inputs.append(DataDigest(name=inp.name, type=inp.type, source=where))
        elif isinstance(src, ParamSource):
            value = params.get(src.name)
            inputs.append(DataDigest(name=inp.name, type=inp.type, value=value, source=f"params.{src.name}"))
        elif isinstance(src, ItemSource) and fe is not None and item is not None:
            listing = (
                params.get(fe.source.name) if isinstance(fe.source, ParamSource) else getattr(fe.source, "value", None)
            )
            value = listing[item] if isinstance(listing, list) and item < len(listing) else None
            for field in src.fields:
                value = value.get(field) if isinstance(value, dict) else None
            inputs.append(DataDigest(name=inp.name, type=inp.type, value=value, source=f"item[{item}]"))
        elif isinstance(src, LiteralSource):
            inputs.append(DataDigest(name=inp.name, type=inp.type, value=src.value, source="literal"))
        else:
            inputs.append(DataDigest(name=inp.name, type=inp.type, source=src.kind))
    outputs = tuple(DataDigest(name=n, type=step.output(n).type, value=v) for n, v in event.get("values", {}).items())
    return ProvenanceRecord.of_task(
        step,
        params,
        item,
        run_id=run.run_id,
        pipeline=ir.name,
        attempt=event.get("attempts", 1),
        backend=status.get("backend", "local"),
        flowyard_version=status.get("flowyard_version", "unknown"),
        inputs=tuple(inputs),
        outputs=outputs,
        image_honoured=False,
        started_at=event.get("started"),
        finished_at=event.get("finished"),
        exit_code=event.get("exit"),
    )


def source_text(step: Any, source: Any, item: int | None) -> str | None:
    """Where an input came from, as provenance chains follow it: ``steps.a.outputs.x[3]`` (one
    item), ``...[*]`` (every item), ``params.p``, ``item[i]``; the local runner writes the same."""
    from flowyard.ir import ItemSource, LiteralSource, StepOutputSource, TemplateSource

    if isinstance(source, StepOutputSource):
        return f"steps.{source.step}.outputs.{source.output}" + ("[*]" if source.collect else "")
    if isinstance(source, ItemSource) and step.for_each is not None:
        up = step.for_each.source
        if isinstance(up, StepOutputSource) and step.for_each.over_fanout:
            return f"steps.{up.step}.outputs.{up.output}[{item}]"
        return f"item[{item}]"
    if isinstance(source, ParamSource):
        return f"params.{source.name}"
    if isinstance(source, LiteralSource):
        return "literal"
    if isinstance(source, TemplateSource):
        return "template"
    return None


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
