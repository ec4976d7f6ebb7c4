"""The run model every backend reports in: task states, the status tree, and the run directory.

Run directory layout (``.flowyard/runs/<run-id>/``)::

    run.json        the RunStatus, rewritten at milestones
    ir.json         the IR that ran (what ``--resume`` continues)
    params.json     resolved parameter values
    journal.jsonl   append-only task events
    tasks/<step>[/<item:06d>]/   stdout.log, stderr.log, provenance.json, outputs/<output>/...
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import json
import os
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from flowyard.errors import FlowyardError, RunNotFoundError
from flowyard.json_output import SCHEMA_VERSION as JSON_SCHEMA_VERSION

RUNS_DIR = Path(".flowyard") / "runs"


class TaskState(str, enum.Enum):
    """Node phases as Argo names them, so a local run reads like a cluster run."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERROR = "Error"
    SKIPPED = "Skipped"  # a condition was false
    OMITTED = "Omitted"  # not run: an upstream failed, or the run stopped

    @property
    def done(self) -> bool:
        return self not in _NOT_DONE

    @property
    def ok(self) -> bool:
        return self in _OK


# Sets made once: on Python 3.11 each read of a member off the class costs 150 ns, and runners ask
# every task's state whether it is ok.
_NOT_DONE = frozenset((TaskState.PENDING, TaskState.RUNNING))
_OK = frozenset((TaskState.SUCCEEDED, TaskState.SKIPPED))


SYMBOLS = {
    TaskState.PENDING: "◷",
    TaskState.RUNNING: "●",
    TaskState.SUCCEEDED: "✔",
    TaskState.FAILED: "✖",
    TaskState.ERROR: "⚠",
    TaskState.SKIPPED: "○",
    TaskState.OMITTED: "○",
}


class _Frozen(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True, extra="forbid", defer_build=True)


@dataclass(slots=True)
class TaskStatus:
    """One task's state in a :class:`RunStatus`; read it, do not change it.

    A slotted dataclass, not a pydantic model: a run has one per task, and making a model cost
    3 µs each, a third of a no-op task. ``RunStatus`` validates these when it is read from JSON or
    given mappings, and takes instances (a backend's own subclass too) as they are; it serialises
    the fields below and nothing a subclass adds.
    """

    step: str
    item: int | None = None
    state: TaskState = TaskState.PENDING
    started_at: float | None = None  # epoch seconds
    finished_at: float | None = None
    attempts: int = 0
    exit_code: int | None = None
    message: str = ""
    cached: bool = False

    def __post_init__(self) -> None:
        if type(self.state) is not TaskState:  # an engine's phase given as text: "Succeeded"
            self.state = TaskState(self.state)

    @property
    def key(self) -> str:
        return task_key(self.step, self.item)

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


