"""The options several ``flowyard`` commands share, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from flowyard import _completion as completion

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_BACKEND = "local"


def backend_choice(**settings: Any) -> Callable[[F], F]:
    """``--backend NAME``, completing the installed backends' names."""
    return click.option(
        "--backend", "-b", "backend_name", metavar="NAME", shell_complete=completion.backend_names, **settings
    )


backend_option: Callable[[F], F] = backend_choice(
    default=DEFAULT_BACKEND, show_default=True, help="Engine to use (see `flowyard backends`)."
)
options_option: Callable[[F], F] = click.option(
    "-O",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="A backend option (repeatable); see `flowyard backends --json` for each backend's options.",
)
param_options: list[Callable[[F], F]] = [
    click.option(
        "--param",
        "-p",
        "params",
        multiple=True,
        metavar="NAME=VALUE",
        help="Set a parameter (JSON-parsed unless its type is string). Repeatable.",
    ),
    click.option("--params-file", type=click.Path(dir_okay=False), help="JSON or YAML mapping of parameter values."),
]
json_option: Callable[[F], F] = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def with_params(fn: F) -> F:
    for opt in reversed(param_options):
        fn = opt(fn)
    return fn


def resumed_by(resume: str, backend_name: str) -> tuple[str, str]:
    """(run id, backend) for ``--resume``: the run is continued by the backend that made it (its run.json says
    which) when ``--backend`` is not given; another one given is a usage error, not a failure to read the run."""
    from click.core import ParameterSource

    from flowyard.errors import FlowyardError
    from flowyard.runs import find_run

    try:
        directory = find_run(resume)
        made_by = directory.read_status().backend
    except (FlowyardError, ValueError):
        return resume, backend_name  # the backend says what is wrong with the run
    given = click.get_current_context().get_parameter_source("backend_name") is not ParameterSource.DEFAULT
    if given and made_by and made_by != backend_name:
        raise click.UsageError(
            f"run {directory.run_id!r} was made by the {made_by} backend: resume it with --backend {made_by}"
        )
    return directory.run_id, made_by or backend_name
