"""The entry DAG split into child DAG templates when it has more tasks than v4's CRDs allow (issue 15, divergence 7).

v4 caps a DAG's tasks at 200 (``workflow_types.go`` ``DAGTemplate.Tasks``, ``+kubebuilder:validation:MaxItems=200``).
Over the cap, ``main``'s tasks go into parts (DAG templates of at most 200 tasks, cut in step order, which lists the
steps depth by depth; unconnected groups kept whole where they fit when the parts run side by side) and ``main`` calls
the parts. A task's scope is its own DAG, so what crosses a cut is rewritten, each with the meaning it had in one DAG:

- a value or an item list (``{{tasks.X.outputs.parameters.P}}``): an output of X's part (``valueFrom.parameter``,
  ``getTemplateOutputsFromScope``; a default for an X that was skipped), an input of the reader's part;
- a file (``{{tasks.X.outputs.artifacts.A}}``): the same, ``optional`` (an absent optional is passed over,
  ``resolveDependencyReferences``);
- a dependency (``X.Succeeded``, bare ``X``, ``(X.Succeeded || X.Skipped)``...): X's phase (``tasks.X.status``,
  ``buildLocalScope``) goes out of its part, and in the reader's part a gate task, with that dependency as its
  ``when`` over the phase, calls a DAG that starts nothing: it Succeeds where the dependency holds, else is
  Skipped, and the reader depends on ``gate.Succeeded``, so it is Omitted exactly where it was.

A part waits for the parts it reads from (in any outcome when a step continues on failure, as ``main`` did). Under
``continue`` a part also succeeds whatever its tasks did, so that it hands out its outputs, and ``main`` fails the run
after it when one of them failed (:func:`failed_part_check`). Under
``stop`` it also waits for the part before it: what starts no new task after a failure is the template-level
``failFast`` of the failed task's own DAG (``operator.go`` ``checkParallelism``, ``getUnsuccessfulChildren`` counts the
children whose boundary is that DAG), so parts side by side went on after another failed; one after another, a failed
part starts nothing more and no later part starts. The cost: a part starts when the one before has ended (cut depth by
depth, unconnected groups still run side by side within a part). Parts follow ``main``'s order, step order, so none
reads from a later one (checked: else the parts would wait for each other).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hera.workflows import DAG, Artifact, Parameter, RawArtifact, Task
from hera.workflows import models as m

from flowyard_argo.errors import CompileError
from flowyard_argo.failed_items import CHECK

MAX_TASKS = 200  # v4's CRD cap on a DAG's tasks (the executor's validate.CRD_MAX_ITEMS)
PART = "flowyard-part"
NOTHING = "flowyard-nothing"
GATE = "flowyard-gate"
END = f"{PART}-end"  # a part's target under continue: after all its tasks, in any outcome
FAILED = f"{PART}-failed"  # runs only when a task of its part failed
_ENDING = (FAILED, END)
_REF = re.compile(r"\{\{tasks\.([-a-zA-Z0-9]+)\.(outputs\.parameters\.[-\w]+|outputs\.artifacts\.[-\w]+|status)\}\}")
_PHASES = {"Succeeded": "Succeeded", "Skipped": "Skipped", "Failed": "Failed", "Errored": "Error", "Omitted": "Omitted"}
_BARE = ("Succeeded", "Skipped", "Daemoned")  # ancestry.go expandDependency


def part_name(k: int) -> str:
    return f"{PART}-{k + 1}"


def dependency_terms(depends: str | None) -> list[tuple[str, tuple[str, ...]]]:
    """``depends`` as the compiler writes it, a conjunction of one task's results: [(task, results)]."""
    if not depends:
        return []
    if " " not in depends:  # one task, the most common form
        name, _, result = depends.partition(".")
        return [(name, (result,) if result else _BARE)]
    terms = []
    for term in depends.split(" && "):
        alternatives = term.strip().removeprefix("(").removesuffix(")").split(" || ")
        names = {a.partition(".")[0] for a in alternatives}
        if len(names) != 1:
            raise CompileError(f"nested DAGs: the dependency {term!r} names more than one task")
        results = tuple(a.partition(".")[2] for a in alternatives)
        terms.append((names.pop(), _BARE if results == ("",) else results))
    return terms


