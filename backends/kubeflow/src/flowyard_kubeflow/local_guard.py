"""``failure_policy: stop`` under kfp.local, which keeps starting a loop's items after one failed.

Each task of a kfp.local run calls :func:`omit_after_failure` first: when a task of the run has
failed for good (more failed attempts than its step's retries), it records itself as Omitted, as the
local backend reports the tasks it never starts, and ends without running the step (so nothing
downstream of it runs either). The on-exit step is never omitted.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections import Counter
from pathlib import Path
from typing import Any

from flowyard.stepimage.function_task import RECORDS_ENV

_ITERATION = re.compile(r"iteration-(\d+)")


def _item(arguments: dict[str, Any]) -> int | None:
    """The item index kfp.local puts in a loop task's output paths (``...-iteration-N/...``)."""
    for value in arguments.values():
        found = _ITERATION.findall(str(getattr(value, "path", value)))
        if found:
            return int(found[-1])
    return None


def failed_for_good(folder: Path, retries: dict[str, int]) -> bool:
    failures: Counter[tuple[str, Any]] = Counter()
    for f in folder.glob("*.json"):
        try:
            record = json.loads(f.read_text(encoding="utf-8"))
        except ValueError:
            continue  # being written
        if record.get("state") == "Failed":
            failures[(record["step"], record.get("item"))] += 1
    return any(n > retries.get(step, 0) for (step, _), n in failures.items())


def omit_after_failure(step: str, fanned_out: bool, retries: dict[str, int], arguments: dict[str, Any]) -> None:
    folder = os.environ.get(RECORDS_ENV)
    if not folder or not failed_for_good(Path(folder), retries):
        return
    now = time.time()
    record = {
        "step": step,
        "item": _item(arguments) if fanned_out else None,
        "state": "Omitted",
        "started": now,
        "finished": now,
        "message": "not started: an earlier task failed (failure_policy stop)",
    }
    path = Path(folder) / f"omitted-{secrets.token_hex(6)}.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    raise SystemExit(1)
