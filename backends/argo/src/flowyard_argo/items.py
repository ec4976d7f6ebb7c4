"""How a fanned-out step's items arrive: numbered by the item helper (:mod:`flowyard_argo.helper`), from a
literal list, a parameter, an upstream list (as a file) or an upstream fan-out, each field given back byte for byte."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flowyard.ir import (
    ItemRef,
    ItemSource,
    LiteralSource,
    ParamSource,
    StepIR,
    StepOutputSource,
    Template,
    TemplateSource,
)
from flowyard.templates import MissingFieldError, dig

from flowyard_argo.errors import CompileError
from flowyard_argo.fan_ins import list_artifact
from flowyard_argo.helper import DATA_PATH
from flowyard_argo.layout import CompilerLayout
from flowyard_argo.names import ARGV_STRING_LIMIT, items_task


@dataclass(frozen=True)
class Items:
    """Where a fanned-out step's numbered items come from, and how many there are."""

    with_items: tuple[dict[str, str], ...] | None = None
    with_param: str | None = None
    count: str = "0"
    helper_args: dict[str, str] | None = None  # this step's own helper task, if it needs one
    helper_depends: tuple[str, ...] = ()
    helper_data: str | None = None  # the upstream list as an artifact (``from``), read from DATA_PATH
    helper_raw: str | None = None  # the list's text as a ``raw`` artifact's data, read from DATA_PATH
    fields: tuple[tuple[str, ...], ...] = ()


def item_fields(step: StepIR) -> tuple[tuple[str, ...], ...]:
    """Every ``item.a.b`` field path the step uses, in a fixed order (``flowyard-f0``, ...)."""
    found: set[tuple[str, ...]] = set()

    def scan(tpl: Template) -> None:
        for part in tpl.parts:
            if isinstance(part, ItemRef) and part.fields:
                found.add(part.fields)

    if step.container is not None:
        for t in step.container.command:
            scan(t)
    for _, t in step.env:
        scan(t)
    for inp in step.inputs:
        if isinstance(inp.source, ItemSource) and inp.source.fields:
            found.add(inp.source.fields)
        elif isinstance(inp.source, TemplateSource):
            scan(inp.source.template)
    if step.when is not None:
        for side in (step.when.left, step.when.right):
            if isinstance(side, ItemSource) and side.fields:
                found.add(side.fields)
    return tuple(sorted(found))


def literal_data(values: Any) -> str:
    """A literal ``for_each`` list as the helper's argument: JSON in printable ASCII.

    The controller substitutes it with ``strconv.Quote``, which writes DEL and astral non-printables in
    Go-only syntax that its JSON parse back rejects; ``\\u007f`` and ``\\uXXXX`` are the same JSON.
    """
    return json.dumps(values, separators=(",", ":"), ensure_ascii=True).replace("\x7f", "\\u007f")


def check_literal_fields(values: list[Any], fields: tuple[tuple[str, ...], ...], step: str) -> None:
    """Refuse at compile time what the helper would refuse at run time: ``{{`` in an item, a missing field."""
    for i, item in enumerate(values):
        if "{{" in json.dumps(item, ensure_ascii=False):
            raise CompileError(
                f"step {step!r}: for_each item {i} holds '{{{{', which Argo's controller would substitute or "
                "evaluate as its own tag in the pod (argo-workflows 1765, 7828)"
            )
        for path in fields:
            try:
                dig(item, path, f"step {step!r}: for_each item {i}")
            except MissingFieldError as e:
                raise CompileError(str(e)) from None


def item_expression(ref: str) -> str:
    """The expression that gives a numbered item's field back byte for byte (see :mod:`flowyard_argo.helper`).

    ``ref`` is ``item.fK`` on a task (``processItem``'s scope) or ``inputs.parameters['flowyard-fK']`` in the
    step's template: there the result is inserted after the last ``strconv.Quote`` pass over the inputs, so
    control characters and DEL arrive as written (``util/template/expression_template.go``).
    """
    return f"{{{{=jsonpath({ref}, '$.v')}}}}"


class ItemPlanning(CompilerLayout):
    """Plans each fanned-out step's items (a step's plan can read its upstream fan-out's)."""

    def plan_items(self, step: StepIR) -> Items:
        assert step.for_each is not None
        fields = item_fields(step)
        src = step.for_each.source
        fields_json = json.dumps([list(f) for f in fields])
        own = items_task(step.dns_name)
        with_param = f"{{{{tasks.{own}.outputs.parameters.items}}}}"
        count = f"{{{{tasks.{own}.outputs.parameters.count}}}}"
        if isinstance(src, LiteralSource):
            check_literal_fields(list(src.value), fields, step.name)
        if isinstance(src, LiteralSource):
            data = literal_data(src.value)
            args = {"mode": "enumerate", "data": data, "count": "-", "fields": fields_json}
            if len(data.encode()) <= ARGV_STRING_LIMIT:
                return Items(with_param=with_param, count=count, helper_args=args, fields=fields)
            # through a file: over one argv string's limit the helper's pod could not start (E2BIG)
            args["data"] = DATA_PATH
            return Items(with_param=with_param, count=count, helper_args=args, helper_raw=data, fields=fields)
        if isinstance(src, ParamSource):  # through a file: the value can be over one argv string's 131,072 bytes
            args = {"mode": "enumerate", "data": DATA_PATH, "count": "-", "fields": fields_json}
            raw = f"{{{{workflow.parameters.{src.name}}}}}"
            return Items(with_param=with_param, count=count, helper_args=args, helper_raw=raw, fields=fields)
        assert isinstance(src, StepOutputSource)
        up = self.steps[src.step]
        if not step.for_each.over_fanout:  # through a file: the list can be over one argv string's 131,072 bytes
            args = {"mode": "enumerate", "data": DATA_PATH, "count": "-"}
            return Items(
                with_param=with_param,
                count=count,
                helper_args={**args, "fields": fields_json},
                helper_depends=(src.step,),  # step names
                helper_data=f"{{{{tasks.{up.dns_name}.outputs.artifacts.{list_artifact(src.output)}}}}}",
                fields=fields,
            )
        upstream = self.items[src.step]
        if up.output(src.output).type == "file":
            # item i reads upstream item i's file from its indexed key: same numbering as upstream
            return Items(with_items=upstream.with_items, with_param=upstream.with_param, count=upstream.count)
        # the aggregate through a file: over one argv string's 131,072 bytes its pod could not start (E2BIG)
        args = {"mode": "gather", "data": DATA_PATH, "count": upstream.count}
        return Items(
            with_param=with_param,
            count=upstream.count,
            helper_args={**args, "fields": fields_json},
            helper_depends=(src.step,),  # step names
            helper_raw=self.output_ref(src.step, src.output),
            fields=fields,
        )
