"""The ``flowyard`` command line.

Only click is imported at start-up; every command imports what it needs, and backends are loaded
only when a command needs one, so ``flowyard --help`` never imports hera or kfp.

Exit codes: 0 ok · 1 a task failed · 2 usage, validation or refused feature · 3 infrastructure.
"""

from __future__ import annotations

import functools
import gc
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from flowyard import _completion as completion
from flowyard._cli_group import FlowyardGroup, remember_secret
from flowyard._cli_options import (
    backend_choice,
    backend_option,
    json_option,
    options_option,
    resumed_by,
    with_params,
)
from flowyard._version import __version__
from flowyard.errors import EXIT_INFRASTRUCTURE, FlowyardError

if TYPE_CHECKING:
    from flowyard.backend import Backend
    from flowyard.ir import PipelineIR
    from flowyard.plugins import BackendRegistry
    from flowyard.requests import Remote
    from flowyard.runs import RunStatus

F = TypeVar("F", bound=Callable[..., Any])


def _echo_json(data: Any) -> None:
    """JSON on stdout, after docs/cli.md's convention: indented on a terminal, compact into a pipe (as
    `gh api` does); echoed as bytes (as text, click would search it for colour codes JSON never has)."""
    from flowyard._json_output import render

    click.echo(render(data, indent=sys.stdout.isatty()))


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def expected_errors(fn: F) -> F:
    """Turn expected errors into a one-paragraph message and an exit code: never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FlowyardError as e:
            _fail(str(e), e.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            sys.exit(0)
        except OSError as e:
            _fail(f"{e.strerror or e}: {e.filename}" if e.filename else str(e), EXIT_INFRASTRUCTURE)

    return wrapper  # type: ignore[return-value]


def _registry() -> BackendRegistry:
    from flowyard.plugins import backend_registry

    return backend_registry()


def _debug(message: str, *args: Any) -> None:
    """A --debug line; logging is imported here, not at start (``flowyard --help`` does without it)."""
    import logging

    logging.getLogger(__name__).debug(message, *args)


def _backend(name: str, options: tuple[str, ...] = ()) -> Backend:
    from flowyard.backend import parse_option_pairs

    _debug("backend %s, options %s", name, list(options))
    return _registry().create(name, parse_option_pairs(list(options)))


def _load(pipeline: str) -> PipelineIR:
    from flowyard._loading import load_ir

    _debug("loading %s", pipeline)
    return load_ir(pipeline)


def _resolve_params(ir: PipelineIR, params: tuple[str, ...], params_file: str | None) -> dict[str, Any]:
    from flowyard._params import read_params_file, resolve_params

    values = read_params_file(params_file) if params_file else None
    return resolve_params(ir, params, values)


@click.group(cls=FlowyardGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="flowyard")
@click.option(
    "--debug",
    is_flag=True,
    envvar="FLOWYARD_DEBUG",
    help="Log what flowyard and its backends do on standard error, secrets redacted (also FLOWYARD_DEBUG=1).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Write a data pipeline once; run it on the engine of your choice.

    Pipelines are YAML/JSON files (apiVersion: flowyard/v1) or FILE.py:ATTRIBUTE. Backends are
    plugins: `local` runs here; `argo` and `kubeflow` compile for and submit to clusters.

    Exit codes: 0 ok, 1 a task failed, 2 usage or invalid spec or refused feature, 3 infrastructure.
    """
    if debug:
        from flowyard._debug import enable_debug_logging

        ctx.obj = enable_debug_logging()
        _debug("flowyard %s, Python %s", __version__, sys.version.split()[0])


@cli.command()
@json_option
@expected_errors
def backends(as_json: bool) -> None:
    """List installed backends: name, distribution, version, capabilities."""
    from flowyard._json_output import versioned

    infos = _registry().infos()
    if as_json:
        data = [
            {
                "name": i.name,
                "distribution": i.distribution,
                "version": i.version,
                "plugin": i.plugin,
                "description": i.backend_class.description,
                "capabilities": i.capabilities,
                "options": i.backend_class.Options.model_json_schema(),
            }
            for i in infos
        ]
        _echo_json(versioned({"backends": data}))
        return
    if not infos:
        click.echo("no backends installed")
        return
    width = max(len(i.name) for i in infos) + 2
    for i in infos:
        dist = f"{i.distribution} {i.version}" if i.distribution else f"(plugin {i.plugin})"
        click.echo(f"{i.name:<{width}}{dist}")
        caps = ", ".join(i.capabilities) or "none declared"
        click.echo(f"{'':<{width}}{i.backend_class.description}")
        click.echo(f"{'':<{width}}capabilities: {caps}")


