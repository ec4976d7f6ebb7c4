"""The ``flowyard`` command group's own behaviour: click's usage errors printed with flowyard's one prefix
(``error: ...``), and secrets given as options remembered for ``--debug``'s redaction."""

from __future__ import annotations

import sys
from typing import Any

import click


class FlowyardGroup(click.Group):
    """click's group, printing click's own usage errors as flowyard prints its errors: ``error: ...``."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("standalone_mode", True):
            return super().main(*args, **kwargs)
        try:
            code = super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.ClickException as e:
            _show_click_error(e)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("interrupted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


def _show_click_error(e: click.ClickException) -> None:
    """A usage error as click lays it out (usage, then where to find help), with flowyard's prefix."""
    if type(e).show not in (click.ClickException.show, click.UsageError.show):
        e.show()  # a kind with a layout of its own, such as the help shown for no arguments
        return
    ctx = e.ctx if isinstance(e, click.UsageError) else None
    if ctx is not None:
        option = "--help" if "--help" in ctx.help_option_names else ctx.help_option_names[0]
        has_help = ctx.command.get_help_option(ctx) is not None
        hint = f"Try '{ctx.command_path} {option}' for help.\n" if has_help else ""
        click.echo(f"{ctx.get_usage()}\n{hint}", err=True, color=ctx.color)
    click.echo(f"error: {e.format_message()}", err=True)


def remember_secret(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A secret given on the command line is redacted from --debug output too."""
    from flowyard._debug import RedactingFilter

    redacting = ctx.find_root().obj
    if isinstance(redacting, RedactingFilter):
        redacting.add_secret(value)
    return value
