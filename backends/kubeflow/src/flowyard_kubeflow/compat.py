"""The server-compatibility pass: what a KFP server's own compiler and driver reject or ignore in a
pipeline package, per server version.

kfp.local and the strict ``PipelineSpec`` parse accept packages a server refuses; the server turns a
package into an Argo Workflow (``backend/src/v2/compiler/argocompiler``) and resolves each task's
inputs at run time (``backend/src/v2/driver``). Each rule below names the upstream file and function
it was read from (kubeflow/pipelines at tags 2.5.0, 2.14.0 and 2.17.0). ``rejected``: the server
refuses the package or fails the run; ``ignored``: the server runs it but drops the setting.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

VERSIONS = ("2.5", "2.14", "2.17")
DEFAULT_VERSION = VERSIONS[-1]

Effect = Literal["rejected", "ignored"]


def minor_version(version: str) -> int:
    return int(version.split(".")[1])


@dataclass(frozen=True)
class Rule:
    name: str
    effect: Effect
    what: str
    upstream: str  # file and function, at the tags it holds for
    before: str | None = None  # holds for server versions before this one only

    def holds_for(self, version: str) -> bool:
        return self.before is None or minor_version(version) < minor_version(self.before)


ARGO = "backend/src/v2/compiler/argocompiler"
RULES = {
    r.name: r
    for r in (
        Rule(
            "artifact-iterator",
            "rejected",
            "a ParallelFor over artifacts (artifactIterator): 'artifact iterator not implemented yet'",
            f"{ARGO}/dag.go, DAG; backend/src/v2/driver/dag.go, DAG (2.5.0: driver/driver.go, DAG)",
        ),
        Rule(
            "both-iterators",
            "rejected",
            "a task with both parameterIterator and artifactIterator",
            f"{ARGO}/dag.go, DAG",
        ),
        Rule(
            "importer-condition",
            "rejected",
            "an importer task under a condition: 'triggerPolicy.condition on importer task is not supported'",
            f"{ARGO}/dag.go, task",
        ),
        Rule(
            "resolver", "rejected", "a resolver executor: 'resolver executors not implemented'", f"{ARGO}/dag.go, task"
        ),
        Rule("custom-job", "rejected", "a customJob executor (Google Cloud only)", f"{ARGO}/dag.go, task"),
        Rule(
            "exit-tasks-only",
            "rejected",
            "a DAG whose every task is an exit task: 'must contain one or more non-exit tasks'",
            f"{ARGO}/dag.go, DAG",
        ),
        Rule(
            "retry-in-parallel-for",
            "ignored",
            "set_retry on a task inside a ParallelFor: no retry per item (kubeflow/pipelines 12389, 13897)",
            f"{ARGO}/dag.go, iterationItemTask (no RetryStrategy on the iteration)",
        ),
        Rule(
            "retry-outside-root-dag",
            "ignored",
            "set_retry on a task inside a group (loop, condition, exit handler, sub-pipeline): only root tasks retry",
            f"{ARGO}/container.go, getTaskRetryPolicySpec (reads root.dag.tasks only)",
            before="2.14",
        ),
        Rule(
            "sub-second-backoff",
            "ignored",
            "a retry backoff duration with a fraction of a second: the server keeps whole seconds",
            f"{ARGO}/container.go, getTaskRetryParametersWithValues (2.5.0: getTaskRetryStrategy), Duration.Seconds",
        ),
        Rule(
            "fractional-backoff-factor",
            "rejected",
            "a fractional retry backoff factor: 2.5 truncates it to an integer; 2.14+ hand it to Argo as text, "
            "which Argo cannot read as an integer when it retries",
            f"{ARGO}/container.go, getTaskRetryParametersWithValues / getTaskRetryStrategyFromInput (2.5.0: "
            "getTaskRetryStrategy, int32); argo-workflows util/intstr/parametrizable.go, Int (processNodeRetries)",
        ),
        Rule(
            "task-final-status",
            "rejected",
            "a PipelineTaskFinalStatus input (the on-exit step's status): 'task final status not supported yet'",
            f"{ARGO}/dag.go, addImplicitDependencies (2.5.0); supported from 2.14.0 (kubeflow/pipelines 11953, "
            "driver/resolve.go, resolveInputParameter)",
            before="2.14",
        ),
        Rule(
            "collected",
            "rejected",
            "dsl.Collected (a fan-in of a ParallelFor's outputs): the driver reads one producer, not every item",
            "backend/src/v2/driver/driver.go, resolveUpstreamParameters / resolveUpstreamArtifacts (2.5.0); "
            "collected from 2.14.0 (kubeflow/pipelines 11725)",
            before="2.14",
        ),
    )
}


@dataclass(frozen=True)
class Finding:
    rule: Rule
    where: str

    def line(self) -> str:
        return f"{self.rule.name} ({self.where}: {self.rule.what}; upstream: {self.rule.upstream})"


def _dags(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    if "dag" in doc.get("root", {}):
        yield "root", doc["root"]["dag"]
    for name, comp in doc.get("components", {}).items():
        if "dag" in comp:
            yield name, comp["dag"]


def _loop_bodies(doc: dict[str, Any]) -> set[str]:
    """Components run once per item, and every DAG component inside one."""
    bodies: set[str] = set()
    todo = [
        t["componentRef"]["name"]
        for _, dag in _dags(doc)
        for t in dag.get("tasks", {}).values()
        if "parameterIterator" in t or "artifactIterator" in t
    ]
    while todo:
        name = todo.pop()
        if name in bodies:
            continue
        bodies.add(name)
        comp = doc.get("components", {}).get(name, {})
        todo += [t["componentRef"]["name"] for t in comp.get("dag", {}).get("tasks", {}).values()]
    return bodies


def _fractional_seconds(text: str | None) -> bool:
    if not text:
        return False
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)s", str(text))
    return m is not None and float(m.group(1)) != int(float(m.group(1)))


def _executor(doc: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    comp = doc.get("components", {}).get(task.get("componentRef", {}).get("name", ""), {})
    label = comp.get("executorLabel")
    executors: dict[str, Any] = doc.get("deploymentSpec", {}).get("executors", {})
    return executors.get(label, {}) if label else {}


def _task_findings(doc: dict[str, Any], owner: str, name: str, task: dict[str, Any], bodies: set[str]) -> list[str]:
    found = []
    if "artifactIterator" in task:
        found.append("both-iterators" if "parameterIterator" in task else "artifact-iterator")
    executor = _executor(doc, task)
    if "resolver" in executor:
        found.append("resolver")
    if "customJob" in executor:
        found.append("custom-job")
    if "importer" in executor and task.get("triggerPolicy", {}).get("condition"):
        found.append("importer-condition")
    retry = task.get("retryPolicy")
    if retry:
        if owner in bodies:
            found.append("retry-in-parallel-for")
        if owner != "root":
            found.append("retry-outside-root-dag")
        if _fractional_seconds(retry.get("backoffDuration")) or _fractional_seconds(retry.get("backoffMaxDuration")):
            found.append("sub-second-backoff")
        factor = retry.get("backoffFactor")
        if factor is not None and float(factor) != int(float(factor)):
            found.append("fractional-backoff-factor")
    if any("taskFinalStatus" in p for p in task.get("inputs", {}).get("parameters", {}).values()):
        found.append("task-final-status")
    return found


def _collects(dag: dict[str, Any]) -> list[str]:
    """Tasks and DAG outputs that take a loop task's outputs (``dsl.Collected``)."""
    loops = {n for n, t in dag.get("tasks", {}).items() if "parameterIterator" in t or "artifactIterator" in t}
    out = []
    for name, task in dag.get("tasks", {}).items():
        for kind in ("Parameter", "Artifact"):
            for spec in task.get("inputs", {}).get(f"{kind.lower()}s", {}).values():
                if spec.get(f"taskOutput{kind}", {}).get("producerTask") in loops:
                    out.append(f"task {name!r}")
    outputs = dag.get("outputs", {})
    for key, spec in outputs.get("parameters", {}).items():
        selectors = [spec.get("valueFromParameter", {}), *spec.get("valueFromOneof", {}).get("parameterSelectors", [])]
        if any(s.get("producerSubtask") in loops for s in selectors):
            out.append(f"output {key!r}")
    for key, spec in outputs.get("artifacts", {}).items():
        if any(s.get("producerSubtask") in loops for s in spec.get("artifactSelectors", [])):
            out.append(f"output {key!r}")
    return out


