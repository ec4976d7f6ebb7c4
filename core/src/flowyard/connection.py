"""A remote engine reached and a run sent to it: what every backend that submits shares.

:class:`EngineSettings` names where one engine's settings come from; :meth:`Connection.resolve` turns
a :class:`flowyard.requests.Remote` into settled ones (each from the flag, else the engine's environment
variable, else the config file) and :meth:`Connection.client` into the HTTP client every remote call
goes through (its failures are one line and exit code 3). :func:`submitted_run` is the end of every
``_submit``: the run's ``PENDING`` status, or with ``watch`` the status of the run followed to its end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from flowyard.config import flag_setting, resolve_setting, server_url
from flowyard.remote import HttpSettings, RemoteClient
from flowyard.requests import Remote
from flowyard.runs import RunStatus, TaskState

C = TypeVar("C", bound="Connection")


@dataclass(frozen=True)
class EngineSettings:
    """Where one engine's connection settings come from: its config section (``backend``), how
    messages name its server (``engine``), and its environment variables, first one first."""

    backend: str
    engine: str
    server_env: Sequence[str]
    namespace_env: Sequence[str] = ()
    token_env: Sequence[str] = ()
    insecure_env: Sequence[str] = ()


@dataclass(frozen=True)
class Connection:
    """A remote engine's settled settings. ``namespace`` is ``""`` when none is given anywhere (the
    server's own default); the token is left out of ``repr`` so that it never reaches a log."""

    server: str
    namespace: str
    token: str | None = field(repr=False)
    insecure: bool
    settings: EngineSettings

    @classmethod
    def resolve(cls: type[C], remote: Remote, settings: EngineSettings, default_namespace: str = "") -> C:
        """Each setting from ``remote``, else the engine's environment variable, else the config file;
        a server given nowhere is a one-line error saying where to give one."""
        backend = settings.backend
        return cls(
            server=server_url(backend, settings.engine, remote.server, list(settings.server_env)),
            namespace=resolve_setting(backend, "namespace", remote.namespace, settings.namespace_env)
            or default_namespace,
            token=resolve_setting(backend, "token", remote.token, settings.token_env),
            insecure=flag_setting(backend, "insecure", remote.insecure, settings.insecure_env),
            settings=settings,
        )

    def client(self) -> RemoteClient:
        """The HTTP client for this engine: timeouts, bounded retries and bodies, one-line errors."""
        return RemoteClient(
            self.server,
            engine=self.settings.engine,
            token=self.token,
            insecure=self.insecure,
            settings=HttpSettings.resolve(self.settings.backend),
        )


def submitted_run(
    *, backend: str, pipeline: str, run_id: str, link: str, watch: bool, follow: Callable[[], RunStatus]
) -> RunStatus:
    """A run the engine just created: ``PENDING`` with the command that follows it, or, with
    ``watch``, what ``follow`` returns (the run polled to its end, and recorded)."""
    if watch:
        return follow()
    return RunStatus(
        run_id=run_id,
        pipeline=pipeline,
        backend=backend,
        state=TaskState.PENDING,
        message=f"submitted; follow it with: flowyard status {run_id} --backend {backend}",
        location=link,
    )


__all__ = ["Connection", "EngineSettings", "submitted_run"]
