"""Expressions the controller evaluates outside ``{{=...}}`` tags, over the same expanded environment:
``argoexpr.EvalBool`` (``retryStrategy.expression``), ``wfScope.resolveParameter`` (an output parameter's
``valueFrom.expression``) and ``wfScope.resolveArtifact`` (``fromExpression``), ``workflow/controller/scope.go``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowyard_argo.executor.expr.environment import expand
from flowyard_argo.executor.expr.errors import ExprError
from flowyard_argo.executor.expr.evaluate import evaluate
from flowyard_argo.executor.expr.parser import parse
from flowyard_argo.executor.expr.values import format_float_v, format_v


def eval_bool(source: str, values: Mapping[str, Any], *, legacy: bool = False) -> bool:
    """``argoexpr.EvalBool``: the expression must give a boolean."""
    try:
        result = evaluate(parse(source), expand(values), legacy=legacy)
    except ExprError as e:
        raise ExprError(f"unable to evaluate expression '{source}': {e}") from None
    if not isinstance(result, bool):
        raise ExprError(f"unable to cast expression result '{format_v(result)}' to bool")
    return result


def retry_scope(attempts: int, exit_code: str | None, phase: str, seconds: float, message: str) -> dict[str, str]:
    """``buildRetryStrategyLocalScope``: ``retries`` (0-based, the last attempt's), ``lastRetry.*``."""
    return {
        "retries": str(attempts - 1),
        "lastRetry.exitCode": exit_code if exit_code is not None else "-1",
        "lastRetry.status": phase,
        "lastRetry.duration": format_float_v(float(seconds)),
        "lastRetry.message": message,
    }


def parameter_value(source: str, values: Mapping[str, Any], *, legacy: bool = False) -> str:
    """``resolveParameter`` with an expression: the result as ``AnyStringPtr`` writes it (``%v``); nil fails."""
    result = evaluate(parse(source), expand(values), legacy=legacy)
    if result is None:
        raise ExprError(f'failed to evaluate expression "{source}"')
    return format_v(result)


def artifact_value(
    source: str, values: Mapping[str, Any], artifacts: Mapping[str, dict[str, Any]], *, legacy: bool = False
) -> dict[str, Any]:
    """``resolveArtifact`` with ``fromExpression``: the scope's artifacts join its values; the result must be one."""
    result = evaluate(parse(source), expand({**values, **artifacts}), legacy=legacy)
    if not any(result is art for art in artifacts.values()):
        raise ExprError(f"Variable {{{{{source}}}}} is not an artifact")
    return result  # type: ignore[no-any-return]
