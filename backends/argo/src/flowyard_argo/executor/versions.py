"""The Argo releases the executor follows, and the rules that differ between them."""

from __future__ import annotations

from dataclasses import dataclass

ARGO_VERSIONS = ("3.6.19", "3.7.9", "4.1.2")
DEFAULT_ARGO_VERSION = ARGO_VERSIONS[-1]


@dataclass(frozen=True)
class ArgoVersion:
    """One pinned controller release and the behaviour switches read from its source."""

    name: str

    @property
    def major(self) -> int:
        return int(self.name.split(".")[0])

    @property
    def string_item_decoded(self) -> bool:
        """v4 ``processItem`` gives a string item through ``GetStrVal`` (decoded); v3 through ``Item.String``."""
        return self.major >= 4

    @property
    def absent_optionals(self) -> bool:
        """v4 keeps skipped outputs as nil scope values that fail substitution by name."""
        return self.major >= 4

    @property
    def when_first(self) -> bool:
        """v4 resolves a step's/task's ``when`` first and, when it is false, returns it with the rest unresolved
        (``steps.go`` ``resolveReferences``, ``dag.go`` ``resolveDependencyReferences``); 3.x replaces all first."""
        return self.major >= 4

    @property
    def strict_references(self) -> bool:
        """v4 resolves a step/task with ``ReplaceStrict``: ``steps``/``tasks`` tags must resolve; 3.x leaves them
        as text (``template.Replace(..., true)``), so an unresolved reference reaches the container literally."""
        return self.major >= 4

    @property
    def pkg_expr_functions(self) -> bool:
        """3.6 takes ``asInt``/``asFloat``/``string`` from ``argoproj/pkg`` ``expr/function.go`` (``ParseInt``); 3.7+
        aliases expr's builtins (``util/expr/env/env.go`` ``GetFuncMap``)."""
        return self.name == "3.6.19"

    @property
    def backoff_cap(self) -> bool:
        """``retryStrategy.backoff.cap`` exists from 3.7."""
        return self.name != "3.6.19"

    @property
    def names_failed_container(self) -> bool:
        """From 3.7 a failed pod's message starts with the failed container's name (``operator.go``
        ``inferFailedReason``: ``main: Error (exit code 1)``)."""
        return self.name != "3.6.19"

    @property
    def offloads_large_args(self) -> bool:
        """From 4.0.10/4.1 ``args`` over 131,072 bytes of JSON go to a ConfigMap and emissary hands each argument
        over that size to the program as ``@FILE`` (``workflowpod.go``, ``cmd/argoexec/commands/emissary.go``)."""
        return self.major >= 4

    @property
    def crd_limits(self) -> bool:
        """v4's CRDs cap a DAG's tasks and a workflow's templates (``maxItems: 200``)."""
        return self.major >= 4


def argo_version(name: str | None) -> ArgoVersion:
    """The pinned release called ``name`` (a leading ``v`` is allowed); the newest when ``None``."""
    if name is None:
        return ArgoVersion(DEFAULT_ARGO_VERSION)
    bare = name[1:] if name.startswith("v") else name
    if bare not in ARGO_VERSIONS:
        raise ValueError(f"argo_version {name!r} is not one the executor follows: {', '.join(ARGO_VERSIONS)}")
    return ArgoVersion(bare)
