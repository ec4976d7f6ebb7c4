"""Step functions for the local backend's tests (importable because the spec folder is on the path)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


def record(log: str, x: object = None, pause: float = 0.1) -> object:
    """Append (start, end) to ``log`` around a short sleep: the tests compute the overlap."""
    start = time.time()
    time.sleep(pause)
    end = time.time()
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps([start, end, x]) + "\n")
    return x


def fail_on(x: int, bad: list[int]) -> int:
    if x in bad:
        raise RuntimeError(f"item {x} fails on purpose")
    return x * 10


def log_then_fail_on(log: str, x: int, bad: list[int]) -> int:
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"{x}\n")
    return fail_on(x, bad)


def write_item(x: int, out: Path) -> None:
    out.write_text(json.dumps({"x": x}), encoding="utf-8")


def write_item_unless(x: int, bad: list[int], out: Path) -> int:
    if x in bad:
        raise RuntimeError(f"item {x} fails on purpose")
    out.write_text(json.dumps({"x": x}), encoding="utf-8")
    return x


def chatty(x: int, bad: list[int]) -> int:
    """Prints a line to each stream; fails on the items in ``bad``."""
    import sys

    print(f"out {x}")
    print(f"err {x}", file=sys.stderr)
    return fail_on(x, bad)


def fail_first_time(flag: str) -> None:
    """Fails (with a traceback on stderr) until ``flag`` exists; silent afterwards."""
    if not os.path.exists(flag):
        Path(flag).write_text("", encoding="utf-8")
        raise RuntimeError("fails the first time")


def where(f: Path) -> str:
    return str(f)


def list_folder(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def flaky(counter: str, succeed_on: int) -> int:
    """Fails until it has been called ``succeed_on`` times (counted in a file)."""
    n = int(Path(counter).read_text()) + 1 if Path(counter).exists() else 1
    Path(counter).write_text(str(n))
    if n < succeed_on:
        raise RuntimeError(f"attempt {n} fails")
    return n


def echo(value: object) -> object:
    return value


def count_calls(counter: str, value: object) -> object:
    n = int(Path(counter).read_text()) + 1 if Path(counter).exists() else 1
    Path(counter).write_text(str(n))
    return value


def wait_for(path: str, value: object = None) -> object:
    """Block until ``path`` exists (tests use it to pause a run at a known point)."""
    deadline = time.time() + 30
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.02)
    return value


def write_then_fail_first_time(flag: str, out: Path) -> None:
    """The first call writes its output, then fails; later calls succeed without writing it."""
    if not os.path.exists(flag):
        Path(flag).write_text("", encoding="utf-8")
        out.write_text("from the failed attempt", encoding="utf-8")
        raise RuntimeError("fails after writing")


def log_and_write(out: Path) -> None:
    print("to stdout")
    out.write_text("the output", encoding="utf-8")
