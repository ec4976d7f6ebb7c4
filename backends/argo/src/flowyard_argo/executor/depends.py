"""DAG dependencies: ``depends`` logic as ``workflow/common/ancestry.go`` rewrites it, evaluated as ``dag.go`` does.

``dependencies: [a]`` and a bare ``a`` in ``depends`` both mean ``(a.Succeeded || a.Skipped || a.Daemoned)``, plus
``a.Errored``/``a.Failed`` when task ``a`` has ``continueOn``. The rewritten logic is evaluated (``argoexpr.EvalBool``)
over each dependency's result flags, with ``-`` in task names read as ``_``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

RESULTS = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "AnySucceeded", "AllFailed")
ITEM_RESULTS = ("AnySucceeded", "AllFailed")
_TASK_NAME = re.compile(r"([a-zA-Z0-9][-a-zA-Z0-9]*?\.[A-Z][a-zA-Z]+)|([a-zA-Z0-9][-a-zA-Z0-9]*)")
_TASK_RESULT = re.compile(r"([a-zA-Z0-9][-a-zA-Z0-9]*?\.[A-Z][a-zA-Z]+)")


class DependsError(ValueError):
    """Logic the controller cannot evaluate."""


def _expand(dep: str, dep_task: Mapping[str, Any] | None) -> str:
    """``expandDependency``: what depending on a bare task name means."""
    results = ["Succeeded", "Skipped", "Daemoned"]
    continue_on = (dep_task or {}).get("continueOn") or {}
    if continue_on.get("error"):
        results.append("Errored")
    if continue_on.get("failed"):
        results.append("Failed")
    return "(" + " || ".join(f"{dep}.{r}" for r in results) + ")"


def depends_logic(task: Mapping[str, Any], tasks: Mapping[Any, Mapping[str, Any]]) -> str:
    """``GetTaskDependencies``' second result: the task's logic with bare names expanded."""
    depends = task.get("depends") or ""
    if not depends:
        return " && ".join(_expand(d, tasks.get(d)) for d in task.get("dependencies") or [])
    out: list[str] = []
    pos = 0
    for match in _TASK_NAME.finditer(depends):
        if match.group(2) is not None:
            out.append(depends[pos : match.start()])
            out.append(_expand(match.group(2), tasks.get(match.group(2))))
            pos = match.end()
    out.append(depends[pos:])
    return "".join(out)


def dependency_names(task: Mapping[str, Any], tasks: Mapping[Any, Mapping[str, Any]]) -> list[str]:
    """The tasks this one waits for (``GetTaskDependencies``' keys), in first-mention order."""
    depends = task.get("depends") or ""
    if not depends:
        return list(dict.fromkeys(task.get("dependencies") or []))
    # expanding a bare name (depends_logic) names no other task: read the names from the text as written
    names: dict[str, None] = {}
    for match in _TASK_NAME.finditer(depends):
        text = match.group(1) or match.group(2)
        names[text.split(".")[0]] = None
    return list(names)


def validate_task_results(depends: str) -> str | None:
    """``ValidateTaskResults``: the message for a result name the controller does not know."""
    for match in _TASK_RESULT.finditer(depends):
        task_name, result = match.group(1).split(".")
        if result not in RESULTS:
            return f"task result '{result}' for task '{task_name}' is invalid"
    return None


_TOKEN = re.compile(r"\s*(\|\||&&|!|\(|\)|[A-Za-z0-9_][A-Za-z0-9_]*(?:\.[A-Za-z]+)?)")


def evaluate(logic: str, results: Mapping[str, Mapping[str, bool]]) -> bool:
    """Evaluate rewritten logic; ``results`` maps a task name (``-`` as ``_``) to its result flags."""
    text = logic.replace("-", "_")
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            if text[pos:].strip() == "":
                break
            raise DependsError(f"unable to evaluate expression '{text}': unexpected {text[pos:].strip()[:1]!r}")
        tokens.append({"and": "&&", "or": "||", "not": "!"}.get(match.group(1), match.group(1)))
        pos = match.end()
    parser = _BoolParser(tokens, results, text)
    value = parser.disjunction()
    if parser.pos != len(tokens):
        raise DependsError(f"unable to evaluate expression '{text}': unexpected token {tokens[parser.pos]!r}")
    return value


_OPEN = "("
_LITERALS = {"true": True, "false": False}


class _BoolParser:
    def __init__(self, tokens: list[str], results: Mapping[str, Mapping[str, bool]], text: str) -> None:
        self.tokens, self.results, self.text, self.pos = tokens, results, text, 0

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def disjunction(self) -> bool:
        value = self.conjunction()
        while self._peek() == "||":
            self.pos += 1
            right = self.conjunction()
            value = value or right
        return value

    def conjunction(self) -> bool:
        value = self.negation()
        while self._peek() == "&&":
            self.pos += 1
            right = self.negation()
            value = value and right
        return value

    def negation(self) -> bool:
        if self._peek() == "!":
            self.pos += 1
            return not self.negation()
        return self.atom()

    def atom(self) -> bool:
        token = self._peek()
        if token is None:
            raise DependsError(f"unable to evaluate expression '{self.text}': unexpected end")
        self.pos += 1
        if token == _OPEN:
            value = self.disjunction()
            if self._peek() != ")":
                raise DependsError(f"unable to evaluate expression '{self.text}': missing ')'")
            self.pos += 1
            return value
        if token in _LITERALS:
            return _LITERALS[token]
        name, _, result = token.partition(".")
        if name not in self.results or result not in RESULTS:
            raise DependsError(f"unable to evaluate expression '{self.text}': unknown name {token}")
        return bool(self.results[name].get(result, False))
