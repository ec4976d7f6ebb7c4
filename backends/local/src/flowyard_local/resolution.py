"""Input resolution: what each input of a task is, from the run's parameters, its item, the
results of the steps upstream, or what ``--step ... --input`` gave; and a step's items and condition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowyard.ir import (
    OPERATORS,
    ConditionIR,
    ItemSource,
    LiteralSource,
    ParamSource,
    Source,
    StepIR,
    StepOutputSource,
    TemplateSource,
)

from flowyard_local.context import RunContext
from flowyard_local.stepstate import StepState
from flowyard_local.taskdata import FileRef, ResolvedInput, TaskError, TaskPlan, dig
from flowyard_local.tasks import Task


def sources_of(step: StepIR) -> list[Source]:
    """Every source a step reads: its inputs', its fan-out's and its condition's."""
    sources: list[Source] = [i.source for i in step.inputs]
    if step.for_each is not None:
        sources.append(step.for_each.source)
    if step.when is not None:
        sources += [step.when.left, step.when.right]
    return sources


class InputResolver:
    """Reads the run's plan and the steps' results as they stand; called on the scheduler thread only."""

    def __init__(self, ctx: RunContext, steps: Mapping[str, StepState]) -> None:
        self.ctx = ctx
        self.run = ctx.plan
        self.steps = steps

    def given_items(self, step: StepIR) -> bool:
        return self.run.only_step == step.name and "for_each" in self.run.external

    def items(self, step: StepIR) -> list[Any]:
        assert step.for_each is not None
        src = step.for_each.source
        if self.given_items(step):
            value = self.run.external["for_each"]
        elif step.for_each.over_fanout:
            assert isinstance(src, StepOutputSource)
            return [None] * self.steps[src.step].count
        else:
            value = self._value_of(src)
        if not isinstance(value, list):
            raise TaskError(f"for_each needs a list, got {json.dumps(value)[:80]}")
        return value

    def condition(self, cond: ConditionIR) -> bool:
        left = self._value_of(cond.left)
        right = self._value_of(cond.right)
        try:
            return bool(OPERATORS[cond.op](left, right))
        except TypeError:
            raise TaskError(f"cannot compare {left!r} {cond.op} {right!r} in when {cond.text!r}") from None

    def _value_of(self, src: Source) -> Any:
        """A source's value on the scheduler thread (a step's items, its condition)."""
        if isinstance(src, LiteralSource):
            return src.value
        if isinstance(src, ParamSource):
            return self.run.params[src.name]
        if isinstance(src, StepOutputSource):
            up = self.steps[src.step]
            if up.fanned_out:
                return [r.values.get(src.output) if (r := up.ok_result(i)) else None for i in range(up.count)]
            r = up.ok_result(None)
            if r is None:
                raise TaskError(f"step {src.step!r} has no result")
            return r.values.get(src.output)
        raise TaskError(f"cannot evaluate {src.kind} here")

    def task_plan(self, st: StepState, i: int) -> TaskPlan:
        """Item ``i`` of the step, its inputs resolved."""
        inputs = {}
        for inp in st.ir.inputs:
            inputs[inp.name] = self.resolve(st, inp.name, inp.type, inp.source, i)
        collects = st.collects
        if st.items is None:
            return TaskPlan(st.ir, None, None, inputs, "Succeeded", collects)
        return TaskPlan(st.ir, i, st.items[i], inputs, "Succeeded", collects)

    def resolve(self, st: StepState, name: str, type_: str, src: Source, i: int) -> ResolvedInput:
        step = st.ir
        only = self.run.only_step
        alone = only is not None and only == step.name  # run with --step: its inputs may be given
        if alone and isinstance(src, (StepOutputSource, ItemSource)) and name in self.run.external:
            return self._external_input(name, type_, self.run.external[name])
        if isinstance(src, ItemSource):  # first: the common case, at 10,000 items a second or more
            assert step.for_each is not None and st.items is not None
            if alone and self.given_items(step):
                value = dig(st.items[i], src.fields)
                if type_ == "file":
                    return self._external_input(name, type_, value, f"item-{i:06d}")
                return ResolvedInput(name, type_, value=value, source=f"item[{i}]")
            if step.for_each.over_fanout:
                up_src = step.for_each.source
                assert isinstance(up_src, StepOutputSource)
                return self._upstream_item(name, type_, up_src.step, up_src.output, i, src.fields)
            value = st.items[i] if not src.fields else dig(st.items[i], src.fields)
            return ResolvedInput(name, type_, value, None, None, f"item[{i}]")
        if isinstance(src, LiteralSource):
            return ResolvedInput(name, type_, value=src.value, source="literal")
        if isinstance(src, ParamSource):
            return ResolvedInput(name, type_, value=self.run.params[src.name], source=f"params.{src.name}")
        if isinstance(src, TemplateSource):
            task = Task(self.ctx, TaskPlan(step, st.index(i), st.items[i] if st.items is not None else None, {}))
            return ResolvedInput(name, type_, value=task.render(src.template), source="template")
        assert isinstance(src, StepOutputSource)
        up = self.steps[src.step]
        if alone:
            raise TaskError(f"input {name!r} comes from step {src.step!r}: give it with --input {name}=...")
        if not src.collect:
            return self._upstream_item(name, type_, src.step, src.output, None, ())
        where = f"steps.{src.step}.outputs.{src.output}[*]"
        failed = tuple(j for j in range(up.count) if up.ok_result(j) is None)
        if type_ == "file":
            files = []
            for j in range(up.count):
                r = up.ok_result(j)
                files.append((j, r.files.get(src.output) if r else None))
            return ResolvedInput(name, "file", files=files, source=where, failed_items=failed)
        values = [r.values.get(src.output) if (r := up.ok_result(j)) else None for j in range(up.count)]
        return ResolvedInput(name, type_, value=values, source=where, failed_items=failed)

    def _upstream_item(
        self, name: str, type_: str, step: str, output: str, i: int | None, fields: tuple[str, ...]
    ) -> ResolvedInput:
        up = self.steps[step]
        r = up.ok_result(i)
        where = f"steps.{step}.outputs.{output}" + (f"[{i}]" if i is not None else "")
        if r is None:
            raise TaskError(f"{where} is not available")
        if output in r.files:
            return ResolvedInput(name, "file", file=r.files[output], source=where)
        return ResolvedInput(name, type_, value=dig(r.values.get(output), fields, where), source=where)

    def _external_input(self, name: str, type_: str, given: Any, tag: str = "given") -> ResolvedInput:
        if type_ == "file":
            path = Path(given)
            if not path.exists():
                raise TaskError(f"--input {name}={given}: no such file or folder")
            key = self._import_external(f"{name}/{tag}", path)
            if path.is_dir():
                files: list[tuple[int, FileRef | None]] = [(j, FileRef(k)) for j, k in enumerate(key)]
                return ResolvedInput(name, "file", files=files, source=f"--input {name}")
            return ResolvedInput(name, "file", file=FileRef(key[0]), source=f"--input {name}")
        return ResolvedInput(name, type_, value=given, source=f"--input {name}")

    def _import_external(self, name: str, path: Path) -> list[str]:
        """Copy a user-given file (or a fan-in folder of item folders) into the run's store."""
        files = (
            [path]
            if path.is_file()
            else [f for d in sorted(path.iterdir()) for f in sorted(d.rglob("*")) if f.is_file()]
        )
        keys = []
        for j, f in enumerate(files):
            key = f"external/{name}/{j:06d}/{f.name}"  # name is "<input>/<tag>": unique per task
            self.run.store.put_file(f, key)
            keys.append(key)
        return keys
