"""A container's environment as the kubelet builds it (``makeEnvironmentVariables`` in Kubernetes'
``pkg/kubelet/kubelet_pods.go``): ``envFrom`` sources first, in order, then ``env`` entries over them;
``valueFrom`` reads a Secret or ConfigMap key. Argo passes the pod spec's ``env``/``envFrom`` as written
(``workflow/controller/workflowpod.go``), so these are the kubelet's rules.

What the kubelet cannot resolve stops the container with ``CreateContainerConfigError`` (on a cluster the node then
waits Pending with that reason, ``operator.go`` ``getPendingReason``; here it errors, with the same words).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowyard_argo.executor.artifacts.secrets import SecretError, Secrets
from flowyard_argo.executor.configmaps import ConfigMapError, ConfigMaps
from flowyard_argo.executor.expansion import expand

ENV_VAR_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")  # validation.IsEnvVarName (apimachinery)
CONFIG_ERROR = "CreateContainerConfigError"


class PodEnvError(LookupError):
    """A key or object the container's environment names that cannot be had (the kubelet's words)."""


@dataclass(frozen=True)
class PodEnv:
    """The container's variables; ``secret_names``: those whose value came from a Secret (masked in records)."""

    values: Mapping[str, str]
    secret_names: frozenset[str]
    skipped: tuple[str, ...] = ()  # the kubelet's InvalidEnvironmentVariableNames events


def pod_env(body: Mapping[str, Any], namespace: str, secrets: Secrets, configmaps: ConfigMaps) -> PodEnv:
    """The container's ``envFrom`` then ``env`` resolved (:class:`PodEnvError` as the kubelet fails)."""
    values: dict[str, str] = {}
    secret: set[str] = set()
    skipped: list[str] = []
    for source in body.get("envFrom") or []:
        prefix = str(source.get("prefix") or "")
        is_secret = source.get("secretRef") is not None
        ref = source.get("secretRef") if is_secret else source.get("configMapRef")
        if not isinstance(ref, Mapping):
            continue
        name = str(ref.get("name") or "")
        data = _whole(name, is_secret, secrets, configmaps, bool(ref.get("optional")))
        if data is None:
            continue
        invalid = []
        for key, value in data.items():
            if not ENV_VAR_NAME.fullmatch(prefix + key):
                invalid.append(prefix + key)
                continue
            values[prefix + key] = value
            (secret.add if is_secret else secret.discard)(prefix + key)
        if invalid:
            kind = "secret" if is_secret else "configMap"
            skipped.append(
                f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {kind} {namespace}/{name} were skipped "
                "since they are considered invalid environment variable names."
            )
    for entry in body.get("env") or []:
        name = str(entry.get("name"))
        source = entry.get("valueFrom")
        if source is None:  # a value is expanded over the variables declared before it; one from a source is not
            value = str(entry.get("value", ""))
            values[name] = expand(value, values.get) if "$" in value else value
            secret.discard(name)
            continue
        found = _key_value(source, namespace, secrets, configmaps)
        if found is None:
            continue
        values[name] = found[0]
        (secret.add if found[1] else secret.discard)(name)
    return PodEnv(values, frozenset(secret), tuple(skipped))


def _whole(
    name: str, is_secret: bool, secrets: Secrets, configmaps: ConfigMaps, optional: bool
) -> dict[str, str] | None:
    """Every key of a Secret or ConfigMap (``None``: missing and optional)."""
    try:
        return secrets.data(name) if is_secret else configmaps.data(name)
    except (SecretError, ConfigMapError):
        if optional:
            return None
        raise PodEnvError(f'{CONFIG_ERROR}: {"secrets" if is_secret else "configmaps"} "{name}" not found') from None


def _key_value(
    source: Mapping[str, Any], namespace: str, secrets: Secrets, configmaps: ConfigMaps
) -> tuple[str, bool] | None:
    """(value, from a Secret) of a ``secretKeyRef``/``configMapKeyRef`` (``None``: missing and optional)."""
    is_secret = source.get("secretKeyRef") is not None
    ref = source.get("secretKeyRef") if is_secret else source.get("configMapKeyRef")
    if not isinstance(ref, Mapping):
        raise PodEnvError("env valueFrom: neither secretKeyRef nor configMapKeyRef")  # refusals name the others
    name, key = str(ref.get("name") or ""), str(ref.get("key") or "")
    optional = bool(ref.get("optional"))
    kind = "Secret" if is_secret else "ConfigMap"
    if is_secret:
        try:
            data = secrets.data(name)
        except SecretError:
            data = None
        if data is None or key not in data:
            try:  # the environment stands in for a single key
                return secrets.value({"name": name, "key": key}) or "", True
            except SecretError:
                pass
    else:
        try:
            data = configmaps.data(name)
        except ConfigMapError:
            data = None
            try:
                return configmaps.value(name, key, parameter=False), False
            except ConfigMapError:
                pass
    if data is not None and key in data:
        return data[key], is_secret
    if optional:
        return None
    if data is None:
        raise PodEnvError(f'{CONFIG_ERROR}: {kind.lower()}s "{name}" not found')
    raise PodEnvError(f"{CONFIG_ERROR}: couldn't find key {key} in {kind} {namespace}/{name}")
