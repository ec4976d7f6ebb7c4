"""The runs folder as a whole: finding a run by id, listing runs, pruning old ones."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flowyard.errors import FlowyardError, RunNotFoundError
from flowyard.runs.directory import IR_FILE, STATUS_FILE, RunDirectory, runs_root
from flowyard.runs.status import round_seconds


def find_run(run_id: str, root: Path | None = None) -> RunDirectory:
    """A run by id, or by a unique prefix of it."""
    base = runs_root(root)
    exact = base / run_id
    if exact.is_dir():
        return RunDirectory(exact)
    matches = sorted(p for p in base.glob(f"{run_id}*") if p.is_dir()) if base.is_dir() and run_id else []
    if len(matches) == 1:
        return RunDirectory(matches[0])
    if len(matches) > 1:
        raise RunNotFoundError(f"{run_id!r} matches {len(matches)} runs; give more of the id")
    raise RunNotFoundError(f"no run {run_id!r} under {base}")


def list_runs(root: Path | None = None) -> list[RunDirectory]:
    """Runs, newest first: every folder with an ``ir.json`` (a pipeline's run) or only a ``run.json`` (a run of an
    engine's own manifest, which has no IR)."""
    base = runs_root(root)
    if not base.is_dir():
        return []
    dated = [(when, RunDirectory(p)) for p in base.iterdir() if p.is_dir() and (when := _run_time(p)) is not None]
    return [d for _, d in sorted(dated, key=lambda pair: pair[0], reverse=True)]


def _run_time(folder: Path) -> float | None:
    """When the run began as far as its files say: its ``ir.json`` is written once at the start; a run without
    one is dated by its ``run.json``, the last snapshot. ``None``: not a run's folder."""
    for name in (IR_FILE, STATUS_FILE):
        try:
            return (folder / name).stat().st_mtime
        except OSError:
            continue
    return None


def run_listing(dirs: Iterable[RunDirectory]) -> list[dict[str, Any]]:
    """One row per run for `flowyard runs`: numbers, not display text (the table formats them)."""
    rows: list[dict[str, Any]] = []
    for d in dirs:
        try:
            st = d.read_status()
        except (RunNotFoundError, ValueError):
            unknown = {"status": "Unknown", "started_at": None, "duration_seconds": None}
            rows.append({"run_id": d.run_id, "pipeline": "?", "backend": "?", **unknown})
            continue
        rows.append(
            {
                "run_id": st.run_id,
                "pipeline": st.pipeline,
                "backend": st.backend,
                "status": st.state.value,
                "started_at": st.started_at,
                "duration_seconds": round_seconds(st.duration),
            }
        )
    return rows


def prune_runs(*, keep: int | None = None, older_than: str | None = None, root: Path | None = None) -> list[str]:
    """Delete runs beyond the ``keep`` newest and/or older than ``older_than``; returns their ids."""
    import shutil

    from flowyard.spec import parse_duration

    if keep is None and older_than is None:
        keep = 10
    runs = list_runs(root)
    victims = runs[keep:] if keep is not None else runs
    if older_than is not None:
        try:
            limit = time.time() - parse_duration(older_than)
        except ValueError as e:
            raise FlowyardError(f"--older-than: {e}") from None
        victims = [d for d in victims if (_run_time(d.path) or 0.0) < limit]
    from flowyard.runlock import lock_run

    locks = []
    try:  # every victim's lock first: a run in flight is never deleted, and then nothing is
        for d in victims:
            locks.append(lock_run(d.path, "nothing was pruned"))
        for d in victims:
            shutil.rmtree(d.path)
    finally:
        for lock in locks:
            lock.release()
    return [d.run_id for d in victims]
