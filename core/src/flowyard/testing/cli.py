"""The ``flowyard`` command line as a user runs it, for tests (ours and a third-party backend's): a
separate process, a working folder the test chooses, and nothing configured unless the test says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def user_cli(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    unset: Sequence[str] = ("FLOWYARD_HOME",),
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``flowyard ARGS`` in ``cwd``, with the caller's environment less the variables ``unset`` names (a
    name, or a prefix ending in ``_``), plus ``env``."""
    names = tuple(u for u in unset if not u.endswith("_"))
    prefixes = tuple(u for u in unset if u.endswith("_"))
    environ = {k: v for k, v in os.environ.items() if k not in names and not k.startswith(prefixes)}
    return subprocess.run(
        [sys.executable, "-m", "flowyard", *args],
        cwd=cwd,
        env={**environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str], exit_code: int) -> str:
    """The error a command ended with, checked to be what a user must see: ``exit_code``, no traceback,
    one line on standard error."""
    err = result.stderr
    assert result.returncode == exit_code, result.stdout + err[-3000:]
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err[-3000:]
    return err


def ctrl_c_reaches_it() -> None:
    """A ``preexec_fn`` for a command a test interrupts with SIGINT, as a terminal's Ctrl-C would: a shell that ran
    the tests in the background (``cmd &`` without job control) left SIGINT ignored, and a child keeps an ignored
    signal ignored across ``exec`` (POSIX), so the interrupt never arrived and the test waited out its timeout."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
