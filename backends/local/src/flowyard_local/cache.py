"""Opt-in caching: a task whose step definition and inputs match a finished task reuses its outputs.

The key is the SHA-256 of the step's IR, the item, and the task's inputs (values, and digests of
files). Entries live in ``.flowyard/cache/<key>.json`` and point at the artifacts of the run that
made them; an entry whose artifacts are gone is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowyard.runs import write_atomic

if TYPE_CHECKING:
    from flowyard_local.tasks import Task, TaskResult


class TaskCache:
    def __init__(self, root: Path) -> None:
        self.root = root

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
        material = {
            "step": task.step.model_dump(mode="json", exclude={"name", "dns_name", "description", "cache"}),
            "item": plan.item_value,
            "inputs": inputs,
        }
        return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()

    def restore(self, task: Task, result: TaskResult) -> bool:
        from flowyard_local.tasks import FileRef

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
            if task.ctx.store.protocol == "file":
                dest = Path(task.ctx.store.path(key))
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
            else:
                task.ctx.store.put_file(src, key)
            files[name] = FileRef(key, digest)
        result.values = entry.get("values", {})
        result.files = files
        result.cached = True
        result.message = f"cached from run {entry.get('run_id')}"
        return True

    def remember(self, task: Task, result: TaskResult) -> None:
        if result.cached or task.ctx.store.protocol != "file":
            return  # only local artifacts can be pointed at safely
        entry = {
            "run_id": task.ctx.run_id,
            "values": result.values,
            "files": {n: [task.ctx.store.path(f.key), f.sha256, f.key] for n, f in result.files.items()},
        }
        with contextlib.suppress(OSError):
            write_atomic(self.root / f"{self.key(task)}.json", json.dumps(entry, default=str).encode())


def cache_for(runs_root: Path, enabled: bool) -> Any:
    return TaskCache(runs_root.parent / "cache") if enabled else None
