"""``ServerContract``: what a backend that talks to a server must do when the server misbehaves.

A server hangs, fails for a moment, or answers HTML, broken or wrong-shaped JSON, a huge body, a
redirect or the token it was sent: the ``flowyard`` command ends with one line on standard error and
exit code 3 in bounded time, never a traceback and never the token; or it gets its answer once the
server is back. Each scenario runs the CLI as a user runs it (a separate process, a fresh folder,
nothing configured) against a stand-in built on :mod:`flowyard.testing.standin`.

Like fsspec's abstract tests, the implementer subclasses :class:`ServerContract` and overrides the
fixtures that describe its engine (the ones that raise ``NotImplementedError``); the rest have
defaults. Needs pytest and jsonschema (``flowyard-core[testing]``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import pytest

from flowyard.testing.cli import one_line_error, user_cli
from flowyard.testing.standin import Faults

TOKEN = "s3cr3t-t0ken-value"  # noqa: S105 (a made-up token a scenario checks is never printed)
"""The bearer token every scenario that sends one sends; it must never be printed."""

Standin = Callable[..., AbstractContextManager[tuple[str, Faults]]]
"""``standin(**settings)``: a context manager running the stand-in with those :class:`Faults`
settings (``fault=``, ``fault_after=``, ...), yielding its base URL and its state."""

PIPELINE = """\
apiVersion: flowyard/v1
kind: Pipeline
name: server-contract
parameters:
  message: {type: string, default: hello}
defaults:
  image: registry.example/flowyard-step:0.1
steps:
  first:
    container:
      command: [sh, -c, 'echo "$0" > first.txt', "${{ params.message }}"]
    outputs:
      text: first.txt
  second:
    container:
      command: [cat, first.txt]
    inputs:
      text: {value: "${{ steps.first.outputs.text }}", path: first.txt}
