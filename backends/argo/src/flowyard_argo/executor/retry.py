"""Retries as ``processNodeRetries`` (``workflow/controller/operator.go``) decides them.

Attempts are counted against ``limit`` (``limit + 1`` attempts in all; no limit retries for ever). The policy
(default ``OnFailure``) says which phases retry: ``Always`` both, ``OnFailure`` Failed only, ``OnError`` Error only,
``OnTransientError`` none here (no transient Kubernetes errors happen on this machine). Backoff waits
``duration * factor^(n-1)`` after the n-th attempt (capped by ``cap`` from 3.7), and gives up once
``maxDuration``, counted from the first attempt's start, is or would be exceeded.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from flowyard.runs import TaskState
from flowyard_argo.executor.context import ExecutionError
from flowyard_argo.executor.expr.controller import eval_bool, retry_scope
from flowyard_argo.executor.expr.errors import ExprError
from flowyard_argo.executor.template import TemplateError, replace_tags
from flowyard_argo.executor.versions import ArgoVersion

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(value: Any) -> float:
    """``ParseStringToDuration``: a bare number is seconds, else a Go duration (``1m30s``)."""
    text = str(value).strip()
    if re.fullmatch(r"\d+", text):
        return float(text)
    pos, total = 0, 0.0
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    while pos < len(text):
        match = _PART.match(text, pos)
        if not match:
            raise ExecutionError(f'time: invalid duration "{value}"')
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not text:
        raise ExecutionError(f'time: invalid duration "{value}"')
    return sign * total


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        raise ExecutionError(f"retryStrategy: {value!r} is not an integer") from None


def should_retry(strategy: Mapping[str, Any], phase: TaskState, attempt: int) -> bool:
    """Whether attempt ``attempt`` (0-based) ending in ``phase`` is followed by another."""
    policy = strategy.get("retryPolicy") or ("Always" if strategy.get("expression") else "OnFailure")
    retry_on = {
        "Always": {TaskState.FAILED, TaskState.ERROR},
        "OnFailure": {TaskState.FAILED},
        "OnError": {TaskState.ERROR},
        "OnTransientError": set(),
    }
    if policy not in retry_on:
        raise ExecutionError(f"{policy} is not a valid RetryPolicy")
    if phase not in retry_on[policy]:
        return False
    limit = _int(strategy.get("limit"))
    return limit is None or attempt + 1 <= limit


def expression_stops(strategy: Mapping[str, Any], attempts: int, last: Any, version: ArgoVersion) -> bool:
    """``retryStrategy.expression`` over the last attempt (``buildRetryStrategyLocalScope``): false stops retrying,
    the node ending as that attempt did with ``retryStrategy.expression evaluated to false``. The expression is the
    attempt's substituted template's (its ``{{inputs...}}`` tags resolved); node times are whole seconds, as the
    controller reads them back from the stored status, so ``lastRetry.duration`` is too."""
    source = strategy.get("expression")
    if not source:
        return False
    inputs = {f"inputs.parameters.{p['name']}": p.get("value") for p in (last.inputs or {}).get("parameters") or []}
    try:
        text = replace_tags(str(source), inputs, allow_unresolved=True, version=version)
    except TemplateError as e:
        raise ExecutionError(str(e)) from None
    started, ended = int(last.started_at or time.time()), int(last.finished_at or time.time())
    scope = retry_scope(attempts, last.outputs.get("exitCode"), last.phase.value, ended - started, last.message or "")
    try:
        return not eval_bool(text, scope, legacy=version.pkg_expr_functions)
    except ExprError as e:
        raise ExecutionError(str(e)) from None


def retry_delay(
    strategy: Mapping[str, Any], attempt: int, first_start: float, version: ArgoVersion
) -> tuple[float, bool]:
    """(seconds to wait before the next attempt, whether ``maxDuration`` makes it give up instead)."""
    backoff = strategy.get("backoff")
    if not backoff:
        return 0.0, False
    deadline = None
    if backoff.get("maxDuration"):
        deadline = first_start + parse_duration(backoff["maxDuration"])
        if time.time() > deadline:
            return 0.0, True
    if not backoff.get("duration"):
        raise ExecutionError("no base duration specified for retryStrategy")
    wait = parse_duration(backoff["duration"])
    factor = _int(backoff.get("factor"))
    if factor is not None and factor > 0:
        wait *= float(factor) ** attempt
    if backoff.get("cap") and version.backoff_cap:
        wait = min(wait, parse_duration(backoff["cap"]))
    if deadline is not None and time.time() + wait > deadline:
        return 0.0, True
    return wait, False
