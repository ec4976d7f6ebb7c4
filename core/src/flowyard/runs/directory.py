"""One run's folder: where each file is, and writing them so that a crash never leaves half of one.

Layout (``.flowyard/runs/<run-id>/``)::

    run.json        the RunStatus, rewritten at milestones
    ir.json         the IR that ran (what ``--resume`` continues)
    params.json     resolved parameter values
    journal.jsonl   append-only task events
    tasks/<step>[/<item:06d>]/   stdout.log, stderr.log, provenance.json, outputs/<output>/...
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flowyard.errors import RunNotFoundError
from flowyard.ir import PipelineIR, read_ir_json
from flowyard.runs.status import RunStatus

RUNS_DIR = Path(".flowyard") / "runs"
PROVENANCE_FILE = "provenance.json"
PROVENANCE_LINES = "provenance.jsonl"  # an in-process step's records, one a line, in its step folder
IR_FILE = "ir.json"
STATUS_FILE = "run.json"


def task_dir_name(step: str, item: int | None) -> str:
    """Relative folder of a task: ``tasks/<step>`` or ``tasks/<step>/<item:06d>``."""
    return f"tasks/{step}" if item is None else f"tasks/{step}/{item:06d}"


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
        return self.path / STATUS_FILE

    @property
    def ir_file(self) -> Path:
        return self.path / IR_FILE

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

    def provenance_file(self, step: str, item: int | None) -> Path:
        return self.task_dir(step, item) / PROVENANCE_FILE

    def provenance_lines(self, step: str) -> Path:
        """An in-process step's records of all its tasks (the local runner's one file per step)."""
        return self.task_dir(step, None) / PROVENANCE_LINES

    @classmethod
    def containing(cls, path: Path) -> RunDirectory | None:
        """The run whose folder holds ``path`` (or is it): the nearest folder with an ``ir.json``."""
        for folder in (path, *path.parents):
            if (folder / IR_FILE).is_file():
                return cls(folder)
        return None

    def write_status(self, status: RunStatus) -> None:
        # Compact: a 10,000-task run.json indented took twice as long to write (`jq .` reads it either
        # way). Not fsynced: it is a snapshot derived from the journal, which is what resuming trusts.
        write_atomic(self.status_file, status.model_dump_json().encode(), sync=False)

    def write_record(
        self, ir: Any, params: Mapping[str, Any], status: RunStatus, provenance: Iterable[Any] = ()
    ) -> None:
        """A run that happened elsewhere (a cluster), written so the local commands read it like a
        local run: its IR, parameters, one provenance record per task, then its status."""
        self.path.mkdir(parents=True, exist_ok=True)
        write_atomic(self.ir_file, ir.model_dump_json().encode())
        write_atomic(self.params_file, json.dumps(dict(params), ensure_ascii=False, default=str).encode())
        for record in provenance:
            write_atomic(self.provenance_file(record.step, record.item), record.model_dump_json(indent=1).encode())
        self.write_status(status)

    def read_ir(self) -> PipelineIR:
        """The IR the run ran; refused by name when an earlier flowyard (another IR version) made the run."""
        return read_ir_json(self.ir_file.read_bytes(), f"run {self.run_id!r} ({self.ir_file})")

    def read_status(self) -> RunStatus:
        try:
            return RunStatus.model_validate_json(self.status_file.read_bytes())
        except FileNotFoundError:
            raise RunNotFoundError(f"run {self.run_id!r} has no status yet ({self.status_file})") from None


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


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
