"""Retry decisions as processNodeRetries makes them: limit, policy, backoff, cap (3.7+), maxDuration."""

from __future__ import annotations

import time

import pytest
from flowyard.runs import TaskState
from flowyard_argo.executor.context import ExecutionError
from flowyard_argo.executor.retry import parse_duration, retry_delay, should_retry
from flowyard_argo.executor.versions import argo_version


@pytest.mark.parametrize(("text", "seconds"), [("5", 5.0), ("1m30s", 90.0), ("500ms", 0.5), ("2h", 7200.0), (3, 3.0)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_bad_duration_is_gos_message():
    with pytest.raises(ExecutionError, match='time: invalid duration "soon"'):
        parse_duration("soon")


@pytest.mark.parametrize(
    ("policy", "phase", "retries"),
    [
        (None, TaskState.FAILED, True),
        (None, TaskState.ERROR, False),
        ("Always", TaskState.ERROR, True),
        ("OnError", TaskState.FAILED, False),
        ("OnError", TaskState.ERROR, True),
        ("OnTransientError", TaskState.ERROR, False),
    ],
)
def test_policy(policy, phase, retries):
    assert should_retry({"limit": 3, "retryPolicy": policy}, phase, 0) is retries


def test_limit_counts_retries_not_attempts():
    strategy = {"limit": "2"}
    assert [should_retry(strategy, TaskState.FAILED, a) for a in range(3)] == [True, True, False]
    assert should_retry({}, TaskState.FAILED, 50)  # no limit: for ever


def test_backoff_grows_by_factor_and_cap_applies_from_3_7():
    strategy = {"backoff": {"duration": "1", "factor": 3, "cap": "2s"}}
    now = time.time()
    assert retry_delay(strategy, 0, now, argo_version("4.1.2")) == (1.0, False)
    assert retry_delay(strategy, 1, now, argo_version("4.1.2")) == (2.0, False)
    assert retry_delay(strategy, 1, now, argo_version("3.7.9")) == (2.0, False)
    assert retry_delay(strategy, 1, now, argo_version("3.6.19")) == (3.0, False)


def test_max_duration_counts_from_the_first_attempt():
    strategy = {"backoff": {"duration": "10", "maxDuration": "5"}}
    assert retry_delay(strategy, 0, time.time(), argo_version("4.1.2")) == (0.0, True)  # would exceed it
    assert retry_delay(strategy, 0, time.time() - 60, argo_version("4.1.2")) == (0.0, True)  # exceeded


def test_no_base_duration():
    with pytest.raises(ExecutionError, match="no base duration specified for retryStrategy"):
        retry_delay({"backoff": {"factor": 2}}, 0, time.time(), argo_version("4.1.2"))
