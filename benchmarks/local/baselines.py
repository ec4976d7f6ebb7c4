"""The bare baselines: a ThreadPoolExecutor(2) doing the same calls, spawns and file work as flowyard."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from steps import activator, noop, processor


def bare_noop(n: int) -> None:
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(noop, range(n)))


def bare_functions(messages: list[dict]) -> None:
    root = Path(tempfile.mkdtemp(dir="."))  # left for the harness to delete, untimed, as flowyard's run folder is

    def act(i: int) -> Path:
        d = root / "a" / f"{i:06d}"
        d.mkdir(parents=True)
        activator(messages[i]["event"], d / "activator_event.json")
        return d / "activator_event.json"

    def proc(i: int, src: Path) -> None:
        d = root / "p" / f"{i:06d}"
        d.mkdir(parents=True)
        processor(src, d / "processor_event.json")

    with ThreadPoolExecutor(2) as pool:
        outs = list(pool.map(act, range(len(messages))))
        list(pool.map(proc, range(len(messages)), outs))


def bare_containers(messages: list[dict], bin_dir: Path) -> None:
    root = Path(tempfile.mkdtemp(dir="."))

    def act(i: int) -> Path:
        d = root / "a" / f"{i:06d}"
        d.mkdir(parents=True)
        msg = json.dumps(messages[i]["event"], separators=(",", ":"), sort_keys=True)
        subprocess.run([str(bin_dir / "activator"), msg], cwd=d, check=True, stdout=subprocess.DEVNULL)
        return d / "activator_event.json"

    def proc(i: int, src: Path) -> None:
        d = root / "p" / f"{i:06d}"
        d.mkdir(parents=True)
        shutil.copyfile(src, d / "activator_event.json")
        subprocess.run([str(bin_dir / "processor")], cwd=d, check=True, stdout=subprocess.DEVNULL)

    with ThreadPoolExecutor(2) as pool:
        outs = list(pool.map(act, range(len(messages))))
        list(pool.map(proc, range(len(messages)), outs))


def import_dependencies() -> None:
    """What any run of flowyard imports before its first task: the floor under its start-up."""
    import importlib.metadata  # noqa: F401 - pluggy's and pydantic's entry-point scans

    import click  # noqa: F401
    import pluggy  # noqa: F401
    import yaml  # noqa: F401
    from pydantic import BaseModel

    class One(BaseModel):  # the first model pulls in the rest of pydantic (fields, types, plugins)
        x: int = 0

    One(x=1)


if __name__ == "__main__":
    if "--import-dependencies" in sys.argv:
        sys.argv.remove("--import-dependencies")
        import_dependencies()
    kind, n = sys.argv[1], int(sys.argv[2])
    msgs = [{"id": str(i), "event": {"msg": f"activator run {i}", "n": i}} for i in range(n)]
    if kind == "noop":
        bare_noop(n)
    elif kind == "functions":
        bare_functions(msgs)
    else:
        bare_containers(msgs, Path(sys.argv[3]))
