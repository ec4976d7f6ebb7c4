"""Opt-in caching: a task whose step definition and inputs match a finished task reuses its outputs.

The key is the SHA-256 of everything that can change a task's result: the step's IR (its command,
``env``, image, function reference, outputs, ...), the values of the parameters it reads (so its
command and ``env`` as rendered), its item, its inputs (values, and digests of files), and the
code it runs where that can be read: the source file of a Python step's module, or a command found
in the spec folder's ``bin/``. Secret values and the rest of the host's environment are not in it.
Entries live in ``<key>.json`` files in the folder a run is given (default: ``.cache`` in the runs
folder) and point at the artifacts of the run that made them; an entry whose artifacts are gone is
ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sys
from collections.abc import Sequence
from importlib.machinery import PathFinder
from pathlib import Path
from typing import TYPE_CHECKING

from flowyard.ir import Text
from flowyard.runs import write_atomic

from flowyard_local.taskdata import FileRef

if TYPE_CHECKING:
    from flowyard_local.taskdata import TaskResult
    from flowyard_local.tasks import Task


class TaskCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.code: dict[str, str | None] = {}  # step name -> digest of the code it runs, once per run

    def key(self, task: Task) -> str:
        plan = task.plan
        inputs = {}
        for name, inp in sorted(plan.inputs.items()):
            if inp.type == "file":
                refs = (
                    [(j, r.sha256 if r else None) for j, r in inp.files]
                    if inp.files is not None
                    else (inp.file.sha256 if inp.file else None)
                )
                inputs[name] = ["file", refs]
            else:
                inputs[name] = ["value", inp.value]
        step = task.step
        if step.name not in self.code:
            self.code[step.name] = _code_digest(task)
        material = {
            "step": step.model_dump(mode="json", exclude={"name", "dns_name", "description", "cache"}),
            "params": {p: task.ctx.plan.params.get(p) for p in step.params_used},
            "item": plan.item_value,
            "inputs": inputs,
            "code": self.code[step.name],
        }
        return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()

    def restore(self, task: Task, result: TaskResult) -> bool:
        entry_file = self.root / f"{self.key(task)}.json"
        try:
            entry = json.loads(entry_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        files = {}
        for name, (uri, digest, key) in entry.get("files", {}).items():
            src = Path(uri)
            if not src.is_file():
                return False
            if task.ctx.plan.store.protocol == "file":
                dest = Path(task.ctx.plan.store.path(key))
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
            else:
                task.ctx.plan.store.put_file(src, key)
            files[name] = FileRef(key, digest)
        result.values = entry.get("values", {})
        result.files = files
        result.cached = True
        result.message = f"cached from run {entry.get('run_id')}"
        return True

    def remember(self, task: Task, result: TaskResult) -> None:
        if result.cached or task.ctx.plan.store.protocol != "file":
            return  # only local artifacts can be pointed at safely
        entry = {
            "run_id": task.ctx.plan.run_id,
            "values": result.values,
            "files": {n: [task.ctx.plan.store.path(f.key), f.sha256, f.key] for n, f in result.files.items()},
        }
        with contextlib.suppress(OSError):
            write_atomic(self.root / f"{self.key(task)}.json", json.dumps(entry, default=str).encode())


def _code_digest(task: Task) -> str | None:
    """The SHA-256 of the code a task runs, where flowyard can read it without running it."""
    step = task.step
    source: str | None = None
    if step.python is not None:
        source = module_source(step.python.function.partition(":")[0], task.ctx.plan.python_path)
    elif step.container is not None and task.ctx.plan.bin_dir is not None and step.container.command:
        first = step.container.command[0].parts
        if len(first) == 1 and isinstance(first[0], Text) and "/" not in first[0].text:
            candidate = task.ctx.plan.bin_dir / first[0].text
            source = str(candidate) if candidate.is_file() else None
    if source is None:
        return None
    try:
        return hashlib.sha256(Path(source).read_bytes()).hexdigest()
    except OSError:
        return None


def module_source(module: str, python_path: Sequence[str] = ()) -> str | None:
    """The file a module is loaded from, found the way import finds it, without importing it."""
    search: list[str] | None = [*python_path, *sys.path]
    parts = module.split(".")
    spec = None
    for i in range(len(parts)):
        spec = PathFinder.find_spec(".".join(parts[: i + 1]), search)
        if spec is None:
            return None
        search = list(spec.submodule_search_locations or [])
    return spec.origin if spec is not None and spec.has_location else None


def cache_for(folder: Path, enabled: bool) -> TaskCache | None:
    """The cache kept in ``folder`` (made on first use), or None when caching is off for this run."""
    return TaskCache(folder) if enabled else None