def gate_condition(status: str, results: Iterable[str]) -> str:
    """The dependency over the producer's phase, as a ``when`` (Daemoned is never a phase here)."""
    phases = [_PHASES[r] for r in results if r in _PHASES]
    return " || ".join(f"'{status}' == '{p}'" for p in phases) or "false"


def referenced(task: Task, terms: list[tuple[str, tuple[str, ...]]]) -> set[str]:
    """The tasks this one reads from or waits for (``terms``: its dependencies)."""
    names = {name for name, _ in terms}
    for text in _texts(task):
        if "{{tasks." in text:
            names |= {m.group(1) for m in _REF.finditer(text)}
    return names


def arguments_of(task: Task) -> list[Any]:
    return list(task.arguments) if isinstance(task.arguments, list) else []


def _texts(task: Task) -> list[str]:
    found = [task.when or "", task.with_param or ""]
    for arg in arguments_of(task):
        if isinstance(arg, Parameter):
            found.append(arg.value or "")
        elif isinstance(arg, RawArtifact):
            found.append(arg.data or "")
        elif isinstance(arg, Artifact):
            found.append(arg.from_ or "")
    return [t for t in found if isinstance(t, str)]


@dataclass
class Crossings:
    """What crosses between parts: each (producer, what) pair once, by an exported name."""

    exported: dict[tuple[str, str], str] = field(default_factory=dict)
    outputs: dict[int, list[Any]] = field(default_factory=dict)  # part -> its output declarations

    def name(self, producer: str, what: str, part: int) -> str:
        key = (producer, what)
        if key not in self.exported:
            name = f"flowyard-x{len(self.exported)}"
            self.exported[key] = name
            tag = f"{{{{tasks.{producer}.{what}}}}}"
            if what.startswith("outputs.artifacts."):
                declared: Any = Artifact(name=name, from_=tag, optional=True)
            else:
                default = "Omitted" if what == "status" else ""
                declared = Parameter(name=name, value_from=m.ValueFrom(parameter=tag, default=default))
            self.outputs.setdefault(part, []).append(declared)
        return self.exported[key]


def assign_parts(
    order: list[str],
    refs: Mapping[str, set[str]],
    terms: Mapping[str, list[tuple[str, tuple[str, ...]]]],
    room: int = MAX_TASKS,
    *,
    whole_groups: bool = True,
) -> dict[str, int]:
    """Each task's part (tasks by name, in step order), with room left for the gates a cut needs: unconnected groups
    whole where they fit, a larger group cut in step order (``whole_groups``: for parts that run side by side), else
    the tasks cut as they come, so that a part holds the steps of every group at the same depth."""
    members = _groups(order, refs) if whole_groups else {"": list(order)}
    where: dict[str, int] = {}
    part, used, gates = 0, 0, set[tuple[str, tuple[str, ...]]]()
    for component in members.values():
        if used and used + len(component) > room and len(component) <= room:
            part, used, gates = part + 1, 0, set()
        for name in component:
            new = {(n, r) for n, r in terms[name] if n in where and where[n] != part} - gates
            if used + 1 + len(new) > room:
                part, used, gates = part + 1, 0, set()
                new = {(n, r) for n, r in terms[name] if n in where}
            where[name] = part
            used += 1 + len(new)
            gates |= new
    return where


def _groups(order: list[str], refs: Mapping[str, set[str]]) -> dict[str, list[str]]:
    """The tasks that read each other, directly or not, by group, each in step order."""
    names = set(order)
    group = {n: n for n in order}

    def root(n: str) -> str:
        while group[n] != n:
            group[n] = group[group[n]]
            n = group[n]
        return n

    for name in order:
        for other in refs[name] & names:
            group[root(other)] = root(name)
    members: dict[str, list[str]] = {}
    for name in order:
        members.setdefault(root(name), []).append(name)
    return members


