"""Read a compiled Argo manifest back into the core's structural summary (for the contract suite).

It parses what Argo would read (DAG tasks, ``depends``, ``withItems``/``withParam``, the item
helper's arguments, artifact ``from`` and keys), not anything flowyard wrote for itself.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from flowyard.summary import ArtifactWire, FanOutSummary, StructuralSummary

from flowyard_argo.failed_items import CHECK
from flowyard_argo.inlining import outlined
from flowyard_argo.names import ENTRY, HELPER, HELPER_FILE, loop_template
from flowyard_argo.nesting import NOTHING, PART
from flowyard_argo.on_exit import EXIT_HANDLER
from flowyard_argo.retry_boundary import attempts_template
from flowyard_argo.scalar_checks import is_values_template

_TASK_OUTPUT = re.compile(r"\{\{tasks\.([-a-z0-9]+)\.outputs\.(?:parameters|artifacts)\.([-\w]+)\}\}")
_STATUS = re.compile(r"\{\{tasks\.([-a-z0-9]+)\.status\}\}")
_WF_PARAM = re.compile(r"\{\{workflow\.parameters\.([-\w]+)\}\}")
_KEY = re.compile(r"\{\{workflow\.name\}\}/([-a-z0-9]+)/([-\w]+)(/\{\{inputs\.parameters\.flowyard-index\}\}/.*)?$")


def _args(task: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in task.get("arguments", {}).get(kind, [])}


def summarize_manifest(text: str) -> StructuralSummary:
    doc = outlined(yaml.safe_load(text))  # a step template written inline is read as one of the templates
    spec = doc["spec"].get("workflowSpec", doc["spec"])  # a CronWorkflow nests it
    templates = {t["name"]: t for t in spec["templates"]}
    tasks = entry_tasks(templates)
    helpers = {t["name"]: t for t in tasks if t["template"] in (HELPER, HELPER_FILE)}
    steps = [
        t for t in tasks if t["template"] not in (HELPER, HELPER_FILE, CHECK) and not is_values_template(t["template"])
    ]
    names = {t["name"] for t in steps}

    edges = []
    fan_outs = []
    wires = []
    for task in steps:
        # task names in the logic, each once (``X.Succeeded || X.Failed`` waits for X in any outcome)
        for dep in dict.fromkeys(
            re.findall(r"(?<![\w.-])([-a-z0-9]+)(?=\.[A-Z]|[\s)&|]|$)", task.get("depends") or "")
        ):
            if dep in names:
                edges.append((dep, task["name"]))
        template = templates[task["template"]]
        parallelism = None
        loop_task = task
        if task["template"] == loop_template(task["name"]):  # a parallelism wrapper: the loop is inside
            parallelism = template.get("parallelism")
            loop_task = template["dag"]["tasks"][0]
            template = templates[loop_task["template"]]
        template = _container(templates, template)
        wires += _wires(task, template, loop_task)
        if "withItems" in loop_task or "withParam" in loop_task:
            source, over = _fan_out_source(task, loop_task, helpers, template)
            fan_outs.append(FanOutSummary(step=task["name"], source=source, over_fanout=over, parallelism=parallelism))
    return StructuralSummary(
        steps=tuple(sorted(names)),
        edges=tuple(sorted(edges)),
        fan_outs=tuple(sorted(fan_outs, key=lambda f: f.step)),
        parallelism=spec.get("parallelism"),
        artifacts=tuple(sorted(wires, key=lambda w: (w.consumer, w.input))),
        on_exit=_exit_step(spec, templates),
    )


def _container(templates: dict[str, Any], template: dict[str, Any]) -> dict[str, Any]:
    """The container a step's template stands for: a retried step's own DAG calls it (:mod:`retry_boundary`)."""
    tasks = (template.get("dag") or {}).get("tasks") or []
    if len(tasks) == 1 and tasks[0].get("template") == attempts_template(template["name"]):
        return dict(templates[tasks[0]["template"]])
    return template


def entry_tasks(templates: dict[str, Any]) -> list[dict[str, Any]]:
    """``main``'s tasks as one DAG: a pipeline over 200 tasks is nested (:mod:`flowyard_argo.nesting`); each part's
    inputs read back as the tags its producer's part exports, each gate as the task whose phase it tests."""
    tasks = templates[ENTRY]["dag"]["tasks"]
    if not any(t["template"].startswith(PART) for t in tasks):
        return list(tasks)
    exported: dict[str, str] = {}
    for t in tasks:
        for out in (templates[t["template"]].get("outputs") or {}).values():
            for o in out:
                exported[o["name"]] = o.get("from") or o["valueFrom"]["parameter"]
    text = json.dumps([templates[t["template"]]["dag"]["tasks"] for t in tasks])
    text = re.sub(r"\{\{inputs\.(?:parameters|artifacts)\.([-\w]+)\}\}", lambda m: exported[m.group(1)], text)
    flat = [task for part in json.loads(text) for task in part]
    gates = {t["name"]: _STATUS.search(t["when"]).group(1) for t in flat if t["template"] == NOTHING}  # type: ignore[union-attr]
    for t in flat:
        if t.get("depends"):
            t["depends"] = re.sub(r"([-a-z0-9]+)\.Succeeded", lambda m: gates.get(m.group(1), m.group(0)), t["depends"])
    return [t for t in flat if t["template"] != NOTHING]


