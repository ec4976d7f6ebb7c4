"""The status tree: a run's status as text, laid out like ``argo get``."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from flowyard.runs.status import SYMBOLS, RunStatus, TaskState, TaskStatus, aggregate_state


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{sec:02d}s" if hours else f"{minutes}m{sec:02d}s"


def _absolute_location(location: str) -> str:
    """A run directory as an absolute path (one to copy from any folder); an engine's URL as it is."""
    return location if "://" in location else str(Path(location).absolute())


Row = tuple[str, str, str, str]  # STEP, STATUS, DURATION, MESSAGE


def render_status_tree(run: RunStatus, *, max_items: int = 10) -> str:
    """The status tree, laid out like ``argo get``. Wide fan-outs show failures and the first items."""
    rows: list[Row] = []
    by_step: dict[str, list[TaskStatus]] = {}
    for t in run.tasks:
        by_step.setdefault(t.step, []).append(t)
    for step, tasks in by_step.items():
        rows += _step_rows(step, tasks, max_items)
    width = max([len("STEP"), *(len(r[0]) for r in rows)]) + 2
    lines = [*_header(run), "", f"{'STEP':<{width}}{'STATUS':<11}{'DURATION':<10}MESSAGE"]
    for name, state_text, dur_text, msg in rows:
        lines.append(f"{name:<{width}}{state_text:<11}{dur_text:<10}{msg}".rstrip())
    if run.notices:
        lines += ["", *(f"notice: {n}" for n in run.notices)]
    return "\n".join(lines)


def _header(run: RunStatus) -> list[str]:
    started = (
        datetime.fromtimestamp(run.started_at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        if run.started_at
        else "-"
    )
    head = [
        f"Name:        {run.run_id}",
        f"Pipeline:    {run.pipeline}",
        f"Backend:     {run.backend}",
        f"Status:      {run.state.value}",
    ]
    if run.message:
        head.append(f"Message:     {run.message}")
    head += [f"Started:     {started}", f"Duration:    {format_duration(run.duration)}"]
    if run.location:
        head.append(f"Location:    {_absolute_location(run.location)}")
    return head


def _step_rows(step: str, tasks: list[TaskStatus], max_items: int) -> list[Row]:
    """A step's row; for a fan-out, the step's aggregate, then its failed items and the first others."""
    items = sorted((t for t in tasks if t.item is not None), key=lambda t: t.item or 0)
    plain = [t for t in tasks if t.item is None]
    if plain and not items:
        t = plain[0]
        msg = t.message + (" (cached)" if t.cached else "")
        return [(f"{SYMBOLS[t.state]} {step}", t.state.value, format_duration(t.duration), msg)]
    state = aggregate_state(t.state for t in items) if items else (plain[0].state if plain else TaskState.PENDING)
    starts = [t.started_at for t in items if t.started_at]
    ends = [t.finished_at for t in items if t.finished_at]
    dur = (max(ends) - min(starts)) if starts and ends and state.done else None
    counts: dict[str, int] = {}
    for t in items:
        counts[t.state.value] = counts.get(t.state.value, 0) + 1
    summary = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
    counted = f"{len(items)} item{'' if len(items) == 1 else 's'}"
    rows = [(f"{SYMBOLS[state]} {step}", state.value, format_duration(dur), f"{counted}: {summary}")]
    shown = [t for t in items if not t.state.ok][:max_items]
    shown_ids = {t.item for t in shown}
    shown += [t for t in items if t.item not in shown_ids][: max(0, max_items - len(shown))]
    shown.sort(key=lambda t: t.item or 0)
    for i, t in enumerate(shown):
        last = i == len(shown) - 1 and len(shown) == len(items)
        msg = t.message + (" (cached)" if t.cached else "")
        branch = "└─" if last else "├─"
        rows.append((f"{branch}{SYMBOLS[t.state]} {step}[{t.item}]", t.state.value, format_duration(t.duration), msg))
    if len(shown) < len(items):
        rows.append((f"└─… {len(items) - len(shown)} more", "", "", ""))
    return rows