def nest(
    entry: list[Task | m.DAGTask], *, continues: bool, taken: set[str]
) -> tuple[list[Task | m.DAGTask], list[DAG]]:
    """``main``'s tasks and the templates it adds: the tasks as they are within the cap, else a call per part."""
    if len(entry) <= MAX_TASKS:
        return entry, []
    tasks = [t for t in entry if isinstance(t, Task)]
    if len(tasks) != len(entry):
        raise CompileError("nested DAGs: a task of main is not a hera Task")
    clash = sorted(n for n in taken if n.startswith((PART, NOTHING, GATE)))
    if clash:
        raise CompileError(f"step {clash[0]!r}: the name is kept for the nested DAGs of a pipeline over 200 tasks")
    order = [t.name for t in tasks]
    terms = {name: dependency_terms(t.depends) for name, t in zip(order, tasks, strict=True)}
    refs = {name: referenced(t, terms[name]) for name, t in zip(order, tasks, strict=True)}
    where = assign_parts(
        order, refs, terms, MAX_TASKS - len(_ENDING) if continues else MAX_TASKS, whole_groups=continues
    )
    _check_order(order, refs, where)
    crossings = Crossings()
    inputs: dict[int, dict[str, Any]] = {}
    parts: dict[int, list[Task | m.DAGTask]] = {}
    made: set[tuple[int, str]] = set()  # (part, gate)
    for name, t in zip(order, tasks, strict=True):
        k = where[name]
        parts.setdefault(k, [])
        inputs.setdefault(k, {})
        if all(where.get(n, k) == k for n in refs[name]):  # nothing crosses: the task as it is
            parts[k].append(t)
            continue
        gates, task = _rewritten(t, k, where, crossings, inputs.setdefault(k, {}))
        for gate in gates:
            if (k, gate.name) not in made:
                made.add((k, gate.name))
                parts[k].append(gate)
        parts[k].append(task)
    ks = sorted(parts)
    templates = [_part_template(k, parts[k], inputs[k], crossings.outputs.get(k, []), continues) for k in ks]
    calls: list[Task | m.DAGTask] = [
        _call(k, inputs[k], crossings, where, continues, None if i == 0 or continues else ks[i - 1])
        for i, k in enumerate(ks)
    ]
    calls += [failed_part_check(k) for k in ks] if continues else []
    return calls, [*templates, _nothing_template()]


def _check_order(order: list[str], refs: Mapping[str, set[str]], where: Mapping[str, int]) -> None:
    """Parts are cut in ``main``'s order, which is step order (the IR's topological order): a part never reads from a
    later one, so running them one after another cannot make two parts wait for each other."""
    for name in order:
        later = sorted(n for n in refs[name] if where.get(n, -1) > where[name])
        if later:
            raise CompileError(f"nested DAGs: task {name!r} reads from {later[0]!r}, which comes after it in main")


def _rewritten(
    task: Task, part: int, where: Mapping[str, int], crossings: Crossings, inputs: dict[str, Any]
) -> tuple[list[Task], Task]:
    """The task as it reads in its part, and the gates it waits for there."""

    def imported(producer: str, what: str) -> str:
        name = crossings.name(producer, what, where[producer])
        kind = "artifacts" if what.startswith("outputs.artifacts.") else "parameters"
        inputs[name] = Artifact(name=name, optional=True) if kind == "artifacts" else Parameter(name=name)
        return f"{{{{inputs.{kind}.{name}}}}}"

    def local(match: re.Match[str]) -> str:
        producer, what = match.group(1), match.group(2)
        return match.group(0) if where.get(producer, part) == part else imported(producer, what)

    gates: list[Task] = []
    terms = []
    for producer, results in dependency_terms(task.depends):
        if where.get(producer, part) == part:
            terms.append(_term(producer, results))
            continue
        status = imported(producer, "status")
        gate = f"{GATE}-{producer}-{'after' if results == _BARE else '-'.join(r.lower() for r in results)}"
        gates.append(Task(name=gate, template=NOTHING, when=gate_condition(status, results)))
        terms.append(f"{gate}.Succeeded")
    arguments: list[Any] = []
    for arg in arguments_of(task):
        if isinstance(arg, RawArtifact) and isinstance(arg.data, str):
            arguments.append(RawArtifact(name=arg.name, data=_REF.sub(local, arg.data)))
        elif isinstance(arg, Artifact) and arg.from_:
            arguments.append(Artifact(name=arg.name, from_=_REF.sub(local, arg.from_), optional=arg.optional))
        elif isinstance(arg, Parameter) and isinstance(arg.value, str):
            arguments.append(Parameter(name=arg.name, value=_REF.sub(local, arg.value)))
        else:
            arguments.append(arg)
    rebuilt = Task(
        name=task.name,
        template=task.template,
        arguments=arguments or None,
        depends=" && ".join(terms) or None,
        when=_REF.sub(local, task.when) if task.when else None,
        with_param=_REF.sub(local, task.with_param) if task.with_param else None,
        with_items=task.with_items,
        continue_on=task.continue_on,
    )
    return gates, rebuilt


