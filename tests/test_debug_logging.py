"""`--debug`: stdlib logging from core and backends on standard error, secrets redacted, no library handlers."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flowyard._debug import RedactingFilter, enable_debug_logging, redact

from .conftest import EXAMPLES

SECRET = "s3cr3t-Token-Value-9f2"


def flowyard(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("FLOWYARD_HOME", "FLOWYARD_DEBUG")}
    return subprocess.run(
        [sys.executable, "-m", "flowyard", *args],
        cwd=cwd,
        env=base | (env or {}),
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_library_installs_no_logging_handler() -> None:
    code = (
        "import logging, flowyard, flowyard._cli, flowyard.plugins, flowyard.store, flowyard._debug\n"
        "import flowyard_local.runner, flowyard_argo.service, flowyard_kubeflow.service\n"
        "from flowyard.plugins import backend_registry\n"
        "backend_registry().names()\n"
        "loggers = [logging.getLogger()] + [l for n, l in logging.root.manager.loggerDict.items()\n"
        "    if n.startswith('flowyard') and isinstance(l, logging.Logger)]\n"
        "assert not any(l.handlers for l in loggers), [(l.name, l.handlers) for l in loggers if l.handlers]\n"
        "assert len(loggers) > 4, [l.name for l in loggers]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_debug_logs_core_and_backend_records_on_stderr_only(tmp_path: Path) -> None:
    done = flowyard("--debug", "run", str(EXAMPLES / "sequential.yaml"), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "DEBUG   flowyard.plugins: backend 'local' registered" in done.stderr
    assert "DEBUG   flowyard_local.runner: task activator starts" in done.stderr
    assert "DEBUG" not in done.stdout  # --json stays parseable
    quiet = flowyard("run", str(EXAMPLES / "sequential.yaml"), "--json", cwd=tmp_path)
    assert "DEBUG" not in quiet.stderr


def test_debug_redacts_a_token_from_the_command_line_and_the_environment(tmp_path: Path) -> None:
    env = {"ARGO_TOKEN": SECRET + "-env"}
    done = flowyard(
        "--debug", "status", "some-run", "-b", "argo", "--server", f"http://127.0.0.1:9/{SECRET}", "--token", SECRET,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "DEBUG   flowyard.remote:" in done.stderr  # the one HTTP client both remote backends share
    logged = "\n".join(line for line in done.stderr.splitlines() if " DEBUG " in line)
    assert SECRET not in logged and "***" in logged


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***"),
        ("GET /api?token=abcdef&x=1", "GET /api?token=***&x=1"),
        ('{"password": "hunter22"}', '{"password": "***"}'),
        ("aws_secret_access_key=AbCdEf123", "aws_secret_access_key=***"),
        ("nothing to hide here", "nothing to hide here"),
    ],
)
def test_redact_token_shapes(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_the_filter_redacts_known_values_and_drops_other_libraries_debug() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        redacting = enable_debug_logging(stream, environ={"MY_API_KEY": "k-123456789"})
        assert isinstance(redacting, RedactingFilter)
        logging.getLogger("flowyard.x").debug("using %s and %s", "k-123456789", "plain")
        logging.getLogger("urllib3.connectionpool").debug("noise k-123456789")
        logging.getLogger("urllib3.connectionpool").warning("a warning")
    finally:
        for h in root.handlers[:]:
            if h not in handlers:
                root.removeHandler(h)
        root.setLevel(level)
    out = stream.getvalue()
    assert "using *** and plain" in out and "k-123456789" not in out
    assert "noise" not in out and "a warning" in out
