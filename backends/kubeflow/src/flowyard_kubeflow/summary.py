"""Read a compiled KFP package back into the core's structural summary (for the contract suite).

It walks what a KFP server reads: the root DAG and every DAG component (``for-loop-N`` groups,
conditions, the exit handler, ``STEP-fanout`` sub-pipelines), iterators and their items, task
dependencies, and where each artifact input comes from, tracing group inputs up to their producer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from flowyard.summary import ArtifactWire, FanOutSummary, StructuralSummary

EXIT_STRATEGY = "ALL_UPSTREAM_TASKS_COMPLETED"


@dataclass(frozen=True)
class _Scope:
    """Where a DAG sits: its parent scope, the task in the parent that runs it."""

    component: str
    task: dict[str, Any] | None
    parent: _Scope | None


class _Package:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.components = doc.get("components", {})

    def dag(self, scope: _Scope) -> dict[str, Any]:
        comp = self.doc["root"] if scope.component == "root" else self.components[scope.component]
        dag: dict[str, Any] = comp["dag"]
        return dag

    def is_leaf(self, task: dict[str, Any]) -> bool:
        return "executorLabel" in self.components[task["componentRef"]["name"]]

    def leaves(self, scope: _Scope) -> list[tuple[str, dict[str, Any], _Scope]]:
        out = []
        for name, task in self.dag(scope).get("tasks", {}).items():
            if self.is_leaf(task):
                out.append((name, task, scope))
            else:
                out += self.leaves(_Scope(task["componentRef"]["name"], task, scope))
        return out

    def steps_in(self, name: str, scope: _Scope) -> list[str]:
        """The step names a task of ``scope`` stands for (itself, or every step inside a group)."""
        task = self.dag(scope)["tasks"][name]
        if self.is_leaf(task):
            return [name]
        if name.endswith("-fanout"):
            return [name.removesuffix("-fanout")]
        return [n for n, _, _ in self.leaves(_Scope(task["componentRef"]["name"], task, scope))]

    def producer(self, spec: dict[str, Any], scope: _Scope, kind: str) -> tuple[str, str, bool] | None:
        """(step, output, collected) that feeds an input spec, traced up through group inputs."""
        while True:
            src = spec.get(f"taskOutput{kind}")
            if src is not None:
                task = src["producerTask"]
                key = src[f"output{kind}Key"]
                if task.endswith("-fanout"):
                    return task.removesuffix("-fanout"), key, True
                inner = self.dag(scope)["tasks"][task]
                if not self.is_leaf(inner):  # a loop group's collected output: follow its selector
                    comp = self.components[inner["componentRef"]["name"]]
                    selectors = comp["dag"]["outputs"][f"{kind.lower()}s"][key]
                    sel = selectors[f"{kind.lower()}Selectors"][0] if kind == "Artifact" else selectors
                    if kind == "Artifact":
                        return sel["producerSubtask"], _strip_suffix(sel["outputArtifactKey"]), True
                    sel = sel["valueFromParameter"]
                    return sel["producerSubtask"], sel["outputParameterKey"], True
                return task, key, False
            parent_name = spec.get(f"componentInput{kind}")
            if parent_name is None or scope.task is None or scope.parent is None:
                return None
            inputs = scope.task.get("inputs", {}).get(f"{kind.lower()}s", {})
            loop_item = _loop_item(scope.task)
            if parent_name == loop_item and parent_name not in inputs:
                return None  # the loop's own item
            if parent_name not in inputs:
                return None
            spec, scope = inputs[parent_name], scope.parent


def _loop_item(task: dict[str, Any]) -> str | None:
    it = task.get("parameterIterator") or task.get("artifactIterator")
    return it.get("itemInput") if it else None


def _strip_suffix(key: str) -> str:
    """``pipelinechannel--activator-event`` (a group's output key) -> ``event``... not needed for
    the sub-pipeline case; kept for plain loop groups, whose keys are ``pipelinechannel--STEP-OUT``."""
    return key.split("-", 1)[-1] if key.startswith("pipelinechannel--") else key


def summarize_package(text: str) -> StructuralSummary:
    doc = next(d for d in yaml.safe_load_all(text) if d)
    pkg = _Package(doc)
    root = _Scope("root", None, None)
    root_tasks = pkg.dag(root)["tasks"].items()
    exit_task = next((n for n, t in root_tasks if t.get("triggerPolicy", {}).get("strategy") == EXIT_STRATEGY), None)
    leaves = [(n, t, s) for n, t, s in pkg.leaves(root) if n != exit_task]
    names = {n for n, _, _ in leaves}
    edges: set[tuple[str, str]] = set()
    fan_outs = []
    wires = []
    for name, task, scope in leaves:
        # dependencies: the task's own, and those of every group it sits in
        s: _Scope | None = scope
        deps = [(d, scope) for d in task.get("dependentTasks", [])]
        while s is not None and s.task is not None and s.parent is not None:
            deps += [(d, s.parent) for d in s.task.get("dependentTasks", [])]
            s = s.parent
        for dep, where in deps:
            for up in pkg.steps_in(dep, where):
                if up in names and up != name:
                    edges.add((up, name))
        # the loop it runs in
        loop = next((sc for sc in _chain(scope) if sc.task is not None and _loop_item(sc.task)), None)
        if loop is not None:
            fan_outs.append(_chained_fan_out(pkg, name, task, scope) or _fan_out(pkg, name, loop))
        for arg, spec in task.get("inputs", {}).get("artifacts", {}).items():
            found = pkg.producer(spec, scope, "Artifact")
            if found is None and loop is not None and loop.task is not None and "artifactIterator" in loop.task:
                # the loop's item: item i of the fanned-out producer (one item, not the collection)
                items = loop.task["inputs"]["artifacts"][loop.task["artifactIterator"]["items"]["inputArtifact"]]
                fanned = pkg.producer(items, loop.parent, "Artifact") if loop.parent is not None else None
                found = (fanned[0], fanned[1], False) if fanned is not None else None
            if found is None:
                continue
            producer, output, collect = found
            output = _output_name(pkg, producer, output)
            wires.append(ArtifactWire(producer=producer, output=output, consumer=name, input=arg, collect=collect))
    return StructuralSummary(
        steps=tuple(sorted(names)),
        edges=tuple(sorted(edges)),
        fan_outs=tuple(sorted(fan_outs, key=lambda f: f.step)),
        parallelism=None,
        artifacts=tuple(sorted(wires, key=lambda w: (w.consumer, w.input))),
        on_exit=exit_task,
    )


def _chain(scope: _Scope) -> list[_Scope]:
    out = []
    s: _Scope | None = scope
    while s is not None:
        out.append(s)
        s = s.parent
    return out


def _output_name(pkg: _Package, step: str, key: str) -> str:
    """An output named like one of the step's inputs is ``NAME_output`` in the package."""
    comp = next(
        pkg.components[t["componentRef"]["name"]] for n, t, _ in pkg.leaves(_Scope("root", None, None)) if n == step
    )
    inputs = set(comp.get("inputDefinitions", {}).get("artifacts", {})) | set(
        comp.get("inputDefinitions", {}).get("parameters", {})
    )
    base = key.removesuffix("_output")
    return base if key.endswith("_output") and base in inputs else key


def _chained_fan_out(pkg: _Package, step: str, task: dict[str, Any], scope: _Scope) -> FanOutSummary | None:
    """A step chained inside another step's loop (:mod:`flowyard_kubeflow.chains`): it takes its
    item from a task of the same loop."""
    siblings = pkg.dag(scope).get("tasks", {})
    for kind in ("Parameter", "Artifact"):
        for spec in task.get("inputs", {}).get(f"{kind.lower()}s", {}).values():
            src = spec.get(f"taskOutput{kind}")
            if src is not None and src["producerTask"] in siblings and pkg.is_leaf(siblings[src["producerTask"]]):
                producer = src["producerTask"]
                output = _output_name(pkg, producer, src[f"output{kind}Key"])
                return FanOutSummary(step=step, source=f"step:{producer}.{output}", over_fanout=True)
    return None


def _fan_out(pkg: _Package, step: str, loop: _Scope) -> FanOutSummary:
    task = loop.task
    assert task is not None and loop.parent is not None
    parallelism = task.get("iteratorPolicy", {}).get("parallelismLimit")
    if "artifactIterator" in task:
        spec = task["inputs"]["artifacts"][task["artifactIterator"]["items"]["inputArtifact"]]
        found = pkg.producer(spec, loop.parent, "Artifact")
        assert found is not None
        source = f"step:{found[0]}.{_output_name(pkg, found[0], found[1])}"
        return FanOutSummary(step=step, source=source, over_fanout=True, parallelism=parallelism)
    items = task["parameterIterator"]["items"]
    if "raw" in items:
        import json

        return FanOutSummary(step=step, source=f"literal:{len(json.loads(items['raw']))}", parallelism=parallelism)
    spec = task["inputs"]["parameters"][items["inputParameter"]]
    scope = loop.parent
    while "componentInputParameter" in spec and scope.task is not None and scope.parent is not None:
        spec, scope = scope.task["inputs"]["parameters"][spec["componentInputParameter"]], scope.parent
    if "componentInputParameter" in spec:
        return FanOutSummary(step=step, source=f"param:{spec['componentInputParameter']}", parallelism=parallelism)
    if "runtimeValue" in spec:
        import json

        value = spec["runtimeValue"]["constant"]
        count = len(value if isinstance(value, list) else json.loads(value))
        return FanOutSummary(step=step, source=f"literal:{count}", parallelism=parallelism)
    src = spec["taskOutputParameter"]
    producer = src["producerTask"]
    over = producer.endswith("-fanout")
    producer = producer.removesuffix("-fanout")
    source = f"step:{producer}.{src['outputParameterKey']}"
    return FanOutSummary(step=step, source=source, over_fanout=over, parallelism=parallelism)
