"""A KFP API server that hangs, fails for a moment, or answers HTML, broken or wrong-shaped JSON, a huge
body, a redirect or the token it was sent (issue 20): one line and exit code 3 in bounded time, or the
answer once the server is back; the CLI run as a user runs it, in a subprocess."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from flowyard.testing.cli import one_line_error, user_cli

from .kfp_server_standin import kfp_server

ROOT = Path(__file__).resolve().parents[3]
SEQUENTIAL = str(ROOT / "examples" / "activator_processor" / "sequential.yaml")
TOKEN = "s3cr3t-t0ken-value"


def flowyard(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """The CLI in a subprocess with no connection settings but ``env``; and how long it took."""
    settings = {"HOME": str(tmp_path), "FLOWYARD_CONFIG": str(tmp_path / "none.yaml"), **env}
    start = time.monotonic()
    r = user_cli(*args, cwd=tmp_path, env=settings, unset=("KFP_", "KF_", "FLOWYARD_"), timeout=60)
    return r, time.monotonic() - start


def test_a_hanging_server_is_given_up_on_within_the_timeouts(tmp_path: Path) -> None:
    with kfp_server(fault="hang") as (url, _):
        r, seconds = flowyard(
            tmp_path, "submit", SEQUENTIAL, "-b", "kubeflow", "--server", url,
            FLOWYARD_READ_TIMEOUT="1", FLOWYARD_HTTP_RETRIES="1",
        )  # fmt: skip
    assert "did not answer within 1 s" in one_line_error(r, 3)
    assert seconds < 30


def test_a_watch_survives_a_server_failing_for_a_moment(tmp_path: Path) -> None:
    # health check, experiment list and create, run create go through; then three 503s: one poll fails
    # twice, the next recovers
    with kfp_server(fault="5xx", fault_after=4, fault_times=3) as (url, state):
        r, _ = flowyard(
            tmp_path, "submit", SEQUENTIAL, "-b", "kubeflow", "--server", url, "--watch", "-O", "poll_seconds=0.05",
            FLOWYARD_HTTP_RETRIES="1",
        )  # fmt: skip
        assert r.returncode == 0, r.stderr[-3000:]
        assert "Succeeded" in r.stdout
        assert state.fault_times == 0


def test_a_status_read_retries_a_503_then_succeeds(tmp_path: Path) -> None:
    with kfp_server() as (url, state):
        r, _ = flowyard(tmp_path, "submit", SEQUENTIAL, "-b", "kubeflow", "--server", url)
        assert r.returncode == 0, r.stderr
        (name,) = state.runs
        state.fault, state.fault_times = "5xx", 2
        r, _ = flowyard(tmp_path, "status", name, "-b", "kubeflow", "--server", url)
        assert r.returncode == 0, r.stderr[-3000:]
        assert state.fault_times == 0


BAD_RUN = {"run_id": "r1", "display_name": "r", "state": "RUNNING", "created_at": "yesterday"}


@pytest.mark.parametrize(
    ("fault", "settings", "expected"),
    [
        pytest.param("html", {}, "not JSON (text/html)"),
        pytest.param("malformed", {}, "not JSON"),
        pytest.param("wrong-shape", {}, "unexpected shape"),
        pytest.param("wrong-shape", {"wrong_shape": {"run_id": 5}}, "answered JSON of an unexpected shape"),
        pytest.param("huge", {"huge_bytes": 20 * 2**20}, "over 2,000,000 bytes"),
        pytest.param("redirect", {}, "redirects to http://127.0.0.2"),
        pytest.param("echo-token", {}, "refused the credentials (401)"),
    ],
)
@pytest.mark.parametrize("command", ["submit", "status"])
def test_a_broken_answer_is_one_line_and_exit_3(tmp_path: Path, command: str, fault: str, settings, expected) -> None:
    args = [SEQUENTIAL] if command == "submit" else ["wf"]
    with kfp_server(fault=fault, **settings) as (url, _):
        r, _ = flowyard(
            tmp_path, command, *args, "-b", "kubeflow", "--server", url, "--token", TOKEN,
            FLOWYARD_MAX_RESPONSE_BYTES="2000000",
        )  # fmt: skip
    err = one_line_error(r, 3)
    assert expected in err
    assert TOKEN not in r.stdout + r.stderr


def test_a_bad_timestamp_is_one_line_and_exit_3(tmp_path: Path) -> None:
    with kfp_server(fault="wrong-shape", wrong_shape=BAD_RUN) as (url, _):
        r, _ = flowyard(tmp_path, "status", "r1", "-b", "kubeflow", "--server", url)
    assert "created_at" in one_line_error(r, 3)
