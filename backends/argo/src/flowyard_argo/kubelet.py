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

_TAG = re.compile(r"\{\{(=?)(.*?)\}\}", re.S)
_SIMPLE = re.compile(r"(workflow|inputs)\.parameters\.([-\w]+)")
# tags whose values are flowyard's own numbers: nothing to escape, no expression to evaluate per pod
_OWN = re.compile(r"inputs\.parameters\.flowyard-(index|count-[-\w]+|run-status)|item\.index|workflow\.status")


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
