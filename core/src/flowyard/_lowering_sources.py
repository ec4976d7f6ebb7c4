"""Lowering's references: each ``${{ ... }}`` a spec writes, checked against the spec and made an IR source.

A step's input values, its ``for_each``, its ``when`` and the templates of its command and ``env`` all
name parameters, items, inputs and other steps' outputs; :class:`References` checks that each names
something that exists and may be used there, and reports every problem through the lowering's own
``problem`` (field path and line). :mod:`flowyard._lowering` calls it for each step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from flowyard.ir import (
    ConditionIR,
    DataType,
    ForEachIR,
    InputRef,
    ItemRef,
    ItemSource,
    LiteralSource,
    OutputPathRef,
    ParamRef,
    ParamSource,
    Ref,
    RunStatusRef,
    Source,
    StepOutputRef,
    StepOutputSource,
    Template,
    TemplateSource,
)
from flowyard.spec import Pipeline, Step
from flowyard.templates import TemplateSyntaxError, assert_never, parse_template, ref_text, single_ref

Loc = tuple[str | int, ...]
_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
    "any": lambda v: True,
}
_CONDITION = re.compile(r"^\s*(.+?)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$", re.DOTALL)


def value_matches(type_: str, value: Any) -> bool:
    """Whether a JSON value fits a declared parameter type."""
    return _TYPE_CHECKS[type_](value)


class References:
    """The reference checks of one spec's lowering; problems go to ``problem``."""

    def __init__(self, spec: Pipeline, problem: Callable[[Loc, str], None]) -> None:
        self.spec = spec
        self.problem = problem

    def output_type(self, step: str, output: str) -> DataType | None:
        s = self.spec.steps.get(step)
        if s is None or output not in s.outputs:
            return None
        return s.outputs[output].type

    def check_step_output(self, loc: Loc, ref: StepOutputRef, me: str) -> bool:
        if ref.step == me:
            self.problem(loc, f"step {me!r} refers to its own output {ref.output!r}")
            return False
        if ref.step not in self.spec.steps:
            self.problem(loc, f"no step named {ref.step!r} (steps: {', '.join(self.spec.steps)})")
            return False
        if ref.output not in self.spec.steps[ref.step].outputs:
            have = ", ".join(self.spec.steps[ref.step].outputs) or "none"
            self.problem(loc, f"step {ref.step!r} has no output {ref.output!r} (its outputs: {have})")
            return False
        return True

    def source_of(
        self, loc: Loc, value: Any, me: str, fanned_out: bool, on_exit: bool
    ) -> tuple[Source | None, DataType | None]:
        """A spec value (literal, template or single reference) as a source, with its type if known."""
        try:
            ref = single_ref(value)
        except TemplateSyntaxError as e:
            self.problem(loc, str(e))
            return None, None
        if ref is None:
            if isinstance(value, str):
                try:
                    tpl = parse_template(value)
                except TemplateSyntaxError as e:
                    self.problem(loc, str(e))
                    return None, None
                if tpl.is_literal:
                    return LiteralSource(value=tpl.literal()), "string"
                if not self.check_template(loc, tpl, me, fanned_out, on_exit, in_input=True):
                    return None, None
                return TemplateSource(template=tpl), "string"
            return LiteralSource(value=value), _literal_type(value)
        if isinstance(ref, ParamRef):
            if ref.name not in self.spec.parameters:
                self.problem(loc, f"no parameter named {ref.name!r}")
                return None, None
            return ParamSource(name=ref.name), self.spec.parameters[ref.name].type
        if isinstance(ref, ItemRef):
            if not fanned_out:
                self.problem(loc, f"{ref_text(ref)} is only defined in a step with for_each")
                return None, None
            return ItemSource(fields=ref.fields), None
        if isinstance(ref, StepOutputRef):
            if on_exit:
                self.problem(
                    loc,
                    "the on_exit step runs after the others whatever happened; it cannot take step outputs",
                )
                return None, None
            if not self.check_step_output(loc, ref, me):
                return None, None
            collect = self.spec.steps[ref.step].for_each is not None
            return (
                StepOutputSource(step=ref.step, output=ref.output, collect=collect),
                self.output_type(ref.step, ref.output)
                if not collect
                else _collection_type(self.output_type(ref.step, ref.output)),
            )
        if isinstance(ref, RunStatusRef) and on_exit:
            return TemplateSource(template=Template(parts=(ref,))), "string"
        self.problem(loc, f"${{{{ {ref_text(ref)} }}}} cannot be used here")
        return None, None

    def check_template(
        self,
        loc: Loc,
        tpl: Template,
        me: str,
        fanned_out: bool,
        on_exit: bool,
        *,
        in_input: bool,
        step: Step | None = None,
        input_types: dict[str, str] | None = None,
    ) -> bool:
        """Check every reference in a template; ``input_types`` (name -> lowered type) lets
        ``${{ inputs.X }}`` be checked against what X is: a file needs ``.path``, a value must not."""
        ok = True
        for ref in tpl.refs:
            where = None if in_input else step
            problem = self.template_ref_problem(ref, fanned_out, on_exit, where, input_types or {})
            if problem is not None:
                self.problem(loc, problem)
                ok = False
        return ok

    def template_ref_problem(
        self, ref: Ref, fanned_out: bool, on_exit: bool, step: Step | None, input_types: Mapping[str, str]
    ) -> str | None:
        """What is wrong with one reference in a template (``step``: None in an input's value), or None."""
        text = ref_text(ref)
        match ref:
            case ParamRef():
                return (
                    None
                    if ref.name in self.spec.parameters
                    else f"no parameter named {ref.name!r} in ${{{{ {text} }}}}"
                )
            case ItemRef():
                return None if fanned_out else f"${{{{ {text} }}}} is only defined in a step with for_each"
            case RunStatusRef():
                return None if on_exit else "${{ run.status }} is only defined in the on_exit step"
            case StepOutputRef():
                return (
                    f"${{{{ {text} }}}}: take another step's output through an input "
                    f"(inputs: {{{ref.output}: '${{{{ {text} }}}}'}}), then use ${{{{ inputs.{ref.output} }}}}"
                )
            case InputRef() | OutputPathRef() if step is None:
                return f"${{{{ {text} }}}} cannot be used in an input value"
            case InputRef():
                assert step is not None
                return self.input_ref_problem(ref, step, input_types)
            case OutputPathRef():
                assert step is not None
                return None if ref.name in step.outputs else f"no output named {ref.name!r} in ${{{{ {text} }}}}"
            case _:
                assert_never(ref)

    def for_each(self, loc: Loc, value: Any, me: str) -> ForEachIR | None:
        if isinstance(value, list):
            return ForEachIR(source=LiteralSource(value=value))
        try:
            ref = single_ref(value)
        except TemplateSyntaxError as e:
            self.problem(loc, str(e))
            return None
        if isinstance(ref, ParamRef):
            p = self.spec.parameters.get(ref.name)
            if p is None:
                self.problem(loc, f"no parameter named {ref.name!r}")
                return None
            if p.type not in ("list", "any"):
                self.problem(loc, f"parameter {ref.name!r} is of type {p.type}; for_each needs a list")
                return None
            return ForEachIR(source=ParamSource(name=ref.name))
        if isinstance(ref, StepOutputRef):
            if not self.check_step_output(loc, ref, me):
                return None
            upstream = self.spec.steps[ref.step]
            over_fanout = upstream.for_each is not None
            out_type = upstream.outputs[ref.output].type
            if not over_fanout and out_type not in ("list", "any"):
                self.problem(
                    loc,
                    f"output {ref.output!r} of step {ref.step!r} is of type {out_type}; for_each needs a list",
                )
                return None
            return ForEachIR(
                source=StepOutputSource(step=ref.step, output=ref.output, collect=over_fanout),
                over_fanout=over_fanout,
            )
        self.problem(loc, "expected a list, ${{ params.NAME }} or ${{ steps.STEP.outputs.NAME }}")
        return None

    def condition(self, loc: Loc, text: str, me: str) -> ConditionIR | None:
        m = _CONDITION.match(text)
        if m is None:
            left_text, op, right_text = text, "==", "true"
        else:
            left_text, op, right_text = m[1], m[2], m[3]
        sides: list[Source] = []
        for side in (left_text, right_text):
            source = self.condition_side(loc, side, me)
            if source is None:
                return None
            sides.append(source)
        if all(isinstance(s, LiteralSource) for s in sides):
            self.problem(loc, "a condition must test a parameter or a step output, not only literals")
            return None
        return ConditionIR(left=sides[0], op=op, right=sides[1], text=text)

    def condition_side(self, loc: Loc, side: str, me: str) -> Source | None:
        """One side of a condition: a JSON literal, a quoted string, a parameter or a step's value output."""
        try:
            ref = single_ref(side)
        except TemplateSyntaxError as e:
            self.problem(loc, str(e))
            return None
        if ref is None:
            return self.condition_literal(loc, side)
        if isinstance(ref, ParamRef):
            if ref.name not in self.spec.parameters:
                self.problem(loc, f"no parameter named {ref.name!r}")
                return None
            return ParamSource(name=ref.name)
        if not isinstance(ref, StepOutputRef):
            self.problem(loc, "a condition tests ${{ params.NAME }} or ${{ steps.STEP.outputs.NAME }}")
            return None
        if not self.check_step_output(loc, ref, me):
            return None
        if self.spec.steps[ref.step].outputs[ref.output].type == "file":
            self.problem(loc, f"a condition compares values; output {ref.output!r} of step {ref.step!r} is a file")
            return None
        if self.spec.steps[ref.step].for_each is not None:
            self.problem(loc, f"a condition cannot test the outputs of fanned-out step {ref.step!r}")
            return None
        return StepOutputSource(step=ref.step, output=ref.output)

    def condition_literal(self, loc: Loc, side: str) -> Source | None:
        if "${{" in side:
            self.problem(loc, f"each side of a condition is one ${{{{ reference }}}} or a literal, got {side!r}")
            return None
        try:
            return LiteralSource(value=json.loads(side))
        except ValueError:
            if len(side) >= 2 and side[0] == side[-1] and side[0] in "'\"":
                return LiteralSource(value=side[1:-1])
        self.problem(loc, f"expected a number, true/false or a quoted string in the condition, got {side!r}")
        return None

    def input_ref_problem(self, ref: InputRef, step: Step, input_types: Mapping[str, str]) -> str | None:
        """``${{ inputs.X }}`` for a value, ``${{ inputs.X.path }}`` for a file, of an input the step has."""
        is_file = input_types.get(ref.name) == "file"
        if ref.name not in step.inputs:
            return f"no input named {ref.name!r} in ${{{{ {ref_text(ref)} }}}}"
        if is_file and not ref.path:
            return f"input {ref.name!r} is a file: use ${{{{ inputs.{ref.name}.path }}}}"
        if ref.path and not is_file:
            return f"input {ref.name!r} is a value, not a file: use ${{{{ inputs.{ref.name} }}}}"
        return None


def _literal_type(value: Any) -> DataType:
    for t in ("bool", "integer", "number", "string", "object", "list"):
        if value_matches(t, value):
            return t
    return "any"


def _collection_type(item_type: DataType | None) -> DataType | None:
    """A fan-in of files is a folder (still a file input); of values, a list."""
    return "file" if item_type == "file" else "list"