def _term(producer: str, results: tuple[str, ...]) -> str:
    if results == _BARE:
        return producer
    if len(results) == 1:
        return f"{producer}.{results[0]}"
    return "(" + " || ".join(f"{producer}.{r}" for r in results) + ")"


def _part_template(
    k: int, tasks: list[Task | m.DAGTask], inputs: Mapping[str, Any], outputs: list[Any], continues: bool
) -> DAG:
    ended = _ending(tasks) if continues else []
    return DAG(
        name=part_name(k),
        tasks=[*tasks, *ended],
        fail_fast=not continues,
        target=END if continues else None,
        inputs=list(inputs.values()) or None,
        outputs=[*outputs, *([_failed_output()] if continues else [])] or None,
    )


def _ending(tasks: list[Task | m.DAGTask]) -> list[Task]:
    """Under ``continue``, a part must succeed to hand out its outputs: a failed DAG sets none (``dag.go``
    ``executeDAG`` returns on ``NodeFailed`` before ``getTemplateOutputsFromScope``), and the later parts could not
    resolve what they read from it. So the part's only target is a task after all the others in any outcome
    (a DAG's phase is its targets', ``assessDAGPhase``), and whether a task failed goes out as the phase of a task
    that runs only then (``FAILED``), for ``main``'s check."""
    names = [t.name for t in tasks if t.name]
    depended = {n for t in tasks for n, _ in dependency_terms(getattr(t, "depends", None))}
    failed = " || ".join(f"{n}.Failed || {n}.Errored" for n in names)
    anything = ("Succeeded", "Skipped", "Daemoned", "Failed", "Errored", "Omitted")
    last = [_term(n, anything) for n in [*(n for n in names if n not in depended), FAILED]]
    return [
        Task(name=FAILED, template=NOTHING, depends=failed),
        Task(name=END, template=NOTHING, depends=" && ".join(last)),
    ]


def _failed_output() -> Parameter:
    return Parameter(name=FAILED, value_from=m.ValueFrom(parameter=f"{{{{tasks.{FAILED}.status}}}}"))


def failed_part_check(k: int) -> Task:
    """``main``'s task failing the run, under ``continue``, when a task of part ``k`` failed: the part succeeded
    to hand out its outputs (:func:`_ending`), and ``main``'s targets are every task (``compiler``)."""
    call = part_name(k)
    return Task(
        name=f"{call}-check",
        template=CHECK,
        arguments=[Parameter(name="message", value=f"a step of {call} failed (the others ran: continue)")],
        depends=call,
        when=f"'{{{{tasks.{call}.outputs.parameters.{FAILED}}}}}' == 'Succeeded'",
    )


def _call(
    k: int,
    inputs: Mapping[str, Any],
    crossings: Crossings,
    where: Mapping[str, int],
    continues: bool,
    previous: int | None,
) -> Task:
    """``main``'s task for part ``k``: after the parts it reads from, passing their exports on, and under ``stop``
    after the ``previous`` part too, so that once a part fails ``main`` starts no other."""
    producers = {name: where[p] for (p, _), name in crossings.exported.items()}
    arguments: list[Any] = []
    for name, declared in inputs.items():
        tag = f"{{{{tasks.{part_name(producers[name])}.outputs"
        if isinstance(declared, Artifact):
            arguments.append(Artifact(name=name, from_=f"{tag}.artifacts.{name}}}}}", optional=True))
        else:
            arguments.append(Parameter(name=name, value=f"{tag}.parameters.{name}}}}}"))
    after = sorted({producers[name] for name in inputs} | ({previous} if previous is not None else set()))
    terms = [_term(part_name(p), tuple(_PHASES) if continues else _BARE) for p in after]
    return Task(
        name=part_name(k), template=part_name(k), arguments=arguments or None, depends=" && ".join(terms) or None
    )


def _nothing_template() -> DAG:
    """A DAG that starts nothing and Succeeds: its one task, never true, would call itself."""
    return DAG(name=NOTHING, tasks=[Task(name="none", template=NOTHING, when="false")])