def _exit_step(spec: dict[str, Any], templates: dict[str, Any]) -> str | None:
    """The on-exit step: flowyard's handler runs it by run status (:mod:`flowyard_argo.on_exit`)."""
    name = spec.get("onExit")
    if name == EXIT_HANDLER and "steps" in templates.get(name, {}):
        return str(templates[name]["steps"][0][0]["template"])
    return name


def _fan_out_source(
    task: dict[str, Any], loop_task: dict[str, Any], helpers: dict[str, Any], template: dict[str, Any]
) -> tuple[str, bool]:
    # over a fanned-out step's files: each item reads the upstream item's indexed key
    for art in template.get("inputs", {}).get("artifacts", []):
        key = art.get("s3", {}).get("key", "")
        m = _KEY.search(key)
        if m and m.group(3):
            return f"step:{m.group(1)}.{m.group(2)}", True
    if "withItems" in loop_task:
        return f"literal:{len(loop_task['withItems'])}", False
    helper = helpers[f"{task['name']}-items"]
    args = {k: v.get("value", "") for k, v in _args(helper, "parameters").items()}
    if helper["template"] == HELPER_FILE:  # the upstream list as a file: its artifact names the producer
        data = _args(helper, "artifacts")["data"]
        frm = data["raw"]["data"] if "raw" in data else data["from"]  # a parameter's value, or a step's file
        args["data"] = frm.replace(".outputs.artifacts.flowyard-list-", ".outputs.parameters.")
    if not args["data"].startswith("{{"):  # a literal for_each list, given to the helper as JSON
        return f"literal:{len(json.loads(args['data']))}", False
    if (p := _WF_PARAM.fullmatch(args["data"])) is not None:
        return f"param:{p.group(1)}", False
    up = _TASK_OUTPUT.fullmatch(args["data"])
    assert up is not None, args["data"]
    return f"step:{up.group(1)}.{up.group(2)}", args["mode"] == "gather"


def _wires(task: dict[str, Any], template: dict[str, Any], loop_task: dict[str, Any]) -> list[ArtifactWire]:
    consumer = task["name"]
    wires = []
    passed = {**_args(loop_task, "artifacts"), **_args(task, "artifacts")}  # a wrapper's outer task names the producer
    for art in template.get("inputs", {}).get("artifacts", []):
        name = art["name"]
        if "raw" in art:  # a value written to a file in the pod (a large aggregate), not a wire between steps
            continue
        if "s3" in art:
            m = _KEY.search(art["s3"]["key"])
            assert m is not None, art["s3"]["key"]
            wire = ArtifactWire(producer=m.group(1), output=m.group(2), consumer=consumer, input=name)
            wires.append(wire.model_copy(update={"collect": not m.group(3)}))
            continue
        frm = passed.get(name, {}).get("from", "")
        up = _TASK_OUTPUT.fullmatch(frm)
        assert up is not None, frm
        wires.append(ArtifactWire(producer=up.group(1), output=up.group(2), consumer=consumer, input=name))
    return wires
