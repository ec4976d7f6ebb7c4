"""An Argo Server that hangs, fails for a moment, or answers HTML, broken or wrong-shaped JSON, a huge
body, a redirect or the token it was sent (issue 20): one line and exit code 3 in bounded time, or the
answer once the server is back; the CLI run as a user runs it, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flowyard.testing.cli import one_line_error, user_cli

from .argo_server_standin import argo_server

ROOT = Path(__file__).resolve().parents[3]
SEQUENTIAL = str(ROOT / "examples" / "activator_processor" / "sequential.yaml")
TOKEN = "s3cr3t-t0ken-value"


def flowyard(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """The CLI in a subprocess with no connection settings but ``env``; and how long it took."""
    settings = {"HOME": str(tmp_path), "FLOWYARD_CONFIG": str(tmp_path / "none.yaml"), **env}
    start = time.monotonic()
    r = user_cli(*args, cwd=tmp_path, env=settings, unset=("ARGO_", "FLOWYARD_"), timeout=60)
    return r, time.monotonic() - start


def test_a_hanging_server_is_given_up_on_within_the_timeouts(tmp_path: Path) -> None:
    with argo_server(fault="hang") as (url, _):
        r, seconds = flowyard(
            tmp_path, "submit", SEQUENTIAL, "-b", "argo", "--server", url,
            FLOWYARD_READ_TIMEOUT="1", FLOWYARD_HTTP_RETRIES="1",
        )  # fmt: skip
    assert "did not answer within 1 s" in one_line_error(r, 3)
    assert seconds < 30


def test_a_watch_survives_a_server_failing_for_a_moment(tmp_path: Path) -> None:
    # the create goes through; the next three answers are 503s: one poll fails twice, the next recovers
    with argo_server(fault="5xx", fault_after=1, fault_times=3) as (url, state):
        r, _ = flowyard(
            tmp_path, "submit", SEQUENTIAL, "-b", "argo", "--server", url, "--watch", "-O", "poll_seconds=0.05",
            FLOWYARD_HTTP_RETRIES="1",
        )  # fmt: skip
        assert r.returncode == 0, r.stderr[-3000:]
        assert "Succeeded" in r.stdout
        assert state.fault_times == 0


def test_a_status_read_retries_a_503_then_succeeds(tmp_path: Path) -> None:
    with argo_server() as (url, state):
        r, _ = flowyard(tmp_path, "submit", SEQUENTIAL, "-b", "argo", "--server", url)
        assert r.returncode == 0, r.stderr
        ((_, name),) = state.workflows
        state.fault, state.fault_times = "5xx", 2
        r, _ = flowyard(tmp_path, "status", name, "-b", "argo", "--server", url)
        assert r.returncode == 0, r.stderr[-3000:]
        assert state.fault_times == 0


BAD_WORKFLOW = {"metadata": {"name": "wf"}, "status": {"phase": "Running", "startedAt": "yesterday"}}


@pytest.mark.parametrize(
    ("fault", "settings", "expected"),
    [
        pytest.param("html", {}, "not JSON (text/html)"),
        pytest.param("malformed", {}, "not JSON"),
        pytest.param("wrong-shape", {}, "unexpected shape"),
        pytest.param("wrong-shape", {"wrong_shape": {"metadata": {}}}, "metadata.name"),
        pytest.param("huge", {"huge_bytes": 20 * 2**20}, "over 2,000,000 bytes"),
        pytest.param("redirect", {}, "redirects to http://127.0.0.2"),
        pytest.param("echo-token", {}, "refused the credentials (401)"),
    ],
)
@pytest.mark.parametrize("command", ["submit", "status"])
def test_a_broken_answer_is_one_line_and_exit_3(tmp_path: Path, command: str, fault: str, settings, expected) -> None:
    args = [SEQUENTIAL] if command == "submit" else ["wf"]
    with argo_server(fault=fault, **settings) as (url, _):
        r, _ = flowyard(
            tmp_path, command, *args, "-b", "argo", "--server", url, "--token", TOKEN,
            FLOWYARD_MAX_RESPONSE_BYTES="2000000",
        )  # fmt: skip
    err = one_line_error(r, 3)
    assert expected in err
    assert TOKEN not in r.stdout + r.stderr


def test_a_bad_timestamp_is_one_line_and_exit_3(tmp_path: Path) -> None:
    with argo_server(fault="wrong-shape", wrong_shape=BAD_WORKFLOW) as (url, _):
        r, _ = flowyard(tmp_path, "status", "wf", "-b", "argo", "--server", url)
    assert "status.startedAt" in one_line_error(r, 3)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads the peak memory from /proc")
def test_a_300_mb_answer_is_refused_without_holding_it(tmp_path: Path) -> None:
    """The body is read up to the limit (64 MiB by default), never whole: the process stays small."""
    # VmHWM is this process's peak since its exec (ru_maxrss would count the forked test process too)
    probe = (
        "import re, sys\n"
        "from flowyard.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "finally:\n"
        "    peak = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]\n"
        "    print('maxrss_kb=' + peak, file=sys.stderr)\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ARGO_", "FLOWYARD_"))}
    environ.update(HOME=str(tmp_path), FLOWYARD_CONFIG=str(tmp_path / "none.yaml"))
    with argo_server(fault="huge") as (url, _):
        r = subprocess.run(
            [sys.executable, "-c", probe, "status", "wf", "-b", "argo", "--server", url],
            cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert r.returncode == 3, r.stderr[-2000:]
    error, rss = r.stderr.strip().splitlines()
    assert "over 67,108,864 bytes" in error
    assert int(rss.split("=")[1]) < 250 * 1024, rss  # a whole 300 MB body took ~700 MB


@pytest.mark.parametrize("line", [b"[1, 2]", b'{"error": "gone"}', b'{"result": "text"}', b'"just a string"'])
def test_a_log_line_of_the_wrong_shape_is_one_error(line: bytes) -> None:
    from flowyard.errors import InfrastructureError
    from flowyard_argo.service import parse_log_stream

    with pytest.raises(InfrastructureError):
        list(parse_log_stream(iter([line])))


def test_timeouts_come_from_the_config_file_too(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("argo:\n  read_timeout: 1\n  retries: 0\n")
    with argo_server(fault="hang") as (url, _):
        r, seconds = flowyard(tmp_path, "status", "wf", "-b", "argo", "--server", url, FLOWYARD_CONFIG=str(config))
    assert "did not answer within 1 s" in one_line_error(r, 3)
    assert seconds < 20
    config.write_text("argo:\n  read_timeout: soon\n")
    r, _ = flowyard(tmp_path, "status", "wf", "-b", "argo", "--server", url, FLOWYARD_CONFIG=str(config))
    assert r.returncode == 2 and "read_timeout" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("server", ["http://127.0.0.1:abc", "ftp://host", "http://[::1", "http://127.0.0.1:99999"])
def test_a_malformed_server_url_is_a_usage_error(tmp_path: Path, server: str) -> None:
    from click.testing import CliRunner
    from flowyard.cli import cli

    r = CliRunner().invoke(cli, ["status", "wf", "-b", "argo", "--server", server])
    assert r.exit_code == 2, r.output
    assert r.output.startswith("error: the Argo Server URL") and len(r.output.splitlines()) == 1