"""
"""The pipeline the scenarios submit (override ``pipeline_file`` to submit your own)."""


class RunCli(Protocol):
    def __call__(self, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]: ...


OWN_WRONG_SHAPE = "own"  # a broken-answer case whose answer and message come from the `wrong_shape` fixture

BROKEN_ANSWERS = [
    pytest.param("html", {}, "not JSON (text/html)", id="html"),
    pytest.param("malformed", {}, "not JSON", id="malformed"),
    pytest.param("wrong-shape", {}, "unexpected shape", id="wrong-shape"),
    pytest.param("wrong-shape", OWN_WRONG_SHAPE, "", id="wrong-shape-of-the-engine"),
    pytest.param("huge", {"huge_bytes": 20 * 2**20}, "over 2,000,000 bytes", id="huge"),
    pytest.param("redirect", {}, "redirects to http://127.0.0.2", id="redirect"),
    pytest.param("echo-token", {}, "refused the credentials (401)", id="echo-token"),
]


class ServerContract:
    """Subclass it in your tests and override the fixtures that raise ``NotImplementedError``."""

    # --- what the implementer says about its engine ------------------------------------------------

    @pytest.fixture
    def backend_name(self) -> str:
        """The backend's name, as ``-b`` takes it (also its section of the config file)."""
        raise NotImplementedError("override `backend_name`: the name of your backend")

    @pytest.fixture
    def engine(self) -> str:
        """The server as the backend's messages name it ("Argo Server"): a bad URL is "the ENGINE URL"."""
        raise NotImplementedError("override `engine`: how your backend's messages name the server")

    @pytest.fixture
    def standin(self) -> Standin:
        """The stand-in server (see :data:`Standin`)."""
        raise NotImplementedError("override `standin`: a context manager running your stand-in server")

    @pytest.fixture
    def requests_before_first_poll(self) -> int:
        """How many requests ``submit --watch`` makes before its first status read: they pass
        before the faults start."""
        raise NotImplementedError("override `requests_before_first_poll`")

    @pytest.fixture
    def wrong_shape(self) -> tuple[Any, str]:
        """A JSON answer that is an object but not one the engine gives, and words the error must hold."""
        raise NotImplementedError("override `wrong_shape`: (answer, words of the one-line error)")

    @pytest.fixture
    def bad_timestamp(self) -> tuple[str, Any, str]:
        """A run's name, its status answer with a timestamp that is not one, and words the error must
        hold (the field's name)."""
        raise NotImplementedError("override `bad_timestamp`: (run name, answer, words of the error)")

    @pytest.fixture
    def submitted_name(self) -> Callable[[Any], str]:
        """Where the stand-in's state keeps the name of the one run submitted to it."""
        raise NotImplementedError("override `submitted_name`: state -> the submitted run's name")

    @pytest.fixture
    def env_prefixes(self) -> tuple[str, ...]:
        """The environment variables (prefixes ending in ``_``) that could configure the backend:
        unset for every scenario, so nothing is configured but what the scenario says."""
        return ("FLOWYARD_",)

    @pytest.fixture
    def pipeline_file(self, tmp_path: Path) -> str:
        """The pipeline spec submitted (by default :data:`PIPELINE`)."""
        path = tmp_path / "pipeline.yaml"
        path.write_text(PIPELINE, encoding="utf-8")
        return str(path)

    # --- the harness -----------------------------------------------------------------------------

    @pytest.fixture
    def flowyard(self, tmp_path: Path, backend_name: str, env_prefixes: tuple[str, ...]) -> RunCli:
        """``flowyard ARGS -b BACKEND`` in a subprocess, nothing configured but ``env``; and how long
        it took."""

        def run(*args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
            settings = {"HOME": str(tmp_path), "FLOWYARD_CONFIG": str(tmp_path / "none.yaml"), **env}
            start = time.monotonic()
            r = user_cli(*args, "-b", backend_name, cwd=tmp_path, env=settings, unset=env_prefixes, timeout=60)
            return r, time.monotonic() - start

        return run

    # --- the scenarios ---------------------------------------------------------------------------

    def test_a_hanging_server_is_given_up_on_within_the_timeouts(
        self, flowyard: RunCli, standin: Standin, pipeline_file: str
    ) -> None:
        with standin(fault="hang") as (url, _):
            r, seconds = flowyard(
                "submit", pipeline_file, "--server", url, FLOWYARD_READ_TIMEOUT="1", FLOWYARD_HTTP_RETRIES="1"
            )
        assert "did not answer within 1 s" in one_line_error(r, 3)
        assert seconds < 30

    def test_a_watch_survives_a_server_failing_for_a_moment(
        self, flowyard: RunCli, standin: Standin, pipeline_file: str, requests_before_first_poll: int
    ) -> None:
        """The submit goes through; the next three answers are 503s: one poll fails twice, the next recovers."""
        with standin(fault="5xx", fault_after=requests_before_first_poll, fault_times=3) as (url, state):
            r, _ = flowyard(
                "submit", pipeline_file, "--server", url, "--watch", "-O", "poll_seconds=0.05",
                FLOWYARD_HTTP_RETRIES="1",
            )  # fmt: skip
            assert r.returncode == 0, r.stderr[-3000:]
            assert "Succeeded" in r.stdout
            assert state.fault_times == 0

    def test_a_status_read_retries_a_503_then_succeeds(
        self, flowyard: RunCli, standin: Standin, pipeline_file: str, submitted_name: Callable[[Any], str]
    ) -> None:
        with standin() as (url, state):
            r, _ = flowyard("submit", pipeline_file, "--server", url)
            assert r.returncode == 0, r.stderr
            name = submitted_name(state)
            state.fault, state.fault_times = "5xx", 2
            r, _ = flowyard("status", name, "--server", url)
            assert r.returncode == 0, r.stderr[-3000:]
            assert state.fault_times == 0

    @pytest.mark.parametrize(("fault", "settings", "expected"), BROKEN_ANSWERS)
    @pytest.mark.parametrize("command", ["submit", "status"])
    def test_a_broken_answer_is_one_line_and_exit_3(
        self,
        flowyard: RunCli,
        standin: Standin,
        pipeline_file: str,
        wrong_shape: tuple[Any, str],
        command: str,
        fault: str,
        settings: dict[str, Any] | str,
        expected: str,
    ) -> None:
        if settings == OWN_WRONG_SHAPE:
            answer, expected = wrong_shape
            settings = {"wrong_shape": answer}
        assert isinstance(settings, dict)
        args = [pipeline_file] if command == "submit" else ["wf"]
        with standin(fault=fault, **settings) as (url, _):
            r, _ = flowyard(command, *args, "--server", url, "--token", TOKEN, FLOWYARD_MAX_RESPONSE_BYTES="2000000")
        assert expected in one_line_error(r, 3)
        assert TOKEN not in r.stdout + r.stderr

    def test_a_bad_timestamp_is_one_line_and_exit_3(
        self, flowyard: RunCli, standin: Standin, bad_timestamp: tuple[str, Any, str]
    ) -> None:
        name, answer, expected = bad_timestamp
        with standin(fault="wrong-shape", wrong_shape=answer) as (url, _):
            r, _ = flowyard("status", name, "--server", url)
        assert expected in one_line_error(r, 3)

    @pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads the peak memory from /proc")
    def test_a_300_mb_answer_is_refused_without_holding_it(
        self, tmp_path: Path, standin: Standin, backend_name: str, env_prefixes: tuple[str, ...]
    ) -> None:
        """The body is read up to the limit (64 MiB by default), never whole: the process stays small."""
        # VmHWM is this process's peak since its exec (ru_maxrss would count the forked test process too)
        probe = (
            "import re, sys\n"
            "from flowyard._cli import main\n"
            "try:\n"
            "    main(sys.argv[1:])\n"
            "finally:\n"
            "    peak = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]\n"
            "    print('maxrss_kb=' + peak, file=sys.stderr)\n"
        )
        environ = {k: v for k, v in os.environ.items() if not k.startswith(env_prefixes)}
        environ.update(HOME=str(tmp_path), FLOWYARD_CONFIG=str(tmp_path / "none.yaml"))
        with standin(fault="huge") as (url, _):
            r = subprocess.run(
                [sys.executable, "-c", probe, "status", "wf", "-b", backend_name, "--server", url],
                cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
        assert r.returncode == 3, r.stderr[-2000:]
        error, rss = r.stderr.strip().splitlines()
        assert "over 67,108,864 bytes" in error
        assert int(rss.split("=")[1]) < 250 * 1024, rss  # a whole 300 MB body took ~700 MB

    def test_timeouts_come_from_the_config_file_too(
        self, tmp_path: Path, flowyard: RunCli, standin: Standin, backend_name: str
    ) -> None:
        config = tmp_path / "config.yaml"
        config.write_text(f"{backend_name}:\n  read_timeout: 1\n  retries: 0\n")
        with standin(fault="hang") as (url, _):
            r, seconds = flowyard("status", "wf", "--server", url, FLOWYARD_CONFIG=str(config))
        assert "did not answer within 1 s" in one_line_error(r, 3)
        assert seconds < 20
        config.write_text(f"{backend_name}:\n  read_timeout: soon\n")
        r, _ = flowyard("status", "wf", "--server", url, FLOWYARD_CONFIG=str(config))
        assert r.returncode == 2 and "read_timeout" in r.stderr and "Traceback" not in r.stderr

    @pytest.mark.parametrize("server", ["http://127.0.0.1:abc", "ftp://host", "http://[::1", "http://127.0.0.1:99999"])
    def test_a_malformed_server_url_is_a_usage_error(self, backend_name: str, engine: str, server: str) -> None:
        from click.testing import CliRunner

        from flowyard._cli import cli

        r = CliRunner().invoke(cli, ["status", "wf", "-b", backend_name, "--server", server])
        assert r.exit_code == 2, r.output
        assert r.output.startswith(f"error: the {engine} URL") and len(r.output.splitlines()) == 1
