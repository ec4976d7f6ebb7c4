"""Strings for a container's ``command``, ``args`` and ``env`` values that the kubelet's ``$(VAR)`` expansion leaves
as flowyard means them.

The kubelet expands ``$(NAME)`` over the container's declared variables and turns ``$$`` into ``$`` (Kubernetes
``third_party/forked/golang/expansion/expand.go``; ``pkg/kubelet/container/helpers.go``
``ExpandContainerCommandAndArgs``; ``pkg/kubelet/kubelet_pods.go`` ``makeEnvironmentVariables``), after Argo has
substituted its ``{{...}}`` tags. Locally
nothing expands them, so every ``$`` must reach the kubelet doubled: in the text written here at compile time, and in
each value Argo substitutes at run time, through ``sprig.replace`` in an expression tag (a parameter could otherwise
hold ``$(AWS_SECRET_ACCESS_KEY)`` and put a secret into a command line).
"""

from __future__ import annotations

import functools
import re
from typing import Any

_TAG = re.compile(r"\{\{(=?)(.*?)\}\}", re.S)
_SIMPLE = re.compile(r"(workflow|inputs)\.parameters\.([-\w]+)")
# tags whose values are flowyard's own numbers: nothing to escape, no expression to evaluate per pod
_OWN = re.compile(r"inputs\.parameters\.flowyard-(index|count-[-\w]+|run-status)|item\.index|workflow\.status")


def escaped_for_kubelet(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (a workflow as a dict, changed in place) with every container's ``command``, ``args`` and ``env``
    values as the kubelet must read them: one pass over what the compiler wrote, so that no place that writes a
    container can forget it, and none escapes twice."""
    spec = document["spec"].get("workflowSpec", document["spec"])  # a CronWorkflow nests it
    for template in spec.get("templates") or []:
        container = template.get("container")
        if container is None:
            continue
        for key in ("command", "args"):
            if container.get(key):
                container[key] = [for_kubelet(a) for a in container[key]]
        for variable in container.get("env") or []:
            if isinstance(variable.get("value"), str):
                variable["value"] = for_kubelet(variable["value"])
    return document


@functools.lru_cache(maxsize=4096)  # a pure function of the text, and many steps render the same (a parameter's tag)
def for_kubelet(rendered: str) -> str:
    """``rendered`` (text and Argo tags) with every ``$`` the kubelet would read doubled, now or once substituted."""
    if "$" not in rendered and "{{" not in rendered:
        return rendered
    out: list[str] = []
    last = 0
    for tag in _TAG.finditer(rendered):
        out.append(rendered[last : tag.start()].replace("$", "$$"))
        out.append(_escaped(tag.group(0), tag.group(1) == "=", tag.group(2)))
        last = tag.end()
    out.append(rendered[last:].replace("$", "$$"))
    return "".join(out)


def _escaped(tag: str, is_expression: bool, body: str) -> str:
    if is_expression:
        inner = body.strip()
    elif _OWN.fullmatch(body.strip()):
        return tag
    elif (simple := _SIMPLE.fullmatch(body.strip())) is not None:
        inner = f"{simple.group(1)}.parameters['{simple.group(2)}']"
    else:
        return tag
    return "{{=sprig.replace('$', '$$', " + inner + ")}}"
