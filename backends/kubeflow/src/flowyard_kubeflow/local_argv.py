"""Large task inputs on kfp.local: through a file, not the command line.

kfp.local's SubprocessRunner puts a task's whole executor input (every value it receives, a fan-in's
list included) into one command-line argument of ``sh -ec ...``; Linux limits one argument to 128 KiB
(``MAX_ARG_STRLEN``), so a large fan-in failed with "Argument list too long". While a run is driven
here, a command that long is written to a file and run by this module's ``main``, which does what
the lightweight component's ``sh`` script does (write the component's source to a file, run kfp's
executor with the same arguments) inside one Python process, where arguments have no such limit.
"""

from __future__ import annotations

import contextlib
import json
import os
import runpy
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LIMIT = 64 * 1024  # bytes in one argument, or in all of them, before the command goes through a file
EXECUTOR_MODULE = "kfp.dsl.executor_main"


def _too_long(command: list[str]) -> bool:
    sizes = [len(a.encode("utf-8", "surrogateescape")) for a in command]
    return max(sizes, default=0) > LIMIT or sum(sizes) > 16 * LIMIT


def _shape(command: list[str]) -> tuple[str, list[str]] | None:
    """(component source, executor arguments) of a lightweight component's command, else None."""
    if "-ec" not in command:
        return None
    i = command.index("-ec")
    if len(command) < i + 3 or EXECUTOR_MODULE not in command[i + 1]:
        return None
    return command[i + 2], command[i + 3 :]


@contextlib.contextmanager
def commands_through_files(folder: Path) -> Iterator[None]:
    """While kfp.local runs, send over-long task commands through files in ``folder``."""
    from kfp.local import subprocess_task_handler as handler

    original = handler.run_local_subprocess

    def run(full_command: list[str], env_vars: dict[str, str] | None = None) -> int:
        if not _too_long(full_command) or _shape(full_command) is None:
            return int(original(full_command, env_vars))
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="command-", suffix=".json", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(full_command, f, ensure_ascii=False)
        return int(original([sys.executable, "-m", __name__, name], env_vars))

    handler.run_local_subprocess = run
    try:
        yield
    finally:
        handler.run_local_subprocess = original


def main(argv: list[str]) -> Any:
    command = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    shape = _shape(command)
    if shape is None:
        raise SystemExit(f"flowyard: not a lightweight component command: {argv[0]}")
    source, arguments = shape
    module = Path(tempfile.mkdtemp(prefix="flowyard-component-")) / "ephemeral_component.py"
    module.write_text(source, encoding="utf-8")
    os.environ["_KFP_RUNTIME"] = "true"
    sys.argv = [EXECUTOR_MODULE, "--component_module_path", str(module), *arguments]
    runpy.run_module(EXECUTOR_MODULE, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