@cli.command()
@click.argument("pipeline")
@backend_choice(default=None, help="Also report what this backend would refuse or ignore.")
@options_option
@expected_errors
def validate(pipeline: str, backend_name: str | None, options: tuple[str, ...]) -> None:
    """Check a pipeline spec (and, with --backend, that the backend can run it)."""
    ir = _load(pipeline)
    backend = _backend(backend_name, options) if backend_name is not None else None
    report = backend.check(ir) if backend is not None else None  # a refusal is the only line printed
    click.echo(f"{pipeline}: valid ({len(ir.steps)} steps{', on_exit' if ir.on_exit else ''})")
    if backend is not None and report is not None:
        for notice in report.notices():
            click.echo(f"notice: {notice}")
        click.echo(f"backend {backend.name}: supported")


@cli.command(name="compile")
@click.argument("pipeline")
@backend_choice(required=True, help="Engine to compile for.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of standard output.")
@options_option
@expected_errors
def compile_(pipeline: str, backend_name: str, output: str | None, options: tuple[str, ...]) -> None:
    """Compile a pipeline into the engine's own documents."""
    ir = _load(pipeline)
    compiled = _backend(backend_name, options).compile(ir)
    for notice in compiled.notices:
        click.echo(f"notice: {notice}", err=True)
    if output:
        for path in compiled.write(Path(output)):
            click.echo(f"wrote {path}", err=True)
    else:
        click.echo(compiled.main.content, nl=not compiled.main.content.endswith("\n"))


@cli.command()
@click.argument("pipeline", required=False)
@backend_option
@with_params
@options_option
@click.option(
    "--resume",
    metavar="RUN_ID",
    help="Continue a stopped or failed run; only unfinished tasks run.",
    shell_complete=completion.run_ids,
)
@click.option("--no-cache", is_flag=True, help="Do not reuse results of earlier runs.")
@click.option(
    "--step",
    "only_step",
    metavar="NAME",
    help="Run this one step alone (with --input for its files).",
    shell_complete=completion.step_names,
)
@click.option(
    "--input",
    "step_inputs",
    multiple=True,
    metavar="NAME=VALUE",
    help="An input of --step (repeatable): a file input takes a path, a value input JSON (or a JSON file).",
)
@click.option("--entrypoint", metavar="TEMPLATE", help="An engine manifest's entrypoint (e.g. an Argo Workflow).")
@click.option("--name", "run_name", metavar="NAME", help="An engine manifest's run name (e.g. metadata.name).")
@json_option
@expected_errors
def run(
    pipeline: str | None,
    backend_name: str,
    params: tuple[str, ...],
    params_file: str | None,
    options: tuple[str, ...],
    resume: str | None,
    no_cache: bool,
    only_step: str | None,
    step_inputs: tuple[str, ...],
    entrypoint: str | None,
    run_name: str | None,
    as_json: bool,
) -> None:
    """Run a pipeline here (local backend by default) and print its status tree.

    PIPELINE may also be an engine's own manifest that a backend plugin claims (e.g. an Argo Workflow).
    """
    from flowyard.runs import RunRequest, render_status_tree

    if pipeline is None and resume is None:
        raise click.UsageError("give a PIPELINE, or --resume RUN_ID")
    if pipeline is not None and resume is None:
        from flowyard.hookspecs import DocumentRun
        from flowyard.plugins import document_runner

        if (claimed := document_runner(pipeline)) is not None:  # an engine's own manifest, a plugin's to run
            if params_file or only_step or step_inputs or no_cache:
                raise click.UsageError("--params-file, --step, --input and --no-cache go with a flowyard pipeline")
            runner, document, beside = claimed
            sys.exit(runner(DocumentRun(pipeline, document, params, options, entrypoint, run_name, as_json, beside)))
    if entrypoint or run_name:
        raise click.UsageError("--entrypoint and --name go with an engine manifest, not a flowyard pipeline")
    ir = None
    values: dict[str, Any] = {}
    if resume is None:
        assert pipeline is not None
        ir = _load(pipeline)
        values = _resolve_params(ir, params, params_file)
    else:
        resume, backend_name = resumed_by(resume, backend_name)
    backend = _backend(backend_name, options)
    request = RunRequest(
        params=values,
        resume=resume,
        use_cache=not no_cache,
        only_step=only_step,
        step_inputs=_step_inputs(step_inputs, only_step),
        progress=(not as_json) and sys.stderr.isatty(),
        quiet=as_json,
    )
    # Everything loaded so far lives until the process exits: keep the cyclic collector from scanning it again and
    # again while the run allocates (Instagram's gc.freeze); what is made from here on is collected as usual.
    gc.freeze()
    status = backend.run(ir, request)
    if as_json:
        _echo_json(status.summary_json())
    else:
        click.echo(render_status_tree(status))
    sys.exit(status.exit_code)