def check_package(doc: dict[str, Any], version: str = DEFAULT_VERSION) -> list[Finding]:
    """Every rule the package breaks on a server of ``version`` (one of :data:`VERSIONS`)."""
    if version not in VERSIONS:
        raise ValueError(f"unknown KFP server version {version!r}; known: {', '.join(VERSIONS)}")
    bodies = _loop_bodies(doc)
    findings = []
    for owner, dag in _dags(doc):
        tasks = dag.get("tasks", {})
        where = "root" if owner == "root" else owner.removeprefix("comp-")
        strategies = [t.get("triggerPolicy", {}).get("strategy") for t in tasks.values()]
        if strategies and all(s == "ALL_UPSTREAM_TASKS_COMPLETED" for s in strategies):
            findings.append(Finding(RULES["exit-tasks-only"], where))
        for name, task in tasks.items():
            for rule in _task_findings(doc, owner, name, task, bodies):
                findings.append(Finding(RULES[rule], f"{where}, task {name!r}"))
        for what in _collects(dag):
            findings.append(Finding(RULES["collected"], f"{where}, {what}"))
    return [f for f in findings if f.rule.holds_for(version)]


def check_text(text: str, version: str = DEFAULT_VERSION) -> list[Finding]:
    import yaml

    doc = next(d for d in yaml.safe_load_all(text) if d)
    return check_package(doc, version)
