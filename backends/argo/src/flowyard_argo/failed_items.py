"""A loop wrapped for its ``parallelism`` under ``failure_policy: continue`` still fails the run when an item fails.

The wrapper keeps ``continueOn: {failed: true}`` on its loop, so that it succeeds and sets its aggregated outputs
(``dag.go`` ``assessDAGPhase`` passes over a target that continues on its phase), and the run would end
``Succeeded``. The loop's task group is ``Failed`` all the same (``executeDAGTask``'s ``groupPhase`` reads only its
children, v3.6.19 to v4.1.2): the wrapper hands that phase out as ``flowyard-status``, and a check task in ``main``,
run only when it is not ``Succeeded``, fails with a message naming the step. It starts no pod otherwise.
"""

from __future__ import annotations

from hera.workflows import Container, Parameter, Task
from hera.workflows import models as m

CHECK = "flowyard-check"
P_STATUS = "flowyard-status"


def check_task(dns: str) -> str:
    return f"{dns}-check"


def status_output(dns: str) -> Parameter:
    """The wrapper's output holding its loop's task-group phase (``buildLocalScope``'s ``tasks.X.status``)."""
    return Parameter(name=P_STATUS, value_from=m.ValueFrom(parameter=f"{{{{tasks.{dns}.status}}}}"))


def failed_items_check(step: str, dns: str) -> Task:
    """The task in ``main`` that fails when step ``dns``'s wrapped loop had a failed item."""
    return Task(
        name=check_task(dns),
        template=CHECK,
        arguments=[Parameter(name="message", value=f"step {step!r}: an item failed (the others ran: continue)")],
        depends=dns,
        when=f"'{{{{tasks.{dns}.outputs.parameters.{P_STATUS}}}}}' != 'Succeeded'",
    )


def check_template(image: str, pull_policy: str | None) -> Container:
    """Exits non-zero with its message (an argv element, never a shell)."""
    return Container(
        name=CHECK,
        image=image,
        image_pull_policy=pull_policy,
        command=["python3", "-c", "import sys; sys.exit(sys.argv[1])", "{{inputs.parameters.message}}"],
        inputs=[Parameter(name="message")],
    )