def _step_inputs(pairs: tuple[str, ...], only_step: str | None) -> dict[str, Path]:
    """``--input NAME=PATH`` pairs, for the one step ``--step`` runs."""
    inputs = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep:
            raise click.UsageError(f"expected --input NAME=PATH, got {pair!r}")
        inputs[name] = Path(path)
    if inputs and not only_step:
        raise click.UsageError("--input goes with --step")
    return inputs


def _remote_run_options(fn: F) -> F:
    """``--backend`` plus the connection flags, for commands that look at an existing run."""
    fn = _remote_options(fn)
    return backend_choice(default=None, help="Ask this engine (a submitted run); default: a local run directory.")(fn)


def _remote_options(fn: F) -> F:
    opts = [
        click.option("--server", metavar="URL", help="Engine API server (else the backend's env var, then config)."),
        click.option("--namespace", "-n", metavar="NS", help="Kubernetes namespace."),
        click.option("--token", metavar="TOKEN", help="Bearer token.", callback=remember_secret),
        click.option("--insecure", is_flag=True, default=None, help="Do not verify the server's TLS certificate."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


@cli.command()
@click.argument("pipeline")
@backend_choice(required=True)
@with_params
@options_option
@_remote_options
@click.option("--experiment", metavar="NAME", help="Experiment to file the run under (kubeflow).")
@click.option("--watch", is_flag=True, help="Follow the run until it ends and print its status tree.")
@json_option
@expected_errors
def submit(
    pipeline: str,
    backend_name: str,
    params: tuple[str, ...],
    params_file: str | None,
    options: tuple[str, ...],
    server: str | None,
    namespace: str | None,
    token: str | None,
    insecure: bool | None,
    experiment: str | None,
    watch: bool,
    as_json: bool,
) -> None:
    """Send a pipeline to a remote engine (and, with --watch, follow it)."""
    from flowyard.backend import Capability
    from flowyard.requests import Remote, SubmitRequest
    from flowyard.runs import render_status_tree

    backend = _backend(backend_name, options)
    ir = _load(pipeline)
    values = _resolve_params(ir, params, params_file)
    remote = Remote(server=server, namespace=namespace, token=token, insecure=insecure)
    status = backend.submit(ir, SubmitRequest(params=values, remote=remote, experiment=experiment, watch=watch))
    if as_json:
        _echo_json(status.summary_json())
    else:
        click.echo(render_status_tree(status))
        if watch and status.exit_code and Capability.LOGS in backend.capabilities:
            _print_failed_logs(backend, status, remote)
    sys.exit(status.exit_code if watch else 0)


def _print_failed_logs(backend: Backend, status: RunStatus, remote: Remote) -> None:
    """After a watched run fails: the logs of the tasks that failed, as `argo logs` would show them."""
    from flowyard.requests import LogQuery

    failed = sorted({t.step for t in status.tasks if t.state.value in ("Failed", "Error")})
    for step in failed:
        click.echo(f"\n--- logs of {step} ---")
        for line in backend.logs(status.run_id, LogQuery(remote=remote, step=step)):
            click.echo(line)


@cli.command()
@click.argument("run_id", shell_complete=completion.run_ids)
@_remote_run_options
@json_option
@expected_errors
def status(
    run_id: str,
    backend_name: str | None,
    server: str | None,
    namespace: str | None,
    token: str | None,
    insecure: bool | None,
    as_json: bool,
) -> None:
    """Show a run's status tree."""
    from flowyard.requests import Remote
    from flowyard.runs import find_run, render_status_tree

    if backend_name is None:
        st = find_run(run_id).read_status()
    else:
        remote = Remote(server=server, namespace=namespace, token=token, insecure=insecure)
        st = _backend(backend_name).status(run_id, remote)
    if as_json:
        _echo_json(st.summary_json())
    else:
        click.echo(render_status_tree(st))


@cli.command()
@click.argument("run_id", shell_complete=completion.run_ids)
@click.argument("step", required=False, shell_complete=completion.step_names)
@click.option("--item", type=int, default=None, help="Only this fan-out item.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the run ends.")
@_remote_run_options
@expected_errors
def logs(
    run_id: str,
    step: str | None,
    item: int | None,
    follow: bool,
    backend_name: str | None,
    server: str | None,
    namespace: str | None,
    token: str | None,
    insecure: bool | None,
) -> None:
    """Print the logs of a run's tasks."""
    from flowyard.logs import follow_run_logs, read_run_logs
    from flowyard.requests import LogQuery, Remote
    from flowyard.runs import find_run

    if backend_name is None:
        run_dir = find_run(run_id)
        lines = follow_run_logs(run_dir, step, item) if follow else read_run_logs(run_dir, step, item)
        for line in lines:
            click.echo(line)
        return
    remote = Remote(server=server, namespace=namespace, token=token, insecure=insecure)
    for line in _backend(backend_name).logs(run_id, LogQuery(remote=remote, step=step, item=item, follow=follow)):
        click.echo(line)


@cli.command()
@click.option("--prune", is_flag=True, help="Delete old runs (see --keep and --older-than).")
@click.option("--keep", type=int, default=None, help="With --prune: keep this many newest runs.")
@click.option(
    "--older-than",
    default=None,
    metavar="DURATION",
    help="With --prune: only runs older than this (e.g. 7d).",
)
@json_option
@expected_errors
def runs(prune: bool, keep: int | None, older_than: str | None, as_json: bool) -> None:
    """List local runs, newest first (or prune old ones)."""
    from flowyard._json_output import versioned
    from flowyard.runs import format_duration, list_runs, prune_runs, run_listing

    if prune:
        removed = prune_runs(keep=keep, older_than=older_than)
        for r in removed:
            click.echo(f"deleted {r}")
        click.echo(f"{len(removed)} run(s) deleted")
        return
    if keep is not None or older_than is not None:
        raise click.UsageError("--keep and --older-than go with --prune")
    listing = run_listing(list_runs())
    if as_json:
        _echo_json(versioned({"runs": listing}))
        return
    if not listing:
        click.echo("no runs yet")
        return
    click.echo(f"{'RUN':<60}{'BACKEND':<10}{'STATUS':<11}DURATION")
    for row in listing:
        click.echo(
            f"{row['run_id']:<60}{row['backend']:<10}{row['status']:<11}{format_duration(row['duration_seconds'])}"
        )


@cli.command()
@click.argument("path", type=click.Path(exists=True))
@json_option
@expected_errors
def provenance(path: str, as_json: bool) -> None:
    """Print the chain of tasks that produced a file."""
    from flowyard._json_output import versioned
    from flowyard.provenance import format_chain, provenance_chain

    chain = provenance_chain(Path(path))
    if as_json:
        _echo_json(versioned({"chain": [{"depth": d, **r.model_dump(mode="json")} for d, r in chain]}))
    else:
        click.echo(format_chain(chain))


@cli.command()
@click.argument("pipeline")
@click.option("--backends", "backend_names", default=None, metavar="A,B", help="Only these backends.")
@click.option("--run", "run_too", is_flag=True, help="Also run it on the backends that can run here.")
@click.option(
    "-O",
    "--option",
    "backend_options",
    multiple=True,
    metavar="BACKEND.KEY=VALUE",
    help="An option for one backend (repeatable), e.g. argo.image_map=images.yaml.",
)
@with_params
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "html"]), default="table", show_default=True)
@json_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report here.")
@expected_errors
def compare(
    pipeline: str,
    backend_names: str | None,
    run_too: bool,
    backend_options: tuple[str, ...],
    params: tuple[str, ...],
    params_file: str | None,
    fmt: str,
    as_json: bool,
    output: str | None,
) -> None:
    """Compare how each installed backend maps (and, with --run, runs) a pipeline."""
    from flowyard._compare import compare_backends, render_report, report_json
    from flowyard._json_output import render

    ir = _load(pipeline)
    values = _resolve_params(ir, params, params_file)
    registry = _registry()
    names = [n.strip() for n in backend_names.split(",")] if backend_names else registry.names()
    report = compare_backends(ir, registry, names, run=run_too, params=values, options=backend_options)
    if as_json and not output:
        _echo_json(report_json(report))
        return
    text = render(report_json(report), indent=True).decode() if as_json else render_report(report, fmt)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)


@cli.command()
@click.option("--kind", type=click.Choice(["pipeline", "ir"]), default="pipeline", show_default=True)
@expected_errors
def schema(kind: str) -> None:
    """Print the JSON Schema of pipeline files (for editor completion), or of the IR."""
    if kind == "ir":
        from flowyard.ir import PipelineIR

        click.echo(json.dumps(PipelineIR.model_json_schema(), indent=2))
        return
    from flowyard.spec import pipeline_json_schema

    click.echo(json.dumps(pipeline_json_schema(), indent=2))


@cli.command()
@click.argument("pipeline")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True)
@expected_errors
def graph(pipeline: str, fmt: str) -> None:
    """Print the pipeline's graph as Mermaid or Graphviz dot."""
    from flowyard._graph import to_dot, to_mermaid

    ir = _load(pipeline)
    click.echo(to_mermaid(ir) if fmt == "mermaid" else to_dot(ir), nl=False)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point. click exits 2 on usage errors, as flowyard's exit codes say."""
    cli.main(args=argv, prog_name="flowyard")


if __name__ == "__main__":
    main()
