"""Expected refusals read as passing checks, not as skips: a pytest plugin for the contract kit.

A contract test that meets a feature the backend does not declare first checks that the backend
refuses it by name, then ends with :class:`ExpectedRefusal`. Without this plugin that reads as a skip
(one ``SKIPPED`` line each under ``-ra``, which looks broken); with it, the test counts as passed,
``-v`` says ``REFUSED``, and one summary line counts them. Other skips (a missing tool, an absent
folder) stay skips. Enable it in a ``conftest.py``: ``pytest_plugins = ["flowyard.testing.refusals"]``.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from flowyard.backend import Backend, Capability, OperationNotSupportedError
from flowyard.errors import UnsupportedFeatureError
from flowyard.ir import PipelineIR

REFUSAL_PROPERTY = "flowyard_expected_refusal"


class ExpectedRefusal(pytest.skip.Exception):  # type: ignore[name-defined,misc]
    """The test's backend refused, by name, what the test needs: the refusal was the check."""


def expect_refusal(backend: Backend, ir: PipelineIR) -> None:
    """Check that ``backend`` refuses ``ir`` by name before it starts, then end the test as a refusal."""
    report = backend.support(ir)
    assert report.refused, f"{backend.name} accepts {ir.name}: nothing to refuse"
    with pytest.raises(UnsupportedFeatureError) as exc:
        backend.check(ir)
    assert exc.value.refusals == tuple(report.refusal_lines())
    raise ExpectedRefusal(f"{backend.name} refuses {ir.name}: {'; '.join(exc.value.refusals)}")


def expect_undeclared(backend: Backend, capabilities: list[Capability]) -> None:
    """Check that ``backend`` refuses each operation it does not declare, then end the test as a refusal."""
    for capability in capabilities:
        with pytest.raises(OperationNotSupportedError):
            backend.require(capability)
    names = ", ".join(c.value for c in capabilities)
    raise ExpectedRefusal(f"backend {backend.name!r} does not declare {names}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(ExpectedRefusal):
        report.user_properties = [*report.user_properties, (REFUSAL_PROPERTY, str(call.excinfo.value))]
    return report


def _is_refusal(report: pytest.TestReport | pytest.CollectReport) -> bool:
    return any(name == REFUSAL_PROPERTY for name, _ in getattr(report, "user_properties", ()))


def pytest_report_teststatus(
    report: pytest.TestReport | pytest.CollectReport, config: pytest.Config
) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
    if report.skipped and _is_refusal(report):
        return "passed", ".", ("REFUSED", {"green": True})
    return None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    refusals = sum(1 for r in terminalreporter.stats.get("passed", []) if _is_refusal(r))
    if refusals:
        terminalreporter.write_line(
            f"{refusals} of the passed tests checked an expected refusal: a backend refusing, by name, a feature"
            " it does not declare (`-v` lists them as REFUSED)"
        )
