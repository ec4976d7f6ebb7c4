"""The on-exit step's ``${{ run.status }}``: ``Succeeded`` or ``Failed``, as the local run says it.

Argo's ``{{workflow.status}}`` is the workflow's phase, which is ``Error`` when a node errored (a value output the
step did not write, a pod that could not start): ``operator.go`` ``operate`` sets ``workflow.status`` from the
entry node's phase, ``NodeError`` to ``WorkflowError``, before it runs the exit handler. The step therefore
receives the status as an input parameter, and ``spec.onExit`` is a ``steps`` template holding two alternatives
of that step, one per status, chosen by ``when`` on ``'{{workflow.status}}' == 'Succeeded'`` or ``!=`` (no
expression tag: the phase never holds a quote).
"""

from __future__ import annotations

from typing import Any

from hera.workflows import Artifact, Parallel, Parameter, Step, Steps

EXIT_HANDLER = "flowyard-on-exit"
P_RUN_STATUS = "flowyard-run-status"
RUN_STATUS_TAG = f"{{{{inputs.parameters.{P_RUN_STATUS}}}}}"
SUCCEEDED = "'{{workflow.status}}' == 'Succeeded'"
NOT_SUCCEEDED = "'{{workflow.status}}' != 'Succeeded'"


def failed_step_name(dns: str) -> str:
    return f"{dns}-failed"


def exit_handler(dns: str, parameters: dict[str, str], artifacts: dict[str, dict[str, Any]]) -> Steps:
    """The ``spec.onExit`` template: the step ``dns`` once, with its status ``Succeeded`` or ``Failed``."""

    def alternative(name: str, status: str, when: str) -> Step:
        args: list[Any] = [Parameter(name=k, value=status if k == P_RUN_STATUS else v) for k, v in parameters.items()]
        args += [Artifact(name=k, **v) for k, v in artifacts.items()]
        return Step(name=name, template=dns, arguments=args or None, when=when)

    both = Parallel(
        sub_steps=[
            alternative(dns, "Succeeded", SUCCEEDED),
            alternative(failed_step_name(dns), "Failed", NOT_SUCCEEDED),
        ]
    )
    return Steps(name=EXIT_HANDLER, sub_steps=[both])
