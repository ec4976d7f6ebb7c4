"""Shell completion (click's): backend names, run ids and step names.

Each function is a click ``shell_complete`` callback. A completion never fails loudly: whatever cannot
be read (no runs yet, a pipeline that does not load) completes to nothing. click's completion module
is imported only when completing (4 ms of every start otherwise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem


def backend_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    from flowyard.plugins import backend_registry

    try:
        names = backend_registry().names()
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the shell
        return []
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


def run_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Local runs, newest first."""
    from click.shell_completion import CompletionItem

    from flowyard.runs import list_runs

    try:
        ids = [d.run_id for d in list_runs()]
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the shell
        return []
    return [CompletionItem(i) for i in ids if i.startswith(incomplete)]


def step_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The steps of the run named earlier on the line (``logs RUN_ID``), else of its PIPELINE (``run --step``)."""
    from click.shell_completion import CompletionItem

    params = dict(ctx.params)
    if not params.get("pipeline"):  # an option still waiting for its value stops click's parsing early
        params["pipeline"] = next((a for a in ctx.args if not a.startswith("-")), None)
    try:
        names = _steps(params)
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the shell
        return []
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


def _steps(params: dict[str, Any]) -> list[str]:

    if params.get("run_id"):
        from flowyard.runs import find_run

        ir = find_run(params["run_id"]).read_ir()
    elif params.get("pipeline"):
        from flowyard._loading import load_ir

        ir = load_ir(params["pipeline"])
    else:
        return []
    steps = [*ir.steps, *([ir.on_exit] if ir.on_exit else [])]
    return [s.name for s in steps]