class RunStatus(_Frozen):
    run_id: str
    pipeline: str
    backend: str
    state: TaskState
    started_at: float | None = None
    finished_at: float | None = None
    tasks: tuple[TaskStatus, ...] = ()
    message: str = ""
    notices: tuple[str, ...] = ()
    outputs: dict[str, Any] = {}
    location: str | None = None  # run directory, or the engine's URL
    flowyard_version: str | None = None

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    @property
    def exit_code(self) -> int:
        return 0 if self.state == TaskState.SUCCEEDED else 1

    def summary_json(self) -> dict[str, Any]:
        """The ``--json`` form: run id, status, per-task status and duration, outputs."""
        return {
            "schema_version": JSON_SCHEMA_VERSION,
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "backend": self.backend,
            "status": self.state.value,
            "duration_seconds": _round(self.duration),
            "message": self.message,
            "location": self.location,
            "notices": list(self.notices),
            "outputs": self.outputs,
            "tasks": [  # inlined (no .duration, no .value: an enum property): 10,000 tasks stay cheap
                {
                    "step": t.step,
                    "item": t.item,
                    "status": t.state._value_,
                    "duration_seconds": (
                        None
                        if t.started_at is None or t.finished_at is None
                        else round(t.finished_at - t.started_at, 4)
                    ),
                    "attempts": t.attempts,
                    "exit_code": t.exit_code,
                    "cached": t.cached,
                    "message": t.message,
                }
                for t in self.tasks
            ],
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def task_key(step: str, item: int | None) -> str:
    """``activator`` or ``activator[3]``: how a task is named in messages and journals."""
    return step if item is None else f"{step}[{item}]"


def epoch_seconds(value: Any) -> float | None:
    """An engine's timestamp (RFC 3339 text, ``Z`` included, or a datetime) as epoch seconds."""
    if not value:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def task_dir_name(step: str, item: int | None) -> str:
    """Relative folder of a task: ``tasks/<step>`` or ``tasks/<step>/<item:06d>``."""
    return f"tasks/{step}" if item is None else f"tasks/{step}/{item:06d}"


def aggregate_state(states: Iterable[TaskState]) -> TaskState:
    """A fanned-out step's state from its items' states.

    A step with items omitted (a stop cut it short) is Omitted even when some of its items
    succeeded: it did not do all it was asked to, so it never reads as Succeeded.
    """
    s = set(states)
    if not s:
        return TaskState.PENDING
    for state in (TaskState.RUNNING, TaskState.ERROR, TaskState.FAILED):
        if state in s:
            return state
    if TaskState.PENDING in s:
        return TaskState.RUNNING if (s - {TaskState.PENDING}) else TaskState.PENDING
    if s == {TaskState.SKIPPED}:
        return TaskState.SKIPPED
    if TaskState.OMITTED in s:
        return TaskState.OMITTED
    return TaskState.SUCCEEDED


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


def render_status_tree(run: RunStatus, *, max_items: int = 10) -> str:
    """The status tree, laid out like ``argo get``. Wide fan-outs show failures and the first items."""
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
    rows: list[tuple[str, str, str, str]] = []
    by_step: dict[str, list[TaskStatus]] = {}
    for t in run.tasks:
        by_step.setdefault(t.step, []).append(t)
    for step, tasks in by_step.items():
        items = sorted((t for t in tasks if t.item is not None), key=lambda t: t.item or 0)
        plain = [t for t in tasks if t.item is None]
        if plain and not items:
            t = plain[0]
            msg = t.message + (" (cached)" if t.cached else "")
            rows.append((f"{SYMBOLS[t.state]} {step}", t.state.value, format_duration(t.duration), msg))
            continue
        state = aggregate_state(t.state for t in items) if items else (plain[0].state if plain else TaskState.PENDING)
        starts = [t.started_at for t in items if t.started_at]
        ends = [t.finished_at for t in items if t.finished_at]
        dur = (max(ends) - min(starts)) if starts and ends and state.done else None
        counts: dict[str, int] = {}
        for t in items:
            counts[t.state.value] = counts.get(t.state.value, 0) + 1
        summary = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
        counted = f"{len(items)} item{'' if len(items) == 1 else 's'}"
        rows.append((f"{SYMBOLS[state]} {step}", state.value, format_duration(dur), f"{counted}: {summary}"))
        shown = [t for t in items if not t.state.ok][:max_items]
        shown_ids = {t.item for t in shown}
        shown += [t for t in items if t.item not in shown_ids][: max(0, max_items - len(shown))]
        shown.sort(key=lambda t: t.item or 0)
        for i, t in enumerate(shown):
            last = i == len(shown) - 1 and len(shown) == len(items)
            branch = "└─" if last else "├─"
            msg = t.message + (" (cached)" if t.cached else "")
            rows.append(
                (
                    f"{branch}{SYMBOLS[t.state]} {step}[{t.item}]",
                    t.state.value,
                    format_duration(t.duration),
                    msg,
                )
            )
        if len(shown) < len(items):
            rows.append((f"└─… {len(items) - len(shown)} more", "", "", ""))
    width = max([len("STEP"), *(len(r[0]) for r in rows)]) + 2
    lines = [*head, "", f"{'STEP':<{width}}{'STATUS':<11}{'DURATION':<10}MESSAGE"]
    for name, state_text, dur_text, msg in rows:
        lines.append(f"{name:<{width}}{state_text:<11}{dur_text:<10}{msg}".rstrip())
    if run.notices:
        lines += ["", *(f"notice: {n}" for n in run.notices)]
    return "\n".join(lines)


# --- run directories ------------------------------------------------------------------------------


def new_run_id(pipeline_dns: str) -> str:
    """``<pipeline>-<yyyymmdd-hhmmss>-<random>``: sortable by time, unique, DNS-1123."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{pipeline_dns[:36]}-{stamp}-{secrets.token_hex(3)}"


def runs_root(base: Path | None = None) -> Path:
    """Where runs live: ``$FLOWYARD_HOME/runs``, else ``./.flowyard/runs``; always an absolute path.

    Made absolute once, here, where it is chosen: tasks run in working folders of their own, where a
    path relative to the caller's folder would point somewhere else.
    """
    if base is None:
        home = os.environ.get("FLOWYARD_HOME")
        base = Path(home) / "runs" if home else RUNS_DIR
    return base.absolute()


def write_atomic(path: str | os.PathLike[str], data: bytes, *, sync: bool = True) -> None:
    """Write, fsync, rename: a reader (or a crash) never sees half a file.

    ``sync=False`` skips the per-file fsync for callers that make a group of files durable at once
    (the local runner calls ``os.sync()`` before each journal commit that records them). The folder
    is made only when it is missing, and the file is written unbuffered: a run writes one of these
    per task, and on a busy disk every system call counts.
    """
    folder, name = os.path.split(os.fspath(path))
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{next(_tmp_names)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    except FileNotFoundError:
        os.makedirs(folder or ".", exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_tmp_names = itertools.count()  # unique per process (with the pid in the name), and thread-safe


class RunDirectory:
    """Paths of one run's folder. Creating one writes nothing until asked."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def status_file(self) -> Path:
        return self.path / "run.json"

    @property
    def ir_file(self) -> Path:
        return self.path / "ir.json"

    @property
    def params_file(self) -> Path:
        return self.path / "params.json"

    @property
    def journal_file(self) -> Path:
        return self.path / "journal.jsonl"

    def task_dir(self, step: str, item: int | None) -> Path:
        return self.path / task_dir_name(step, item)

    def log_file(self, step: str, item: int | None, stream: str = "stdout") -> Path:
        return self.task_dir(step, item) / f"{stream}.log"

    def write_status(self, status: RunStatus) -> None:
        # Compact: a 10,000-task run.json indented took twice as long to write (`jq .` reads it either
        # way). Not fsynced: it is a snapshot derived from the journal, which is what resuming trusts.
        write_atomic(self.status_file, status.model_dump_json().encode(), sync=False)

    def write_record(
        self, ir: Any, params: Mapping[str, Any], status: RunStatus, provenance: Iterable[Any] = ()
    ) -> None:
        """A run that happened elsewhere (a cluster), written so the local commands read it like a
        local run: its IR, parameters, one provenance record per task, then its status."""
        from flowyard.provenance import PROVENANCE_FILE

        self.path.mkdir(parents=True, exist_ok=True)
        write_atomic(self.ir_file, ir.model_dump_json().encode())
        write_atomic(self.params_file, json.dumps(dict(params), ensure_ascii=False, default=str).encode())
        for record in provenance:
            write_atomic(
                self.task_dir(record.step, record.item) / PROVENANCE_FILE, record.model_dump_json(indent=1).encode()
            )
        self.write_status(status)

    def read_status(self) -> RunStatus:
        try:
            return RunStatus.model_validate_json(self.status_file.read_bytes())
        except FileNotFoundError:
            raise RunNotFoundError(f"run {self.run_id!r} has no status yet ({self.status_file})") from None


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
    """Runs, newest first."""
    base = runs_root(root)
    if not base.is_dir():
        return []
    dirs = [RunDirectory(p) for p in base.iterdir() if p.is_dir() and (p / "ir.json").exists()]
    return sorted(dirs, key=lambda d: d.ir_file.stat().st_mtime, reverse=True)


def output_documents(ir: Any, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """A run's pipeline outputs with every file read back as parsed JSON, to compare runs across engines."""

    def read(value: Any) -> Any:
        if value is None:
            return None
        path = Path(str(value).removeprefix("file://"))
        return json.loads(path.read_text(encoding="utf-8"))

    docs: dict[str, Any] = {}
    for out in ir.outputs:
        value = outputs.get(out.name)
        if ir.step(out.source.step).output(out.source.output).type == "file":
            value = [read(v) for v in value] if isinstance(value, list) else read(value)
        docs[out.name] = value
    return docs


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every complete event of a run's ``journal.jsonl``; a line cut short by a crash is skipped.

    Task events look like ``{"t": "task", "step", "item", "state", "started", "finished",
    "attempts", "exit", "values"?, "files"?: {output: [key, sha256]}, "msg"?, "cached"?,
    "missing"?}``. Tasks of one step that finished together may share a ``{"t": "tasks"}`` line that
    holds each of those keys as a column, one entry per task (see :data:`TASK_COLUMNS`); it is read
    back here as one task event per entry, so readers only ever see task events.
    """
    if not path.exists():
        return []
    events: list[dict[str, Any]] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.endswith("\n"):
                break  # torn tail
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("t") == "tasks":
                events += task_events(event)
            else:
                events.append(event)
    return events


TASK_COLUMNS = (
    "item",
    "state",
    "started",
    "finished",
    "attempts",
    "exit",
    "msg",
    "values",
    "files",
    "cached",
    "missing",
)
"""The columns of a grouped ``tasks`` journal line; the optional ones (``msg`` on) may be absent, and
``started``/``finished`` may come as ``started_us``/``finished_us``."""


def task_events(group: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A grouped ``tasks`` line as the task events it stands for (an optional column's null: absent).

    Its times may be whole microseconds (``started_us``, ``finished_us``): read back as seconds.
    """
    columns = [(key, group[key]) for key in TASK_COLUMNS if key in group]
    for key in ("started", "finished"):
        if f"{key}_us" in group:
            columns.append((key, [None if us is None else us / 1e6 for us in group[f"{key}_us"]]))
    events = []
    for i in range(len(group["item"])):
        event: dict[str, Any] = {"t": "task", "step": group["step"]}
        for key, column in columns:
            value = column[i]
            if value is not None or key in ("item", "started", "finished", "exit"):
                event[key] = value
        events.append(event)
    return events


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def redact(text: str, secret_values: Sequence[str]) -> str:
    """Replace every secret value in ``text`` with ``***``: logs, messages and JSON never show one."""
    for value in sorted((v for v in secret_values if v), key=len, reverse=True):
        text = text.replace(value, "***")
    return text


# --- requests: what the CLI (or a library caller) asks a backend to do -----------------------------


@dataclass(frozen=True)
class RunRequest:
    """How to run: parameter values, where runs live, resume/caching, a single step, output style."""

    params: Mapping[str, Any] = field(default_factory=dict)
    runs_root: Path | None = None
    resume: str | None = None
    use_cache: bool = True
    only_step: str | None = None
    step_inputs: Mapping[str, Path] = field(default_factory=dict)
    progress: bool = False
    quiet: bool = True
    notices: tuple[str, ...] = ()
    environ: Mapping[str, str] | None = None

    def with_notices(self, notices: Iterable[str]) -> RunRequest:
        return replace(self, notices=(*self.notices, *notices))


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
                "duration_seconds": _round(st.duration),
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
        victims = [d for d in victims if d.ir_file.stat().st_mtime < limit]
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
