"""What the controller puts in a fanned-out container's argv, item by item, per pinned Argo version.

Built on the executor's value model (``flowyard_argo.executor``): the item list comes from the manifest's
``withItems`` or, for ``withParam``, from running the compiled item helper's own script on the values the
controller would pass it; each item then goes through ``processItem`` (``operator.go``), and the step's
container template through ``substituteParams``' two passes (``common/util.go`` ``ProcessArgs``) and
``substitutePodParams`` (``workflowpod.go``), in that order.

:func:`expression` follows ``expressionReplace`` (``util/template/expression_template.go``) for the expression
forms the compiler writes into a container, ``jsonpath(item.KEY, '$.v')`` (``util/expr/env``) and a parameter, each
maybe inside ``sprig.replace('$', '$$', ...)`` (:mod:`flowyard_argo.kubelet`), and refuses any other, so a test never
passes on an expression it does not model. Last, the kubelet expands the container's ``$(VAR)``s
(:mod:`flowyard_argo.executor.expansion`).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowyard_argo.executor import gojson
from flowyard_argo.executor.expansion import expand, expand_all
from flowyard_argo.executor.items import Item, items_from_param
from flowyard_argo.executor.loops import child_name, item_values
from flowyard_argo.executor.template import TemplateError, replace_tags, substitute_object, unmarshal_after_replace
from flowyard_argo.executor.versions import ArgoVersion
from flowyard_argo.helper import COUNT_PATH, ITEMS_PATH, SCRIPT

_JSONPATH_V = re.compile(r"""^\s*jsonpath\(\s*(item\.[\w-]+|inputs\.parameters\['[\w-]+'\])\s*,\s*'\$\.v'\s*\)\s*$""")
_PARAMETER = re.compile(r"""^\s*(workflow|inputs)\.parameters\['([\w-]+)'\]\s*$""")
_FOR_KUBELET = re.compile(r"""^\s*sprig\.replace\('\$', '\$\$', (.*)\)\s*$""", re.S)


class Refused(Exception):
    """The controller (or the compiled helper) stops the workflow here; the message says why."""


def expression(scope: Mapping[str, str | None], *, allow_unresolved: bool = False) -> Any:
    """An expression hook for ``replace_tags``: ``jsonpath(REF, '$.v')`` evaluated as Argo would.

    ``REF`` is ``item.KEY`` (in ``processItem``) or ``inputs.parameters['NAME']`` (in the template's
    second pass). A reference not in scope keeps the tag as written when unresolved tags are allowed
    (``expressionReplace``'s compile error with ``allowUnresolved``), else fails.
    """

    def evaluate(text: str) -> str:
        source = json.loads(f'"{text}"')  # the template is JSON text: the expression is unescaped first
        wrapped = _FOR_KUBELET.match(source)
        inner = wrapped.group(1) if wrapped else source
        found, parameter = _JSONPATH_V.match(inner), _PARAMETER.match(inner)
        if found is None and parameter is None:
            raise AssertionError(f"expression not modelled: {source!r}")
        if found is not None:
            ref = found.group(1)
            key = "inputs.parameters." + ref[len("inputs.parameters['") : -2] if ref.startswith("inputs.") else ref
        else:
            assert parameter is not None
            key = f"{parameter.group(1)}.parameters.{parameter.group(2)}"
        document = scope.get(key)
        if document is None:
            if allow_unresolved:
                return "{{=" + text + "}}"
            raise TemplateError(f"failed to evaluate expression: {key} is missing")
        try:
            value = gojson.decode(document)["v"] if found is not None else document  # jsonPath's json.Unmarshal
        except (gojson.GoJSONError, KeyError, TypeError) as e:
            raise TemplateError(f"failed to evaluate expression: {e}") from None
        if wrapped:
            value = value.replace("$", "$$")
        marshaled = gojson.marshal(value)
        if marshaled.startswith('"'):
            return marshaled[1:-1]
        return gojson.go_quote(marshaled)[1:-1]

    return evaluate


def templates(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {t["name"]: t for t in doc["spec"]["templates"]}


def workflow_parameters(doc: Mapping[str, Any]) -> dict[str, str]:
    params = (doc["spec"].get("arguments") or {}).get("parameters") or []
    return {f"workflow.parameters.{p['name']}": p["value"] for p in params if "value" in p}


def run_helper(doc: Mapping[str, Any], helper_task: Mapping[str, Any], tmp: Path) -> str:
    """The item helper's ``items`` output: its script run on its substituted arguments (a ``raw`` data artifact's
    text in place of the path it is written to, as the file helper's ``READ_DATA`` does)."""
    args = substitute_object(helper_task["arguments"], workflow_parameters(doc), allow_unresolved=False)
    values = {p["name"]: p["value"] for p in args["parameters"]}
    for art in args.get("artifacts") or []:  # a parameter's value as a raw artifact: the file READ_DATA reads
        if art["name"] == "data" and "raw" in art:
            values["data"] = art["raw"]["data"]
    items_file, count_file = tmp / "items", tmp / "count"
    script = SCRIPT.replace(ITEMS_PATH, str(items_file)).replace(COUNT_PATH, str(count_file))
    script = script.replace('"/tmp/flowyard"', repr(str(tmp)))
    argv = [sys.executable, "-c", script, values["mode"], values["data"], values["count"], values["fields"]]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise Refused(done.stderr.strip().splitlines()[-1])
    return items_file.read_text(encoding="utf-8")


def loop_of(doc: Mapping[str, Any], step: str) -> tuple[dict[str, Any], list[Item] | str]:
    """The looping task of ``step`` and its items (or the helper task's name when they come from it)."""
    tpls = templates(doc)
    main = tpls["main"]["dag"]["tasks"]
    outer = next(t for t in main if t["name"] == step)
    task = outer
    if "withItems" not in outer and "withParam" not in outer:
        task = next(t for t in tpls[outer["template"]]["dag"]["tasks"] if t["name"] == step)
    if "withItems" in task:
        return task, [Item.of(v) for v in task["withItems"]]
    param = task["withParam"]
    if param.startswith("{{inputs.parameters."):
        name = param[len("{{inputs.parameters.") : -2]
        param = next(p["value"] for p in outer["arguments"]["parameters"] if p["name"] == name)
    helper = param[len("{{tasks.") :].split(".")[0]
    return task, helper


def deliver(doc: Mapping[str, Any], step: str, version: ArgoVersion, tmp: Path) -> list[list[str]]:
    """Each item's container argv (command + args), in item order, as the controller would start it."""
    task, items = loop_of(doc, step)
    if isinstance(items, str):
        helper_task = next(t for t in templates(doc)["main"]["dag"]["tasks"] if t["name"] == items)
        items = items_from_param(run_helper(doc, helper_task, tmp))
    body = {k: v for k, v in task.items() if k not in ("withItems", "withParam")}
    return [argv_of(doc, body, i, item, version) for i, item in enumerate(items)]


def argv_of(doc: Mapping[str, Any], body: Mapping[str, Any], index: int, item: Item, version: ArgoVersion) -> list[str]:
    values, desc = item_values(item, version)
    child_name(body["name"], index, desc)
    scope: dict[str, str | None] = dict(values)
    text = replace_tags(gojson.marshal(dict(body)), scope, allow_unresolved=False, expression=expression(scope))
    try:
        resolved = unmarshal_after_replace(text)
    except TemplateError as e:
        raise Refused(str(e)) from None
    return pod_argv(doc, resolved)


def plain_argv(doc: Mapping[str, Any], step: str) -> list[str]:
    """The argv of a task that does not loop: its arguments resolved against the globals
    (``dag.go`` ``resolveDependencyReferences``), then the template's passes."""
    task = next(t for t in templates(doc)["main"]["dag"]["tasks"] if t["name"] == step)
    globals_ = {**workflow_parameters(doc), "workflow.name": "wf", "workflow.namespace": "argo"}
    try:
        resolved = substitute_object(task, globals_, allow_unresolved=True)
    except TemplateError as e:
        raise Refused(str(e)) from None
    return pod_argv(doc, resolved)


def pod_argv(doc: Mapping[str, Any], resolved: Mapping[str, Any]) -> list[str]:
    """A resolved task's container argv after ``substituteParams`` and ``substitutePodParams``."""
    template = dict(templates(doc)[resolved["template"]])
    arguments = {p["name"]: p["value"] for p in (resolved.get("arguments") or {}).get("parameters") or []}
    inputs = [dict(p, value=arguments[p["name"]]) for p in (template.get("inputs") or {}).get("parameters") or []]
    template["inputs"] = {**(template.get("inputs") or {}), "parameters": inputs}
    globals_ = {**workflow_parameters(doc), "workflow.name": "wf", "workflow.namespace": "argo"}
    try:
        # substituteParams: globals over the whole template (inputs' values included), then the inputs
        passed = substitute_object(
            template, globals_, allow_unresolved=True, expression=expression(globals_, allow_unresolved=True)
        )
        local = {f"inputs.parameters.{p['name']}": p["value"] for p in passed["inputs"]["parameters"]}
        passed = substitute_object(passed, local, allow_unresolved=True, expression=expression(local))
        # substitutePodParams: globals, inputs and pod.name over the pod (its container)
        pod_scope = {**globals_, **local, "pod.name": "wf-1"}
        pod = substitute_object(passed["container"], pod_scope, allow_unresolved=True, expression=expression(pod_scope))
    except TemplateError as e:
        raise Refused(str(e)) from None
    env: dict[str, str] = {}
    for entry in pod.get("env") or []:  # makeEnvironmentVariables: each value over those declared before it
        if "value" in entry:
            env[entry["name"]] = expand(str(entry["value"]), env.get)
    return expand_all([*pod.get("command", []), *pod.get("args", [])], env)
